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
  /**
   * When set, every metadata word read or written is also recorded here, in order, for a cache model:
   * one entry per word counted in `reads` and `writes` (so trace.length grows by exactly reads + writes).
   */
  trace: MetadataTrace | null;
}

/**
 * Addresses of the metadata words one allocator call touched, in order, and whether each was a
 * write. Reused across calls: the caller resets it (resetWork does). Addresses are plain numbers and
 * may exceed 2^31 (heaps in high memory), so they are kept in a Float64Array.
 *
 * Where each allocator's metadata lives is documented at its read/write calls. The allocators whose
 * control words are not in the heap's own memory (bump's pointer, the free-list head of first-fit and
 * best-fit, the pool's counters, wasm's page count: statics, object fields or engine state, at an
 * address emu does not know) trace them at a notional control block in the heap's first bytes, so that
 * every address lies in the heap's region; psp-sysmem's control blocks are kernel memory, traced at a
 * notional kernel block list (see psp-sysmem.ts).
 *
 * Calls count and record through read() and write(). The hottest paths count directly and record
 * only under `work.trace !== null`, so that an untraced call computes no address at all: TLSF pushes
 * single words as it goes and claims each helper's words at once (claim); the free-list walks and
 * psp-sysmem's block walks are counted once per walk, and when tracing, walked again to fill the
 * trace in place (reserve). Either way the entries match the counts word for word.
 */
export class MetadataTrace {
  /** 32-bit addresses, kept as their bit patterns (read them with `>>> 0`): integer loads are cheaper. */
  addrs = new Int32Array(64);
  /** 1 where the entry is a write. */
  writes = new Uint8Array(64);
  length = 0;

  push(addr: number, write: boolean): void {
    if (this.length === this.addrs.length) this.grow();
    this.addrs[this.length] = addr | 0;
    this.writes[this.length] = write ? 1 : 0;
    this.length++;
  }

  reset(): void {
    this.length = 0;
  }

  /**
   * Takes the next `count` entries and returns the index of the first, for a caller that stores them
   * itself in addrs and writes (read after this call: growing replaces the arrays). Fewer calls than
   * push, and smaller code: a traced allocator call stays small enough for V8 to inline its helpers.
   */
  claim(count: number): number {
    const first = this.length;
    if (first + count > this.addrs.length) this.reserve(count);
    this.length = first + count;
    return first;
  }

  /**
   * Makes room for `count` more entries, for a hot loop that fills addrs and writes itself from
   * `length` on (re-reading them after this call: growing replaces the arrays) and then sets length.
   */
  reserve(count: number): void {
    while (this.length + count > this.addrs.length) this.grow();
  }

  /** The entries as [address, written] pairs (for tests and reports; allocates). */
  entries(): Array<[number, boolean]> {
    const out: Array<[number, boolean]> = [];
    for (let i = 0; i < this.length; i++) out.push([this.addrs[i] >>> 0, this.writes[i] === 1]);
    return out;
  }

  private grow(): void {
    const addrs = new Int32Array(this.addrs.length * 2);
    addrs.set(this.addrs);
    const writes = new Uint8Array(this.writes.length * 2);
    writes.set(this.writes);
    this.addrs = addrs;
    this.writes = writes;
  }
}

/** Counts `words` metadata words read starting at `addr` (4-byte words), and records them when tracing. */
export function read(work: Work, addr: number, words = 1): void {
  work.reads += words;
  const trace = work.trace;
  if (trace !== null) for (let i = 0; i < words; i++) trace.push(addr + 4 * i, false);
}

/** Counts `words` metadata words written starting at `addr` (4-byte words), and records them when tracing. */
export function write(work: Work, addr: number, words = 1): void {
  work.writes += words;
  const trace = work.trace;
  if (trace !== null) for (let i = 0; i < words; i++) trace.push(addr + 4 * i, true);
}

