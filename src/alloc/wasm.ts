/**
 * A WebAssembly linear memory in 64 KiB pages, with an address-ordered first-fit allocator inside it
 * (the malloc a wasm module links in). grow(pages) is memory.grow: it returns the page count before,
 * or -1 when the memory would exceed its limit, the least of the heap's size, max_pages (seed 000's
 * DEFAULT_MAX_PAGES: 1024 under std, 16 otherwise) and the host's per-instance limit (seed 002's plugin
 * host: DEFAULT_MEMORY_LIMIT 16 MiB, MAX_MEMORY_LIMIT 100 MiB). With auto_grow, an allocation that does
 * not fit grows the memory first, as a malloc calling memory.grow does: by the pages the request needs
 * in the worst case, not counting free space at the top (dlmalloc's sys_alloc asks for the whole
 * request, padding included, and merges the new memory with its top chunk).
 *
 * The first-fit allocator is reused unchanged. It manages the memory up to the limit, and the pages
 * not grown yet are held by one used block per page ("walls", emulator scaffolding placed when the
 * allocator is empty); grow frees the lowest walls, so the new memory merges with a free block at the
 * top. Walls are never on the free list, so allocation and free cost exactly what they cost in a
 * first-fit heap of the current size; their own bookkeeping is not charged.
 *
 * Metadata trace: alloc and free trace the first-fit heap's words (free-list.ts). memory.grow reads
 * and writes the memory's page count, which is engine state, not in linear memory: the trace records
 * it at a notional word at start + 8, after first-fit's notional list sentinel (start, start + 4).
 *
 * malloc (`align` 0), size 0 and realloc are first-fit's (free-list.ts): 8-byte alignment, a minimum
 * block for size 0, realloc in place when the block shrinks or a free block after it is big enough.
 * With auto_grow, a realloc that fails grows the memory and tries again, as a malloc's realloc does
 * when its malloc calls memory.grow (the block at the top then grows in place into the new pages).
 */
import { alignUp } from '../util/bits.js';
import { newWork, read, reallocEnded, write, NULL_ADDR, type Allocator, type AllocatorContext, type AllocatorEntry, type AllocatorOptions, type ReallocOutcome, type ReallocState, type SegmentMemory, type Work } from './allocator.js';
import { FirstFitAllocator, firstFit } from './first-fit.js';
import { GRAIN, HEADER, MIN_BLOCK } from './free-list.js';

export const PAGE = 64 * 1024;
/** seed 000 (wrt-runtime/src/memory.rs): DEFAULT_MAX_PAGES 1024 with std, 16 without. */
export const STD_MAX_PAGES = 1024;
export const EMBEDDED_MAX_PAGES = 16;
/** seed 002 (ExtismEngine): DEFAULT_MEMORY_LIMIT and MAX_MEMORY_LIMIT. */
export const DEFAULT_INSTANCE_LIMIT = 16 * 1024 * 1024;
export const MAX_INSTANCE_LIMIT = 100 * 1024 * 1024;
/** seed 000: MAX_PAGES_32, a 4 GiB 32-bit memory. */
const MAX_PAGES_32 = 65536;

/** memory.grow: the bounds check against the limit and the size update. */
const GROW_INSTRUCTIONS = 10;
/** Offset from start of the notional page-count word (see above). */
const PAGES_WORD = 8;

export interface WasmOptions {
  initialPages: number;
  maxPages: number;
  instanceLimit: number;
  autoGrow: boolean;
}

export class WasmMemoryAllocator implements Allocator, ReallocState {
  private readonly heap: FirstFitAllocator;
  private readonly start: number;
  /** The page limit in effect: max_pages, the instance limit and the heap's size, whichever is least. */
  readonly maxPages: number;
  private pages: number;
  /** Payload addresses of the walls over the pages not grown yet, lowest first; walls[nextWall] is the next to go. */
  private readonly walls: number[] = [];
  private nextWall = 0;
  private readonly autoGrow: boolean;
  private grows = 0;
  private growFailures = 0;
  lastBlock = 0;
  lastRealloc: ReallocOutcome = 'failed';
  lastMoved = 0;

