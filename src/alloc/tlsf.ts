/**
 * Two-level segregated fit (TLSF; Masmano, Ripoll, Crespo, Real 2004), laid out as mattconte/tlsf is
 * on a 32-bit target: the control structure (null block, first-level bitmap, one second-level bitmap
 * per first-level class, and a free-list head per (fl, sl) pair) sits at the start of the heap and
 * is charged as used; the pool after it holds the blocks and a zero-size sentinel.
 *
 * A block is one 4-byte size word (bit 0: this block is free, bit 1: the previous block is free)
 * followed by its payload. A free block keeps next_free/prev_free in its payload, and its last word
 * is the next block's prev_phys pointer, so a used block costs 4 bytes and the minimum block holds a
 * 12-byte payload. Sizes below the small-block threshold (SL_COUNT x align) map linearly to the
 * second level; larger ones by fls. Allocation rounds the request up to the next list boundary
 * ("good fit") and takes the head of the first non-empty list at or above it: O(1) with two bitmap
 * searches, and it can fail although a big-enough block sits in the request's own list (the known
 * TLSF failure, kept). Free merges with both physical neighbours and pushes the result on its list.
 *
 * The point of TLSF in emu is that its work stays flat while first-fit's grows with the free list:
 * the work below counts the bitmap words and block words each call touches as tlsf.c does, plus
 * fixed instruction counts per step.
 *
 * Alignment option: with `align` = 4 the layout is tlsf.c's exactly. A larger `align` keeps the
 * 4-byte header and makes block sizes (header + payload) multiples of `align`, so every payload
 * stays aligned (payload sizes are align - 4 modulo align); FL_INDEX_SHIFT = sl_log2 + log2(align).
 * Requests aligned above `align` take tlsf_memalign's route: search for size + align + one minimum
 * block, then trim the leading gap back to the free lists as a block of its own.
 *
 * Block metadata lives in typed arrays indexed by a block slot (slot 0 is the control structure's
 * null block, as in tlsf.c); live blocks are found from their address through a LiveIndex.
 *
 * Addresses, for the metadata trace (all in the heap): the control structure at the aligned start,
 * block_null's prev_phys, size, next_free, prev_free at +0, +4, +8, +12, fl_bitmap at +16,
 * sl_bitmap[i] at +20 + 4i, blocks[fl][sl] at +20 + 4 x FL_INDEX_COUNT + 4 x (fl x SL_INDEX_COUNT + sl).
 * A block's block_header_t starts 8 bytes below its payload: prev_phys (the previous block's last
 * word) at payload - 8, the size word at payload - 4, next_free and prev_free at payload and
 * payload + 4. A link to the null block names block_null's words, as tlsf.c's &control->block_null.
 * TLSF is the allocator that must stay fast: its calls count their words as before and, only when a
 * trace is attached, push the same words' addresses (the trace* methods), so an untraced call does
 * not compute a single address.
 */
import { newWork, write, reallocByMove, reallocEnded, reallocFree, reallocNull, NULL_ADDR, type Allocator, type MetadataTrace, type AllocatorEntry, type AllocatorOptions, type OptionSpec, type ReallocOutcome, type ReallocState, type Work } from './allocator.js';

/** Bits of the size word. */
const FREE_BIT = 1;
const PREV_FREE_BIT = 2;
const SIZE_MASK = ~3;
/** block_header_overhead: the size word every block keeps. */
const HEADER = 4;
/** block_size_min on 32-bit: next_free, prev_free and the next block's prev_phys. */
const BLOCK_SIZE_MIN = 12;
const FL_INDEX_MAX = 30;
/** block_size_max: requests at or above it fail; pool blocks stay below it. */
const BLOCK_SIZE_MAX = 2 ** FL_INDEX_MAX;
/** The null block's slot: empty lists point at it, as at &control->block_null. */
const NULL = 0;
const DEFAULT_SL_LOG2 = 5;
const DEFAULT_ALIGN = 4;
/** Offsets in a block_header_t (from its prev_phys word), and of the control structure's words. */
const PREV_PHYS = 0;
const SIZE = 4;
const NEXT_FREE = 8;
const PREV_FREE = 12;
const FL_BITMAP = 16;
const SL_BITMAP = 20;

/*
 * Instruction costs (besides the metadata words counted as reads and writes). Counting each memory
 * access as one instruction, the longest malloc path (a request of SMALL_BLOCK_SIZE or more, so
 * rounded up, served from one huge free block: a second-level miss, a first-level ffs, the list
 * emptied on both levels, a split, the remainder inserted) comes to 134 instructions + 16 reads +
 * 18 writes = 168, the published "at most 168 x86 instructions" for TLSF malloc; tlsf-bsd's
 * malloc_worst pattern (the same with a small request) comes to 158. The constants are calibrated
 * to that figure (call/return and argument set-up of tlsf.c's helpers included), not taken from a
 * compiler listing. The worst free (both neighbours merged, each alone in its first-level class)
 * comes to 161. Requests aligned above `align` pay for the memalign steps on top.
 */
/** tlsf_malloc/tlsf_free entry and exit, adjust_request_size (align up, clamp to min and max). */
const MALLOC_INSTRUCTIONS = 22;
const FREE_INSTRUCTIONS = 12;
/** mapping_insert below the small-block threshold: compare, shift. */
const MAP_SMALL_INSTRUCTIONS = 5;
/** mapping_insert above it: compare, fls (bsr), subtract, shift, xor, subtract. */
const MAP_LARGE_INSTRUCTIONS = 9;
/** mapping_search's round-up: fls, subtract, shift, decrement, add. */
const ROUND_INSTRUCTIONS = 6;
/** search_suitable_block: ~0 << sl, and with the second-level map, test, branch; ffs; list index. */
const SEARCH_INSTRUCTIONS = 12;
/** The first-level fallback: ~0 << (fl + 1), and, test, branch, ffs. */
const SEARCH_FL_INSTRUCTIONS = 7;
/** remove_free_block: unlink, compare with the head, branches. */
const REMOVE_INSTRUCTIONS = 13;
/** Clearing one bitmap bit: shift, not, and, test/branch. */
const CLEAR_BIT_INSTRUCTIONS = 5;
/** insert_free_block: list index, link, two bitmap bits set (shift, or each). */
const INSERT_INSTRUCTIONS = 16;
/** block_trim_free / block_can_split: add, compare, branch. */
const TRIM_INSTRUCTIONS = 5;
/** block_split: remaining block address and size, flag masks. */
const SPLIT_INSTRUCTIONS = 18;
/** block_mark_as_used / block_mark_as_free: next block address, flag masks. */
const MARK_INSTRUCTIONS = 7;
/** block_merge_prev / block_merge_next: flag test, branch; block_absorb's add when taken. */
const MERGE_TEST_INSTRUCTIONS = 3;
const ABSORB_INSTRUCTIONS = 5;
/** tlsf_memalign: size with gap, align_ptr, gap test, the second align_ptr when the gap is too small. */
const MEMALIGN_INSTRUCTIONS = 14;
const REALIGN_INSTRUCTIONS = 8;
/** tlsf_realloc's call and return and its two tests (ptr with size 0, then ptr null), paid on every path. */
const REALLOC_INSTRUCTIONS = 6;
/**
 * tlsf_realloc resizing a block: adjust_request_size, charged as in malloc (MALLOC_INSTRUCTIONS, whose
 * entry and exit stand for the realloc's own), plus block_from_ptr, block_next, the two size masks,
 * combined's two adds and the compound test (adjust > cursize, next free, adjust > combined).
 */