export function newWork(): Work {
  return { instructions: 0, reads: 0, writes: 0, trace: null };
}

/** Zeroes the counts and empties the trace, if one is attached. */
export function resetWork(work: Work): void {
  work.instructions = 0;
  work.reads = 0;
  work.writes = 0;
  if (work.trace !== null) work.trace.reset();
}

/**
 * Placement modes of an alloc step (the PSP's sceKernelAllocPartitionMemory types, numbered as there).
 * Only allocators whose entry says `modes` look at them; the others always place as they choose.
 */
export const MODES = ['low', 'high', 'addr', 'low-aligned', 'high-aligned'] as const;
export type ModeName = (typeof MODES)[number];
export const MODE_LOW = 0;
export const MODE_HIGH = 1;
export const MODE_ADDR = 2;
export const MODE_LOW_ALIGNED = 3;
export const MODE_HIGH_ALIGNED = 4;

/** The address that stands for C's NULL: what alloc and realloc return on failure, and realloc takes as "no block". */
export const NULL_ADDR = -1;

/**
 * What the most recent realloc did (Allocator.lastRealloc):
 * - 'in-place': the block was resized where it is; the same address is returned, nothing is copied;
 * - 'moved': a new block was allocated, `lastMoved` bytes copied into it and the old block given back
 *   (bump gives nothing back: its free is a no-op);
 * - 'allocated': the address was NULL_ADDR, so realloc was malloc;
 * - 'freed': size 0 on an allocator whose realloc(p, 0) frees p and returns NULL (tlsf_realloc);
 *   NULL_ADDR is returned, and the block is gone as after free;
 * - 'failed': NULL_ADDR is returned and the old block is untouched (still live, same size).
 */
export type ReallocOutcome = 'in-place' | 'moved' | 'allocated' | 'freed' | 'failed';

