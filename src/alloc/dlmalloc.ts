/**
 * Doug Lea's malloc 2.8.6 (dlmalloc, 2012) as an mspace on a fixed heap, on a 32-bit target: what
 * `create_mspace_with_base(heap, capacity, 0)` followed by mspace_malloc, mspace_memalign, mspace_free
 * and mspace_realloc do, built as `-DONLY_MSPACES=1 -DHAVE_MMAP=0` with the defaults otherwise
 * (FOOTERS 0, INSECURE 0, MALLOC_ALIGNMENT 8 = 2 × sizeof(void*), no locks, REALLOC_ZERO_BYTES_FREES
 * not defined). ONLY_MSPACES makes HAVE_MORECORE 0 and HAVE_MMAP is 0, so sys_alloc has no way to get
 * memory: the heap never grows and a request that neither a bin, the dv nor the top can serve fails.
 * Source: dlmalloc.c 2.8.6 as carried by emscripten-core/emscripten (system/lib/dlmalloc.c) and
 * WebAssembly/wasi-libc (dlmalloc/src/malloc.c); function and macro names below are the C's.
 *
 * Chunks (malloc_chunk): prev_foot, head, then the payload ("mem", chunk + 8). head holds the size
 * (a multiple of 8) with PINUSE_BIT (1, the previous chunk is in use) and CINUSE_BIT (2, this one is).
 * A used chunk costs CHUNK_OVERHEAD = 4 bytes: its payload runs on into the next chunk's prev_foot,
 * which only means something (the size of a free previous chunk, its "foot") while this one is free.
 * A free chunk keeps fd/bk in its payload; a free chunk of 256 bytes or more is a malloc_tree_chunk
 * and also keeps child[0], child[1], parent and index.
 * Bins: 32 small bins of exact sizes 8i (circular doubly linked lists whose headers live in
 * malloc_state.smallbins, used from 16 bytes up), 32 tree bins (bitwise tries keyed on the size
 * bits below the bin's range), a bit map each. The designated victim (dv) is the remainder of the
 * last split for a small request, kept out of the bins and used first for small requests that have
 * no exact fit; the top chunk borders the end of the heap and is used last.
 *
 * Layout of the heap (init_user_mstate): msp = align_as_chunk(base) (base itself when base is 8-aligned,
 * else base + 4: chunk2mem(msp) must be 8-aligned); the malloc_state lives in msp's payload as a used
 * chunk of pad_request(sizeof(malloc_state)) = 480 bytes, so the first chunk, the top, starts at
 * msp + 480 (payload msp + 488); its size is what remains up to the end less TOP_FOOT_SIZE (40), whose
 * first word would be a fencepost's prev_foot and whose second holds the fake head TOP_FOOT_SIZE that
 * init_top writes. The top's size is kept in malloc_state.topsize; a request fits the top only when
 * strictly smaller (mspace_malloc: nb < topsize), so the top never vanishes.
 *
 * emu passes create_mspace_with_base the heap's bytes up to its last 8-byte boundary: with an odd
 * capacity the C would give the top a size with flag bits set (init_top stores psize | PINUSE_BIT
 * without rounding), which no program means to do. The trailing 0..7 bytes are counted as used.
 *
 * The model keeps the heap's metadata words themselves (prev_foot, head, links, the malloc_state) in
 * a word array and runs the C's steps on it, so the words it reads and writes are the C's, at their
 * real addresses: every field load and store in the C source on the path taken is one read()/write(),
 * counted as written (a value the function already holds in a local is not loaded again; a reload
 * after a store or a call is). User data is not modelled: realloc's memcpy is the caller's to charge.
 * mparams (a static outside the heap) is not traced; its values are constants here: the trim
 * threshold 2 MiB (DEFAULT_TRIM_THRESHOLD, MORECORE_CANNOT_TRIM not defined), granularity 64 KiB
 * (DEFAULT_GRANULARITY without contiguous MORECORE), and a fixed magic (time(0) = 0 in init_mparams).
 *
 * malloc(0): request2size(0) = MIN_CHUNK_SIZE, a 16-byte chunk with 12 usable bytes (the header's
 * "Even a request for zero bytes (i.e., malloc(0)) returns a pointer to something of the minimum
 * allocatable size"). realloc(p, 0): REALLOC_ZERO_BYTES_FREES is not defined by default, so it is
 * realloc(p, 16-byte chunk): try_realloc_chunk shrinks p in place and gives the tail back; p is returned.
 * realloc(NULL, n) is malloc(n). A realloc that cannot resize in place (try_realloc_chunk: shrink and
 * split off the tail, grow into the top, the dv or a free next chunk) mallocs, copies
 * min(chunksize - 4, bytes) and frees; when that malloc fails the old block stays.
 *
 * Instruction counts are estimates (no cycle figures are published for dlmalloc): a fixed cost per
 * path step, stated at each constant, on top of the metadata words.
 *
 * Worst case: dlmalloc publishes no bound on heap size (its header promises time bounds, "bounded by a
 * constant factor of the number of bits in a size_t"), so the entry's own bound is null; reports give
 * Robson's bound for it as for every allocator that reuses freed memory.
 */
import { alignUp } from '../util/bits.js';
import { read, reallocEnded, write, NULL_ADDR, type Allocator, type AllocatorEntry, type ReallocOutcome, type ReallocState, type Work } from './allocator.js';

// ---- size_t and alignment (32-bit target) ----
/** SIZE_T_SIZE: sizeof(size_t), and of a pointer. */
const SIZE_T_SIZE = 4;
/** MALLOC_ALIGNMENT: 2 × sizeof(void*) = 8. CHUNK_ALIGN_MASK = 7. */
const MALLOC_ALIGNMENT = 8;
const CHUNK_ALIGN_MASK = MALLOC_ALIGNMENT - 1;
/** CHUNK_OVERHEAD with FOOTERS 0: the head word only (SIZE_T_SIZE). */
const CHUNK_OVERHEAD = SIZE_T_SIZE;
/** MCHUNK_SIZE = sizeof(malloc_chunk) = 4 words = 16; MIN_CHUNK_SIZE = (16 + 7) & ~7 = 16. */
const MIN_CHUNK_SIZE = 16;
/** MIN_REQUEST = MIN_CHUNK_SIZE - CHUNK_OVERHEAD - 1 = 11: smaller requests take a 16-byte chunk. */
const MIN_REQUEST = MIN_CHUNK_SIZE - CHUNK_OVERHEAD - 1;
/** MAX_REQUEST = (-MIN_CHUNK_SIZE) << 2 in 32 bits = 2^32 - 64: requests at or above it fail. */
const MAX_REQUEST = 2 ** 32 - 64;
const MAX_SIZE_T = 2 ** 32 - 1;
/** chunk2mem: the payload starts two words into the chunk (prev_foot, head). */
const TWO_SIZE_T_SIZES = 8;

// ---- head bits ----
const PINUSE_BIT = 1;
const CINUSE_BIT = 2;
const INUSE_BITS = PINUSE_BIT | CINUSE_BIT;
/** FLAG_BITS: PINUSE, CINUSE and the unused FLAG4; chunksize masks all three. */
const FLAG_BITS = 7;
/** FENCEPOST_HEAD = INUSE_BITS | SIZE_T_SIZE. */
const FENCEPOST_HEAD = INUSE_BITS | SIZE_T_SIZE;

// ---- bins ----
const NSMALLBINS = 32;
const NTREEBINS = 32;
const SMALLBIN_SHIFT = 3;
const TREEBIN_SHIFT = 8;
/** MIN_LARGE_SIZE = 1 << TREEBIN_SHIFT = 256: chunks from here on live in the trees. */
const MIN_LARGE_SIZE = 1 << TREEBIN_SHIFT;
/** MAX_SMALL_SIZE = 255; MAX_SMALL_REQUEST = MAX_SMALL_SIZE - CHUNK_ALIGN_MASK - CHUNK_OVERHEAD = 244. */
const MAX_SMALL_SIZE = MIN_LARGE_SIZE - 1;
const MAX_SMALL_REQUEST = MAX_SMALL_SIZE - CHUNK_ALIGN_MASK - CHUNK_OVERHEAD;

// ---- malloc_state on 32-bit (USE_LOCKS 0: no mutex) ----
// smallmap, treemap, dvsize, topsize, least_addr, dv, top, trim_check, release_checks, magic: 10 words
// (0..36); smallbins[(NSMALLBINS + 1) × 2] = 66 pointers (40..300); treebins[NTREEBINS] (304..428);
// footprint, max_footprint, footprint_limit, mflags (432..444); seg {base, size, next, sflags} (448..460);
// extp, exts (464, 468). sizeof = 472, no padding (all 4-byte fields).
const SMALLMAP = 0;
const TREEMAP = 4;
const DVSIZE = 8;
const TOPSIZE = 12;
const LEAST_ADDR = 16;
const DV = 20;
const TOP = 24;
const TRIM_CHECK = 28;
const RELEASE_CHECKS = 32;
const MAGIC = 36;
const SMALLBINS = 40;
const TREEBINS = 304;
const FOOTPRINT = 432;
const MAX_FOOTPRINT = 436;
const FOOTPRINT_LIMIT = 440;
const MFLAGS = 444;
const SEG_BASE = 448;
const SEG_SIZE = 452;
const SEG_FLAGS = 460;
const MALLOC_STATE_SIZE = 472;
/** msize = pad_request(sizeof(malloc_state)) = (472 + 4 + 7) & ~7 = 480: the state's own chunk. */
const MSIZE = (MALLOC_STATE_SIZE + CHUNK_OVERHEAD + CHUNK_ALIGN_MASK) & ~CHUNK_ALIGN_MASK;
/**
 * TOP_FOOT_SIZE = align_offset(chunk2mem(0)) + pad_request(sizeof(malloc_segment)) + MIN_CHUNK_SIZE
 * = 0 + ((16 + 4 + 7) & ~7 = 24) + 16 = 40: kept free past the top for a segment record and fenceposts.
 */