const RESIZE_INSTRUCTIONS = MALLOC_INSTRUCTIONS + 8;
/** tlsf_add_pool before block_insert: the overhead subtracted, align_down, the alignment and size checks, offset_to_block, three flag sets, block_link_next. */
const ADD_POOL_INSTRUCTIONS = 20;

const SL_LOG2_OPTION: OptionSpec = { kind: 'int', min: 1, max: 5, about: 'log2 of the number of second-level lists per first-level class (SL_INDEX_COUNT_LOG2)' };
const ALIGN_OPTION: OptionSpec = { kind: 'size', min: 4, max: 64, pow2: true, about: 'alignment of every block size and payload address (ALIGN_SIZE)' };

/** The parameters tlsf.c derives from SL_INDEX_COUNT_LOG2 and ALIGN_SIZE_LOG2. */
export interface TlsfParameters {
  slLog2: number;
  alignLog2: number;
  /** FL_INDEX_SHIFT = SL_INDEX_COUNT_LOG2 + ALIGN_SIZE_LOG2. */
  flShift: number;
  /** FL_INDEX_COUNT = FL_INDEX_MAX - FL_INDEX_SHIFT + 1. */
  flCount: number;
  /** SMALL_BLOCK_SIZE = 1 << FL_INDEX_SHIFT. */
  smallBlock: number;
  /** sizeof(control_t) on 32-bit. */
  controlBytes: number;
  /** Smallest payload: block_size_min, kept align - 4 modulo align. */
  minPayload: number;
}

export function tlsfParameters(slLog2 = DEFAULT_SL_LOG2, align = DEFAULT_ALIGN): TlsfParameters {
  const alignLog2 = 31 - Math.clz32(align);
  const flShift = slLog2 + alignLog2;
  const flCount = FL_INDEX_MAX - flShift + 1;
  // control_t: block_null (prev_phys, size, next_free, prev_free), fl_bitmap, sl_bitmap[FL],
  // blocks[FL][SL]: all 4-byte words on 32-bit, so no padding.
  const controlBytes = 4 * 4 + 4 + 4 * flCount + 4 * flCount * (1 << slLog2);
  return { slLog2, alignLog2, flShift, flCount, smallBlock: 1 << flShift, controlBytes, minPayload: payloadFor(BLOCK_SIZE_MIN, align) };
}

/** The smallest payload of at least `size` bytes whose block (header + payload) is a multiple of align. */
function payloadFor(size: number, align: number): number {
  return Math.ceil((size + HEADER) / align) * align - HEADER;
}

/** Where the pool's blocks go in a heap of `size` bytes at offset 0 of aligned memory. */
function poolLayout(size: number, p: TlsfParameters, align: number): { firstHeader: number; firstPayload: number } {
  // The first payload follows the control structure and the first block's size word, aligned.
  const payload = Math.ceil((p.controlBytes + HEADER) / align) * align;
  // The sentinel's size word must fit before the end (payload + size + 4 <= heap size), and the
  // block (size + 4) is a multiple of align so the sentinel's payload address stays aligned too.
  return { firstHeader: payload - HEADER, firstPayload: Math.floor((size - payload) / align) * align - HEADER };
}

export class TlsfAllocator implements Allocator, ReallocState {
  readonly params: TlsfParameters;
  readonly alignSize: number;
  private readonly slLog2: number;
  private readonly alignLog2: number;
  private readonly flShift: number;
  private readonly flCount: number;
  private readonly smallBlock: number;
  private readonly minPayload: number;
  /** Bytes of the smallest block, header included (tlsf_memalign's gap_minimum, block_can_split's margin). */
  private readonly minBlock: number;
  private readonly start: number;
  /** start modulo 2^30, for alignment arithmetic in 32 bits. */
  private readonly startLow: number;
  /** Bytes from start to the heap's end; moved by extend when the heap's dynamic segment grows. */
  private managed: number;
  /** Offset of the first block's size word from start, and the pool's end (the sentinel's word end). */
  private readonly poolStart: number;
  private readonly poolEnd: number;
  /**
   * Pools added by extend (tlsf_add_pool over a dynamic segment's new memory), each as the first pool:
   * its first size word's offset and its end. tlsf.c keeps pools apart (each ends in its own sentinel,
   * and a block never merges across); emu links a pool's sentinel to the next pool's first block
   * (nextPhys only), so that one walk of the physical chain visits every pool in address order.
   */
  private readonly pools: Array<{ header: number; end: number }> = [];
  /** The last pool's sentinel, to link the next pool to. */
  private lastSentinel = NULL;

  /** Addresses of sl_bitmap[0] and blocks[0][0] in the control structure. */
  private readonly slBitmapAt: number;
  private readonly headsAt: number;

  private flBitmap = 0;
  private readonly slBitmap: Int32Array;
  /** blocks[fl][sl], flattened: fl << sl_log2 | sl. */
  private readonly heads: Int32Array;

  // Block records by slot. `hdr` is the size word itself: payload size | FREE_BIT | PREV_FREE_BIT.
  private hdr: Int32Array;
  /** Payload offset from start (the size word is 4 bytes below). */
  private off: Int32Array;
  private nextPhys: Int32Array;
  private prevPhys: Int32Array;
  private nextFree: Int32Array;
  private prevFree: Int32Array;
  private slotTop = 1;
  /** Recycled slots, chained through nextFree; -1 when none. */
  private spare = -1;
  private readonly firstBlock: number;
  /** Live blocks: payload offset from start -> slot. */
  private readonly used: LiveIndex;
  private freeTotal = 0;
  private freeCount = 0;
  /** mapping_insert's results. */
  private fli = 0;
  private sli = 0;
  lastBlock = 0;
  lastRealloc: ReallocOutcome = 'failed';
  lastMoved = 0;