export interface Allocator {
  /**
   * Returns the address of a block of at least `size` bytes aligned to `align`, or -1.
   *
   * `align` 0 is the C library's malloc(size): the allocator's own (natural) alignment, given by its
   * AllocatorEntry.naturalAlign, and its plain allocation path (tlsf_malloc, o1heapAllocate, ...),
   * including its own answer to size 0 (NULL for tlsf_malloc and o1heapAllocate; each allocator says
   * its choice at its alloc). `align` >= 1 is memalign(align, size): at least that alignment, on the
   * path the allocator takes for it (tlsf_memalign above ALIGN_SIZE, the same as malloc at or below).
   *
   * `mode` (a MODE_* number, or any other number the real API would reject) and `at` (the address
   * for MODE_ADDR) matter only to allocators with modes.
   */
  alloc(size: number, align: number, work: Work, mode?: number, at?: number): number;
  /** Bytes the most recent successful alloc (or realloc) took: header, padding and rounding included. */
  readonly lastBlock: number;
  /**
   * realloc(addr, size) as the allocator's real code does it; absent where the real API has none
   * (psp-sysmem). `addr` is a live block's address, or NULL_ADDR for malloc(size). Returns the block's
   * address afterwards (the same one when resized in place) or NULL_ADDR; `lastRealloc` says which case
   * it was, so that a NULL_ADDR after 'freed' is not taken for a failure. A failure leaves the old block
   * untouched; a request no larger than the block's current one never fails where the real code cannot.
   * The new block has the allocator's natural alignment (realloc takes no alignment; a block resized in
   * place keeps its address and so whatever alignment it had). lastBlock is the new block's size.
   *
   * The copy of a moved block's bytes is the caller's to charge (it goes through the cache model): the
   * allocator does not count it in `work`, and reports its length in `lastMoved`.
   */
  realloc?(addr: number, size: number, work: Work): number;
  /** How the most recent realloc ended; set by every realloc. */
  readonly lastRealloc?: ReallocOutcome;
  /**
   * Bytes the most recent realloc copies from the old block to the new one: the real code's memcpy
   * length, min(the old block's usable bytes, size); 0 unless lastRealloc is 'moved'.
   */
  readonly lastMoved?: number;
  /** Where the allocator models a real API: the error code of the most recent failed alloc. */
  readonly lastError?: number;
  /** Releases the block at `addr` (a live block's address); returns the bytes it gave back. */
  free(addr: number, work: Work): number;
  /**
   * Whether the real code's free (or realloc) would notice that `addr` is not a live block (a double
   * free, a realloc of a freed block) and stop there, aborting or returning an error, judged by its
   * own checks on the heap as it is now. Absent where the real code, as built for a product, checks
   * nothing (it corrupts the heap quietly). Reads state only: it counts no work.
   */
  refusesFree?(addr: number): boolean;
  /** Bytes managed: usedBytes() + freeBytes() always equals this (control structures count as used). */
  capacity(): number;
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
  /** Growable memory (wasm only): adds `pages`; returns the page count before, or -1 when refused. */
  grow?(pages: number, work: Work): number;
  /**
   * A heap in a dynamic segment follows the segment's size: its memory becomes [base, base + size).
   * Growing adds the new bytes as free memory, the allocator's own way (TLSF adds them as a pool, as
   * tlsf_add_pool does; the free-list allocators and bump move their end); shrinking gives back the end
   * only where nothing the allocator holds lies there. Returns false, changing nothing, when the
   * allocator cannot follow; absent where it never can (the segment's resize is then refused).
   */
  extend?(size: number, work: Work): boolean;
  /**
   * Where the allocator keeps metadata in the heap's own memory (block headers, the links inside free
   * blocks, a control structure): the first address in [start, end) holding some, or -1. A program
   * write there corrupts the heap; the engine reports it when the allocator next reads it.
   */
  metadataIn?(start: number, end: number): number;
  /** The allocator's own counters for the summary (o1heap's diagnostics, pages, blocks), in a fixed key order. */
  diagnostics?(): Record<string, number>;
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

export type AllocatorOptions = Record<string, number | boolean>;

/** One key a heap's `options:` may give, checked when the scenario is read. */
export interface OptionSpec {
  kind: 'size' | 'int' | 'bool';
  min?: number;
  max?: number;
  pow2?: boolean;
  /** What the option does, for error messages. */
  about: string;
}

/** What an allocator is created with besides its memory. */
export interface AllocatorContext {
  /** The scenario's growth policy (wasm's default page limit depends on it). */
  policy: 'std' | 'no_std_alloc' | 'no_alloc';
  /**
   * For a heap in a dynamic layout's segment: the segment, which an allocator that grows its own
   * memory (wasm's memory.grow) asks for room. Absent: the heap's size is all it will ever have.
   */
  segment?: SegmentMemory;
}

/** A heap's dynamic segment, as the allocator inside sees it. */
export interface SegmentMemory {
  /**
   * Asks for the segment to hold at least `size` bytes from the heap's base, growing it in place if it
   * must; true when it does now, false when the arena has no room after it (nothing changed).
   */
  request(size: number): boolean;
}

/** A published worst-case heap size: enough memory that no request sequence can fail. */
export interface WorstCaseBound {
  /** The formula as written in the source, for reports. */
  formula: string;
  source: string;
  /** Bytes needed for peak live bytes `m` and largest/smallest request ratio `n`. */
  bytes(m: number, n: number): number;
}

/** What an allocator kind is and supports; the optional flags are false when left out. */
export interface AllocatorEntry {
  /** Keys accepted under a heap's `options:`. */
  options: Readonly<Record<string, OptionSpec>>;
  scopes?: boolean;
  /** Whether free gives a block back (bump's free is a no-op): only then are leaks meaningful. */
  freesBlocks: boolean;
  /**
   * Whether alloc steps may give `mode` and `at`, and the allocator judges size and alignment itself
   * (size 0 and non-power-of-two alignments reach it and fail as on the console).
   */
  modes?: boolean;
  /** Whether failures carry the real API's error code (`lastError`, recorded in the alloc event). */
  errorCodes?: boolean;
  /** With errorCodes: what the real API returns for a free of a block it does not hold (freed or never allocated). */
  invalidFreeError?: number;
  /** With errorCodes: the codes that refuse the call's arguments (an error return, not a memory fault). */
  argumentErrors?: readonly number[];
  /** Why the allocator has no realloc, where it has none (the API it models offers none). */
  noRealloc?: string;
  /** Whether the heap takes `grow` steps. */
  grows?: boolean;
  /**
   * The alignment alloc gives with `align` 0 (malloc), with these options: every block's payload is a
   * multiple of it. A block from a realloc that moved has this alignment.
   */
  naturalAlign(options: AllocatorOptions): number;
  /**
   * The step, in bytes, in which the heap's size matters to the allocator (at a heap base aligned to
   * it): a size between two multiples manages what the lower multiple does. Default: naturalAlign
   * (free lists, TLSF and dlmalloc cut the heap to whole units of their alignment, buddy to min_block
   * units, psp-sysmem to 256-byte grains). `emu size` searches on multiples of it.
   */
  grain?(options: AllocatorOptions): number;
  /** All blocks one size (pool): any free block serves any request it can, so there is no external fragmentation. */
  fixedBlocks?: boolean;
  /** Whether freeing a block and asking again for the same size and alignment must succeed. */
  reuseGuaranteed: boolean;
  /** The allocator's own published worst-case bound, where there is one. */
  bound: WorstCaseBound | null;
  /** Why `size` bytes cannot hold this allocator with these options (control structure, pool), or null. */
  misfit?(size: number, options: AllocatorOptions, context: AllocatorContext): string | null;
  create(base: number, size: number, options: AllocatorOptions, context: AllocatorContext): Allocator;
}


/** What a realloc sets besides the block: the fields of Allocator it reports through, writable. */
export interface ReallocState {
  lastBlock: number;
  lastRealloc: ReallocOutcome;
  lastMoved: number;
}

/** Records a realloc's outcome and returns `addr`, its result (NULL_ADDR unless it ended with a block). */
export function reallocEnded(a: ReallocState, outcome: ReallocOutcome, addr: number, moved = 0): number {
  a.lastRealloc = outcome;
  a.lastMoved = moved;
  return addr;
}

/** realloc(NULL, size): malloc(size), the allocator's own alignment and path. */
export function reallocNull(a: Allocator & ReallocState, size: number, work: Work): number {
  const addr = a.alloc(size, 0, work);
  return reallocEnded(a, addr < 0 ? 'failed' : 'allocated', addr);
}

/** realloc(p, 0) where it means free(p) and returns NULL (tlsf_realloc's "zero-size requests are treated as free"). */
export function reallocFree(a: Allocator & ReallocState, addr: number, work: Work): number {
  a.free(addr, work);
  a.lastBlock = 0;
  return reallocEnded(a, 'freed', NULL_ADDR);
}

/**
 * The realloc every allocator falls back on when the block cannot be resized where it is: malloc the
 * new size, copy min(usable, size) bytes (the caller's to charge), free the old block. When the
 * malloc fails, nothing else happens: the old block is untouched.
 */
export function reallocByMove(a: Allocator & ReallocState, addr: number, size: number, usable: number, work: Work): number {
  const moved = a.alloc(size, 0, work);
  if (moved < 0) return reallocEnded(a, 'failed', NULL_ADDR);
  a.free(addr, work);
  return reallocEnded(a, 'moved', moved, Math.min(usable, size));
}

/** The step in which a heap's size matters to this allocator (AllocatorEntry.grain, else its natural alignment). */
export function sizeGrain(entry: AllocatorEntry, options: AllocatorOptions): number {
  return entry.grain?.(options) ?? entry.naturalAlign(options);
}