const TOP_FOOT_SIZE = 0 + ((16 + CHUNK_OVERHEAD + CHUNK_ALIGN_MASK) & ~CHUNK_ALIGN_MASK) + MIN_CHUNK_SIZE;
/** SYS_ALLOC_PADDING = TOP_FOOT_SIZE + MALLOC_ALIGNMENT; DEFAULT_GRANULARITY 64 KiB. */
const SYS_ALLOC_PADDING = TOP_FOOT_SIZE + MALLOC_ALIGNMENT;
const GRANULARITY = 64 * 1024;
/** DEFAULT_TRIM_THRESHOLD: 2 MiB (MORECORE_CANNOT_TRIM not defined); init_top copies it to trim_check. */
const TRIM_THRESHOLD = 2 * 1024 * 1024;
/** MAX_RELEASE_CHECK_RATE without HAVE_MMAP: MAX_SIZE_T. */
const MAX_RELEASE_CHECK_RATE = MAX_SIZE_T;
/** mparams.magic as init_mparams makes it from time(0) = 0: (0 ^ 0x55555555 | 8) & ~7. */
const MPARAMS_MAGIC = ((0x55555555 | 8) & ~7) >>> 0;
/** mflags: mparams.default_mflags = USE_LOCK_BIT (0 without locks) | USE_MMAP_BIT (0 without mmap) | USE_NONCONTIGUOUS_BIT (4); disable_contiguous sets 4 again. */
const USE_NONCONTIGUOUS_BIT = 4;
/** seg.sflags of create_mspace_with_base's segment: EXTERN_BIT. */
const EXTERN_BIT = 8;

// ---- chunk fields ----
const PREV_FOOT = 0;
const HEAD = 4;
const FD = 8;
const BK = 12;
const CHILD0 = 16;
const CHILD1 = 20;
const PARENT = 24;
const INDEX = 28;

/*
 * Instruction estimates (besides the metadata words): each is the ALU work and branches of one step of
 * the C on the path taken, counted from the source, with call overhead where the C calls a function.
 */
/** mspace_malloc entry: the range test, request2size, small_index, the smallmap shift and test. */
const MALLOC_INSTRUCTIONS = 14;
/** A remainderless small-bin fit, or a next-bin fit: bin address, unlink_first_small_chunk, set_inuse. */
const SMALLBIN_INSTRUCTIONS = 12;
/** left_bits, least_bit and compute_bit2idx (a ctz) over a bin map. */
const BITSCAN_INSTRUCTIONS = 6;
/** Splitting a chunk (dv, top or a bin's): the remainder's address, two head words, a foot. */
const SPLIT_INSTRUCTIONS = 8;
/** compute_tree_index: shift, range tests, clz, the second bit. */
const TREE_INDEX_INSTRUCTIONS = 10;
/** One node of a trie walk (tmalloc_large/small, insert_large_chunk, unlink's leaf search). */
const TREE_STEP_INSTRUCTIONS = 7;
/** tmalloc_large / tmalloc_small entry and the dv comparison at the end. */
const TMALLOC_INSTRUCTIONS = 10;
/** insert_small_chunk / unlink_small_chunk: index, bin address, map bit, four links. */
const SMALL_LINK_INSTRUCTIONS = 8;
/** insert_large_chunk / unlink_large_chunk outside the walk: index, bin, map bit, links. */
const LARGE_LINK_INSTRUCTIONS = 14;
/** mspace_free / dispose_chunk entry: mem2chunk, the checks, next chunk, the pinuse test. */
const FREE_INSTRUCTIONS = 12;
/** One consolidation (backward or forward): size add, the dv/top tests. */
const MERGE_INSTRUCTIONS = 6;
/** sys_alloc's failure without mmap or MORECORE: granularity_align, the wrap test, the limit test. */
const SYS_ALLOC_INSTRUCTIONS = 10;
/** sys_trim's failed attempt: pad, extra, segment_holding, the extern test, disabling autotrim. */
const SYS_TRIM_INSTRUCTIONS = 20;
/** mspace_realloc and try_realloc_chunk entry: request2size, the checks, next chunk, the case tests. */
const REALLOC_INSTRUCTIONS = 16;
/** internal_memalign: the alignment's normalisation, the over-request, finding the aligned spot. */
const MEMALIGN_INSTRUCTIONS = 20;

/** compute_tree_index (the portable form; the same result as the x86 one). */
function treeIndex(s: number): number {
  const x = s >>> TREEBIN_SHIFT;
  if (x === 0) return 0;
  if (x > 0xffff) return NTREEBINS - 1;
  const k = 31 - Math.clz32(x);
  return (k << 1) + ((s >>> (k + TREEBIN_SHIFT - 1)) & 1);
}

/** leftshift_for_tree_index: moves the bin's highest resolved size bit to bit 31. */
function leftshiftForTreeIndex(i: number): number {
  return i === NTREEBINS - 1 ? 0 : 31 - ((i >>> 1) + TREEBIN_SHIFT - 2);
}

/** minsize_for_tree_index: the smallest size tree bin i holds. */
function minsizeForTreeIndex(i: number): number {
  return ((1 << ((i >>> 1) + TREEBIN_SHIFT)) | ((i & 1) << ((i >>> 1) + TREEBIN_SHIFT - 1))) >>> 0;
}

/** left_bits(x): the bits left of x's lowest set bit, as a 32-bit map. */
function leftBits(x: number): number {
  const s = (x << 1) | 0;
  return (s | -s) >>> 0;
}