  constructor(
    private readonly base: number,
    size: number,
    slLog2 = DEFAULT_SL_LOG2,
    align = DEFAULT_ALIGN,
  ) {
    const p = tlsfParameters(slLog2, align);
    this.params = p;
    this.alignSize = align;
    this.slLog2 = slLog2;
    this.alignLog2 = p.alignLog2;
    this.flShift = p.flShift;
    this.flCount = p.flCount;
    this.smallBlock = p.smallBlock;
    this.minPayload = p.minPayload;
    this.minBlock = p.minPayload + HEADER;
    this.start = Math.ceil(base / align) * align;
    this.startLow = this.start % BLOCK_SIZE_MAX;
    this.managed = Math.max(0, base + size - this.start);
    this.used = new LiveIndex(this.managed, this.minBlock);
    this.slBitmapAt = this.start + SL_BITMAP;
    this.headsAt = this.start + SL_BITMAP + 4 * p.flCount;
    this.slBitmap = new Int32Array(p.flCount);
    this.heads = new Int32Array(p.flCount << slLog2);
    const initial = 64;
    this.hdr = new Int32Array(initial);
    this.off = new Int32Array(initial);
    this.nextPhys = new Int32Array(initial);
    this.prevPhys = new Int32Array(initial);
    this.nextFree = new Int32Array(initial);
    this.prevFree = new Int32Array(initial);

    const pool = poolLayout(this.managed, p, align);
    const firstPayload = Math.min(pool.firstPayload, BLOCK_SIZE_MAX - HEADER);
    this.poolStart = pool.firstHeader;
    this.firstBlock = NULL;
    this.poolEnd = this.poolStart;
    if (firstPayload < this.minPayload) return; // too small for a pool (misfit says so): every alloc fails
    // tlsf_add_pool: one free block over the pool, then the zero-size used sentinel after it.
    const first = this.newSlot();
    const sentinel = this.newSlot();
    this.firstBlock = first;
    this.poolEnd = pool.firstHeader + HEADER + firstPayload + HEADER;
    this.off[first] = pool.firstHeader + HEADER;
    this.hdr[first] = firstPayload | FREE_BIT;
    this.off[sentinel] = this.poolEnd;
    this.hdr[sentinel] = 0 | PREV_FREE_BIT;
    this.nextPhys[first] = sentinel;
    this.prevPhys[sentinel] = first;
    this.nextPhys[sentinel] = NULL;
    this.prevPhys[first] = NULL;
    this.lastSentinel = sentinel;
    this.mapInsert(firstPayload);
    this.insertFree(first, firstPayload, this.fli, this.sli, newWork());
  }

  /**
   * The heap's dynamic segment grew: tlsf_add_pool over the new memory (mattconte/tlsf tlsf.c), as a
   * program hands TLSF more memory. The pool starts at the first address after the heap's old end
   * where a payload is aligned; its first block's size word is there (the block's prev_phys word, 4
   * bytes below, lies outside the pool and is never used), the block is free with the previous block
   * marked used, and a zero-size used sentinel ends it: tlsf_pool_overhead() = 8 bytes. The block is
   * inserted in its free list (block_insert). The old pool keeps its sentinel: the two never merge, so
   * a free block at the old pool's end and the new pool stay apart, as in tlsf.c. Memory too small for
   * a pool (a minimum block and the overhead) waits for more growth. TLSF cannot give back part of a
   * pool: a shrink is refused (tlsf_remove_pool takes a whole pool).
   */
  extend(size: number, work: Work): boolean {
    const managed = Math.max(0, this.base + size - this.start);
    if (managed < this.managed) return false;
    if (this.firstBlock === NULL) return false; // never a pool (misfit): nothing to add to
    const align = this.alignSize;
    const header = Math.ceil((this.managed + HEADER) / align) * align - HEADER;
    const payload = Math.min(Math.floor((managed - header - HEADER) / align) * align - HEADER, BLOCK_SIZE_MAX - HEADER);
    if (payload < this.minPayload) return true; // tlsf_add_pool would refuse so small a pool: the bytes wait
    work.instructions += ADD_POOL_INSTRUCTIONS;
    const first = this.newSlot();
    const sentinel = this.newSlot();
    const end = header + HEADER + payload + HEADER;
    this.off[first] = header + HEADER;
    this.hdr[first] = payload | FREE_BIT;
    this.off[sentinel] = end;
    this.hdr[sentinel] = 0 | PREV_FREE_BIT;
    this.nextPhys[first] = sentinel;
    this.prevPhys[sentinel] = first;
    this.nextPhys[sentinel] = NULL;
    this.prevPhys[first] = NULL;
    this.nextPhys[this.lastSentinel] = first;
    this.lastSentinel = sentinel;
    this.pools.push({ header, end });
    this.managed = managed;
    this.used.grow(managed, (slot) => this.off[slot]);
    // block_set_size and block_set_free on the pool's block; block_link_next and the sentinel's size word.
    write(work, this.start + header);
    write(work, this.start + end - 2 * HEADER); // the sentinel's prev_phys: the block's last word
    write(work, this.start + end - HEADER);
    this.mapInsert(payload, work);
    this.insertFree(first, payload, this.fli, this.sli, work);
    return true;
  }

  /**
   * `align` 0 is tlsf_malloc: adjust_request_size, block_locate_free, block_prepare_used, and nothing
   * else; so is any `align` up to ALIGN_SIZE (tlsf_memalign's "if alignment is less than or equals base
   * alignment, we're done"). Above it, tlsf_memalign's gap search and leading trim.
   *
   * Size 0: tlsf_malloc(0) returns NULL (adjust_request_size(0) is 0, and block_locate_free(0) looks
   * nowhere), after the call's fixed cost and nothing else; so does tlsf_memalign(align, 0), whatever
   * the alignment (aligned_size is adjust, 0, "as tlsf_malloc(0) does"), at the same cost.
   */
  alloc(size: number, align: number, work: Work): number {
    work.instructions += MALLOC_INSTRUCTIONS;
    if (size === 0) return this.fail();
    const adjust = this.adjustRequest(size);
    if (adjust === 0) return this.fail();
    // Alignments are powers of two (the scenario reader checks); one at or above block_size_max cannot fit.
    const a = this.alignSize;
    const aligned = align > a;
    let want = adjust;
    if (aligned) {
      // tlsf_memalign: room for the request, the alignment and a leading block to trim off.
      work.instructions += MEMALIGN_INSTRUCTIONS;
      if (align >= BLOCK_SIZE_MAX) return this.fail();
      want = (adjust + align + this.minBlock + align - 1) & -align;
      if (want >= BLOCK_SIZE_MAX) return this.fail();
    }

    // block_locate_free: mapping_search, search_suitable_block, remove_free_block.
    this.mapSearch(want, work);
    let fl = this.fli;
    if (fl >= this.flCount) return this.fail();
    const sl = this.sli;
    work.instructions += SEARCH_INSTRUCTIONS;
    work.reads += 1; // sl_bitmap[fl]
    const trace = work.trace;
    if (trace !== null) trace.push(this.slBitmapAt + 4 * fl, false);
    let slMap = this.slBitmap[fl] & (-1 << sl);
    if (slMap === 0) {
      work.instructions += SEARCH_FL_INSTRUCTIONS;
      work.reads += 1; // fl_bitmap
      if (trace !== null) trace.push(this.start + FL_BITMAP, false);
      const flMap = this.flBitmap & (-1 << (fl + 1));
      if (flMap === 0) return this.fail();
      fl = 31 - Math.clz32(flMap & -flMap);
      work.reads += 1; // sl_bitmap of the class found
      if (trace !== null) trace.push(this.slBitmapAt + 4 * fl, false);
      slMap = this.slBitmap[fl];
    }
    const sl2 = 31 - Math.clz32(slMap & -slMap);
    const list = (fl << this.slLog2) | sl2;
    work.reads += 1; // blocks[fl][sl]
    if (trace !== null) trace.push(this.headsAt + 4 * list, false);
    let block = this.heads[list];
    this.removeFree(block, this.hdr[block] & SIZE_MASK, fl, sl2, work);

    if (aligned) {
      // The payload address aligned up; a gap too small to be a block moves one more alignment on.
      // (startLow keeps the address arithmetic in 32 bits: align < 2^30 divides 2^30.)
      let gap = (align - ((this.startLow + this.off[block]) & (align - 1))) & (align - 1);
      if (gap !== 0 && gap < this.minBlock) {
        work.instructions += REALIGN_INSTRUCTIONS;
        gap += (Math.max(this.minBlock - gap, align) + align - 1) & -align;
      }
      if (gap !== 0) {
        // block_trim_free_leading: the gap (less the new block's header) goes back as a free block.
        const lead = block;
        block = this.split(lead, gap - HEADER, work);
        this.hdr[block] |= PREV_FREE_BIT;
        this.mapInsert(gap - HEADER, work);
        this.insertFree(lead, gap - HEADER, this.fli, this.sli, work);
      }
    }

    // block_prepare_used: block_trim_free, then block_mark_as_used.
    const blockSize = this.trim(block, adjust, false, work);
    this.markUsed(block, work);
    const offset = this.off[block];
    this.used.set(offset, block);
    this.lastBlock = blockSize + HEADER;
    return this.start + offset;
  }

