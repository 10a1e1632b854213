/**
 * Fixed-size block pool with a fixed capacity: the memory behind a bounded collection (a StaticVec /
 * BoundedVec of N elements, seeds 000 and 001), where every slot has the same size and the count is
 * fixed up front. Blocks are carved from the heap's start, the first at the first address aligned to
 * the block alignment; the heap's tail past the last block is not managed. There is no header in the
 * heap: the control words (free-list head, carve index, blocks used, peak) are the pool object's own
 * fields, as a StaticVec's length lives beside its storage; their reads and writes are still charged.
 * For the metadata trace, those control words are placed at a notional control block in the heap's
 * first 16 bytes: the free-list head at base, the carve index at base + 4, blocks used at base + 8 and
 * the peak at base + 12 (overlapping block 0, or past the end of a heap under 16 bytes; a StaticVec's
 * length sits beside its storage, and what matters to a cache model is the line, not the exact word).
 * Free blocks form a LIFO list threaded through their first word: free pushes, alloc pops, both O(1).
 * Blocks never handed out yet are carved in address order from a carve index instead of being threaded
 * at start-up, so creating a large pool is O(1) too, and a fresh pool hands out ascending addresses.
 *
 * A request larger than the block size fails, and so does one when every block is in use. Alignment:
 * every block is aligned to the `align` option (default 8, the grain of the other allocators); a
 * request aligned to at most that is served, a larger alignment always fails (the pool does not hunt
 * for a block that happens to be aligned: that would be neither O(1) nor predictable).
 *
 * No worst-case bound: a pool never fragments. Any free block serves any request up to the block size,
 * so a request fails only when all blocks are in use or it is larger than a block.
 *
 * malloc (`align` 0) gets the block alignment. Size 0 is emu's choice: a block, like any request up to
 * the block size (a StaticVec slot is taken whatever the element holds), so the pointer is distinct.
 * realloc: a block already holds the block size, so any size up to it stays where it is (the fixed
 * size and alignment are compile-time constants: nothing is read) and a shrink never fails; a larger
 * one cannot be served by any block and fails, the block untouched.
 */
import { alignUp } from '../util/bits.js';
import { read, reallocEnded, reallocNull, write, NULL_ADDR, type Allocator, type AllocatorEntry, type AllocatorOptions, type ReallocOutcome, type ReallocState, type Work } from './allocator.js';

const GRAIN = 8;
const DEFAULT_BLOCK = 64;
/** Heaps are placed at 16-byte-aligned addresses (layout.ts HEAP_ALIGN): what misfit may assume. */
const HEAP_BASE_ALIGN = 16;
// Fixed instruction costs: size and alignment compares, pop or carve, count and peak update.
const ALLOC_INSTRUCTIONS = 8;
// Block index from the address, push, count update.
const FREE_INSTRUCTIONS = 6;
// realloc: the NULL test, the size compared with the block size.
const REALLOC_INSTRUCTIONS = 3;
/** End of the free list. */
const NONE = -1;
/** Bytes of the free-list link a free block holds in its first word (a 32-bit pointer). */
const LINK = 4;
/** Offsets of the control words in the notional control block at the heap's base (see above). */
const HEAD = 0;
const CARVE = 4;
const USED = 8;
const PEAK = 12;

/** Block size, alignment and block count from the options, before any base address is known. */
function geometry(options: AllocatorOptions): { block: number; align: number; capacity: number | null } {
  const align = Math.max(GRAIN, Number(options.align ?? GRAIN));
  const block = alignUp(Math.max(1, Number(options.block ?? DEFAULT_BLOCK)), align);
  const capacity = options.capacity === undefined ? null : Number(options.capacity);
  return { block, align, capacity };
}

export class PoolAllocator implements Allocator, ReallocState {
  readonly blockSize: number;
  readonly blockAlign: number;
  /** Number of blocks. */
  readonly blocks: number;
  /** Address of block 0. */
  private readonly start: number;
  /** The heap's base: where the trace places the control words. */
  private readonly control: number;
  /** Free-list link of each block (the word a real pool keeps in the free block), NONE at the end. */
  private readonly next: Int32Array;
  /** 1 for blocks in use: not pool state (a real pool keeps no such map), here so check() can catch a listed block in use. */
  private readonly inUse: Uint8Array;
  private head = NONE;
  /** Blocks at and above this index were never handed out. */
  private carve = 0;
  private used = 0;
  private peak = 0;
  lastBlock = 0;
  lastRealloc: ReallocOutcome = 'failed';
  lastMoved = 0;

  /**
   * `block` is rounded up to a multiple of `align` (at least 8, which holds the free-list link).
   * `capacity` defaults to as many blocks as fit; more than fit is clamped to what fits (misfit
   * reports that case before a heap is created).
   */
  constructor(base: number, size: number, block = DEFAULT_BLOCK, capacity: number | null = null, align = GRAIN) {
    this.blockAlign = Math.max(GRAIN, align);
    this.blockSize = alignUp(Math.max(1, block), this.blockAlign);
    this.start = alignUp(base, this.blockAlign);
    this.control = base;
    const fit = Math.max(0, Math.floor((base + size - this.start) / this.blockSize));
    this.blocks = capacity === null ? fit : Math.min(capacity, fit);
    this.next = new Int32Array(this.blocks);
    this.inUse = new Uint8Array(this.blocks);
  }

