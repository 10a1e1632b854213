/**
 * The coherency state of a write-back data cache, line by line, as far as DMA can see it. A CPU write
 * through a cached window leaves its lines dirty until they are written back; a DMA that reads
 * memory under dirty lines reads stale data. A DMA write leaves lines the CPU may still hold; a CPU
 * read through a cached window before they are invalidated reads stale data. Lines are keyed by
 * canonical address (mirrors and views share them), and each remembers the operation that made it so.
 */
import type { Cache } from '../target/types.js';
import type { CacheOp } from '../scenario/types.js';

export interface StaleLine {
  addr: number;
  /** The operation and scenario line that left the line in this state. */
  op: number;
  line: number;
}

export class CacheState {
  private readonly dirty = new Map<number, StaleLine>();
  private readonly deviceWritten = new Map<number, StaleLine>();

  constructor(readonly cache: Cache) {}

  /** A CPU write through a cached window: its lines become dirty (and no longer stale). */
  cpuWrite(addr: number, len: number, op: number, line: number): void {
    if (!this.cache.writeBack) return;
    this.forLines(addr, len, (l) => {
      this.dirty.set(l, { addr: l, op, line });
      this.deviceWritten.delete(l);
    });
  }

  /** A CPU read through a cached window: the first line a DMA wrote that was not invalidated since. */
  cpuRead(addr: number, len: number): StaleLine | null {
    return this.first(this.deviceWritten, addr, len);
  }

  /** A DMA read: the first line still dirty in the cache (the device reads memory, not the cache). */
  dmaRead(addr: number, len: number): StaleLine | null {
    return this.first(this.dirty, addr, len);
  }

  /**
   * A DMA write: the CPU may hold old copies of these lines until it invalidates them. Returns the
   * first line that was dirty: the cache still holds the CPU's data for it, and writes it back over
   * the device's when the line is evicted.
   */
  dmaWrite(addr: number, len: number, op: number, line: number): StaleLine | null {
    const dirty = this.first(this.dirty, addr, len);
    this.forLines(addr, len, (l) => {
      this.deviceWritten.set(l, { addr: l, op, line });
      this.dirty.delete(l);
    });
    return dirty;
  }

  /** A cache maintenance operation; returns the lines written back (dirty ones, for timing). */
  maintain(op: CacheOp, addr: number, len: number): { lines: number; writtenBack: number } {
    let lines = 0;
    let writtenBack = 0;
    this.forLines(addr, len, (l) => {
      lines++;
      if (op !== 'invalidate' && this.dirty.delete(l)) writtenBack++;
      if (op !== 'writeback') {
        this.dirty.delete(l); // invalidating a dirty line discards the CPU's writes
        this.deviceWritten.delete(l);
      }
    });
    return { lines, writtenBack };
  }

  private first(lines: Map<number, StaleLine>, addr: number, len: number): StaleLine | null {
    if (lines.size === 0) return null;
    let found: StaleLine | null = null;
    this.forLines(addr, len, (l) => {
      found ??= lines.get(l) ?? null;
    });
    return found;
  }

  private forLines(addr: number, len: number, each: (lineAddr: number) => void): void {
    const size = this.cache.line;
    for (let l = Math.floor(addr / size) * size; l < addr + len; l += size) each(l);
  }
}