/** compute_bit2idx(least_bit(x)): the index of x's lowest set bit. */
function lowestIndex(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** pad_request: the chunk size for `req` bytes (no minimum). */
function padRequest(req: number): number {
  return Math.floor((req + CHUNK_OVERHEAD + CHUNK_ALIGN_MASK) / MALLOC_ALIGNMENT) * MALLOC_ALIGNMENT;
}

/** request2size: pad_request with the MIN_CHUNK_SIZE floor. */
function request2size(req: number): number {
  return req < MIN_REQUEST ? MIN_CHUNK_SIZE : padRequest(req);
}

/** Raised where the C's RTCHECKs would call CORRUPTION_ERROR_ACTION (ABORT without PROCEED_ON_ERROR). */
class DlmallocAbort extends Error {}

export class DlmallocAllocator implements Allocator, ReallocState {
  /** The heap as given, and the capacity passed to create_mspace_with_base (up to the last 8-byte boundary). */
  private readonly base: number;
  private readonly tsize: number;
  /** msp = align_as_chunk(base): the malloc_state's chunk; the word array starts here. */
  private readonly msp: number;
  /** The mstate: chunk2mem(msp). */
  private readonly ms: number;
  /** Whether create_mspace_with_base accepted the heap (else every alloc fails, as on a NULL mspace). */
  private readonly made: boolean;
  /** The metadata words from msp to the heap's end, as the C sees them (uint32). */
  private readonly mem: Uint32Array;
  /** Bytes in free chunks held in bins (for freeBytes without a walk). */
  private binned = 0;
  private w: Work;
  lastBlock = 0;
  lastRealloc: ReallocOutcome = 'failed';
  lastMoved = 0;

  constructor(base: number, size: number) {
    this.base = base;
    this.tsize = Math.max(0, Math.floor((base + size) / MALLOC_ALIGNMENT) * MALLOC_ALIGNMENT - base);
    // align_offset(chunk2mem(base)): the padding that puts the state's payload on MALLOC_ALIGNMENT.
    this.msp = base + alignUp(base + TWO_SIZE_T_SIZES, MALLOC_ALIGNMENT) - (base + TWO_SIZE_T_SIZES);
    this.ms = this.msp + TWO_SIZE_T_SIZES;
    const words = Math.max(0, Math.floor((base + this.tsize - this.msp) / 4));
    this.mem = new Uint32Array(words);
    this.w = { instructions: 0, reads: 0, writes: 0, trace: null };
    // create_mspace_with_base: capacity > msize + TOP_FOOT_SIZE; emu also wants a top of at least one
    // 8-byte unit (with base not 8-aligned align_as_chunk costs 4 bytes more).
    this.made = this.tsize > MSIZE + TOP_FOOT_SIZE && base + this.tsize - this.msp - MSIZE - TOP_FOOT_SIZE >= MALLOC_ALIGNMENT;
    if (this.made) this.initUserMstate();
  }

  // ---------------------------------------------------------------- words

  /** A metadata word load, counted and traced. */
  private ld(addr: number): number {
    read(this.w, addr);
    return this.mem[(addr - this.msp) >>> 2];
  }

  /** A metadata word store, counted and traced. */
  private st(addr: number, value: number): void {
    write(this.w, addr);
    this.mem[(addr - this.msp) >>> 2] = value;
  }

  /** A word as it stands, uncounted (check, metadataIn, the measures). */
  private peek(addr: number): number {
    return this.mem[(addr - this.msp) >>> 2];
  }

  private poke(addr: number, value: number): void {
    this.mem[(addr - this.msp) >>> 2] = value;
  }

  private smallbinAt(i: number): number {
    return this.ms + SMALLBINS + 8 * i;
  }

  private treebinAt(i: number): number {
    return this.ms + TREEBINS + 4 * i;
  }

  /** ok_address(M, a): a >= least_addr (loads least_addr). */
  private okAddress(a: number): boolean {
    return a >= this.ld(this.ms + LEAST_ADDR);
  }

  private corrupt(where: string): never {
    throw new DlmallocAbort(`dlmalloc: CORRUPTION_ERROR_ACTION in ${where} (ABORT)`);
  }

  // ---------------------------------------------------------------- creation

  /** init_user_mstate(base, tsize), then create_mspace_with_base's seg.sflags = EXTERN_BIT (set_lock(m, 0) stores nothing without locks). */
  private initUserMstate(): void {
    const ms = this.ms;
    // memset(m, 0, msize): the array is zero already. msp->head = msize | INUSE_BITS.
    this.poke(this.msp + HEAD, MSIZE | INUSE_BITS);
    this.poke(ms + SEG_BASE, this.base >>> 0);
    this.poke(ms + LEAST_ADDR, this.base >>> 0);
    this.poke(ms + SEG_SIZE, this.tsize);
    this.poke(ms + FOOTPRINT, this.tsize);
    this.poke(ms + MAX_FOOTPRINT, this.tsize);
    this.poke(ms + MAGIC, MPARAMS_MAGIC);
    this.poke(ms + RELEASE_CHECKS, MAX_RELEASE_CHECK_RATE);
    this.poke(ms + MFLAGS, USE_NONCONTIGUOUS_BIT);
    // init_bins: every small bin header points at itself.
    for (let i = 0; i < NSMALLBINS; i++) {
      const bin = this.smallbinAt(i);
      this.poke(bin + FD, bin);
      this.poke(bin + BK, bin);
    }
    // init_top(m, mn, (tbase + tsize - mn) - TOP_FOOT_SIZE), mn = next_chunk(msp): already aligned.
    const mn = this.msp + MSIZE;
    const psize = this.base + this.tsize - mn - TOP_FOOT_SIZE;
    this.poke(ms + TOP, mn);
    this.poke(ms + TOPSIZE, psize);
    this.poke(mn + HEAD, psize | PINUSE_BIT);
    this.poke(mn + psize + HEAD, TOP_FOOT_SIZE);
    this.poke(ms + TRIM_CHECK, TRIM_THRESHOLD);
    this.poke(ms + SEG_FLAGS, EXTERN_BIT);
  }

  // ---------------------------------------------------------------- head/foot macros

  /** set_inuse(M, p, s): keep p's PINUSE, size s, CINUSE; set PINUSE in the chunk after. */
  private setInuse(p: number, s: number): void {
    this.st(p + HEAD, ((this.ld(p + HEAD) & PINUSE_BIT) | s | CINUSE_BIT) >>> 0);
    this.st(p + s + HEAD, (this.ld(p + s + HEAD) | PINUSE_BIT) >>> 0);
  }

  /** set_inuse_and_pinuse(M, p, s). */
  private setInuseAndPinuse(p: number, s: number): void {
    this.st(p + HEAD, s | PINUSE_BIT | CINUSE_BIT);
    this.st(p + s + HEAD, (this.ld(p + s + HEAD) | PINUSE_BIT) >>> 0);
  }

  /** set_size_and_pinuse_of_inuse_chunk(M, p, s). */
  private setSizeAndPinuseOfInuseChunk(p: number, s: number): void {
    this.st(p + HEAD, s | PINUSE_BIT | CINUSE_BIT);
  }

  /** set_size_and_pinuse_of_free_chunk(p, s): head and foot. */
  private setSizeAndPinuseOfFreeChunk(p: number, s: number): void {
    this.st(p + HEAD, s | PINUSE_BIT);
    this.st(p + s + PREV_FOOT, s);
  }

  /** set_free_with_pinuse(p, s, n): clear n's PINUSE, then head and foot. */
  private setFreeWithPinuse(p: number, s: number, n: number): void {
    this.st(n + HEAD, (this.ld(n + HEAD) & ~PINUSE_BIT) >>> 0);
    this.setSizeAndPinuseOfFreeChunk(p, s);
  }

  // ---------------------------------------------------------------- bins

  /** insert_small_chunk(M, P, S). */
  private insertSmallChunk(p: number, s: number): void {
    this.w.instructions += SMALL_LINK_INSTRUCTIONS;
    const ms = this.ms;
    const i = s >>> SMALLBIN_SHIFT;
    const b = this.smallbinAt(i);
    let f = b;
    const map = this.ld(ms + SMALLMAP);
    if ((map & (1 << i)) === 0) this.st(ms + SMALLMAP, (map | (1 << i)) >>> 0);
    else {
      const bfd = this.ld(b + FD);
      if (this.okAddress(bfd)) f = bfd;
      else this.corrupt('insert_small_chunk');
    }
    this.st(b + FD, p);
    this.st(f + BK, p);
    this.st(p + FD, f);
    this.st(p + BK, b);
    this.binned += s;
  }

  /** unlink_small_chunk(M, P, S). */
  private unlinkSmallChunk(p: number, s: number): void {
    this.w.instructions += SMALL_LINK_INSTRUCTIONS;
    const ms = this.ms;
    const f = this.ld(p + FD);
    const b = this.ld(p + BK);
    const i = s >>> SMALLBIN_SHIFT;
    const bin = this.smallbinAt(i);
    if (f === bin || (this.okAddress(f) && this.ld(f + BK) === p)) {
      if (b === f) this.st(ms + SMALLMAP, (this.ld(ms + SMALLMAP) & ~(1 << i)) >>> 0);
      else if (b === bin || (this.okAddress(b) && this.ld(b + FD) === p)) {
        this.st(f + BK, b);
        this.st(b + FD, f);
      } else this.corrupt('unlink_small_chunk');
    } else this.corrupt('unlink_small_chunk');
    this.binned -= s;
  }

  /** unlink_first_small_chunk(M, B, P, I). */
  private unlinkFirstSmallChunk(b: number, p: number, i: number): void {
    this.w.instructions += SMALL_LINK_INSTRUCTIONS;
    const ms = this.ms;
    const f = this.ld(p + FD);
    if (b === f) this.st(ms + SMALLMAP, (this.ld(ms + SMALLMAP) & ~(1 << i)) >>> 0);
    else if (this.okAddress(f) && this.ld(f + BK) === p) {
      this.st(f + BK, b);
      this.st(b + FD, f);
    } else this.corrupt('unlink_first_small_chunk');
    this.binned -= i << SMALLBIN_SHIFT;
  }

  /** replace_dv(M, P, S): bin the old dv (always small here), make P the dv. */
  private replaceDv(p: number, s: number): void {
    const ms = this.ms;
    const dvs = this.ld(ms + DVSIZE);
    if (dvs !== 0) this.insertSmallChunk(this.ld(ms + DV), dvs);
    this.st(ms + DVSIZE, s);
    this.st(ms + DV, p);
  }

  /** insert_large_chunk(M, X, S): into its tree bin's trie, or onto the chain of a node of the same size. */
  private insertLargeChunk(x: number, s: number): void {
    const w = this.w;
    w.instructions += LARGE_LINK_INSTRUCTIONS + TREE_INDEX_INSTRUCTIONS;
    const ms = this.ms;
    const i = treeIndex(s);
    const h = this.treebinAt(i);
    this.st(x + INDEX, i);
    this.st(x + CHILD0, 0);
    this.st(x + CHILD1, 0);
    const map = this.ld(ms + TREEMAP);
    this.binned += s;
    if ((map & (1 << i)) === 0) {
      this.st(ms + TREEMAP, (map | (1 << i)) >>> 0);
      this.st(h, x);
      this.st(x + PARENT, h);
      this.st(x + FD, x);
      this.st(x + BK, x);
      return;
    }
    let t = this.ld(h);
    let k = (s << leftshiftForTreeIndex(i)) >>> 0;
    for (;;) {
      w.instructions += TREE_STEP_INSTRUCTIONS;
      if ((this.ld(t + HEAD) & ~FLAG_BITS) >>> 0 !== s) {
        const c = t + (k >>> 31 === 0 ? CHILD0 : CHILD1);
        k = (k << 1) >>> 0;
        const child = this.ld(c);
        if (child !== 0) t = child;
        else if (this.okAddress(c)) {
          this.st(c, x);
          this.st(x + PARENT, t);
          this.st(x + FD, x);
          this.st(x + BK, x);
          return;
        } else this.corrupt('insert_large_chunk');
      } else {
        const f = this.ld(t + FD);
        if (this.okAddress(t) && this.okAddress(f)) {
          this.st(t + FD, x);
          this.st(f + BK, x);
          this.st(x + FD, f);
          this.st(x + BK, t);
          this.st(x + PARENT, 0);
          return;
        }
        this.corrupt('insert_large_chunk');
      }
    }
  }

  /** unlink_large_chunk(M, X): off its chain, or replaced in the trie by its rightmost leaf. */
  private unlinkLargeChunk(x: number): void {
    const w = this.w;
    w.instructions += LARGE_LINK_INSTRUCTIONS;
    const ms = this.ms;
    const xp = this.ld(x + PARENT);
    let r: number;
    this.binned -= (this.peek(x + HEAD) & ~FLAG_BITS) >>> 0;
    if (this.ld(x + BK) !== x) {
      const f = this.ld(x + FD);
      r = this.ld(x + BK);
      if (this.okAddress(f) && this.ld(f + BK) === x && this.ld(r + FD) === x) {
        this.st(f + BK, r);
        this.st(r + FD, f);
      } else this.corrupt('unlink_large_chunk');
    } else {
      let rp = x + CHILD1;
      r = this.ld(rp);
      if (r === 0) {
        rp = x + CHILD0;
        r = this.ld(rp);
      }
      if (r !== 0) {
        for (;;) {
          w.instructions += TREE_STEP_INSTRUCTIONS;
          let cp = r + CHILD1;
          let c = this.ld(cp);
          if (c === 0) {
            cp = r + CHILD0;
            c = this.ld(cp);
          }
          if (c === 0) break;
          rp = cp;
          r = c;
        }
        if (this.okAddress(rp)) this.st(rp, 0);
        else this.corrupt('unlink_large_chunk');
      }
    }
    if (xp === 0) return;
    const index = this.ld(x + INDEX);
    const h = this.treebinAt(index);
    if (x === this.ld(h)) {
      this.st(h, r);
      if (r === 0) this.st(ms + TREEMAP, (this.ld(ms + TREEMAP) & ~(1 << index)) >>> 0);
    } else if (this.okAddress(xp)) {
      if (this.ld(xp + CHILD0) === x) this.st(xp + CHILD0, r);
      else this.st(xp + CHILD1, r);
    } else this.corrupt('unlink_large_chunk');
    if (r === 0) return;
    if (!this.okAddress(r)) this.corrupt('unlink_large_chunk');
    this.st(r + PARENT, xp);
    const c0 = this.ld(x + CHILD0);
    if (c0 !== 0) {
      if (!this.okAddress(c0)) this.corrupt('unlink_large_chunk');
      this.st(r + CHILD0, c0);
      this.st(c0 + PARENT, r);
    }
    const c1 = this.ld(x + CHILD1);
    if (c1 !== 0) {
      if (!this.okAddress(c1)) this.corrupt('unlink_large_chunk');
      this.st(r + CHILD1, c1);
      this.st(c1 + PARENT, r);
    }
  }

  /** insert_chunk(M, P, S): small or large by is_small(S). */
  private insertChunk(p: number, s: number): void {
    if (s >>> SMALLBIN_SHIFT < NSMALLBINS) this.insertSmallChunk(p, s);
    else this.insertLargeChunk(p, s);
  }

  /** unlink_chunk(M, P, S). */
  private unlinkChunk(p: number, s: number): void {
    if (s >>> SMALLBIN_SHIFT < NSMALLBINS) this.unlinkSmallChunk(p, s);
    else this.unlinkLargeChunk(p);
  }

  // ---------------------------------------------------------------- malloc

  /** tmalloc_large(m, nb): the best fit in the trees (ties to the trie's leftmost), or 0 when the dv fits better. */
  private tmallocLarge(nb: number): number {
    const w = this.w;
    w.instructions += TMALLOC_INSTRUCTIONS + TREE_INDEX_INSTRUCTIONS;
    const ms = this.ms;
    let v = 0;
    let rsize = (-nb) >>> 0;
    const idx = treeIndex(nb);
    let t = this.ld(this.treebinAt(idx));
    if (t !== 0) {
      // Walk the trie for nb's bits, remembering the deepest right subtree not taken.
      let sizebits = (nb << leftshiftForTreeIndex(idx)) >>> 0;
      let rst = 0;
      for (;;) {
        w.instructions += TREE_STEP_INSTRUCTIONS;
        const trem = (((this.ld(t + HEAD) & ~FLAG_BITS) >>> 0) - nb) >>> 0;
        if (trem < rsize) {
          v = t;
          rsize = trem;
          if (rsize === 0) break;
        }
        const rt = this.ld(t + CHILD1);
        t = this.ld(t + (sizebits >>> 31 === 0 ? CHILD0 : CHILD1));
        if (rt !== 0 && rt !== t) rst = rt;
        if (t === 0) {
          t = rst;
          break;
        }
        sizebits = (sizebits << 1) >>> 0;
      }
    }
    if (t === 0 && v === 0) {
      // The root of the next non-empty tree bin.
      w.instructions += BITSCAN_INSTRUCTIONS;
      const leftbits = (leftBits(1 << idx) & this.ld(ms + TREEMAP)) >>> 0;
      if (leftbits !== 0) t = this.ld(this.treebinAt(lowestIndex(leftbits)));
    }
    while (t !== 0) {
      // The smallest in the subtree: down the leftmost children.
      w.instructions += TREE_STEP_INSTRUCTIONS;
      const trem = (((this.ld(t + HEAD) & ~FLAG_BITS) >>> 0) - nb) >>> 0;
      if (trem < rsize) {
        rsize = trem;
        v = t;
      }
      t = this.leftmostChild(t);
    }
    if (v === 0 || rsize >= ((this.ld(ms + DVSIZE) - nb) >>> 0)) return 0;
    return this.takeTreeChunk(v, nb, rsize, false);
  }

  /**
   * The end tmalloc_large and tmalloc_small share: unlink the chosen tree chunk v; take it whole when
   * less than MIN_CHUNK_SIZE would remain, else split nb off and bin the remainder (tmalloc_large,
   * insert_chunk) or make it the dv (tmalloc_small, replace_dv).
   */
  private takeTreeChunk(v: number, nb: number, rsize: number, remainderToDv: boolean): number {
    if (!this.okAddress(v)) this.corrupt(remainderToDv ? 'tmalloc_small' : 'tmalloc_large');
    const r = v + nb;
    this.unlinkLargeChunk(v);
    if (rsize < MIN_CHUNK_SIZE) this.setInuseAndPinuse(v, rsize + nb);
    else {
      this.w.instructions += SPLIT_INSTRUCTIONS;
      this.setSizeAndPinuseOfInuseChunk(v, nb);
      this.setSizeAndPinuseOfFreeChunk(r, rsize);
      if (remainderToDv) this.replaceDv(r, rsize);
      else this.insertChunk(r, rsize);
    }
    return v + TWO_SIZE_T_SIZES;
  }

  /** leftmost_child(t): child[0] if any, else child[1]. */
  private leftmostChild(t: number): number {
    const c0 = this.ld(t + CHILD0);
    return c0 !== 0 ? c0 : this.ld(t + CHILD1);
  }

  /** tmalloc_small(m, nb): the smallest chunk of the lowest non-empty tree; its remainder becomes the dv. */
  private tmallocSmall(nb: number): number {
    const w = this.w;
    w.instructions += TMALLOC_INSTRUCTIONS + BITSCAN_INSTRUCTIONS;
    const i = lowestIndex(this.ld(this.ms + TREEMAP));
    let t = this.ld(this.treebinAt(i));
    let v = t;
    let rsize = ((this.ld(t + HEAD) & ~FLAG_BITS) >>> 0) - nb;
    while ((t = this.leftmostChild(t)) !== 0) {
      w.instructions += TREE_STEP_INSTRUCTIONS;
      const trem = ((this.ld(t + HEAD) & ~FLAG_BITS) >>> 0) - nb;
      if (trem < rsize) {
        rsize = trem;
        v = t;
      }
    }
    return this.takeTreeChunk(v, nb, rsize, true);
  }

  /** mspace_malloc(msp, bytes): the payload address, or 0. */
  private mspaceMalloc(bytes: number): number {
    const w = this.w;
    const ms = this.ms;
    w.instructions += MALLOC_INSTRUCTIONS;
    let nb: number;
    if (bytes <= MAX_SMALL_REQUEST) {
      nb = bytes < MIN_REQUEST ? MIN_CHUNK_SIZE : padRequest(bytes);
      let idx = nb >>> SMALLBIN_SHIFT;
      const smallbits = this.ld(ms + SMALLMAP) >>> idx;
      if ((smallbits & 3) !== 0) {
        // Remainderless fit to a small bin: this size's, else the next one's (8 bytes more).
        w.instructions += SMALLBIN_INSTRUCTIONS;
        idx += ~smallbits & 1;
        const b = this.smallbinAt(idx);
        const p = this.ld(b + FD);
        this.unlinkFirstSmallChunk(b, p, idx);
        this.setInuseAndPinuse(p, idx << SMALLBIN_SHIFT);
        return p + TWO_SIZE_T_SIZES;
      }
      if (nb > this.ld(ms + DVSIZE)) {
        if (smallbits !== 0) {
          // The next non-empty small bin; with 4-byte sizes the fit always leaves a remainder, which becomes the dv.
          w.instructions += SMALLBIN_INSTRUCTIONS + BITSCAN_INSTRUCTIONS + SPLIT_INSTRUCTIONS;
          const leftbits = ((smallbits << idx) & leftBits(1 << idx)) >>> 0;
          const i = lowestIndex(leftbits);
          const b = this.smallbinAt(i);
          const p = this.ld(b + FD);
          this.unlinkFirstSmallChunk(b, p, i);
          const rsize = (i << SMALLBIN_SHIFT) - nb;
          this.setSizeAndPinuseOfInuseChunk(p, nb);
          const r = p + nb;
          this.setSizeAndPinuseOfFreeChunk(r, rsize);
          this.replaceDv(r, rsize);
          return p + TWO_SIZE_T_SIZES;
        }
        if (this.ld(ms + TREEMAP) !== 0) {
          const mem = this.tmallocSmall(nb);
          if (mem !== 0) return mem;
        }
      }
    } else if (bytes >= MAX_REQUEST) {
      nb = MAX_SIZE_T; // too big: forces the failure in sys_alloc
    } else {
      nb = padRequest(bytes);
      if (this.ld(ms + TREEMAP) !== 0) {
        const mem = this.tmallocLarge(nb);
        if (mem !== 0) return mem;
      }
    }
    const dvsize = this.ld(ms + DVSIZE);
    if (nb <= dvsize) {
      const rsize = dvsize - nb;
      const p = this.ld(ms + DV);
      if (rsize >= MIN_CHUNK_SIZE) {
        // Split the dv.
        w.instructions += SPLIT_INSTRUCTIONS;
        const r = p + nb;
        this.st(ms + DV, r);
        this.st(ms + DVSIZE, rsize);
        this.setSizeAndPinuseOfFreeChunk(r, rsize);
        this.setSizeAndPinuseOfInuseChunk(p, nb);
      } else {
        // Exhaust the dv.
        this.st(ms + DVSIZE, 0);
        this.st(ms + DV, 0);
        this.setInuseAndPinuse(p, dvsize);
      }
      return p + TWO_SIZE_T_SIZES;
    }
    const topsize = this.ld(ms + TOPSIZE);
    if (nb < topsize) {
      // Split the top.
      w.instructions += SPLIT_INSTRUCTIONS;
      const rsize = topsize - nb;
      this.st(ms + TOPSIZE, rsize);
      const p = this.ld(ms + TOP);
      const r = p + nb;
      this.st(ms + TOP, r);
      this.st(r + HEAD, rsize | PINUSE_BIT);
      this.setSizeAndPinuseOfInuseChunk(p, nb);
      return p + TWO_SIZE_T_SIZES;
    }
    return this.sysAlloc(nb);
  }

  /**
   * sys_alloc(m, nb) with neither mmap nor MORECORE: asize = granularity_align(nb + SYS_ALLOC_PADDING),
   * the wrap-around test, the footprint_limit test (0: no limit), then all three ways to get memory are
   * compiled out and it fails (MALLOC_FAILURE_ACTION sets errno).
   */
  private sysAlloc(nb: number): number {
    this.w.instructions += SYS_ALLOC_INSTRUCTIONS;
    const asize = Math.ceil((nb + SYS_ALLOC_PADDING) / GRANULARITY) * GRANULARITY;
    if (asize > MAX_SIZE_T) return 0; // wraparound
    this.ld(this.ms + FOOTPRINT_LIMIT);
    return 0;
  }

  // ---------------------------------------------------------------- free

  /** mspace_free(msp, mem): the usage checks, then the consolidation it shares with dispose_chunk. */
  private mspaceFree(mem: number): void {
    const p = mem - TWO_SIZE_T_SIZES;
    if (!this.okAddress(p)) this.corrupt('mspace_free (USAGE_ERROR_ACTION)');
    const head = this.ld(p + HEAD);
    if ((head & INUSE_BITS) === PINUSE_BIT) this.corrupt('mspace_free (USAGE_ERROR_ACTION)');
    this.release(p, (head & ~FLAG_BITS) >>> 0, head, true);
  }

  /**
   * mspace_free's checks on a pointer the program no longer holds, without freeing: ok_address, then
   * ok_inuse, then release's ok_next and ok_pinuse on the next chunk. RTCHECK keeps them in release
   * builds and USAGE_ERROR_ACTION aborts (PROCEED_ON_ERROR is 0), so a failed check is a precise stop.
   */
  refusesFree(mem: number): boolean {
    const p = mem - TWO_SIZE_T_SIZES;
    if (p < this.peek(this.ms + LEAST_ADDR) || p + HEAD >= this.msp + this.mem.length * 4) return true;
    const head = this.peek(p + HEAD);
    if ((head & INUSE_BITS) === PINUSE_BIT) return true;
    const next = p + ((head & ~FLAG_BITS) >>> 0);
    return !(p < next && next + HEAD < this.msp + this.mem.length * 4 && (this.peek(next + HEAD) & PINUSE_BIT) !== 0);
  }

  /** dispose_chunk(m, p, psize): free's consolidation for a chunk not marked in use (realloc and memalign's leftovers). */
  private disposeChunk(p: number, psize: number): void {
    this.release(p, psize, this.ld(p + HEAD), false);
  }

  /**
   * The body mspace_free and dispose_chunk share (the C has it twice, near-clones): consolidate
   * backward (with the dv, or unlinking the previous chunk), then forward into the top, the dv or a
   * binned next chunk, and bin what is left. Where they differ, `freeing` says which one runs:
   * mspace_free checks ok_next/ok_pinuse on the next chunk, may call sys_trim when the top grows
   * past trim_check, and counts release_checks down after binning a large chunk; dispose_chunk
   * checks ok_address on the next chunk and does neither of the others.
   */
  private release(p: number, psize: number, head: number, freeing: boolean): void {
    const w = this.w;
    const ms = this.ms;
    const name = freeing ? 'mspace_free' : 'dispose_chunk';
    w.instructions += FREE_INSTRUCTIONS;
    const next = p + psize;
    if ((head & PINUSE_BIT) === 0) {
      const prevsize = this.ld(p + PREV_FOOT);
      if ((head & INUSE_BITS) === 0) this.corrupt(`${name} (an mmapped chunk without mmap)`);
      w.instructions += MERGE_INSTRUCTIONS;
      const prev = p - prevsize;
      psize += prevsize;
      p = prev;
      if (!this.okAddress(prev)) this.corrupt(name);
      if (p !== this.ld(ms + DV)) this.unlinkChunk(p, prevsize);
      else if ((this.ld(next + HEAD) & INUSE_BITS) === INUSE_BITS) {
        this.st(ms + DVSIZE, psize);
        this.setFreeWithPinuse(p, psize, next);
        return;
      }
    }
    if (!freeing && !this.okAddress(next)) this.corrupt(name);
    const nhead = this.ld(next + HEAD);
    if (freeing && !(p < next && (nhead & PINUSE_BIT) !== 0)) this.corrupt(`${name} (USAGE_ERROR_ACTION)`);
    if ((nhead & CINUSE_BIT) === 0) {
      w.instructions += MERGE_INSTRUCTIONS;
      if (next === this.ld(ms + TOP)) {
        const tsize = this.ld(ms + TOPSIZE) + psize;
        this.st(ms + TOPSIZE, tsize);
        this.st(ms + TOP, p);
        this.st(p + HEAD, tsize | PINUSE_BIT);
        if (p === this.ld(ms + DV)) {
          this.st(ms + DV, 0);
          this.st(ms + DVSIZE, 0);
        }
        if (freeing && tsize > this.ld(ms + TRIM_CHECK)) this.sysTrim(); // should_trim
        return;
      }
      if (next === this.ld(ms + DV)) {
        const dsize = this.ld(ms + DVSIZE) + psize;
        this.st(ms + DVSIZE, dsize);
        this.st(ms + DV, p);
        this.setSizeAndPinuseOfFreeChunk(p, dsize);
        return;
      }
      const nsize = (nhead & ~FLAG_BITS) >>> 0;
      psize += nsize;
      this.unlinkChunk(next, nsize);
      this.setSizeAndPinuseOfFreeChunk(p, psize);
      if (p === this.ld(ms + DV)) {
        this.st(ms + DVSIZE, psize);
        return;
      }
    } else this.setFreeWithPinuse(p, psize, next);
    if (psize >>> SMALLBIN_SHIFT < NSMALLBINS) this.insertSmallChunk(p, psize);
    else {
      this.insertLargeChunk(p, psize);
      // mspace_free's --release_checks: from MAX_SIZE_T it would take 2^32 - 1 large frees to reach release_unused_segments.
      if (freeing) this.st(ms + RELEASE_CHECKS, (this.ld(ms + RELEASE_CHECKS) - 1) >>> 0);
    }
  }

  /**
   * sys_trim(m, 0), called by mspace_free when the top grows past trim_check: the segment is
   * create_mspace_with_base's (EXTERN_BIT), so nothing is released, and autotrim is disabled
   * (trim_check = MAX_SIZE_T): it happens once, the first time the top passes 2 MiB.
   */
  private sysTrim(): void {
    this.w.instructions += SYS_TRIM_INSTRUCTIONS;
    const ms = this.ms;
    this.ld(ms + TOP); // is_initialized
    this.ld(ms + TOPSIZE); // topsize > pad, extra
    this.ld(ms + SEG_BASE); // segment_holding(m, top): base, size
    this.ld(ms + SEG_SIZE);
    this.ld(ms + SEG_FLAGS); // is_extern_segment
    if (this.ld(ms + TOPSIZE) > this.ld(ms + TRIM_CHECK)) this.st(ms + TRIM_CHECK, MAX_SIZE_T);
  }

  // ---------------------------------------------------------------- realloc and memalign

  /** try_realloc_chunk(m, p, nb, can_move = 1): p when resized where it is, else 0. */
  private tryReallocChunk(p: number, nb: number): number {
    const w = this.w;
    const ms = this.ms;
    const head = this.ld(p + HEAD);
    const oldsize = (head & ~FLAG_BITS) >>> 0;
    const next = p + oldsize;
    if (!(this.okAddress(p) && (head & INUSE_BITS) !== PINUSE_BIT && p < next && (this.ld(next + HEAD) & PINUSE_BIT) !== 0)) this.corrupt('try_realloc_chunk (USAGE_ERROR_ACTION)');
    if ((head & INUSE_BITS) === 0) this.corrupt('try_realloc_chunk (an mmapped chunk without mmap)');
    if (oldsize >= nb) {
      // Already big enough: split off a remainder of at least a minimum chunk.
      const rsize = oldsize - nb;
      if (rsize >= MIN_CHUNK_SIZE) this.giveBackTail(p, nb, rsize);
      return p;
    }
    if (next === this.ld(ms + TOP)) {
      // Extend into the top.
      const topsize = this.ld(ms + TOPSIZE);
      if (oldsize + topsize <= nb) return 0;
      w.instructions += SPLIT_INSTRUCTIONS;
      const newtopsize = oldsize + topsize - nb;
      const newtop = p + nb;
      this.setInuse(p, nb);
      this.st(newtop + HEAD, newtopsize | PINUSE_BIT);
      this.st(ms + TOP, newtop);
      this.st(ms + TOPSIZE, newtopsize);
      return p;
    }
    if (next === this.ld(ms + DV)) {
      // Extend into the dv.
      const dvs = this.ld(ms + DVSIZE);
      if (oldsize + dvs < nb) return 0;
      const dsize = oldsize + dvs - nb;
      if (dsize >= MIN_CHUNK_SIZE) {
        w.instructions += SPLIT_INSTRUCTIONS;
        const r = p + nb;
        const n = r + dsize;
        this.setInuse(p, nb);
        this.setSizeAndPinuseOfFreeChunk(r, dsize);
        this.st(n + HEAD, (this.ld(n + HEAD) & ~PINUSE_BIT) >>> 0); // clear_pinuse(n)
        this.st(ms + DVSIZE, dsize);
        this.st(ms + DV, r);
      } else {
        this.setInuse(p, oldsize + dvs);
        this.st(ms + DVSIZE, 0);
        this.st(ms + DV, 0);
      }
      return p;
    }
    const nhead = this.ld(next + HEAD);
    if ((nhead & CINUSE_BIT) === 0) {
      // Extend into the free chunk after it.
      const nextsize = (nhead & ~FLAG_BITS) >>> 0;
      if (oldsize + nextsize < nb) return 0;
      const rsize = oldsize + nextsize - nb;
      this.unlinkChunk(next, nextsize);
      if (rsize < MIN_CHUNK_SIZE) this.setInuse(p, oldsize + nextsize);
      else this.giveBackTail(p, nb, rsize);
      return p;
    }
    return 0;
  }

  /**
   * The tail split of try_realloc_chunk and internal_memalign: p keeps nb bytes (set_inuse), the rest
   * r is marked in use too (set_inuse) and handed to dispose_chunk.
   */
  private giveBackTail(p: number, nb: number, rsize: number): void {
    this.w.instructions += SPLIT_INSTRUCTIONS;
    const r = p + nb;
    this.setInuse(p, nb);
    this.setInuse(r, rsize);
    this.disposeChunk(r, rsize);
  }

  /** internal_memalign(m, alignment, bytes): over-allocate, give back the leader and the spare tail. */
  private internalMemalign(alignment: number, bytes: number): number {
    const w = this.w;
    w.instructions += MEMALIGN_INSTRUCTIONS;
    if (alignment < MIN_CHUNK_SIZE) alignment = MIN_CHUNK_SIZE;
    if ((alignment & (alignment - 1)) !== 0) {
      let a = MALLOC_ALIGNMENT << 1;
      while (a < alignment) a *= 2;
      alignment = a;
    }
    if (bytes >= MAX_REQUEST - alignment) return 0;
    const nb = request2size(bytes);
    const req = nb + alignment + MIN_CHUNK_SIZE - CHUNK_OVERHEAD;
    const mem = this.mspaceMalloc(req);
    if (mem === 0) return 0;
    let p = mem - TWO_SIZE_T_SIZES;
    if (mem % alignment !== 0) {
      // Find an aligned spot inside the chunk with a leader of at least MIN_CHUNK_SIZE to give back.
      const br = Math.ceil(mem / alignment) * alignment - TWO_SIZE_T_SIZES;
      const pos = br - p >= MIN_CHUNK_SIZE ? br : br + alignment;
      const newp = pos;
      const leadsize = pos - p;
      const newsize = ((this.ld(p + HEAD) & ~FLAG_BITS) >>> 0) - leadsize;
      this.setInuse(newp, newsize);
      this.setInuse(p, leadsize);
      this.disposeChunk(p, leadsize);
      p = newp;
    }
    // Give back spare room at the end.
    const size = (this.ld(p + HEAD) & ~FLAG_BITS) >>> 0;
    if (size > nb + MIN_CHUNK_SIZE) this.giveBackTail(p, nb, size - nb);
    return p + TWO_SIZE_T_SIZES;
  }

  // ---------------------------------------------------------------- the interface

  /** malloc (align 0) is mspace_malloc; memalign is mspace_memalign: mspace_malloc up to 8, internal_memalign above. */
  alloc(size: number, align: number, work: Work): number {
    if (!this.made) return NULL_ADDR;
    this.w = work;
    const mem = align > MALLOC_ALIGNMENT ? this.internalMemalign(align, size) : this.mspaceMalloc(size);
    if (mem === 0) return NULL_ADDR;
    this.lastBlock = this.chunksizeAt(mem - TWO_SIZE_T_SIZES);
    return mem;
  }

  free(addr: number, work: Work): number {
    this.w = work;
    const bytes = this.chunksizeAt(addr - TWO_SIZE_T_SIZES);
    this.mspaceFree(addr);
    return bytes;
  }

  /** mspace_realloc(msp, oldmem, bytes); see the header for size 0. */
  realloc(addr: number, size: number, work: Work): number {
    this.w = work;
    if (addr === NULL_ADDR) {
      const mem = this.alloc(size, 0, work);
      return reallocEnded(this, mem < 0 ? 'failed' : 'allocated', mem);
    }
    if (size >= MAX_REQUEST) return reallocEnded(this, 'failed', NULL_ADDR);
    work.instructions += REALLOC_INSTRUCTIONS;
    const oldp = addr - TWO_SIZE_T_SIZES;
    const newp = this.tryReallocChunk(oldp, request2size(size));
    if (newp !== 0) {
      this.lastBlock = this.chunksizeAt(newp);
      return reallocEnded(this, 'in-place', addr);
    }
    const mem = this.mspaceMalloc(size);
    if (mem === 0) return reallocEnded(this, 'failed', NULL_ADDR);
    // oc = chunksize(oldp) - overhead_for(oldp): the usable bytes copied.
    const oc = ((this.ld(oldp + HEAD) & ~FLAG_BITS) >>> 0) - CHUNK_OVERHEAD;
    this.lastBlock = this.chunksizeAt(mem - TWO_SIZE_T_SIZES);
    this.mspaceFree(addr);
    return reallocEnded(this, 'moved', mem, Math.min(oc, size));
  }

  /** The bytes create_mspace_with_base was given (the heap up to its last 8-byte boundary). */
  capacity(): number {
    return this.made ? this.tsize : 0;
  }

  usedBytes(): number {
    return this.capacity() - this.freeBytes();
  }

  /** The top's size, the dv's and every binned chunk's (TOP_FOOT_SIZE is never handed out: counted as used). */
  freeBytes(): number {
    if (!this.made) return 0;
    return this.peek(this.ms + TOPSIZE) + this.peek(this.ms + DVSIZE) + this.binned;
  }

  /** The largest of the top, the dv, the highest non-empty small bin and the biggest chunk of the highest tree. */
  largestFree(): number {
    if (!this.made) return 0;
    const ms = this.ms;
    let largest = Math.max(this.peek(ms + TOPSIZE), this.peek(ms + DVSIZE));
    const smallmap = this.peek(ms + SMALLMAP);
    if (smallmap !== 0) largest = Math.max(largest, (31 - Math.clz32(smallmap)) << SMALLBIN_SHIFT);
    const treemap = this.peek(ms + TREEMAP);
    if (treemap !== 0) {
      const stack = [this.peek(this.treebinAt(31 - Math.clz32(treemap)))];
      while (stack.length > 0) {
        const t = stack.pop()!;
        if (t === 0) continue;
        largest = Math.max(largest, this.sizeOf(t));
        stack.push(this.peek(t + CHILD0), this.peek(t + CHILD1));
      }
    }
    return largest;
  }

  /**
   * The words the C keeps in the heap: the malloc_state's chunk [msp + 4, msp + 480) (its head and the
   * state); every chunk's head; a binned free chunk's fd and bk, and a tree chunk's child[0], child[1],
   * parent and index; the foot (the next chunk's prev_foot) of every free chunk, the dv's included (the
   * dv's links are not kept, so its payload holds nothing); the top's head, and the fake head
   * init_top wrote into the top foot. A used chunk's payload runs into the next chunk's prev_foot, so
   * that word is metadata only after a free chunk. Walks the chunks in address order: O(chunks).
   */
  metadataIn(start: number, end: number): number {
    if (!this.made || start >= end) return -1;
    const hit = (lo: number, hi: number): number => (lo < end && hi > start ? Math.max(lo, start) : -1);
    let at = hit(this.msp + HEAD, this.msp + MSIZE);
    if (at >= 0) return at;
    const top = this.peek(this.ms + TOP);
    const dv = this.peek(this.ms + DV);
    for (let q = this.msp + MSIZE; q < end; ) {
      const head = this.peek(q + HEAD);
      const size = (head & ~FLAG_BITS) >>> 0;
      if (q === top) {
        at = hit(q + HEAD, q + HEAD + 4);
        if (at >= 0) return at;
        const fake = q + size;
        return hit(fake + HEAD, fake + HEAD + 4);
      }
      if (size === 0) return -1;
      const free = (head & CINUSE_BIT) === 0;
      const links = !free || q === dv ? 0 : size >= MIN_LARGE_SIZE ? 6 : 2;
      at = hit(q + HEAD, q + FD + 4 * links);
      if (at >= 0) return at;
      if (free) {
        at = hit(q + size, q + size + 4);
        if (at >= 0) return at;
      }
      q += size;
    }
    return -1;
  }

  /** mspace_mallinfo's fields that are not always 0, in struct mallinfo's order. */
  diagnostics(): Record<string, number> {
    if (!this.made) return { arena: 0, ordblks: 0, hblkhd: 0, usmblks: 0, uordblks: 0, fordblks: 0, keepcost: 0 };
    const ms = this.ms;
    const top = this.peek(ms + TOP);
    let nfree = 1;
    let mfree = this.peek(ms + TOPSIZE) + TOP_FOOT_SIZE;
    let sum = mfree;
    for (let q = this.msp; q !== top && this.peek(q + HEAD) !== FENCEPOST_HEAD; q += this.sizeOf(q)) {
      const sz = this.sizeOf(q);
      if (sz === 0) break;
      sum += sz;
      if ((this.peek(q + HEAD) & INUSE_BITS) === PINUSE_BIT) {
        mfree += sz;
        nfree++;
      }
    }
    const footprint = this.peek(ms + FOOTPRINT);
    return { arena: sum, ordblks: nfree, hblkhd: footprint - sum, usmblks: this.peek(ms + MAX_FOOTPRINT), uordblks: footprint - mfree, fordblks: mfree, keepcost: this.peek(ms + TOPSIZE) };
  }

  /**
   * do_check_malloc_state as in DEBUG builds, each failed assert a message: every small bin
   * (do_check_smallbin), every tree bin (do_check_treebin, do_check_tree), the dv and the top
   * (do_check_top_chunk), then traverse_and_check's walk of every chunk (in use: in no bin; free:
   * the dv or in its bin, never two in a row) and its total against the footprint.
   */
  check(): string[] {
    const problems: string[] = [];
    if (!this.made) return problems;
    const ms = this.ms;
    const hex = (a: number) => `0x${(a >>> 0).toString(16)}`;
    const assert = (ok: boolean, message: string) => {
      if (!ok) problems.push(message);
    };
    const inHeap = (a: number) => a >= this.msp && a < this.base + this.tsize && a % 4 === this.msp % 4;
    const smallmap = this.peek(ms + SMALLMAP);
    for (let i = 0; i < NSMALLBINS; i++) {
      const b = this.smallbinAt(i);
      let p = this.peek(b + BK);
      const empty = (smallmap & (1 << i)) === 0;
      if (p === b) assert(empty, `small bin ${i} is empty but marked in smallmap`);
      // An emptied bin keeps stale links (unlink_small_chunk clears only the map bit): the map rules.
      if (empty) continue;
      for (let n = 0; p !== b; p = this.peek(p + BK), n++) {
        if (!inHeap(p) || n > this.mem.length) {
          problems.push(`small bin ${i} runs off the heap or loops at ${hex(p)}`);
          break;
        }
        const size = this.sizeOf(p);
        this.checkFreeChunk(p, problems);
        assert(size >>> SMALLBIN_SHIFT === i, `chunk at ${hex(p)} of ${size} bytes is in small bin ${i}`);
        const pbk = this.peek(p + BK);
        assert(pbk === b || this.sizeOf(pbk) === size, `small bin ${i} mixes sizes at ${hex(p)}`);
        const q = p + size;
        if (this.peek(q + HEAD) !== FENCEPOST_HEAD) this.checkInuseChunk(q, problems);
      }
    }
    const treemap = this.peek(ms + TREEMAP);
    for (let i = 0; i < NTREEBINS; i++) {
      const t = this.peek(this.treebinAt(i));
      const empty = (treemap & (1 << i)) === 0;
      if (t === 0) assert(empty, `tree bin ${i} is empty but marked in treemap`);
      if (!empty && t !== 0) this.checkTree(t, problems, 0);
      if (empty && t !== 0) problems.push(`tree bin ${i} is not marked in treemap but holds ${hex(t)}`);
    }
    const dv = this.peek(ms + DV);
    const dvsize = this.peek(ms + DVSIZE);
    if (dvsize !== 0) {
      this.checkAnyChunk(dv, problems);
      assert(dvsize === this.sizeOf(dv), `dvsize ${dvsize} but the dv at ${hex(dv)} has ${this.sizeOf(dv)} bytes`);
      assert(dvsize >= MIN_CHUNK_SIZE, `dvsize ${dvsize} is below MIN_CHUNK_SIZE`);
      assert(!this.binFind(dv), `the dv at ${hex(dv)} is also in a bin`);
    }
    const top = this.peek(ms + TOP);
    const topsize = this.peek(ms + TOPSIZE);
    if (top !== 0) {
      // do_check_top_chunk
      const sz = (this.peek(top + HEAD) & ~INUSE_BITS) >>> 0;
      assert(top >= this.base && top < this.base + this.tsize, `top ${hex(top)} is outside the segment`);
      this.checkAnyChunk(top, problems);
      assert(sz === topsize, `top's head says ${sz} bytes, topsize ${topsize}`);
      assert(sz > 0, 'top is empty');
      assert(sz === this.base + this.tsize - top - TOP_FOOT_SIZE, `top at ${hex(top)} of ${sz} bytes does not end TOP_FOOT_SIZE before the segment's end`);
      assert((this.peek(top + HEAD) & PINUSE_BIT) !== 0, 'top has PINUSE clear');
      assert((this.peek(top + sz + HEAD) & PINUSE_BIT) === 0, "the top foot's head has PINUSE set");
      assert(!this.binFind(top), `top at ${hex(top)} is also in a bin`);
    }
    // traverse_and_check
    let sum = topsize + TOP_FOOT_SIZE;
    let q = this.msp;
    let lastq = 0;
    assert((this.peek(q + HEAD) & PINUSE_BIT) !== 0, "the state chunk's PINUSE is clear");
    let binnedFound = 0;
    while (q >= this.base && q < this.base + this.tsize && q !== top && this.peek(q + HEAD) !== FENCEPOST_HEAD) {
      const size = this.sizeOf(q);
      if (size === 0) {
        problems.push(`chunk at ${hex(q)} has size 0`);
        break;
      }
      sum += size;
      if ((this.peek(q + HEAD) & INUSE_BITS) !== PINUSE_BIT) {
        assert(!this.binFind(q), `used chunk at ${hex(q)} is in a bin`);
        this.checkInuseChunk(q, problems);
      } else {
        assert(q === dv || this.binFind(q), `free chunk at ${hex(q)} is neither the dv nor in its bin`);
        assert(lastq === 0 || (this.peek(lastq + HEAD) & INUSE_BITS) !== PINUSE_BIT, `free chunks at ${hex(lastq)} and ${hex(q)} were not merged`);
        this.checkFreeChunk(q, problems);
        if (q !== dv) binnedFound += size;
      }
      lastq = q;
      q += size;
    }
    assert(q === top, `the chunk walk ends at ${hex(q)}, not at the top ${hex(top)}`);
    assert(sum <= this.peek(ms + FOOTPRINT), `chunks total ${sum} bytes, footprint ${this.peek(ms + FOOTPRINT)}`);
    assert(this.peek(ms + FOOTPRINT) <= this.peek(ms + MAX_FOOTPRINT), 'footprint exceeds max_footprint');
    assert(binnedFound === this.binned, `binned chunks hold ${binnedFound} bytes, the count says ${this.binned}`);
    return problems;
  }

  // ---------------------------------------------------------------- check helpers (uncounted)

  private sizeOf(p: number): number {
    return (this.peek(p + HEAD) & ~FLAG_BITS) >>> 0;
  }

  private chunksizeAt(p: number): number {
    return this.sizeOf(p);
  }

  /** do_check_any_chunk. */
  private checkAnyChunk(p: number, problems: string[]): void {
    if ((p + TWO_SIZE_T_SIZES) % MALLOC_ALIGNMENT !== 0 && this.peek(p + HEAD) !== FENCEPOST_HEAD) problems.push(`chunk at 0x${p.toString(16)} is misaligned`);
    if (p < this.peek(this.ms + LEAST_ADDR)) problems.push(`chunk at 0x${p.toString(16)} is below least_addr`);
  }

  /** do_check_inuse_chunk. */
  private checkInuseChunk(p: number, problems: string[]): void {
    this.checkAnyChunk(p, problems);
    const head = this.peek(p + HEAD);
    const at = `0x${p.toString(16)}`;
    if ((head & INUSE_BITS) === PINUSE_BIT) problems.push(`chunk at ${at} should be in use`);
    if ((this.peek(p + this.sizeOf(p) + HEAD) & PINUSE_BIT) === 0) problems.push(`the chunk after the used chunk at ${at} has PINUSE clear`);
    if ((head & PINUSE_BIT) === 0) {
      const prev = p - this.peek(p + PREV_FOOT);
      if (prev < this.msp || prev + this.sizeOf(prev) !== p) problems.push(`used chunk at ${at} has a bad prev_foot`);
    }
  }

  /** do_check_free_chunk. */
  private checkFreeChunk(p: number, problems: string[]): void {
    const sz = this.sizeOf(p);
    const next = p + sz;
    const at = `0x${p.toString(16)}`;
    this.checkAnyChunk(p, problems);
    const head = this.peek(p + HEAD);
    if ((head & INUSE_BITS) !== PINUSE_BIT) problems.push(`free chunk at ${at} is marked in use`);
    if ((this.peek(next + HEAD) & PINUSE_BIT) !== 0) problems.push(`the chunk after the free chunk at ${at} has PINUSE set`);
    if (p === this.peek(this.ms + DV) || p === this.peek(this.ms + TOP)) return;
    if (sz < MIN_CHUNK_SIZE) {
      if (sz !== SIZE_T_SIZE) problems.push(`free chunk at ${at} has size ${sz}`);
      return;
    }
    if ((sz & CHUNK_ALIGN_MASK) !== 0) problems.push(`free chunk at ${at} has an unaligned size ${sz}`);
    if (this.peek(next + PREV_FOOT) !== sz) problems.push(`free chunk at ${at}: foot ${this.peek(next + PREV_FOOT)} != size ${sz}`);
    if (next !== this.peek(this.ms + TOP) && (this.peek(next + HEAD) & INUSE_BITS) === PINUSE_BIT) problems.push(`free chunk at ${at} is followed by a free chunk`);
    const fd = this.peek(p + FD);
    const bk = this.peek(p + BK);
    if (this.peek(fd + BK) !== p) problems.push(`free chunk at ${at}: fd->bk is not the chunk`);
    if (this.peek(bk + FD) !== p) problems.push(`free chunk at ${at}: bk->fd is not the chunk`);
  }

  /** do_check_tree: index, size range, chains, parent and child links, child order. */
  private checkTree(t: number, problems: string[], depth: number): void {
    const at = (a: number) => `0x${a.toString(16)}`;
    if (depth > 64) {
      problems.push(`tree at ${at(t)} is deeper than any trie can be`);
      return;
    }
    const tindex = this.peek(t + INDEX);
    const tsize = this.sizeOf(t);
    const idx = treeIndex(tsize);
    if (tindex !== idx) problems.push(`tree chunk at ${at(t)} of ${tsize} bytes has index ${tindex}, not ${idx}`);
    if (tsize < MIN_LARGE_SIZE) problems.push(`tree chunk at ${at(t)} is small (${tsize} bytes)`);
    if (tsize < minsizeForTreeIndex(idx) || (idx !== NTREEBINS - 1 && tsize >= minsizeForTreeIndex(idx + 1))) problems.push(`tree chunk at ${at(t)} of ${tsize} bytes is outside bin ${idx}`);
    let head = 0;
    let u = t;
    let n = 0;
    do {
      this.checkAnyChunk(u, problems);
      if (this.peek(u + INDEX) !== tindex) problems.push(`chained chunk at ${at(u)} has index ${this.peek(u + INDEX)}`);
      if (this.sizeOf(u) !== tsize) problems.push(`chained chunk at ${at(u)} has ${this.sizeOf(u)} bytes, its chain ${tsize}`);
      if ((this.peek(u + HEAD) & INUSE_BITS) !== PINUSE_BIT) problems.push(`tree chunk at ${at(u)} is marked in use`);
      if ((this.peek(u + this.sizeOf(u) + HEAD) & PINUSE_BIT) !== 0) problems.push(`the chunk after the tree chunk at ${at(u)} has PINUSE set`);
      if (this.peek(this.peek(u + FD) + BK) !== u || this.peek(this.peek(u + BK) + FD) !== u) problems.push(`tree chunk at ${at(u)} has broken chain links`);
      const parent = this.peek(u + PARENT);
      if (parent === 0) {
        if (this.peek(u + CHILD0) !== 0 || this.peek(u + CHILD1) !== 0) problems.push(`chained tree chunk at ${at(u)} has children`);
      } else {
        if (head !== 0) problems.push(`two chunks of one chain have parents (${at(head)}, ${at(u)})`);
        head = u;
        if (parent === u) problems.push(`tree chunk at ${at(u)} is its own parent`);
        if (this.peek(parent + CHILD0) !== u && this.peek(parent + CHILD1) !== u && this.peek(parent) !== u) problems.push(`tree chunk at ${at(u)} is not its parent's child`);
        for (const c of [this.peek(u + CHILD0), this.peek(u + CHILD1)]) {
          if (c === 0) continue;
          if (this.peek(c + PARENT) !== u) problems.push(`child ${at(c)} of ${at(u)} does not point back`);
          if (c === u) problems.push(`tree chunk at ${at(u)} is its own child`);
          else this.checkTree(c, problems, depth + 1);
        }
        const c0 = this.peek(u + CHILD0);
        const c1 = this.peek(u + CHILD1);
        if (c0 !== 0 && c1 !== 0 && this.sizeOf(c0) >= this.sizeOf(c1)) problems.push(`tree chunk at ${at(u)}: left child not smaller than right`);
      }
      u = this.peek(u + FD);
    } while (u !== t && n++ <= this.mem.length);
    if (head === 0) problems.push(`the chain at ${at(t)} has no node in the tree`);
  }

  /** bin_find(m, x): whether x is in the bin its size names. */
  private binFind(x: number): boolean {
    const size = this.sizeOf(x);
    const ms = this.ms;
    if (size >>> SMALLBIN_SHIFT < NSMALLBINS) {
      const sidx = size >>> SMALLBIN_SHIFT;
      if ((this.peek(ms + SMALLMAP) & (1 << sidx)) === 0) return false;
      return this.ringHolds(this.smallbinAt(sidx), x);
    }
    const tidx = treeIndex(size);
    if ((this.peek(ms + TREEMAP) & (1 << tidx)) === 0) return false;
    let t = this.peek(this.treebinAt(tidx));
    let sizebits = (size << leftshiftForTreeIndex(tidx)) >>> 0;
    while (t !== 0 && this.sizeOf(t) !== size) {
      t = this.peek(t + (sizebits >>> 31 === 0 ? CHILD0 : CHILD1));
      sizebits = (sizebits << 1) >>> 0;
    }
    return t !== 0 && this.ringHolds(t, x);
  }

  /** Whether x is on the circular fd list through `start` (bounded, so a broken list cannot loop). */
  private ringHolds(start: number, x: number): boolean {
    let p = start;
    for (let n = 0; n <= this.mem.length; n++) {
      if (p === x) return true;
      p = this.peek(p + FD);
      if (p === start) return false;
    }
    return false;
  }
}

/** The smallest heap create_mspace_with_base takes (capacity > msize + TOP_FOOT_SIZE) in whole 8-byte units, at an 8-aligned base. */
const LEAST_HEAP = MSIZE + TOP_FOOT_SIZE + MALLOC_ALIGNMENT;

export const dlmalloc: AllocatorEntry = {
  options: {},
  freesBlocks: true,
  naturalAlign: () => MALLOC_ALIGNMENT,
  // Not guaranteed: a malloc'd chunk freed (binned, merged into the dv or into the top) always serves
  // the same malloc again, but memalign asks mspace_malloc for nb + alignment + 12 bytes, which the
  // space the aligned block gave back need not hold.
  reuseGuaranteed: false,
  // dlmalloc publishes no worst-case heap size; reports give Robson's bound, as for any allocator that reuses memory.
  bound: null,
  misfit: (size) => (size >= LEAST_HEAP ? null : `dlmalloc needs ${LEAST_HEAP} bytes: create_mspace_with_base wants more than its ${MSIZE}-byte malloc_state chunk and ${TOP_FOOT_SIZE}-byte top foot (capacity > ${MSIZE + TOP_FOOT_SIZE}, in whole 8-byte units)`),
  create: (base, size) => new DlmallocAllocator(base, size),
};

export { DlmallocAbort, MSIZE, TOP_FOOT_SIZE, MAX_SMALL_REQUEST };