  /**
   * tlsf_realloc (mattconte/tlsf tlsf.c), step by step:
   * - size 0 with a block: tlsf_free, and NULL ('freed': "zero-size requests are treated as free");
   * - NULL_ADDR: tlsf_malloc ('allocated');
   * - otherwise the block's and the next block's size words are read; when the adjusted size is larger
   *   than the block and the next block is used or too small even merged (adjust > cursize +
   *   block_size(next) + header), tlsf_malloc(size), the memcpy of min(cursize, size) bytes (the
   *   caller's), tlsf_free ('moved'); a failed malloc returns NULL with the block untouched;
   * - else in place: when growing, block_merge_next and block_mark_as_used; then block_trim_used, which
   *   gives back a tail that can be a block of its own, merged with a free block after it.
   * A shrink therefore never fails. One departure: a size so large that adjust_request_size answers 0
   * (block_size_max or more) would reach block_trim_used(block, 0) in tlsf.c and split the block at its
   * own header; emu fails it instead, the block untouched.
   */
  realloc(addr: number, size: number, work: Work): number {
    work.instructions += REALLOC_INSTRUCTIONS;
    if (addr !== NULL_ADDR && size === 0) return reallocFree(this, addr, work);
    if (addr === NULL_ADDR) return reallocNull(this, size, work);
    const key = addr - this.start;
    const block = this.used.get(key);
    if (block === 0 || this.off[block] !== key) return reallocEnded(this, 'failed', NULL_ADDR); // not a live block
    work.instructions += RESIZE_INSTRUCTIONS;
    const hdr = this.hdr;
    const next = this.nextPhys[block];
    work.reads += 2; // the block's size word (block_size, block_next), next's (block_size, block_is_free)
    if (work.trace !== null) {
      work.trace.push(this.headerAt(block) + SIZE, false);
      work.trace.push(this.headerAt(next) + SIZE, false);
    }
    const cursize = hdr[block] & SIZE_MASK;
    const combined = cursize + (hdr[next] & SIZE_MASK) + HEADER;
    const adjust = this.adjustRequest(size);
    if (adjust === 0) return reallocEnded(this, 'failed', NULL_ADDR);
    if (adjust > cursize && (!(hdr[next] & FREE_BIT) || adjust > combined)) return reallocByMove(this, addr, size, cursize, work);
    if (adjust > cursize) {
      this.mergeNext(block, work);
      this.markUsed(block, work);
    }
    this.lastBlock = this.trim(block, adjust, true, work) + HEADER;
    return reallocEnded(this, 'in-place', addr);
  }

  free(addr: number, work: Work): number {
    const key = addr - this.start;
    let block = this.used.get(key);
    if (block === 0 || this.off[block] !== key) return 0; // not a live block's address
    this.used.remove(key);
    work.instructions += FREE_INSTRUCTIONS + MARK_INSTRUCTIONS + MERGE_TEST_INSTRUCTIONS;
    const hdr = this.hdr;
    let size = hdr[block] & SIZE_MASK;
    const released = size + HEADER;
    // block_mark_as_free: the next block learns this one is free and where it starts.
    const next = this.nextPhys[block];
    work.reads += 2; // this size word, next size word
    work.writes += 3; // next's prev_phys, next's size word, this size word
    const trace = work.trace;
    if (trace !== null) this.traceMarkFree(trace, block, next);
    hdr[next] |= PREV_FREE_BIT;
    hdr[block] |= FREE_BIT;

    // block_merge_prev.
    if (hdr[block] & PREV_FREE_BIT) {
      const prev = this.prevPhys[block];
      const prevSize = hdr[prev] & SIZE_MASK;
      work.instructions += ABSORB_INSTRUCTIONS;
      work.reads += 2; // prev_phys, prev's size word
      work.writes += 2; // prev's size word, next's prev_phys
      if (trace !== null) {
        trace.push(this.headerAt(block) + PREV_PHYS, false);
        trace.push(this.headerAt(prev) + SIZE, false);
      }
      this.mapInsert(prevSize, work);
      this.removeFree(prev, prevSize, this.fli, this.sli, work);
      if (trace !== null) {
        trace.push(this.headerAt(prev) + SIZE, true);
        trace.push(this.headerAt(next) + PREV_PHYS, true);
      }
      size += prevSize + HEADER;
      hdr[prev] += size - prevSize; // flags kept
      this.nextPhys[prev] = next;
      this.prevPhys[next] = prev;
      this.dropSlot(block);
      block = prev;
    }
    size += this.mergeNext(block, work);
    // block_insert.
    this.mapInsert(size, work);
    this.insertFree(block, size, this.fli, this.sli, work);
    return released;
  }

  /** adjust_request_size: the payload for `size` bytes, aligned and at least the minimum; 0 when too large. */
  private adjustRequest(size: number): number {
    if (!(size < BLOCK_SIZE_MAX)) return 0;
    const a = this.alignSize;
    const adjust = Math.max(((size + HEADER + a - 1) & -a) - HEADER, this.minPayload);
    return adjust < BLOCK_SIZE_MAX ? adjust : 0;
  }

  /**
   * block_trim_free (`used` false: a free block about to be handed out) and block_trim_used (`used`
   * true: a live block shrunk by realloc): when the block can hold `adjust` payload bytes and a block
   * more (block_can_split), the tail is split off and inserted in the free lists. Its flags differ:
   * after a free block the tail's prev-free bit is set, after a used one it is clear, and that tail
   * merges with a free block after it (block_merge_next). The flag is part of the size word the split
   * writes, so it costs no word more. Returns the block's payload size afterwards.
   */
  private trim(block: number, adjust: number, used: boolean, work: Work): number {
    work.instructions += TRIM_INSTRUCTIONS;
    work.reads += 1; // the block's size word
    if (work.trace !== null) work.trace.push(this.headerAt(block) + SIZE, false);
    const blockSize = this.hdr[block] & SIZE_MASK;
    if (blockSize < adjust + this.minBlock) return blockSize;
    const rest = this.split(block, adjust, work);
    let restSize = blockSize - adjust - HEADER;
    if (used) restSize += this.mergeNext(rest, work);
    else this.hdr[rest] |= PREV_FREE_BIT;
    this.mapInsert(restSize, work);
    this.insertFree(rest, restSize, this.fli, this.sli, work);
    return adjust;
  }

