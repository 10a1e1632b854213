/**
 * Bump allocator with scopes (seeds 001/003): allocation moves a pointer up; individual free is a
 * no-op; a scope records the pointer on entry and resets it on exit, releasing everything allocated
 * inside in O(1). At most 16 nested scopes by default.
 *
 * The seeds' allocator is Rust's (GlobalAlloc), which always passes an alignment; malloc (`align` 0)
 * is emu's choice: NATURAL_ALIGN. Size 0 takes one byte, so that every block has its own address (as
 * glibc's malloc(0) gives a distinct pointer).
 *
 * realloc, as a bump allocator does it (bumpalo's realloc, GlobalAlloc::realloc's contract): the last
 * block allocated, when no scope was entered after it, grows or shrinks in place by moving the
 * pointer; any other block keeps its address when it shrinks (it already holds the bytes) and moves
 * when it grows: a new block, the copy, and the old one stays taken (free is a no-op). Growing the last
 * block beyond the heap's end fails: moving it would need more still. Rust's realloc is given the old
 * size by its caller; emu keeps the blocks' extents itself for that (bookkeeping, not charged).
 */
import { alignUp } from '../util/bits.js';
import { read, reallocByMove, reallocEnded, reallocNull, write, NULL_ADDR, type Allocator, type AllocatorEntry, type ReallocOutcome, type ReallocState, type Scopes, type Work } from './allocator.js';

// Fixed instruction costs: load pointer, align, compare with end, store.
const ALLOC_INSTRUCTIONS = 8;
const SCOPE_INSTRUCTIONS = 6;
/** realloc: the NULL test, the block's end against top (is it the last), the new end against the heap's end, the store. */
const REALLOC_INSTRUCTIONS = 8;
/** extend: the new end computed, compared with top, stored. */
const EXTEND_INSTRUCTIONS = 4;
/**
 * malloc's alignment (emu's choice): 8, max_align_t's on the 32-bit targets emu models (double and
 * long long), and the grain of emu's other allocators.
 */
const NATURAL_ALIGN = 8;

/*
 * Control block offsets for the metadata trace. The bump keeps nothing in the heap: the pointer, the
 * end and the checkpoints are the allocator's own fields (a static in a real program, at an address emu
 * does not know). The trace records them at a notional control block in the heap's first bytes: top at
 * base, end at base + 4, the nesting depth at base + 8, checkpoint i at base + 12 + 4i, so
 * [base, base + 12 + 4 x max_scopes) (past the end of a heap smaller than that). It overlaps the first
 * blocks' payload (nothing there is metadata); only the cache lines it names matter.
 */
const TOP = 0;
const END = 4;
const DEPTH = 8;
const CHECKPOINTS = 12;

/** Bytes of the notional control block (see above) for `maxDepth` scopes. */
export function bumpControlBytes(maxDepth: number): number {
  return CHECKPOINTS + 4 * maxDepth;
}

// No metadataIn: the pointer and the scope checkpoints are the allocator's own fields, nothing is kept in the heap.
export class BumpAllocator implements Allocator, Scopes, ReallocState {
  private top: number;
  private end: number;
  private readonly checkpoints: number[] = [];
  /** Every block not released by a scope exit, in address order: where it starts and ends (for realloc). */
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  lastBlock = 0;
  lastRealloc: ReallocOutcome = 'failed';
  lastMoved = 0;

  constructor(
    private readonly base: number,
    size: number,
    readonly maxDepth = 16,
  ) {
    this.top = base;
    this.end = base + size;
  }

  get scopes(): Scopes {
    return this;
  }

  get depth(): number {
    return this.checkpoints.length;
  }

  alloc(size: number, align: number, work: Work): number {
    work.instructions += ALLOC_INSTRUCTIONS;
    read(work, this.base + TOP, 2); // top and end
    const addr = alignUp(this.top, align || NATURAL_ALIGN);
    const next = addr + Math.max(size, 1);
    if (next > this.end) return -1;
    write(work, this.base + TOP); // top
    this.lastBlock = next - this.top;
    this.top = next;
    this.starts.push(addr);
    this.ends.push(next);
    return addr;
  }

