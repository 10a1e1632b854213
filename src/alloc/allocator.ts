/**
 * The one interface every allocator implements. An allocator manages the address range
 * [base, base + size) and reports the work each call did, so that the timing model can charge it.
 */

/** What one allocator call did, in the units the timing model charges. Reset by the caller. */
export interface Work {
  /** Instructions outside memory accesses (the fixed cost plus per-node loop work). */
  instructions: number;
  /** Metadata words read and written. */
  reads: number;
  writes: number;
}

export function newWork(): Work {
  return { instructions: 0, reads: 0, writes: 0 };
}

export function resetWork(work: Work): void {
  work.instructions = 0;
  work.reads = 0;
  work.writes = 0;
}

export interface Allocator {
  /** Returns the address of a block of at least `size` bytes aligned to `align`, or -1. */
  alloc(size: number, align: number, work: Work): number;
  /** Bytes the most recent successful alloc took: header, padding and rounding included. */
  readonly lastBlock: number;
  /** Releases the block at `addr` (a live block's address); returns the bytes it gave back. */
  free(addr: number, work: Work): number;
  /** Bytes taken by live blocks and their overhead (what the heap has lost to them). */
  usedBytes(): number;
  /** Bytes that could still be handed out, in all free blocks together. */
  freeBytes(): number;
  /** The largest free block in bytes, measured like freeBytes (headers included). */
  largestFree(): number;
  /** Walks the metadata; one message per inconsistency found. */
  check(): string[];
  /** Scope support (bump only): checkpoint, and release back to it. */
  readonly scopes?: Scopes;
}

export interface Scopes {
  /** Records a checkpoint; false when the nesting limit is reached. */
  enter(work: Work): boolean;
  /** Releases everything allocated since the matching enter; returns the bytes released. */
  exit(work: Work): number;
  readonly depth: number;
  readonly maxDepth: number;
  /** Bytes allocated since the checkpoint at `level` (0 = outermost). */
  usedSince(level: number): number;
  /** Bytes an allocation of `size` at `align` would take now (padding included). */
  cost(size: number, align: number): number;
}

export type AllocatorOptions = Record<string, number | string | boolean>;

export interface AllocatorEntry {
  /** Keys accepted under a heap's `options:`. */
  options: string[];
  scopes: boolean;
  /** Whether free gives a block back (bump's free is a no-op): only then are leaks meaningful. */
  freesBlocks: boolean;
  create(base: number, size: number, options: AllocatorOptions): Allocator;
}

export function alignUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}
