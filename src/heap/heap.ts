/** A heap: one allocator over one block of memory, with the bookkeeping its metrics need. */
import type { Allocator, AllocatorEntry } from '../alloc/allocator.js';
import type { Region } from '../target/types.js';
import { Distribution } from './distribution.js';

export interface HeapSnapshot {
  name: string;
  in_use: number;
  free: number;
  largest_free: number;
  ext_frag_ppm: number;
  live_blocks: number;
  requested: number;
}

export interface HeapSummary {
  name: string;
  allocator: string;
  base: number;
  capacity: number;
  in_use: number;
  peak_in_use: number;
  requested: number;
  peak_requested: number;
  peak_request_size: number;
  /** Smallest and largest request granted: the size ratio n of the worst-case bounds. */
  min_granted_size: number;
  max_granted_size: number;
  /** Bytes the allocator holds before any allocation (control structure, pool overhead). */
  fixed_overhead: number;
  high_water: number;
  allocs: number;
  frees: number;
  failed: number;
  live_blocks: number;
  free: number;
  largest_free: number;
  ext_frag_ppm: number;
  int_frag_ppm: number;
  peak_ratio_ppm: number;
  /** Heap sizes that no request sequence with this run's peak live bytes and size ratio can exhaust. */
  bounds: WorstCaseBounds | null;
  /** The allocator's own counters (o1heap diagnostics, pages, pool blocks), if it keeps any. */
  diagnostics: Record<string, number> | null;
  alloc_cycles: ReturnType<Distribution['summary']>;
  free_cycles: ReturnType<Distribution['summary']>;
}

/** What a heap is made of; fixed for the run. */
export interface HeapSetup {
  name: string;
  allocatorName: string;
  allocator: Allocator;
  /** What the allocator's kind supports (modes, error codes, grow, whether free gives blocks back). */
  entry: AllocatorEntry;
  base: number;
  size: number;
  /** The region holding the heap and its metadata. */
  region: Region;
  /** The crate budget charged by default, if any. */
  crate: string | null;
  /** With the std policy, in-use bytes above this emit a warning. */
  softLimit: number | null;
}

/**
 * Worst-case heap sizes for peak live bytes M and largest/smallest request ratio n: Robson's bound for
 * any allocator (N = M(1 + log2(n)/2) - n + 1, SQLite's malloc.html citing Robson 1974) and the
 * allocator's own published bound where there is one. Whole bytes, rounded up.
 */
export interface WorstCaseBounds {
  robson: number;
  allocator: number | null;
  allocator_formula: string | null;
}

// The class gets the setup's fields (declaration merging), assigned in the constructor.
export interface Heap extends Readonly<HeapSetup> {}

export class Heap {
  allocs = 0;
  frees = 0;
  failed = 0;
  liveBlocks = 0;
  /** Requested bytes of live blocks, and their peak. */
  requested = 0;
  peakRequested = 0;
  peakInUse = 0;
  peakRequestSize = 0;
  /** Smallest non-zero and largest granted requests, for the size ratio n of the worst-case bounds. */
  minGranted = 0;
  maxGranted = 0;
  /** What the allocator uses before any allocation; internal fragmentation leaves it out. */
  readonly fixedOverhead: number;
  /** Highest payload end reached, as an offset from the heap's base. */
  highWater = 0;
  readonly allocCycles = new Distribution();
  readonly freeCycles = new Distribution();
  /** The open bump scopes, innermost last: a serial, its budget and the ids allocated inside. */
  readonly openScopes: { serial: number; budget: number | null; ids: string[] }[] = [];

  constructor(setup: HeapSetup) {
    Object.assign(this, setup);
    this.fixedOverhead = setup.allocator.usedBytes();
  }