  alloc(size: number, align: number, work: Work): number {
    work.instructions += ALLOC_INSTRUCTIONS;
    // Block size and alignment are constants of the pool (compiled in, as a StaticVec's are).
    if (size > this.blockSize || align > this.blockAlign) return -1;
    const c = this.control;
    read(work, c + HEAD); // free-list head
    let i = this.head;
    if (i !== NONE) {
      read(work, this.start + i * this.blockSize); // the block's link
      this.head = this.next[i];
      write(work, c + HEAD); // head
    } else {
      read(work, c + CARVE); // carve index
      if (this.carve === this.blocks) return -1;
      i = this.carve++;
      write(work, c + CARVE); // carve index
    }
    this.inUse[i] = 1;
    this.used++;
    read(work, c + USED, 2); // blocks used, peak
    write(work, c + USED);
    if (this.used > this.peak) {
      this.peak = this.used;
      write(work, c + PEAK);
    }
    this.lastBlock = this.blockSize;
    return this.start + i * this.blockSize;
  }

  /** See the header: in place up to the block size, a failure above it. */
  realloc(addr: number, size: number, work: Work): number {
    work.instructions += REALLOC_INSTRUCTIONS;
    if (addr === NULL_ADDR) return reallocNull(this, size, work);
    if (size > this.blockSize) return reallocEnded(this, 'failed', NULL_ADDR);
    this.lastBlock = this.blockSize;
    return reallocEnded(this, 'in-place', addr);
  }

  free(addr: number, work: Work): number {
    work.instructions += FREE_INSTRUCTIONS;
    const i = (addr - this.start) / this.blockSize;
    this.inUse[i] = 0;
    this.next[i] = this.head;
    this.head = i;
    this.used--;
    const c = this.control;
    read(work, c + HEAD); // head
    read(work, c + USED); // blocks used
    write(work, addr); // the block's link
    write(work, c + HEAD); // head
    write(work, c + USED); // blocks used
    return this.blockSize;
  }

  capacity(): number {
    return this.blocks * this.blockSize;
  }

  usedBytes(): number {
    return this.used * this.blockSize;
  }

  freeBytes(): number {
    return (this.blocks - this.used) * this.blockSize;
  }

  largestFree(): number {
    return this.used < this.blocks ? this.blockSize : 0;
  }

  /**
   * The pool's only state in the heap: the free-list link a free block keeps in its first word (4
   * bytes, a 32-bit pointer), on blocks freed and not handed out again. The control words are the pool
   * object's own fields, and blocks never handed out (at and above the carve index) are not threaded,
   * so they hold nothing. Looks at the blocks in [start, end) only (inUse is emulator state, read here
   * and not charged).
   */
  metadataIn(start: number, end: number): number {
    if (start >= end) return -1;
    for (let i = Math.max(0, Math.floor((start - this.start) / this.blockSize)); i < this.carve; i++) {
      const at = this.start + i * this.blockSize;
      if (at >= end) return -1;
      if (!this.inUse[i] && at + LINK > start) return Math.max(at, start);
    }
    return -1;
  }

  diagnostics(): Record<string, number> {
    return { block_size: this.blockSize, blocks: this.blocks, blocks_used: this.used, peak_blocks_used: this.peak };
  }

  check(): string[] {
    const problems: string[] = [];
    if (this.carve < 0 || this.carve > this.blocks) problems.push(`carve index ${this.carve} outside 0..${this.blocks}`);
    let listed = 0;
    // A list longer than the free blocks can only be a cycle: stop there rather than loop forever.
    for (let i = this.head; i !== NONE; i = this.next[i]) {
      if (!Number.isInteger(i) || i < 0 || i >= this.carve) {
        problems.push(`free list reaches block ${i}, outside the ${this.carve} blocks handed out so far`);
        break;
      }
      if (this.inUse[i]) problems.push(`block ${i} at ${this.start + i * this.blockSize} is on the free list but in use`);
      if (++listed > this.blocks) {
        problems.push('free list does not end (a cycle)');
        break;
      }
    }
    if (listed + (this.blocks - this.carve) + this.used !== this.blocks) {
      problems.push(`${listed} listed + ${this.blocks - this.carve} never used + ${this.used} in use != ${this.blocks} blocks`);
    }
    if (this.peak < this.used) problems.push(`peak ${this.peak} below blocks in use ${this.used}`);
    return problems;
  }
}

export const pool: AllocatorEntry = {
  options: {
    block: { kind: 'size', min: 1, about: 'block size in bytes, rounded up to a multiple of align' },
    capacity: { kind: 'int', min: 1, about: 'number of blocks (default: as many as fit in the heap)' },
    align: { kind: 'size', min: GRAIN, max: 65536, pow2: true, about: 'alignment of every block; requests aligned to more fail' },
  },
  freesBlocks: true,
  naturalAlign: (options) => geometry(options).align,
  // The heap holds as many whole blocks as fit.
  grain: (options) => geometry(options).block,
  fixedBlocks: true,
  reuseGuaranteed: true,
  // A pool never fragments for requests up to its block size: capacity x block is exactly what it needs.
  bound: null,
  misfit(size, options) {
    const { block, align, capacity } = geometry(options);
    // Up to align - 16 bytes before the first block when the heap is only 16-byte aligned.
    const front = Math.max(0, align - HEAP_BASE_ALIGN);
    const blocks = capacity ?? 1;
    const need = blocks * block + front;
    if (need <= size) return null;
    const why = front > 0 ? ` (${blocks * block} for the blocks and up to ${front} to align the first one to ${align})` : '';
    if (capacity === null) return `a pool needs at least one ${block}-byte block: ${need} bytes${why}, the heap has ${size}`;
    return `a pool of ${capacity} ${block}-byte blocks needs ${need} bytes${why}, the heap has ${size}`;
  },
  create: (base, size, options) => {
    const { block, align, capacity } = geometry(options);
    return new PoolAllocator(base, size, block, capacity, align);
  },
};
