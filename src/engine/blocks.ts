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
   * Each id the program holds a pointer in: its live block, or the null block of a failed allocation.
   * As small as the live set, so the lookup every operation makes stays in the CPU's caches.
   */
  private readonly held = new Map<string, LiveBlock>();
  /** The last FREED_MEMORY frees, a ring: the id and the block it held. */
  private readonly freedIds: (string | undefined)[] = new Array(FREED_MEMORY);
  private readonly freedBlocks: (LiveBlock | undefined)[] = new Array(FREED_MEMORY);
  private freedNext = 0;
  private freedCount = 0;
  /**
   * Id -> ring slot of its latest free. Only a mistake needs it (a free, realloc or access of an id
   * not held), so it is built from the ring at the first such lookup, kept up to date while lookups
   * keep coming, and dropped after a whole ring of frees without one: a run without mistakes never
   * pays a map update per free.
   */
  private freedIndex: Map<string, number> | null = null;
  private freesSinceLookup = 0;
  /** The most recent failed ids, each with the null block bound to it when it failed. */
  private readonly failedRing: string[] = new Array(FAILED_MEMORY);
  private readonly failedBlocks: LiveBlock[] = new Array(FAILED_MEMORY);
  private failedNext = 0;

  get(id: string): LiveBlock | undefined {
    return this.held.get(id);
  }

  set(id: string, block: LiveBlock): void {
    this.held.set(id, block);
  }

  /**
   * Binds an id to the null pointer a failed allocation gave (block.addr -1). The oldest failed id is
   * forgotten once FAILED_MEMORY more have failed, unless it has been bound to something else since.
   */
  setFailed(id: string, block: LiveBlock): void {
    const slot = this.failedNext;
    const evicted = this.failedRing[slot];
    if (evicted !== undefined && this.held.get(evicted) === this.failedBlocks[slot]) this.held.delete(evicted);
    this.failedRing[slot] = id;
    this.failedBlocks[slot] = block;
    this.held.set(id, block);
    this.failedNext = (slot + 1) % FAILED_MEMORY;
  }

  /** Ids remembered (held, or among the recent frees): bounded by the live blocks plus the two rings. */
  get remembered(): number {
    return this.held.size + this.freedCount;
  }

  /** The id no longer holds a pointer; with `freed` (the block it held) it is remembered as freed. */
  release(id: string, freed: LiveBlock | null): void {
    this.held.delete(id);
    if (!freed) return;
    const slot = this.freedNext;
    const index = this.freedIndex;
    if (index !== null) {
      const evicted = this.freedIds[slot];
      if (evicted !== undefined && index.get(evicted) === slot) index.delete(evicted);
      index.set(id, slot);
      if (++this.freesSinceLookup > FREED_MEMORY) this.freedIndex = null;
    }
    if (this.freedIds[slot] === undefined) this.freedCount++;
    this.freedIds[slot] = id;
    this.freedBlocks[slot] = freed;
    this.freedNext = (slot + 1) % FREED_MEMORY;
  }

  /** The block a recently freed id held (none while the id holds a pointer again). */
  freedBlock(id: string): LiveBlock | undefined {
    if (this.held.has(id)) return undefined;
    this.freesSinceLookup = 0;
    const slot = (this.freedIndex ??= this.indexFreed()).get(id);
    return slot === undefined ? undefined : this.freedBlocks[slot];
  }

  /** Live blocks in the order they were allocated (or last reallocated). */
  live(): [string, LiveBlock][] {
    const found: [string, LiveBlock][] = [...this.held];
    return found.sort((a, b) => a[1].op - b[1].op);
  }

  /** The ring's ids to their latest slots, oldest first so that a later free of an id wins. */
  private indexFreed(): Map<string, number> {
    const index = new Map<string, number>();
    for (let k = 0; k < FREED_MEMORY; k++) {
      const slot = (this.freedNext + k) % FREED_MEMORY;
      const id = this.freedIds[slot];
      if (id !== undefined) index.set(id, slot);
    }
    return index;
  }
}