  constructor(
    private readonly base: number,
    size: number,
    options: WasmOptions,
    /** A dynamic segment's: memory.grow asks it for room first (the memory is the segment). */
    private readonly segment: SegmentMemory | null = null,
  ) {
    this.maxPages = effectiveMaxPages(segment ? Infinity : size, options);
    if (options.initialPages > this.maxPages) throw new RangeError(`initial_pages ${options.initialPages} exceed the limit of ${this.maxPages} pages`);
    this.pages = options.initialPages;
    this.autoGrow = options.autoGrow;
    this.start = alignUp(base, GRAIN);
    this.heap = new FirstFitAllocator(base, this.maxPages * PAGE);
    if (this.pages === this.maxPages) return;
    const scratch = newWork();
    // A placeholder over the current memory, so that the walls land above it in page order.
    const current = this.top(this.pages) - this.start;
    const placeholder = current >= MIN_BLOCK ? this.heap.alloc(current - HEADER, GRAIN, scratch) : -1;
    for (let p = this.pages; p < this.maxPages; p++) {
      const from = p === this.pages && placeholder < 0 ? this.start : this.top(p);
      this.walls.push(this.heap.alloc(this.top(p + 1) - from - HEADER, GRAIN, scratch));
    }
    if (placeholder >= 0) this.heap.free(placeholder, scratch);
  }

  alloc(size: number, align: number, work: Work): number {
    let addr = this.heap.alloc(size, align, work);
    if (addr < 0 && this.autoGrow && this.grow(Math.ceil(worstCaseBytes(size, align) / PAGE), work) >= 0) {
      addr = this.heap.alloc(size, align, work);
    }
    if (addr >= 0) this.lastBlock = this.heap.lastBlock;
    return addr;
  }

  /** First-fit's realloc; with auto_grow, a failure grows the memory by what a new block could take and tries again. */
  realloc(addr: number, size: number, work: Work): number {
    let result = this.heap.realloc(addr, size, work);
    if (result < 0 && this.heap.lastRealloc === 'failed' && this.autoGrow && this.grow(Math.ceil(worstCaseBytes(size, 0) / PAGE), work) >= 0) {
      result = this.heap.realloc(addr, size, work);
    }
    if (result >= 0) this.lastBlock = this.heap.lastBlock;
    return reallocEnded(this, this.heap.lastRealloc, result, this.heap.lastMoved);
  }

  free(addr: number, work: Work): number {
    return this.heap.free(addr, work);
  }

  /** memory.grow: the page count before, or -1 when the memory would exceed its limit (nothing changes). */
  grow(pages: number, work: Work): number {
    work.instructions += GROW_INSTRUCTIONS;
    read(work, this.start + PAGES_WORD); // the current size
    if (!Number.isInteger(pages) || pages < 0 || this.pages + pages > this.maxPages) {
      this.growFailures++;
      return -1;
    }
    const before = this.pages;
    if (pages === 0) return before;
    // In a dynamic segment the memory is the segment: it must grow in place first, or memory.grow
    // returns -1 (the spec lets it fail below the maximum: WebAssembly spec, exec/instructions, memory.grow).
    if (this.segment && !this.segment.request((before + pages) * PAGE)) {
      this.growFailures++;
      return -1;
    }
    const scratch = newWork();
    for (let i = 0; i < pages; i++) this.heap.free(this.walls[this.nextWall++], scratch);
    this.pages += pages;
    this.grows++;
    // The new size, and the allocator's top: the free block's size word (or a new free block's header),
    // the free block now holding the old end of memory, where the first freed wall's header was.
    const old = this.top(before);
    const topBlock = work.trace === null ? old : this.heap.freeBlockAt(old);
    read(work, topBlock < 0 ? old : topBlock);
    write(work, this.start + PAGES_WORD);
    write(work, topBlock < 0 ? old : topBlock);
    return before;
  }

  /**
   * The heap's dynamic segment was resized by a segment step: the memory stays as memory.grow left it
   * (only a grow step changes its size), so the segment may hold more than the memory (room it grows
   * into without moving the segment's end) but never less: a shrink below the memory is refused.
   */
  extend(size: number): boolean {
    return this.segment !== null && size >= this.pages * PAGE;
  }

  capacity(): number {
    return this.pages * PAGE;
  }

  usedBytes(): number {
    return this.capacity() - this.heap.freeBytes();
  }

  freeBytes(): number {
    return this.heap.freeBytes();
  }

  largestFree(): number {
    return this.heap.largestFree();
  }

