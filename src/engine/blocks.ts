/**
 * The program's view of its blocks: which id holds which block. Freed ids (with the block they held)
 * are remembered in a bounded ring so that a double free is told apart from a free of an id that
 * never existed, and a use after free names the block, without memory growing with the run. Ids whose
 * allocation failed (the program holds a null pointer) are remembered in a bounded ring too: a run
 * whose heap is full fails every allocation, and must not keep one entry per failure.
 */
import type { Heap } from '../heap/heap.js';

export interface LiveBlock {
  heap: Heap;
  /** -1 for an allocation that failed: the program holds a null pointer. */
  addr: number;
  size: number;
  crate: string | null;
  /** Serial of the bump scope the block was allocated in (0: none). */
  scope: number;
  /** The operation and scenario line that allocated it, and the field-log line when it was replayed from one. */
  op: number;
  line: number;
  logLine: number | null;
}

export const FREED_MEMORY = 65536;
/** Failed ids remembered: a free or realloc of one of them is free(NULL) / realloc(NULL, n) while it is. */
export const FAILED_MEMORY = 65536;

export class BlockTable {
  /**
   * Each id's live block, or for a recently freed id the ring slot remembering it: one map, so an
   * allocation or a free costs one map update (the hot path of every workload).
   */
  private readonly ids = new Map<string, LiveBlock | number>();
  private readonly freedRing: string[] = new Array(FREED_MEMORY);
  private readonly freedBlocks: LiveBlock[] = new Array(FREED_MEMORY);
  private ringNext = 0;
  /** The most recent failed ids, each with the null block bound to it when it failed. */
  private readonly failedRing: string[] = new Array(FAILED_MEMORY);
  private readonly failedBlocks: LiveBlock[] = new Array(FAILED_MEMORY);
  private failedNext = 0;

  get(id: string): LiveBlock | undefined {
    const entry = this.ids.get(id);
    return typeof entry === 'object' ? entry : undefined;
  }

  set(id: string, block: LiveBlock): void {
    this.ids.set(id, block);
  }

  /**
   * Binds an id to the null pointer a failed allocation gave (block.addr -1). The oldest failed id is
   * forgotten once FAILED_MEMORY more have failed, unless it has been bound to something else since.
   */
  setFailed(id: string, block: LiveBlock): void {
    const slot = this.failedNext;
    const evicted = this.failedRing[slot];
    if (evicted !== undefined && this.ids.get(evicted) === this.failedBlocks[slot]) this.ids.delete(evicted);
    this.failedRing[slot] = id;
    this.failedBlocks[slot] = block;
    this.ids.set(id, block);
    this.failedNext = (slot + 1) % FAILED_MEMORY;
  }

  /** Ids remembered (live, recently freed or recently failed): bounded by the live blocks plus the two rings. */
  get remembered(): number {
    return this.ids.size;
  }

  /** Removes a live id; with `freed` (the block it held) it is remembered as freed. */
  release(id: string, freed: LiveBlock | null): void {
    if (!freed) {
      this.ids.delete(id);
      return;
    }
    const slot = this.ringNext;
    const evicted = this.freedRing[slot];
    if (evicted !== undefined && this.ids.get(evicted) === slot) this.ids.delete(evicted);
    this.freedRing[slot] = id;
    this.freedBlocks[slot] = freed;
    this.ids.set(id, slot);
    this.ringNext = (slot + 1) % FREED_MEMORY;
  }

  wasFreed(id: string): boolean {
    return typeof this.ids.get(id) === 'number';
  }

  /** The block a recently freed id held. */
  freedBlock(id: string): LiveBlock | undefined {
    const slot = this.ids.get(id);
    return typeof slot === 'number' ? this.freedBlocks[slot] : undefined;
  }

  /** Live blocks in the order they were allocated (or last reallocated). */
  live(): [string, LiveBlock][] {
    const found: [string, LiveBlock][] = [];
    for (const [id, entry] of this.ids) if (typeof entry === 'object') found.push([id, entry]);
    return found.sort((a, b) => a[1].op - b[1].op);
  }
}
