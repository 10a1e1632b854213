/**
 * The program's view of its blocks: which id holds which block. Freed ids (with the block they held)
 * are remembered in a bounded ring so that a double free is told apart from a free of an id that
 * never existed, and a use after free names the block, without memory growing with the run.
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
  /** The operation and scenario line that allocated it. */
  op: number;
  line: number;
}

export const FREED_MEMORY = 65536;

export class BlockTable {
  private readonly live = new Map<string, LiveBlock>();
  private readonly freedRing: string[] = new Array(FREED_MEMORY);
  private readonly freedBlocks: LiveBlock[] = new Array(FREED_MEMORY);
  private readonly freed = new Map<string, number>();
  private ringNext = 0;

  get(id: string): LiveBlock | undefined {
    return this.live.get(id);
  }

  set(id: string, block: LiveBlock): void {
    this.live.set(id, block);
    this.freed.delete(id);
  }

  /** Removes a live id; with `freed` (the block it held) it is remembered as freed. */
  release(id: string, freed: LiveBlock | null): void {
    this.live.delete(id);
    if (!freed) return;
    const evicted = this.freedRing[this.ringNext];
    if (evicted !== undefined && this.freed.get(evicted) === this.ringNext) this.freed.delete(evicted);
    this.freedRing[this.ringNext] = id;
    this.freedBlocks[this.ringNext] = freed;
    this.freed.set(id, this.ringNext);
    this.ringNext = (this.ringNext + 1) % FREED_MEMORY;
  }

  wasFreed(id: string): boolean {
    return this.freed.has(id);
  }

  /** The block a recently freed id held. */
  freedBlock(id: string): LiveBlock | undefined {
    const slot = this.freed.get(id);
    return slot === undefined ? undefined : this.freedBlocks[slot];
  }

  /** Live blocks in allocation order. */
  entries(): IterableIterator<[string, LiveBlock]> {
    return this.live.entries();
  }
}
