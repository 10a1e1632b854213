/** A heap: one allocator over one block of memory, with the bookkeeping its metrics need. */
import { MODE_ADDR, MODE_HIGH, MODE_HIGH_ALIGNED, MODES, type Allocator, type AllocatorEntry } from '../alloc/allocator.js';
import type { Region } from '../target/types.js';
import { Distribution } from './distribution.js';
import type { BudgetShare } from './environment.js';

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
  /** The largest request of any outcome (as o1heap's peak_request_size). */
  peak_request_size: number;
  /**
   * The heap's demand: the requests its allocator was asked to find memory for, granted or refused
   * for lack of it (see Heap.recordFailure). peak_demand is the peak of the live requested bytes with
   * a refused request counted on top of the bytes live at that moment: the M of the worst-case
   * bounds. The smallest (non-zero) and largest demanded sizes give their size ratio n.
   */
  peak_demand: number;
  min_demand_size: number;
  max_demand_size: number;
  /** Bytes the allocator holds before any allocation (control structure, pool overhead). */
  fixed_overhead: number;
  /** The heap's footprint: the bytes the allocator's placements reached (Heap.footprint()). */
  high_water: number;
  allocs: number;
  frees: number;
  /** Every refused allocation: budgets, arguments and memory. */
  failed: number;
  /** The allocations the allocator refused for lack of memory (the run's oom and fragmented faults). */
  memory_failures: number;
  /** The largest of those requests, in bytes (0 when there were none). */
  largest_memory_failure: number;
  live_blocks: number;
  free: number;
  largest_free: number;
  ext_frag_ppm: number;
  int_frag_ppm: number;
  peak_ratio_ppm: number;
  /** Heap sizes that no request sequence with this run's peak demand and size ratio can exhaust. */
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
 * Worst-case heap sizes for peak demand M and largest/smallest request ratio n: Robson's bound for
 * any allocator (N = M(1 + log2(n)/2) - n + 1, SQLite's malloc.html citing Robson 1974) and the
 * allocator's own published bound where there is one. Whole bytes, rounded up.
 */
export interface WorstCaseBounds {
  robson: number;
  allocator: number | null;
  allocator_formula: string | null;
}

/** Which end of the heap a granted block was placed from (allocators with placement modes place from both). */
export type PlacedFrom = 'bottom' | 'top' | 'at';

/** Why a request failed: a crate or scope budget refused it, the allocator refused its arguments, or it had no memory for it. */
export type Refusal = 'budget' | 'arguments' | 'no-memory';

// The class gets the setup's fields (declaration merging), assigned in the constructor.
export interface Heap extends Readonly<HeapSetup> {}

export class Heap {
  allocs = 0;
  frees = 0;
  /** Every refused allocation: budgets, arguments and memory. */
  failed = 0;
  /** The allocations the allocator refused for lack of memory, and the largest of them (recordFailure). */
  memoryFailures = 0;
  largestMemoryFailure = 0;
  liveBlocks = 0;
  /** Requested bytes of live blocks, and their peak. */
  requested = 0;
  peakRequested = 0;
  peakInUse = 0;
  peakRequestSize = 0;
  /**
   * The worst-case bounds' inputs, over granted requests and those refused for lack of memory: the
   * peak of live requested bytes with a refused request counted on top, and the smallest non-zero and
   * largest sizes (HeapSummary.peak_demand).
   */
  peakDemand = 0;
  minDemand = 0;
  maxDemand = 0;
  /** What the allocator uses before any allocation; internal fragmentation leaves it out. */
  readonly fixedOverhead: number;
  readonly allocCycles = new Distribution();
  readonly freeCycles = new Distribution();
  /** A heap in a dynamic segment that was released: its memory is no longer its own (until made again). */
  gone = false;
  /**
   * A heap placed straight in a region or partition counts in the target's environment budget as it
   * fills: its share, and the bytes counted so far (the engine's trackEnvironment). Null elsewhere.
   */
  budgeted: { share: BudgetShare; counted: number } | null = null;
  /** The open bump scopes, innermost last: a serial, its budget and the ids allocated inside. */
  readonly openScopes: { serial: number; budget: number | null; ids: string[] }[] = [];
  /**
   * How far the placements reached, as offsets from the base (footprint()): the highest payload end of
   * the blocks placed from the bottom, the lowest start of those placed from the top (the heap's size
   * while there are none), and the blocks placed at an address the program gave (sorted, merged).
   */
  private bottomEnd = 0;
  private topStart: number;
  private readonly atBlocks: Array<[number, number]> = [];

  constructor(setup: HeapSetup) {
    Object.assign(this, setup);
    this.fixedOverhead = setup.allocator.usedBytes();
    this.topStart = setup.size;
  }

  /** A heap in a dynamic segment followed its segment's new size. */
  resize(size: number): void {
    // No block placed from the top yet: the top span stays empty at any size.
    if (this.topStart >= this.size) this.topStart = size;
    Object.assign(this, { size });
  }

  /**
   * A heap in a dynamic segment made again when its segment is created again after a release: a new
   * allocator over the new memory. Its counts, peaks and cycle distributions go on (one heap, one row
   * in the summary); nothing of the old incarnation is live.
   */
  renew(allocator: Allocator, base: number, size: number): void {
    if (this.topStart >= this.size) this.topStart = size;
    Object.assign(this, { allocator, base, size, fixedOverhead: allocator.usedBytes() });
    this.openScopes.length = 0;
    this.gone = false;
  }

  /** A granted request; `from` is the end the allocator placed it from (placedFrom for allocators with modes). */
  recordAlloc(addr: number, size: number, cycles: number, from: PlacedFrom = 'bottom'): void {
    this.allocs++;
    this.liveBlocks++;
    this.requested += size;
    if (this.requested > this.peakRequested) this.peakRequested = this.requested;
    if (size > this.peakRequestSize) this.peakRequestSize = size;
    this.demand(size, this.requested);
    const used = this.allocator.usedBytes();
    if (used > this.peakInUse) this.peakInUse = used;
    const start = addr - this.base;
    if (from === 'top') this.topStart = Math.min(this.topStart, start);
    else if (from === 'at') addRange(this.atBlocks, start, start + size);
    else if (start + size > this.bottomEnd) this.bottomEnd = start + size;
    this.allocCycles.add(cycles);
  }

  /**
   * A refused allocation. It is the heap's own failure (memory_failures, and the bounds' inputs) when
   * the allocator refused it for lack of memory: the run's oom and fragmented faults. Not when a crate
   * or scope budget refused it (the allocator was never asked), nor when the allocator refused the
   * call's arguments (size 0; on an allocator with modes, an alignment that is not a power of two or
   * an unknown mode): those fail at any heap size, so they say nothing about the heap's size.
   */
  recordFailure(size: number, cycles: number, why: Refusal): void {
    this.failed++;
    if (size > this.peakRequestSize) this.peakRequestSize = size;
    if (why === 'no-memory') {
      this.memoryFailures++;
      if (size > this.largestMemoryFailure) this.largestMemoryFailure = size;
      this.demand(size, this.requested + size);
    }
    this.allocCycles.add(cycles);
  }

  /** A request the allocator had to find memory for, with the requested bytes it would make live. */
  private demand(size: number, live: number): void {
    if (live > this.peakDemand) this.peakDemand = live;
    if (size > 0 && (size < this.minDemand || this.minDemand === 0)) this.minDemand = size;
    if (size > this.maxDemand) this.maxDemand = size;
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

  /**
   * The heap's high-water mark for Johnstone and Wilson's measures 3 and 4 (heap high-water mark over
   * live bytes; "The Memory Fragmentation Problem: Solved?", ISMM 1998; the measures' wording is
   * not confirmed from the paper itself). J&W's heap is the memory the allocator took from the system;
   * a heap here gets its whole range at once, so its high-water mark is its footprint: the memory the
   * allocator's own placements reached, in bytes.
   * - An allocator that places from the bottom (every one but psp-sysmem): from its base, control
   *   structure included, to the highest payload end, as a break pointer would reach.
   * - psp-sysmem places Low blocks from the bottom and High blocks from the top (pspautotests sysmem),
   *   so its footprint is that bottom span plus the top span, from the lowest High block's start to
   *   the heap's end (the whole heap if they meet). An Addr block sits where the program put it, no
   *   choice of the allocator's, so it adds only its own bytes outside both spans.
   * The highest payload end alone made one High block at the top of a partition the whole partition.
   */
  footprint(): number {
    const topSpan = this.size - this.topStart;
    let bytes = topSpan > 0 ? Math.min(this.size, this.bottomEnd + topSpan) : this.bottomEnd;
    for (const [start, end] of this.atBlocks) bytes += Math.max(0, Math.min(end, this.topStart) - Math.max(start, this.bottomEnd));
    return bytes;
  }

  /** Null for allocators that never reuse freed memory (bump): the bounds are about reuse. */
  bounds(): WorstCaseBounds | null {
    if (!this.entry.freesBlocks) return null;
    const m = this.peakDemand;
    const n = this.minDemand > 0 ? this.maxDemand / this.minDemand : 1;
    const own = this.entry.bound;
    const cap = (bytes: number) => Math.min(Math.ceil(bytes), Number.MAX_SAFE_INTEGER);
    return { robson: cap(robsonBound(m, this.minDemand, this.maxDemand)), allocator: own ? cap(own.bytes(m, n)) : null, allocator_formula: own?.formula ?? null };
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
    const footprint = this.footprint();
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
      peak_demand: this.peakDemand,
      min_demand_size: this.minDemand,
      max_demand_size: this.maxDemand,
      fixed_overhead: this.fixedOverhead,
      high_water: footprint,
      allocs: this.allocs,
      frees: this.frees,
      failed: this.failed,
      memory_failures: this.memoryFailures,
      largest_memory_failure: this.largestMemoryFailure,
      live_blocks: this.liveBlocks,
      free: s.free,
      largest_free: s.largest_free,
      ext_frag_ppm: s.ext_frag_ppm,
      // Headers, rounding and padding of the live blocks, as a share of the bytes they take.
      int_frag_ppm: ppm(Math.max(0, s.in_use - this.fixedOverhead - this.requested), s.in_use - this.fixedOverhead),
      // Johnstone & Wilson's measure 4: the heap's high-water mark (its footprint) over peak live bytes.
      peak_ratio_ppm: ppm(footprint, this.peakRequested),
      bounds: this.bounds(),
      diagnostics: this.allocator.diagnostics?.() ?? null,
      alloc_cycles: this.allocCycles.summary(),
      free_cycles: this.freeCycles.summary(),
    };
  }
}

/** Which end a block placed in `mode` came from: High and HighAligned from the top, Addr where asked. */
export function placedFrom(mode: number): PlacedFrom {
  return mode === MODE_HIGH || mode === MODE_HIGH_ALIGNED ? 'top' : mode === MODE_ADDR ? 'at' : 'bottom';
}

/**
 * Whether a refusal was of the call's arguments rather than for lack of memory (then no fault, and it
 * says nothing about the heap's size): size 0 (malloc(0) may return null), an error code the
 * allocator's entry lists as an argument error (psp-sysmem's bad alignment and bad type), and on an
 * allocator with modes an unknown mode.
 */
export function refusedArguments(entry: AllocatorEntry, lastError: number | undefined, size: number, mode: number): boolean {
  return size === 0 || entry.argumentErrors?.includes(lastError ?? 0) === true || (entry.modes === true && !(mode >= 0 && mode < MODES.length));
}

/** Adds [start, end) to sorted, disjoint, non-touching ranges, merging what it meets. */
function addRange(ranges: Array<[number, number]>, start: number, end: number): void {
  if (end <= start) return;
  let i = 0;
  while (i < ranges.length && ranges[i][1] < start) i++;
  let j = i;
  for (; j < ranges.length && ranges[j][0] <= end; j++) {
    start = Math.min(start, ranges[j][0]);
    end = Math.max(end, ranges[j][1]);
  }
  ranges.splice(i, j - i, [start, end]);
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
