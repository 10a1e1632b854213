/**
 * Bump allocator with scopes (seeds 001/003): allocation moves a pointer up; individual free is a
 * no-op; a scope records the pointer on entry and resets it on exit, releasing everything allocated
 * inside in O(1). At most 16 nested scopes by default.
 */
import { alignUp, type Allocator, type AllocatorEntry, type Scopes, type Work } from './allocator.js';

// Fixed instruction costs: load pointer, align, compare with end, store.
const ALLOC_INSTRUCTIONS = 8;
const SCOPE_INSTRUCTIONS = 6;

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
    work.reads += 2; // top and end
    const addr = alignUp(this.top, align);
    const next = addr + Math.max(size, 1);
    if (next > this.end) return -1;
    work.writes += 1;
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
    work.reads += 1;
    if (this.checkpoints.length >= this.maxDepth) return false;
    work.writes += 1;
    this.checkpoints.push(this.top);
    return true;
  }

  exit(work: Work): number {
    work.instructions += SCOPE_INSTRUCTIONS;
    work.reads += 1;
    work.writes += 1;
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