  /** block_mark_as_used: the next block's prev-free bit and this block's free bit cleared. */
  private markUsed(block: number, work: Work): void {
    work.instructions += MARK_INSTRUCTIONS;
    work.reads += 1; // next block's size word
    work.writes += 2; // its prev-free bit cleared, this block's free bit cleared
    const after = this.nextPhys[block];
    const trace = work.trace;
    if (trace !== null) {
      const afterSize = this.headerAt(after) + SIZE;
      trace.push(afterSize, false);
      trace.push(afterSize, true);
      trace.push(this.headerAt(block) + SIZE, true);
    }
    this.hdr[after] &= ~PREV_FREE_BIT;
    this.hdr[block] &= ~FREE_BIT;
  }

  /**
   * block_merge_next: when the block after `block` is free, it leaves its list and is absorbed (the
   * size grows, flags kept; the block after it learns its new prev_phys). Returns the bytes `block`
   * grew by, 0 when the next block is used.
   */
  private mergeNext(block: number, work: Work): number {
    work.instructions += MERGE_TEST_INSTRUCTIONS;
    work.reads += 1; // next's size word
    const hdr = this.hdr;
    const next = this.nextPhys[block];
    const trace = work.trace;
    if (trace !== null) trace.push(this.headerAt(next) + SIZE, false);
    if (!(hdr[next] & FREE_BIT)) return 0;
    const nextSize = hdr[next] & SIZE_MASK;
    work.instructions += ABSORB_INSTRUCTIONS;
    work.writes += 2; // this size word, the block after next: its prev_phys
    this.mapInsert(nextSize, work);
    this.removeFree(next, nextSize, this.fli, this.sli, work);
    hdr[block] += nextSize + HEADER;
    const after = this.nextPhys[next];
    if (trace !== null) {
      trace.push(this.headerAt(block) + SIZE, true);
      trace.push(this.headerAt(after) + PREV_PHYS, true);
    }
    this.nextPhys[block] = after;
    this.prevPhys[after] = block;
    this.dropSlot(next);
    return nextSize + HEADER;
  }

  capacity(): number {
    return this.managed;
  }

  usedBytes(): number {
    return this.managed - this.freeTotal;
  }

  /** Payload bytes of all free blocks (what tlsf_walk_pool reports); their size words count as used. */
  freeBytes(): number {
    return this.freeTotal;
  }

  /** The largest free payload: the highest non-empty list, searched for its biggest block. */
  largestFree(): number {
    if (this.flBitmap === 0) return 0;
    const fl = 31 - Math.clz32(this.flBitmap);
    const sl = 31 - Math.clz32(this.slBitmap[fl]);
    let largest = 0;
    for (let b = this.heads[(fl << this.slLog2) | sl]; b !== NULL; b = this.nextFree[b]) {
      const size = this.hdr[b] & SIZE_MASK;
      if (size > largest) largest = size;
    }
    return largest;
  }

  diagnostics(): Record<string, number> {
    return { control_bytes: this.params.controlBytes, free_blocks: this.freeCount };
  }

  /**
   * What tlsf.c keeps in the heap: the control structure at its start; every block's size word (the 4
   * bytes below its payload, the sentinel's included); and in a free block, next_free/prev_free (its
   * first 8 payload bytes) and its last word, the next block's prev_phys. A used block's last word is
   * payload: the next block's prev_phys is read only while its prev-free bit says this one is free.
   * The gap aligning the first block after the control structure holds nothing. Walks the physical
   * chain in address order, stopping at the first block whose size word is at or past `end`.
   */
  metadataIn(start: number, end: number): number {
    if (start >= end) return -1;
    const control = this.start + Math.min(this.params.controlBytes, this.managed);
    if (this.start < end && control > start) return Math.max(this.start, start);
    if (this.firstBlock === NULL) return -1;
    const hdr = this.hdr;
    for (let b = this.firstBlock; b !== NULL; b = this.nextPhys[b]) {
      const payload = this.start + this.off[b];
      if (payload - HEADER >= end) return -1;
      if (payload > start) return Math.max(payload - HEADER, start); // the size word
      if (!(hdr[b] & FREE_BIT)) continue;
      if (payload >= end) return -1;
      if (payload + 8 > start) return Math.max(payload, start); // next_free, prev_free
      const size = hdr[b] & SIZE_MASK;
      const last = payload + size - 4; // the next block's prev_phys
      if (last >= end) return -1;
      if (last + 4 > start) return Math.max(last, start);
    }
    return -1;
  }

  /** mapping_insert, for tests: the (fl, sl) list a free block of `size` payload bytes sits in. */
  mapping(size: number): [number, number] {
    this.mapInsert(size);
    return [this.fli, this.sli];
  }

  /** mapping_search, for tests: the first list an allocation of `size` payload bytes looks in. */
  searchMapping(size: number): [number, number] {
    this.mapSearch(size, newWork());
    return [this.fli, this.sli];
  }

  /** Number of free blocks (what the bitmaps index). */
  freeBlockCount(): number {
    return this.freeCount;
  }

  /** tlsf_check and tlsf_check_pool: bitmaps against lists, list members, then the physical walk. */
  check(): string[] {
    const problems: string[] = [];
    const hdr = this.hdr;
    const slCount = 1 << this.slLog2;
    const limit = this.slotTop + 1;
    let listed = 0;
    let listedBytes = 0;
    if (this.flBitmap >>> this.flCount !== 0 && this.flCount < 32) problems.push(`first-level bitmap has bits above class ${this.flCount - 1}`);
    for (let i = 0; i < this.flCount; i++) {
      const flBit = (this.flBitmap >>> i) & 1;
      const slList = this.slBitmap[i];
      if (!flBit && slList !== 0) problems.push(`first-level bit ${i} is clear but its second-level map is ${slList >>> 0}`);
      if (flBit && slList === 0) problems.push(`first-level bit ${i} is set but its second-level map is empty`);
      if (slCount < 32 && slList >>> slCount !== 0) problems.push(`second-level map ${i} has bits above list ${slCount - 1}`);
      for (let j = 0; j < slCount; j++) {
        const slBit = (slList >>> j) & 1;
        let b = this.heads[(i << this.slLog2) | j];
        if (!slBit) {
          if (b !== NULL) problems.push(`list (${i}, ${j}) is marked empty but holds the block at ${this.addrOf(b)}`);
          continue;
        }
        if (b === NULL) problems.push(`list (${i}, ${j}) is marked non-empty but is empty`);
        let prev = NULL;
        for (let steps = 0; b !== NULL; steps++) {
          if (steps > limit) {
            problems.push(`list (${i}, ${j}) does not end`);
            break;
          }
          const at = this.addrOf(b);
          const size = hdr[b] & SIZE_MASK;
          if (!(hdr[b] & FREE_BIT)) problems.push(`block at ${at} is on list (${i}, ${j}) but not marked free`);
          if (hdr[b] & PREV_FREE_BIT) problems.push(`block at ${at} and the free block before it were not coalesced`);
          const next = this.nextPhys[b];
          if (hdr[next] & FREE_BIT) problems.push(`block at ${at} and the free block after it were not coalesced`);
          if (!(hdr[next] & PREV_FREE_BIT)) problems.push(`block after the free block at ${at} does not have its prev-free bit set`);
          if (size < this.minPayload) problems.push(`free block at ${at} is ${size} bytes, below the minimum ${this.minPayload}`);
          this.mapInsert(size);
          if (this.fli !== i || this.sli !== j) problems.push(`free block at ${at} (${size} bytes) belongs in list (${this.fli}, ${this.sli}), found in (${i}, ${j})`);
          if (this.prevFree[b] !== prev) problems.push(`free block at ${at} has a broken prev_free link`);
          listed++;
          listedBytes += size;
          prev = b;
          b = this.nextFree[b];
        }
      }
    }
    if (listed !== this.freeCount) problems.push(`the lists hold ${listed} free blocks, the count says ${this.freeCount}`);
    if (listedBytes !== this.freeTotal) problems.push(`the lists hold ${listedBytes} free bytes, accounting says ${this.freeTotal}`);
    this.walkPool(problems, listed);
    return problems;
  }

