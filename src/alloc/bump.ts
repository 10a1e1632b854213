/**
 * Bump allocator with scopes (seeds 001/003): allocation moves a pointer up; individual free is a
 * no-op; a scope records the pointer on entry and resets it on exit, releasing everything allocated
 * inside in O(1). At most 16 nested scopes by default.
 */
import { alignUp, read, write, type Allocator, type AllocatorEntry, type Scopes, type Work } from './allocator.js';

// Fixed instruction costs: load pointer, align, compare with end, store.
const ALLOC_INSTRUCTIONS = 8;
const SCOPE_INSTRUCTIONS = 6;

/*
 * Control block offsets for the metadata trace. The bump keeps nothing in the heap: the pointer, the
 * end and the checkpoints are the allocator's own fields (a static in a real program, at an address emu
 * does not know). The trace records them at a notional control block in the heap's first bytes: top at
 * base, end at base + 4, the nesting depth at base + 8, checkpoint i at base + 12 + 4i, so
 * [base, base + 12 + 4 x max_scopes) (past the end of a heap smaller than that). It overlaps the first
 * blocks' payload (nothing there is metadata); only the cache lines it names matter.
 */
const TOP = 0;
const DEPTH = 8;
const CHECKPOINTS = 12;

/** Bytes of the notional control block (see above) for `maxDepth` scopes. */
export function bumpControlBytes(maxDepth: number): number {
  return CHECKPOINTS + 4 * maxDepth;
}

// No metadataIn: the pointer and the scope checkpoints are the allocator's own fields, nothing is kept in the heap.
export class BumpAllocator implements Allocator, Scopes {
  private top: number;
  private readonly end: number;
  private readonly checkpoints: number[] = [];
  lastBlock = 0;

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
    const addr = alignUp(this.top, align);
    const next = addr + Math.max(size, 1);
    if (next > this.end) return -1;
    write(work, this.base + TOP); // top
    this.lastBlock = next - this.top;
    this.top = next;
    return addr;
  }

  free(): number {
    return 0;
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
    return released;
  }

  cost(size: number, align: number): number {
    return alignUp(this.top, align) + Math.max(size, 1) - this.top;
  }

  usedSince(level: number): number {
    return this.top - this.checkpoints[level];
  }
}

export const bump: AllocatorEntry = {
  options: { max_scopes: { kind: 'int', min: 1, max: 64, about: 'the nesting limit of scopes' } },
  freesBlocks: false,
  scopes: true,
  reuseGuaranteed: false,
  bound: null,
  create: (base, size, options) => new BumpAllocator(base, size, (options.max_scopes as number | undefined) ?? 16),
};