  /** See the header: in place for the last block and for any shrink, else a new block. */
  realloc(addr: number, size: number, work: Work): number {
    work.instructions += REALLOC_INSTRUCTIONS;
    if (addr === NULL_ADDR) return reallocNull(this, size, work);
    const i = this.blockAt(addr);
    if (i < 0) return reallocEnded(this, 'failed', NULL_ADDR); // not a block
    read(work, this.base + TOP, 2); // top and end
    const end = addr + Math.max(size, 1);
    const last = i === this.starts.length - 1 && (this.checkpoints.length === 0 || this.checkpoints[this.checkpoints.length - 1] <= addr);
    if (last) {
      if (end > this.end) return reallocEnded(this, 'failed', NULL_ADDR);
      write(work, this.base + TOP); // top
      this.top = this.ends[i] = end;
    } else if (end > this.ends[i]) {
      return reallocByMove(this, addr, size, this.ends[i] - addr, work);
    }
    this.lastBlock = this.ends[i] - addr;
    return reallocEnded(this, 'in-place', addr);
  }

  free(): number {
    return 0;
  }

  /**
   * The heap's segment was resized: the end moves (a bump allocator's memory is everything up to its
   * end). A shrink below the bump pointer would cut live blocks off: refused.
   */
  extend(size: number, work: Work): boolean {
    work.instructions += EXTEND_INSTRUCTIONS;
    read(work, this.base + TOP); // top, against the new end
    const end = this.base + size;
    if (end < this.top) return false;
    write(work, this.base + END); // the end
    this.end = end;
    return true;
  }

  capacity(): number {
    return this.end - this.base;
  }

  usedBytes(): number {
    return this.top - this.base;
  }

  freeBytes(): number {
    return this.end - this.top;
  }

  largestFree(): number {
    return this.end - this.top;
  }

  check(): string[] {
    const problems: string[] = [];
    if (this.top < this.base || this.top > this.end) problems.push(`bump pointer ${this.top} outside the heap`);
    const blocks = this.starts.length;
    if (blocks > 0 && this.ends[blocks - 1] > this.top) problems.push(`the last block ends at ${this.ends[blocks - 1]}, above the bump pointer ${this.top}`);
    for (let i = 1; i < blocks; i++) if (this.starts[i] < this.ends[i - 1]) problems.push(`blocks at ${this.starts[i - 1]} and ${this.starts[i]} overlap`);
    let last = this.base;
    for (const c of this.checkpoints) {
      if (c < last || c > this.top) problems.push(`checkpoint ${c} out of order`);
      last = c;
    }
    return problems;
  }

  enter(work: Work): boolean {
    work.instructions += SCOPE_INSTRUCTIONS;
    read(work, this.base + DEPTH); // the depth, against the limit
    if (this.checkpoints.length >= this.maxDepth) return false;
    write(work, this.base + CHECKPOINTS + 4 * this.checkpoints.length); // the checkpoint: top, recorded
    this.checkpoints.push(this.top);
    return true;
  }

  exit(work: Work): number {
    work.instructions += SCOPE_INSTRUCTIONS;
    read(work, this.base + CHECKPOINTS + 4 * (this.checkpoints.length - 1)); // the innermost checkpoint
    write(work, this.base + TOP); // top, reset to it
    const checkpoint = this.checkpoints.pop()!;
    const released = this.top - checkpoint;
    this.top = checkpoint;
    // Blocks ending past the checkpoint were allocated after it (a block before it ends at or below it).
    while (this.ends.length > 0 && this.ends[this.ends.length - 1] > checkpoint) {
      this.starts.pop();
      this.ends.pop();
    }
    return released;
  }

  cost(size: number, align: number): number {
    return alignUp(this.top, align || NATURAL_ALIGN) + Math.max(size, 1) - this.top;
  }

  /** The index of the block starting at `addr` (binary search: blocks are in address order), or -1. */
  private blockAt(addr: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const start = this.starts[mid];
      if (start === addr) return mid;
      if (start < addr) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  usedSince(level: number): number {
    return this.top - this.checkpoints[level];
  }
}

export const bump: AllocatorEntry = {
  options: { max_scopes: { kind: 'int', min: 1, max: 64, about: 'the nesting limit of scopes' } },
  freesBlocks: false,
  naturalAlign: () => NATURAL_ALIGN,
  scopes: true,
  reuseGuaranteed: false,
  bound: null,
  create: (base, size, options) => new BumpAllocator(base, size, (options.max_scopes as number | undefined) ?? 16),
};