  /** tlsf_walk_pool with tlsf_check_pool's walker: prev-free bits, sizes adding up to the pool. */
  private walkPool(problems: string[], listed: number): void {
    if (this.firstBlock === NULL) return;
    const hdr = this.hdr;
    let free = 0;
    let freeBytes = 0;
    let usedBlocks = 0;
    let b = this.firstBlock;
    let steps = 0;
    // The first pool, then those extend added (each walked as tlsf_walk_pool walks one).
    for (let pool = 0; pool <= this.pools.length; pool++) {
      const poolEnd = pool === 0 ? this.poolEnd : this.pools[pool - 1].end;
      let expected = (pool === 0 ? this.poolStart : this.pools[pool - 1].header) + HEADER;
      let prevFree = false;
      let prev = NULL;
      for (; ; steps++) {
        if (steps > this.slotTop) {
          problems.push('the physical block chain does not end at the sentinel');
          return;
        }
        const size = hdr[b] & SIZE_MASK;
        const at = this.start + this.off[b];
        if (this.off[b] !== expected) problems.push(`block at ${at} should start at ${this.start + expected}: the sizes before it do not add up`);
        if (at % this.alignSize !== 0) problems.push(`block at ${at} is not aligned to ${this.alignSize}`);
        if (!!(hdr[b] & PREV_FREE_BIT) !== prevFree) problems.push(`block at ${at} has its prev-free bit ${prevFree ? 'clear' : 'set'} but the block before it is ${prevFree ? 'free' : 'used'}`);
        if (this.prevPhys[b] !== prev) problems.push(`block at ${at} has a broken prev_phys link`);
        if (size === 0) break; // the sentinel
        const isFree = (hdr[b] & FREE_BIT) !== 0;
        if (isFree && prevFree) problems.push(`free blocks before ${at} and at ${at} were not coalesced`);
        if ((size + HEADER) % this.alignSize !== 0) problems.push(`block at ${at} is ${size} bytes: its block is not a multiple of ${this.alignSize}`);
        if (isFree) {
          free++;
          freeBytes += size;
        } else {
          usedBlocks++;
          if (this.used.get(this.off[b]) !== b) problems.push(`used block at ${at} is not among the live blocks`);
        }
        expected = this.off[b] + size + HEADER;
        prevFree = isFree;
        prev = b;
        b = this.nextPhys[b];
      }
      if (expected !== poolEnd) problems.push(`the sentinel is at ${this.start + expected}, the pool ends at ${this.start + poolEnd}`);
      b = this.nextPhys[b]; // past the sentinel: the next pool's first block
      if (pool < this.pools.length && b === NULL) {
        problems.push(`the physical chain ends before pool ${pool + 1}`);
        return;
      }
    }
    if (free !== listed) problems.push(`the pool holds ${free} free blocks, the lists ${listed}`);
    if (freeBytes !== this.freeTotal) problems.push(`the pool holds ${freeBytes} free bytes, accounting says ${this.freeTotal}`);
    if (usedBlocks !== this.used.size) problems.push(`the pool holds ${usedBlocks} used blocks, ${this.used.size} are live`);
  }

  /**
   * Address of block b's block_header_t: its prev_phys word, 8 bytes below the payload (the size word,
   * next_free and prev_free follow); for the null block, block_null at the control structure's start.
   */
  private headerAt(b: number): number {
    return b === NULL ? this.start : this.start + this.off[b] - 2 * HEADER;
  }

  /** block_mark_as_free's words in free (counted there): this size word, next's size word; next's prev_phys and size word, this size word. */
  private traceMarkFree(trace: MetadataTrace, b: number, next: number): void {
    const at = this.headerAt(b);
    const nextAt = this.headerAt(next);
    const i = trace.claim(5);
    const { addrs, writes } = trace;
    addrs[i] = at + SIZE;
    addrs[i + 1] = nextAt + SIZE;
    addrs[i + 2] = nextAt + PREV_PHYS;
    addrs[i + 3] = nextAt + SIZE;
    addrs[i + 4] = at + SIZE;
    writes[i] = writes[i + 1] = 0;
    writes[i + 2] = writes[i + 3] = writes[i + 4] = 1;
  }

  /** remove_free_block's first words (counted there): prev_free, next_free, next->prev_free, prev->next_free, the list head. */
  private traceRemove(trace: MetadataTrace, b: number, prev: number, next: number, list: number): void {
    const at = this.headerAt(b);
    const i = trace.claim(5);
    const { addrs, writes } = trace;
    addrs[i] = at + PREV_FREE;
    addrs[i + 1] = at + NEXT_FREE;
    addrs[i + 2] = this.headerAt(next) + PREV_FREE;
    addrs[i + 3] = this.headerAt(prev) + NEXT_FREE;
    addrs[i + 4] = this.headsAt + 4 * list;
    writes[i] = writes[i + 1] = writes[i + 4] = 0;
    writes[i + 2] = writes[i + 3] = 1;
  }

  /**
   * insert_free_block's words (counted there): the list head read, b->next_free and b->prev_free,
   * head->prev_free (block_null's when the list was empty), the head; each bitmap read and written.
   */
  private traceInsert(trace: MetadataTrace, b: number, current: number, fl: number, list: number): void {
    const head = this.headsAt + 4 * list;
    const at = this.headerAt(b);
    const flBitmap = this.start + FL_BITMAP;
    const slBitmap = this.slBitmapAt + 4 * fl;
    const i = trace.claim(9);
    const { addrs, writes } = trace;
    addrs[i] = head;
    addrs[i + 1] = at + NEXT_FREE;
    addrs[i + 2] = at + PREV_FREE;
    addrs[i + 3] = this.headerAt(current) + PREV_FREE;
    addrs[i + 4] = head;
    addrs[i + 5] = addrs[i + 6] = flBitmap;
    addrs[i + 7] = addrs[i + 8] = slBitmap;
    writes[i] = writes[i + 5] = writes[i + 7] = 0;
    writes[i + 1] = writes[i + 2] = writes[i + 3] = writes[i + 4] = writes[i + 6] = writes[i + 8] = 1;
  }