  recordAlloc(addr: number, size: number, cycles: number): void {
    this.allocs++;
    this.liveBlocks++;
    this.requested += size;
    if (this.requested > this.peakRequested) this.peakRequested = this.requested;
    if (size > this.peakRequestSize) this.peakRequestSize = size;
    if (size > 0 && (size < this.minGranted || this.minGranted === 0)) this.minGranted = size;
    if (size > this.maxGranted) this.maxGranted = size;
    const used = this.allocator.usedBytes();
    if (used > this.peakInUse) this.peakInUse = used;
    const end = addr + size - this.base;
    if (end > this.highWater) this.highWater = end;
    this.allocCycles.add(cycles);
  }

  recordFailure(size: number, cycles: number): void {
    this.failed++;
    if (size > this.peakRequestSize) this.peakRequestSize = size;
    this.allocCycles.add(cycles);
  }

  /** A block leaves the program's hands (free, scope exit, or a leak by reassignment). */
  recordRelease(size: number): void {
    this.liveBlocks--;
    this.requested -= size;
  }

  recordFree(cycles: number): void {
    this.frees++;
    this.freeCycles.add(cycles);
  }

  /** Null for allocators that never reuse freed memory (bump): the bounds are about reuse. */
  bounds(): WorstCaseBounds | null {
    if (!this.entry.freesBlocks) return null;
    const m = this.peakRequested;
    const n = this.minGranted > 0 ? this.maxGranted / this.minGranted : 1;
    const own = this.entry.bound;
    const cap = (bytes: number) => Math.min(Math.ceil(bytes), Number.MAX_SAFE_INTEGER);
    return { robson: cap(robsonBound(m, this.minGranted, this.maxGranted)), allocator: own ? cap(own.bytes(m, n)) : null, allocator_formula: own?.formula ?? null };
  }

  snapshot(): HeapSnapshot {
    const free = this.allocator.freeBytes();
    const largest = this.allocator.largestFree();
    return {
      name: this.name,
      in_use: this.allocator.usedBytes(),
      free,
      largest_free: largest,
      ext_frag_ppm: this.entry.fixedBlocks ? 0 : ppm(free - Math.min(largest, free), free),
      live_blocks: this.liveBlocks,
      requested: this.requested,
    };
  }

  summary(): HeapSummary {
    const s = this.snapshot();
    return {
      name: this.name,
      allocator: this.allocatorName,
      base: this.base,
      capacity: this.size,
      in_use: s.in_use,
      peak_in_use: this.peakInUse,
      requested: this.requested,
      peak_requested: this.peakRequested,
      peak_request_size: this.peakRequestSize,
      min_granted_size: this.minGranted,
      max_granted_size: this.maxGranted,
      fixed_overhead: this.fixedOverhead,
      high_water: this.highWater,
      allocs: this.allocs,
      frees: this.frees,
      failed: this.failed,
      live_blocks: this.liveBlocks,
      free: s.free,
      largest_free: s.largest_free,
      ext_frag_ppm: s.ext_frag_ppm,
      // Headers, rounding and padding of the live blocks, as a share of the bytes they take.
      int_frag_ppm: ppm(Math.max(0, s.in_use - this.fixedOverhead - this.requested), s.in_use - this.fixedOverhead),
      // Johnstone & Wilson's measure 4: heap high-water mark over peak live bytes.
      peak_ratio_ppm: ppm(this.highWater, this.peakRequested),
      bounds: this.bounds(),
      diagnostics: this.allocator.diagnostics?.() ?? null,
      alloc_cycles: this.allocCycles.summary(),
      free_cycles: this.freeCycles.summary(),
    };
  }
}

/**
 * Robson's bound in bytes. The formula counts in units of the smallest request s, so its "- n + 1"
 * is -(n - 1)s bytes: the largest request less the smallest.
 */
export function robsonBound(m: number, smallest: number, largest: number): number {
  if (m === 0 || smallest === 0) return m;
  return m * (1 + Math.log2(largest / smallest) / 2) - largest + smallest;
}

/** A ratio in parts per million, as an integer (traces hold no formatted floats). */
export function ppm(part: number, whole: number): number {
  return whole <= 0 ? 0 : Math.round((part * 1_000_000) / whole);
}