  check(): string[] {
    const problems = this.heap.check();
    if (!Number.isInteger(this.pages) || this.pages < 0 || this.pages > this.maxPages) problems.push(`${this.pages} pages, outside 0..${this.maxPages}`);
    if (this.walls.length - this.nextWall !== this.maxPages - this.pages) problems.push(`${this.walls.length - this.nextWall} pages held back for growth, but ${this.pages} of ${this.maxPages} pages are in use`);
    else if (this.nextWall < this.walls.length && this.walls[this.nextWall] - HEADER !== this.top(this.pages)) problems.push(`the memory ends at ${this.top(this.pages)} but the allocator's top is ${this.walls[this.nextWall] - HEADER}`);
    if (this.heap.freeBytes() > this.capacity()) problems.push(`${this.heap.freeBytes()} bytes free in a memory of ${this.capacity()}`);
    return problems;
  }

  /**
   * The first-fit heap's headers and free-list links, in the current memory only. Above it nothing is
   * metadata: those pages are not part of the memory yet (an access there is out of bounds, not a heap
   * corruption), and the walls holding them are emulator scaffolding, not the module's malloc state.
   * The lowest wall's header sits exactly at the memory's end (top), so clamping `end` there leaves
   * every wall out.
   */
  metadataIn(start: number, end: number): number {
    return this.heap.metadataIn(start, Math.min(end, this.top(this.pages)));
  }

  diagnostics(): Record<string, number> {
    return { pages: this.pages, max_pages: this.maxPages, grows: this.grows, grow_failures: this.growFailures };
  }

  /** The end of the first-fit heap (its grain applied) when the memory has `pages` pages. */
  private top(pages: number): number {
    return Math.max(this.start, Math.floor((this.base + pages * PAGE) / GRAIN) * GRAIN);
  }
}

/** The least of max_pages, the instance limit and the heap's size, in whole pages (a dynamic segment's heap: its size is no limit, the arena is). */
function effectiveMaxPages(size: number, o: WasmOptions): number {
  return Math.max(0, Math.min(o.maxPages, Math.floor(o.instanceLimit / PAGE), Math.floor(size / PAGE)));
}

/** Bytes a first-fit block for `size` at `align` can take at most: header, rounding and the aligned payload's gap in front. */
function worstCaseBytes(size: number, align: number): number {
  const need = Math.max(MIN_BLOCK, alignUp(size + HEADER, GRAIN));
  return align > GRAIN ? need + align + MIN_BLOCK : need;
}

export function wasmOptions(options: AllocatorOptions, context: AllocatorContext): WasmOptions {
  return {
    initialPages: (options.initial_pages as number | undefined) ?? 1,
    maxPages: (options.max_pages as number | undefined) ?? (context.policy === 'std' ? STD_MAX_PAGES : EMBEDDED_MAX_PAGES),
    instanceLimit: (options.instance_limit as number | undefined) ?? DEFAULT_INSTANCE_LIMIT,
    autoGrow: (options.auto_grow as boolean | undefined) ?? false,
  };
}

export const wasm: AllocatorEntry = {
  options: {
    initial_pages: { kind: 'int', min: 0, max: MAX_PAGES_32, about: 'the pages (64 KiB each) the memory starts with' },
    max_pages: { kind: 'int', min: 0, max: MAX_PAGES_32, about: 'the page limit of memory.grow (default 1024 under the std policy, 16 otherwise)' },
    instance_limit: { kind: 'size', min: 0, max: MAX_INSTANCE_LIMIT, about: "the host's memory limit per instance (default 16 MiB, at most 100 MiB)" },
    auto_grow: { kind: 'bool', about: 'whether an allocation that does not fit grows the memory first, as a malloc calling memory.grow does' },
  },
  freesBlocks: true,
  naturalAlign: firstFit.naturalAlign,
  // The heap's size is the memory's page limit: whole 64 KiB pages.
  grain: () => PAGE,
  grows: true,
  reuseGuaranteed: true,
  bound: firstFit.bound,
  misfit(size, options, context) {
    const o = wasmOptions(options, context);
    if (size < o.initialPages * PAGE) return `${size} bytes cannot hold initial_pages ${o.initialPages} (${o.initialPages * PAGE} bytes)`;
    const limit = effectiveMaxPages(context.segment ? Infinity : size, o);
    if (o.initialPages > limit) return `initial_pages ${o.initialPages} exceed the limit of ${limit} pages (max_pages ${o.maxPages}, instance_limit ${o.instanceLimit} bytes)`;
    return null;
  },
  create: (base, size, options, context) => new WasmMemoryAllocator(base, size, wasmOptions(options, context), context.segment ?? null),
};