  /**
   * block_split's words (counted there): b's size word read, rest's and b's size words written, the
   * next block's size word read, its prev_phys and size word (prev-free bit) written, rest's prev_phys
   * (b's last word) written.
   */
  private traceSplit(trace: MetadataTrace, b: number, rest: number, next: number): void {
    const at = this.headerAt(b);
    const restAt = this.headerAt(rest);
    const nextAt = this.headerAt(next);
    const i = trace.claim(7);
    const { addrs, writes } = trace;
    addrs[i] = at + SIZE;
    addrs[i + 1] = restAt + SIZE;
    addrs[i + 2] = at + SIZE;
    addrs[i + 3] = nextAt + SIZE;
    addrs[i + 4] = nextAt + PREV_PHYS;
    addrs[i + 5] = nextAt + SIZE;
    addrs[i + 6] = restAt + PREV_PHYS;
    writes[i] = writes[i + 3] = 0;
    writes[i + 1] = writes[i + 2] = writes[i + 4] = writes[i + 5] = writes[i + 6] = 1;
  }

  private addrOf(b: number): number {
    return this.start + this.off[b];
  }

  private fail(): number {
    this.lastBlock = 0;
    return -1;
  }

  private mapInsert(size: number, work?: Work): void {
    if (size < this.smallBlock) {
      if (work) work.instructions += MAP_SMALL_INSTRUCTIONS;
      this.fli = 0;
      this.sli = size >>> this.alignLog2;
    } else {
      if (work) work.instructions += MAP_LARGE_INSTRUCTIONS;
      const fl = 31 - Math.clz32(size);
      this.sli = (size >>> (fl - this.slLog2)) ^ (1 << this.slLog2);
      this.fli = fl - (this.flShift - 1);
    }
  }

  /** mapping_search: round up to the next list boundary, so any block found is big enough. */
  private mapSearch(size: number, work: Work): void {
    if (size >= this.smallBlock) {
      work.instructions += ROUND_INSTRUCTIONS;
      size += (1 << (31 - Math.clz32(size) - this.slLog2)) - 1;
    }
    this.mapInsert(size, work);
  }

  /** remove_free_block. */
  private removeFree(b: number, size: number, fl: number, sl: number, work: Work): void {
    work.instructions += REMOVE_INSTRUCTIONS;
    work.reads += 3; // prev_free, next_free, the list head
    work.writes += 2; // next->prev_free, prev->next_free
    const prev = this.prevFree[b];
    const next = this.nextFree[b];
    const i = (fl << this.slLog2) | sl;
    const trace = work.trace;
    if (trace !== null) this.traceRemove(trace, b, prev, next, i);
    this.prevFree[next] = prev;
    this.nextFree[prev] = next;
    if (this.heads[i] === b) {
      work.writes += 1;
      if (trace !== null) trace.push(this.headsAt + 4 * i, true);
      this.heads[i] = next;
      if (next === NULL) {
        work.instructions += CLEAR_BIT_INSTRUCTIONS;
        work.reads += 1;
        work.writes += 1;
        if (trace !== null) traceUpdate(trace, this.slBitmapAt + 4 * fl); // sl_bitmap[fl]: the list's bit cleared
        const map = (this.slBitmap[fl] &= ~(1 << sl));
        if (map === 0) {
          work.instructions += CLEAR_BIT_INSTRUCTIONS;
          work.reads += 1;
          work.writes += 1;
          if (trace !== null) traceUpdate(trace, this.start + FL_BITMAP); // fl_bitmap: the class's bit cleared
          this.flBitmap &= ~(1 << fl);
        }
      }
    }
    this.freeTotal -= size;
    this.freeCount--;
  }

  /** insert_free_block: push on the head of its list and set both bitmap bits. */
  private insertFree(b: number, size: number, fl: number, sl: number, work: Work): void {
    work.instructions += INSERT_INSTRUCTIONS;
    work.reads += 3; // the list head, fl_bitmap, sl_bitmap[fl]
    work.writes += 6; // b->next_free, b->prev_free, head->prev_free, the head, both bitmaps
    const i = (fl << this.slLog2) | sl;
    const current = this.heads[i];
    if (work.trace !== null) this.traceInsert(work.trace, b, current, fl, i);
    this.nextFree[b] = current;
    this.prevFree[b] = NULL;
    this.prevFree[current] = b;
    this.heads[i] = b;
    this.flBitmap |= 1 << fl;
    this.slBitmap[fl] |= 1 << sl;
    this.freeTotal += size;
    this.freeCount++;
  }

  /**
   * block_split: block b keeps `keep` payload bytes; the rest becomes a new free block after it
   * (linked physically, not yet on a list), which is returned. The caller sets its prev-free bit.
   */
  private split(b: number, keep: number, work: Work): number {
    work.instructions += SPLIT_INSTRUCTIONS;
    work.reads += 2; // b's size word, the next block's size word
    work.writes += 5; // rest's size word, b's size word, next's prev_phys and size word, rest's prev_phys
    const r = this.newSlot();
    const hdr = this.hdr;
    const total = hdr[b] & SIZE_MASK;
    this.off[r] = this.off[b] + keep + HEADER;
    hdr[r] = (total - keep - HEADER) | FREE_BIT;
    hdr[b] = keep | (hdr[b] & 3);
    const next = this.nextPhys[b];
    if (work.trace !== null) this.traceSplit(work.trace, b, r, next);
    hdr[next] |= PREV_FREE_BIT;
    this.nextPhys[r] = next;
    this.prevPhys[next] = r;
    this.prevPhys[r] = b;
    this.nextPhys[b] = r;
    return r;
  }

  private newSlot(): number {
    const s = this.spare;
    if (s >= 0) {
      this.spare = this.nextFree[s];
      return s;
    }
    if (this.slotTop === this.hdr.length) this.growSlots();
    return this.slotTop++;
  }

  private dropSlot(s: number): void {
    this.nextFree[s] = this.spare;
    this.spare = s;
  }

  private growSlots(): void {
    const n = this.hdr.length * 2;
    const grow = (a: Int32Array) => {
      const b = new Int32Array(n);
      b.set(a);
      return b;
    };
    this.hdr = grow(this.hdr);
    this.off = grow(this.off);
    this.nextPhys = grow(this.nextPhys);
    this.prevPhys = grow(this.prevPhys);
    this.nextFree = grow(this.nextFree);
    this.prevFree = grow(this.prevFree);
  }
}

function optionsOf(options: AllocatorOptions): { slLog2: number; align: number } {
  return { slLog2: Number(options.sl_log2 ?? DEFAULT_SL_LOG2), align: Number(options.align ?? DEFAULT_ALIGN) };
}

/**
 * Why a heap of `size` bytes cannot hold TLSF: the control structure, the pool overhead (the first
 * block's size word and the sentinel's) and one minimum block must fit, and the pool's block must
 * stay below block_size_max (tlsf_add_pool refuses a bigger pool).
 */
