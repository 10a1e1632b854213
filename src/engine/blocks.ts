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
  /** The operation and scenario line that allocated it, and the field-log line when it was replayed from one. */
  op: number;
  line: number;
  logLine: number | null;
}

export const FREED_MEMORY = 65536;

export class BlockTable {
  /**
   * Each id's live block, or for a recently freed id the ring slot remembering it: one map, so an
   * allocation or a free costs one map update (the hot path of every workload).
   */
  private readonly ids = new Map<string, LiveBlock | number>();
  private readonly freedRing: string[] = new Array(FREED_MEMORY);
  private readonly freedBlocks: LiveBlock[] = new Array(FREED_MEMORY);
  private ringNext = 0;

  get(id: string): LiveBlock | undefined {
    const entry = this.ids.get(id);
    return typeof entry === 'object' ? entry : undefined;
  }

  set(id: string, block: LiveBlock): void {
    this.ids.set(id, block);
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
