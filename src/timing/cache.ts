/**
 * A set-associative, write-back, write-allocate data cache with LRU replacement, for timing: which
 * accesses hit and which fill a line from memory (and write a dirty victim back). It holds tags only,
 * never data. The geometry is the target's (PSP 16 KiB 2-way 64-byte lines, Dreamcast 16 KiB 32-byte
 * lines, Cortex-M7 32-byte lines).
 *
 * Assumption (no published per-line figure for these targets): a line fill pays the region's read
 * latency once, for its first bus word, and one cycle for each further word of the burst; a dirty
 * victim is written back the same way. The PSP's "about 70 cycles" is a cache-miss latency.
 */
import type { Cache, Region } from '../target/types.js';

/** A hit costs one cycle (the load-use slot); a miss pays for the line as well. */
const HIT_CYCLES = 1;

export class DataCache {
  private readonly setMask: number;
  private readonly ways: number;
  private readonly lineShift: number;
  /** Line number held in each way (-1: empty), a use stamp for LRU, and a dirty flag. */
  private readonly tags: Int32Array;
  private readonly used: Float64Array;
  private readonly dirty: Uint8Array;
  private clock = 0;
  /**
   * The lines (and ways) of the last two different lines accessed: allocator metadata goes back and
   * forth between a few lines (a control structure, a block header), so most accesses hit one of them
   * and need no search.
   */
  private lastLine = -1;
  private lastWay = 0;
  private prevLine = -1;
  private prevWay = 0;

  constructor(readonly geometry: Cache) {
    this.ways = geometry.ways;
    // Target caches have power-of-two sizes and lines, so sets are too.
    const sets = Math.max(1, geometry.size / (geometry.line * geometry.ways));
    this.setMask = sets - 1;
    this.lineShift = Math.log2(geometry.line);
    this.tags = new Int32Array(sets * this.ways).fill(-1);
    this.used = new Float64Array(sets * this.ways);
    this.dirty = new Uint8Array(sets * this.ways);
  }

  /** Cycles for one access of up to a line at `addr` (a 32-bit address) in `region` (a cached window of it). */
  access(addr: number, write: boolean, region: Region): number {
    const line = addr >>> this.lineShift;
    if (line === this.lastLine) {
      // Already the most recently used line: LRU order does not change.
      if (write) this.dirty[this.lastWay] = 1;
      return HIT_CYCLES;
    }
    if (line === this.prevLine) return this.promotePrevious(write);
    const first = (line & this.setMask) * this.ways;
    const end = first + this.ways;
    const tags = this.tags;
    const used = this.used;
    const now = ++this.clock;
    let victim = first;
    for (let w = first; w < end; w++) {
      if (tags[w] === line) {
        used[w] = now;
        if (write) this.dirty[w] = 1;
        this.remember(line, w);
        return HIT_CYCLES;
      }
      if (used[w] < used[victim]) victim = w;
    }
    const burst = this.geometry.line / region.bus - 1;
    let cycles = HIT_CYCLES + region.read + burst;
    if (tags[victim] >= 0 && this.dirty[victim]) cycles += region.write + burst;
    // The victim may be a line the memory of recent lines still names.
    if (tags[victim] === this.lastLine) this.lastLine = -1;
    if (tags[victim] === this.prevLine) this.prevLine = -1;
    tags[victim] = line;
    used[victim] = now;
    this.dirty[victim] = write ? 1 : 0;
    this.remember(line, victim);
    return cycles;
  }

  /** The line before last again: a hit, and it becomes the most recently used. */
  private promotePrevious(write: boolean): number {
    const line = this.prevLine;
    const way = this.prevWay;
    this.used[way] = ++this.clock;
    if (write) this.dirty[way] = 1;
    this.remember(line, way);
    return HIT_CYCLES;
  }

  private remember(line: number, way: number): void {
    if (this.lastLine >= 0) {
      this.prevLine = this.lastLine;
      this.prevWay = this.lastWay;
    }
    this.lastLine = line;
    this.lastWay = way;
  }

  /** Cycles for a run of accesses (an allocator call's metadata words, in order): access() inlined. */
  accessAll(addrs: Int32Array, writes: Uint8Array, count: number, region: Region): number {
    const { tags, used, dirty, ways, setMask, lineShift } = this;
    const burst = this.geometry.line / region.bus - 1;
    const miss = HIT_CYCLES + region.read + burst;
    const writeBack = region.write + burst;
    let clock = this.clock;
    let lastLine = this.lastLine;
    let lastWay = this.lastWay;
    let cycles = 0;
    for (let i = 0; i < count; i++) {
      const line = addrs[i] >>> lineShift;
      if (line !== lastLine) {
        const first = (line & setMask) * ways;
        let way = -1;
        let victim = first;
        for (let w = first; w < first + ways; w++) {
          if (tags[w] === line) {
            way = w;
            break;
          }
          if (used[w] < used[victim]) victim = w;
        }
        clock++;
        if (way < 0) {
          way = victim;
          cycles += miss - HIT_CYCLES;
          if (tags[way] >= 0 && dirty[way]) cycles += writeBack;
          tags[way] = line;
          dirty[way] = 0;
        }
        used[way] = clock;
        lastLine = line;
        lastWay = way;
      }
      if (writes[i] === 1) dirty[lastWay] = 1;
      cycles += HIT_CYCLES;
    }
    this.clock = clock;
    this.lastLine = lastLine;
    this.lastWay = lastWay;
    this.prevLine = -1;
    return cycles;
  }

  /**
   * A cache maintenance operation over [addr, addr + len): write back dirty lines (the cost of each as
   * for an evicted victim) and/or drop the lines. Cycles: one per line looked up, plus the write-backs.
   */
  maintain(writeBack: boolean, invalidate: boolean, addr: number, len: number, region: Region): number {
    const size = this.geometry.line;
    const burst = size / region.bus - 1;
    let cycles = 0;
    for (let l = Math.floor(addr / size); l * size < addr + len; l++) {
      cycles += HIT_CYCLES;
      const line = l >>> 0;
      const first = (line & this.setMask) * this.ways;
      for (let w = first; w < first + this.ways; w++) {
        if (this.tags[w] !== line) continue;
        if (writeBack && this.dirty[w]) cycles += region.write + burst;
        this.dirty[w] = 0;
        if (invalidate) this.tags[w] = -1;
      }
    }
    this.lastLine = -1;
    this.prevLine = -1;
    return cycles;
  }

  /** Cycles for `len` bytes at `addr` touched `unit` bytes at a time (each line charged once per access). */
  range(addr: number, len: number, unit: number, write: boolean, region: Region): number {
    let cycles = 0;
    for (let a = addr; a < addr + len; a += unit) {
      const lastLine = Math.floor((Math.min(a + unit, addr + len) - 1) / this.geometry.line);
      for (let l = Math.floor(a / this.geometry.line); l <= lastLine; l++) cycles += this.access(l * this.geometry.line, write, region);
    }
    return cycles;
  }
}