function misfit(size: number, options: AllocatorOptions): string | null {
  const { slLog2, align } = optionsOf(options);
  const p = tlsfParameters(slLog2, align);
  const pool = poolLayout(size, p, align);
  const needed = pool.firstHeader + 2 * HEADER + p.minPayload;
  if (pool.firstPayload < p.minPayload) {
    const gap = pool.firstHeader - p.controlBytes;
    return `TLSF needs ${needed} bytes: a ${p.controlBytes}-byte control structure, ${2 * HEADER} bytes of pool overhead${gap > 0 ? `, ${gap} bytes to align the pool` : ''} and a ${p.minPayload}-byte minimum block`;
  }
  if (pool.firstPayload >= BLOCK_SIZE_MAX) return `a TLSF pool holds blocks below ${BLOCK_SIZE_MAX} bytes (block_size_max); ${size} bytes is too big for one pool`;
  return null;
}

export const tlsf: AllocatorEntry = {
  options: { sl_log2: SL_LOG2_OPTION, align: ALIGN_OPTION },
  freesBlocks: true,
  // ALIGN_SIZE: 4 on 32-bit in tlsf.c, or the `align` option.
  naturalAlign: (options) => optionsOf(options).align,
  // Good fit rounds a request up to the next list: a block freed alone between used neighbours sits
  // in its own size's list, below the rounded search, so asking again can fail (see the tests).
  reuseGuaranteed: false,
  bound: {
    // M(n - 2) is Robson's best-fit figure, asymptotic in n; below n = 4 it drops under Robson's
    // bound for every allocator, M(1 + log2(n) / 2), which no allocator beats: take the larger.
    formula: 'M(n - 2), at least M(1 + log2(n)/2)',
    source: 'o1heap README (best fit / TLSF), Robson 1974 for small n',
    bytes: (m, n) => m * Math.max(n - 2, 1 + Math.log2(Math.max(1, n)) / 2),
  },
  misfit: (size, options) => misfit(size, options),
  create: (base, size, options) => {
    const { slLog2, align } = optionsOf(options);
    return new TlsfAllocator(base, size, slLog2, align);
  },
};

/** A read-modify-write of one word (a bitmap bit set or cleared). */
function traceUpdate(trace: MetadataTrace, addr: number): void {
  const i = trace.claim(2);
  trace.addrs[i] = trace.addrs[i + 1] = addr;
  trace.writes[i] = 0;
  trace.writes[i + 1] = 1;
}

/** Heaps with up to this many minimum-block-sized buckets index their live blocks directly. */
const DENSE_INDEX_MAX = 1 << 22;

/**
 * Live blocks by payload offset. Two live payloads are at least one minimum block (16 bytes, or the
 * alignment when larger) apart, so offset >> log2(minimum block) names at most one live block: up
 * to DENSE_INDEX_MAX buckets (64 MiB of heap) a direct Int32Array holds slot numbers (0 = none; a
 * quarter of a byte per heap byte, its untouched pages cost nothing), and the caller confirms the
 * block's offset. Bigger heaps use linear probing over typed arrays with backward-shift deletion.
 * Either way no per-operation objects: a Map was most of the time of an alloc + free pair.
 */
class LiveIndex {
  private dense: Int32Array;
  private readonly bucketLog2: number;
  private keys = new Int32Array(0);
  private values = new Int32Array(0);
  private mask = 0;
  private shift = 0;
  size = 0;

  constructor(capacity: number, minBlock: number) {
    this.bucketLog2 = 31 - Math.clz32(minBlock);
    const buckets = Math.floor(capacity / minBlock) + 1;
    if (buckets <= DENSE_INDEX_MAX) {
      this.dense = new Int32Array(buckets);
    } else {
      this.dense = new Int32Array(0);
      this.keys = new Int32Array(64).fill(-1);
      this.values = new Int32Array(64);
      this.mask = 63;
      this.shift = 26;
    }
  }

  /** Room for a heap grown to `capacity` bytes (a dynamic segment's new pool): a dense index is made bigger, or gives way to probing. */
  grow(capacity: number, keyOf: (slot: number) => number): void {
    if (this.dense.length === 0) return;
    const buckets = Math.floor(capacity / 2 ** this.bucketLog2) + 1;
    if (buckets <= this.dense.length) return;
    const old = this.dense;
    if (buckets <= DENSE_INDEX_MAX) {
      this.dense = new Int32Array(buckets);
      this.dense.set(old);
      return;
    }
    this.dense = new Int32Array(0);
    this.keys = new Int32Array(64).fill(-1);
    this.values = new Int32Array(64);
    this.mask = 63;
    this.shift = 26;
    const live = this.size;
    this.size = 0;
    for (let i = 0; i < old.length; i++) if (old[i] !== 0) this.set(keyOf(old[i]), old[i]);
    if (this.size !== live) throw new Error('LiveIndex.grow lost blocks');
  }

  set(key: number, slot: number): void {
    this.size++;
    if (this.dense.length !== 0) {
      this.dense[key >>> this.bucketLog2] = slot;
      return;
    }
    if (this.size * 2 > this.mask + 1) this.rehash();
    this.put(key, slot);
  }

  /** The slot of the live block at `key`, or 0; a dense index may answer with the block whose bucket it is. */
  get(key: number): number {
    if (this.dense.length !== 0) {
      const i = key >>> this.bucketLog2;
      return key >= 0 && i < this.dense.length ? this.dense[i] : 0;
    }
    const keys = this.keys;
    let i = Math.imul(key, 0x9e3779b1) >>> this.shift;
    while (keys[i] !== key && keys[i] !== -1) i = (i + 1) & this.mask;
    return keys[i] === -1 ? 0 : this.values[i];
  }

  /** Forgets the live block at `key` (which get() just confirmed). */
  remove(key: number): void {
    this.size--;
    if (this.dense.length !== 0) {
      this.dense[key >>> this.bucketLog2] = 0;
      return;
    }
    const keys = this.keys;
    const values = this.values;
    const mask = this.mask;
    let i = Math.imul(key, 0x9e3779b1) >>> this.shift;
    while (keys[i] !== key) i = (i + 1) & mask;
    // Backward shift: pull later entries of the probe run into the hole when their home allows it.
    let hole = i;
    for (let j = (i + 1) & mask; keys[j] !== -1; j = (j + 1) & mask) {
      const home = Math.imul(keys[j], 0x9e3779b1) >>> this.shift;
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        keys[hole] = keys[j];
        values[hole] = values[j];
        hole = j;
      }
    }
    keys[hole] = -1;
  }

  private put(key: number, slot: number): void {
    const keys = this.keys;
    let i = Math.imul(key, 0x9e3779b1) >>> this.shift;
    while (keys[i] !== -1) i = (i + 1) & this.mask;
    keys[i] = key;
    this.values[i] = slot;
  }

  private rehash(): void {
    const oldKeys = this.keys;
    const oldValues = this.values;
    const n = oldKeys.length * 2;
    this.keys = new Int32Array(n).fill(-1);
    this.values = new Int32Array(n);
    this.mask = n - 1;
    this.shift--;
    for (let i = 0; i < oldKeys.length; i++) if (oldKeys[i] !== -1) this.put(oldKeys[i], oldValues[i]);
  }
}
