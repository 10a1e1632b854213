/**
 * Half-fit as in o1heap v2 (Pavel Kirienko, after Ogasawara 1995) on a 32-bit target.
 *
 * The instance (32 bin heads, the non-empty-bin mask and the diagnostics) sits at the start of the
 * arena, padded to O1HEAP_ALIGNMENT: 160 bytes, counted as used. The rest, rounded down to a multiple
 * of FRAGMENT_SIZE_MIN, is the capacity, cut into fragments. Every fragment starts with a 16-byte
 * header (next and prev physical fragment, size, used flag); a free one also holds its bin links, so
 * the smallest fragment is 32 bytes. A request of r bytes takes a fragment of F(r) = 2^ceil(log2(r + 16))
 * bytes. Bin i holds the free fragments of [32 × 2^i, 32 × 2^(i+1)) bytes: insertion rounds the size
 * down, a fetch rounds up, so alloc takes the head of the lowest non-empty bin at or above
 * log2(F / 32) with one bit scan, splits the remainder off and bins it; free merges with the free
 * physical neighbours and bins the result. Both are constant time: no loop depends on the heap's state.
 *
 * Alignment: o1heap gives O1HEAP_ALIGNMENT (16) to every block and has no aligned allocation. A larger
 * power-of-two alignment is honoured the way firmware wraps o1heap: ask for size + align bytes, return
 * the first aligned address at least one pointer past the payload, and keep the payload pointer in the
 * word before it for free. The diagnostics then see the enlarged request, as o1heap would.
 * Zero-byte requests fail without counting as out-of-memory, as in o1heap (o1heapAllocate: "if (amount
 * > 0 && ...)": NULL, and only a non-zero request that fails bumps oom_count). malloc (`align` 0) is
 * o1heapAllocate itself: O1HEAP_ALIGNMENT.
 *
 * realloc: o1heap has none (o1heap.h declares o1heapAllocate and o1heapFree only), so a program on it
 * reallocates the one way it can: o1heapAllocate(size), the copy, o1heapFree(old), and it keeps the
 * old block when the allocation fails. Every realloc therefore moves, and a shrink can fail on a full
 * heap. realloc(p, 0): o1heapAllocate(0) is NULL, not a failure, so it frees p and returns NULL as
 * tlsf_realloc does (emu's choice for the wrapper).
 */
import { alignUp } from '../util/bits.js';
import { read, reallocByMove, reallocFree, reallocNull, write, NULL_ADDR, type Allocator, type AllocatorEntry, type ReallocOutcome, type ReallocState, type Work } from './allocator.js';

const POINTER = 4;
/** O1HEAP_ALIGNMENT = 4 pointers: the alignment of every block and the per-fragment header. */
const ALIGNMENT = 4 * POINTER;
/** FRAGMENT_SIZE_MIN = 2 × O1HEAP_ALIGNMENT: a header and the two bin links of a free fragment. */
const FRAGMENT_MIN = 2 * ALIGNMENT;
/** FRAGMENT_SIZE_MAX = (SIZE_MAX >> 1) + 1 on 32 bits. */
const FRAGMENT_MAX = 2 ** 31;
/** NUM_BINS_MAX = bits in size_t. */
const NUM_BINS = 32;
/**
 * INSTANCE_SIZE_PADDED: bins 32 × 4 + mask 4 + diagnostics (capacity, allocated, peak_allocated,
 * peak_request_size: 4 × 4; oom_count: uint64 8; the struct is 8-byte aligned for its uint64, so it
 * starts at offset 136) = 160, already a multiple of O1HEAP_ALIGNMENT.
 */
const INSTANCE_SIZE = 160;
/** Offsets in the instance, for the metadata trace: bins[i] at 4i, then these. */
const MASK = 128;
const CAPACITY = 136;
const ALLOCATED = 140;
const PEAK_ALLOCATED = 144;
const PEAK_REQUEST = 148;
/** oom_count, a uint64: its low word is what an increment reads and writes first, and is traced. */
const OOM_COUNT = 152;
/** Offsets in a fragment: the header (next, prev physical fragment, size, used flag), then a free one's bin links. */
const NEXT_PHYS = 0;
const PREV_PHYS = 4;
const SIZE = 8;
const USED = 12;
const NEXT_FREE = 16;
const PREV_FREE = 20;
const NONE = -1;
/** Fixed cost of alloc: range check, clz for the fragment size and bin, mask arithmetic, diagnostics. */
const ALLOC_INSTRUCTIONS = 24;
/** Fixed cost of free: pointer to header, diagnostics, neighbour tests and the four-way branch. */
const FREE_INSTRUCTIONS = 16;
/** Per unbin or rebin: clz of the size, list splice, mask update. */
const BIN_INSTRUCTIONS = 6;
/** Splitting a remainder off, or merging a neighbour: size arithmetic and interlink. */
const SPLIT_INSTRUCTIONS = 4;
const MERGE_INSTRUCTIONS = 4;
/** The aligned-allocation wrapper: align the pointer, store or load the payload pointer. */
const WRAP_INSTRUCTIONS = 5;

export class HalfFitAllocator implements Allocator, ReallocState {
  /** The aligned arena base: the instance lives here. */
  private readonly start: number;
  /** The first fragment's address (start + INSTANCE_SIZE). */
  private readonly arena: number;
  /** o1heap's capacity: the fragments' bytes. */
  private readonly cap: number;
  private readonly control: number;
  private readonly units: number;
  /** Per fragment, indexed in FRAGMENT_MIN units from `arena`: header fields and bin links. */
  private readonly size: Int32Array;
  private readonly used: Uint8Array;
  private readonly nextPhys: Int32Array;
  private readonly prevPhys: Int32Array;
  private readonly nextFree: Int32Array;
  private readonly prevFree: Int32Array;
  private readonly bins = new Int32Array(NUM_BINS).fill(NONE);
  private mask = 0;
  private allocated = 0;
  private peakAllocated = 0;
  private peakRequest = 0;
  private oomCount = 0;
  /** Over-aligned blocks: the address handed out -> the payload pointer the wrapper stored before it. */
  private readonly wrapped = new Map<number, number>();
  lastBlock = 0;
  lastRealloc: ReallocOutcome = 'failed';
  lastMoved = 0;

  constructor(base: number, size: number) {
    this.start = alignUp(base, ALIGNMENT);
    this.arena = this.start + INSTANCE_SIZE;
    const room = Math.min(base + size - this.arena, FRAGMENT_MAX);
    this.cap = room >= FRAGMENT_MIN ? Math.floor(room / FRAGMENT_MIN) * FRAGMENT_MIN : 0;
    // Like o1heapInit returning NULL, a heap too small for the instance and one fragment manages nothing.
    this.control = this.cap > 0 ? INSTANCE_SIZE : 0;
    this.units = this.cap / FRAGMENT_MIN;
    this.size = new Int32Array(this.units);
    this.used = new Uint8Array(this.units);
    this.nextPhys = new Int32Array(this.units).fill(NONE);
    this.prevPhys = new Int32Array(this.units).fill(NONE);
    this.nextFree = new Int32Array(this.units).fill(NONE);
    this.prevFree = new Int32Array(this.units).fill(NONE);
    if (this.units > 0) {
      this.size[0] = this.units;
      const bin = log2Floor(this.units);
      this.bins[bin] = 0;
      this.mask = 1 << bin;
    }
  }

  alloc(size: number, align: number, work: Work): number {
    work.instructions += ALLOC_INSTRUCTIONS;
    const over = size > 0 && align > ALIGNMENT;
    const amount = over ? size + align : size;
    if (over) work.instructions += WRAP_INSTRUCTIONS;
    read(work, this.start + CAPACITY); // diagnostics.capacity, for the range check
    let payload = -1;
    let fragment = 0;
    if (amount > 0 && amount <= this.cap - ALIGNMENT) {
      fragment = 2 ** ceilLog2(amount + ALIGNMENT);
      const want = fragment / FRAGMENT_MIN;
      const suitable = this.mask & ~((1 << log2Floor(want)) - 1);
      read(work, this.start + MASK); // the mask
      if (suitable !== 0) {
        const bin = 31 - Math.clz32(suitable & -suitable);
        const f = this.bins[bin];
        read(work, this.start + POINTER * bin); // the bin head (unbin reads its size)
        this.unbin(f, work);
        const leftover = this.size[f] - want;
        this.size[f] = want;
        write(work, this.fragmentAt(f) + SIZE);
        if (leftover > 0) {
          const rest = f + want;
          this.size[rest] = leftover;
          this.used[rest] = 0;
          const after = this.nextPhys[f];
          read(work, this.fragmentAt(f) + NEXT_PHYS); // the fragment after
          write(work, this.fragmentAt(rest) + SIZE, 2); // the remainder's size and used flag
          this.interlink(rest, after, work);
          this.interlink(f, rest, work);
          this.rebin(rest, work);
          work.instructions += SPLIT_INSTRUCTIONS;
        }
        this.allocated += fragment;
        read(work, this.start + ALLOCATED, 2); // allocated, peak_allocated
        write(work, this.start + ALLOCATED);
        if (this.peakAllocated < this.allocated) {
          this.peakAllocated = this.allocated;
          write(work, this.start + PEAK_ALLOCATED);
        }
        this.used[f] = 1;
        write(work, this.fragmentAt(f) + USED);
        payload = this.arena + f * FRAGMENT_MIN + ALIGNMENT;
      }
    }
    read(work, this.start + PEAK_REQUEST); // peak_request_size
    if (this.peakRequest < amount) {
      this.peakRequest = amount;
      write(work, this.start + PEAK_REQUEST);
    }
    if (payload < 0) {
      if (amount > 0) {
        this.oomCount++;
        read(work, this.start + OOM_COUNT);
        write(work, this.start + OOM_COUNT);
      }
      return -1;
    }
    this.lastBlock = fragment;
    if (!over) return payload;
    const addr = alignUp(payload + POINTER, align);
    this.wrapped.set(addr, payload);
    write(work, addr - POINTER); // the payload pointer, stored just below addr
    return addr;
  }

  /** See the header: always o1heapAllocate, copy, o1heapFree; the wrapper's own tests are not charged. */
  realloc(addr: number, size: number, work: Work): number {
    if (addr === NULL_ADDR) return reallocNull(this, size, work);
    if (size === 0) return reallocFree(this, addr, work);
    const payload = this.wrapped.get(addr) ?? addr;
    // The old block's usable bytes: its fragment less the header, less the wrapper's gap when over-aligned.
    const usable = this.size[this.fragmentOf(payload)] * FRAGMENT_MIN - ALIGNMENT - (addr - payload);
    return reallocByMove(this, addr, size, usable, work);
  }

  free(addr: number, work: Work): number {
    work.instructions += FREE_INSTRUCTIONS;
    let payload = addr;
    if (this.wrapped.size !== 0) {
      const stored = this.wrapped.get(addr);
      if (stored !== undefined) {
        this.wrapped.delete(addr);
        payload = stored;
        read(work, addr - POINTER); // the payload pointer the wrapper stored
        work.instructions += WRAP_INSTRUCTIONS;
      }
    }
    const f = this.fragmentOf(payload);
    const units = this.size[f];
    const bytes = units * FRAGMENT_MIN;
    this.used[f] = 0;
    this.allocated -= bytes;
    const prev = this.prevPhys[f];
    const next = this.nextPhys[f];
    const at = this.fragmentAt(f);
    read(work, at + SIZE); // size
    read(work, this.start + ALLOCATED); // allocated
    read(work, at + PREV_PHYS); // prev
    read(work, at + NEXT_PHYS); // next
    write(work, at + USED); // used
    write(work, this.start + ALLOCATED); // allocated
    let joinLeft = false;
    let joinRight = false;
    if (prev !== NONE) {
      joinLeft = this.used[prev] === 0;
      read(work, this.fragmentAt(prev) + USED);
    }
    if (next !== NONE) {
      joinRight = this.used[next] === 0;
      read(work, this.fragmentAt(next) + USED);
    }
    if (joinLeft && joinRight) {
      this.unbin(prev, work);
      this.unbin(next, work);
      this.size[prev] += units + this.size[next];
      this.size[f] = 0;
      this.size[next] = 0;
      read(work, this.fragmentAt(next) + NEXT_PHYS); // next's next
      write(work, this.fragmentAt(prev) + SIZE); // the three sizes
      write(work, at + SIZE);
      write(work, this.fragmentAt(next) + SIZE);
      this.interlink(prev, this.nextPhys[next], work);
      this.rebin(prev, work);
      work.instructions += 2 * MERGE_INSTRUCTIONS;
    } else if (joinLeft) {
      this.unbin(prev, work);
      this.size[prev] += units;
      this.size[f] = 0;
      write(work, this.fragmentAt(prev) + SIZE); // both sizes
      write(work, at + SIZE);
      this.interlink(prev, next, work);
      this.rebin(prev, work);
      work.instructions += MERGE_INSTRUCTIONS;
    } else if (joinRight) {
      this.unbin(next, work);
      this.size[f] += this.size[next];
      this.size[next] = 0;
      read(work, this.fragmentAt(next) + NEXT_PHYS); // next's next
      write(work, at + SIZE); // both sizes
      write(work, this.fragmentAt(next) + SIZE);
      this.interlink(f, this.nextPhys[next], work);
      this.rebin(f, work);
      work.instructions += MERGE_INSTRUCTIONS;
    } else {
      this.rebin(f, work);
    }
    return bytes;
  }

  capacity(): number {
    return this.control + this.cap;
  }

  usedBytes(): number {
    return this.control + this.allocated;
  }

  freeBytes(): number {
    return this.cap - this.allocated;
  }

  /** The largest free fragment: the biggest one in the highest non-empty bin. */
  largestFree(): number {
    if (this.mask === 0) return 0;
    let largest = 0;
    for (let f = this.bins[31 - Math.clz32(this.mask)]; f !== NONE; f = this.nextFree[f]) largest = Math.max(largest, this.size[f]);
    return largest * FRAGMENT_MIN;
  }

  /**
   * What o1heap keeps in the arena: the 160-byte instance at its start; every fragment's 16-byte
   * header; a free fragment's bin links (next_free, prev_free), which follow the header, in the first
   * 8 bytes of what would be its payload; and, for an over-aligned block, the payload pointer the
   * wrapper stored in the word just below the address it returned. Walks the fragment chain in
   * address order up to `end`, then the over-aligned blocks (O(fragments + over-aligned blocks)).
   */
  metadataIn(start: number, end: number): number {
    if (start >= end) return -1;
    if (this.start < end && this.start + this.control > start) return Math.max(this.start, start);
    let first = -1;
    for (let f = this.units > 0 ? 0 : NONE; f !== NONE; f = this.nextPhys[f]) {
      const at = this.arena + f * FRAGMENT_MIN;
      if (at >= end) break;
      if (at + (this.used[f] ? ALIGNMENT : ALIGNMENT + 2 * POINTER) > start) {
        first = Math.max(at, start);
        break;
      }
    }
    for (const addr of this.wrapped.keys()) {
      const word = addr - POINTER;
      if (word < end && addr > start && (first < 0 || word < first)) first = Math.max(word, start);
    }
    return first;
  }

  /** o1heapGetDiagnostics, in its field order. */
  diagnostics(): Record<string, number> {
    return { capacity: this.cap, allocated: this.allocated, peak_allocated: this.peakAllocated, peak_request_size: this.peakRequest, oom_count: this.oomCount };
  }

  /**
   * o1heapDoInvariantsHold (bin mask against bins, diagnostics ranges), plus a walk of the physical
   * fragment chain and of every bin: fragments tile the capacity with consistent prev links, no two
   * free fragments touch, each free fragment sits in the bin its size rounds down to, exactly once.
   */
  check(): string[] {
    const problems: string[] = [];
    for (let i = 0; i < NUM_BINS; i++) {
      if (((this.mask >>> i) & 1) !== (this.bins[i] === NONE ? 0 : 1)) problems.push(`bin mask bit ${i} disagrees with bin ${i}`);
    }
    const cap = this.cap;
    if (cap > 0 && (cap > FRAGMENT_MAX || cap < FRAGMENT_MIN || cap % FRAGMENT_MIN !== 0)) problems.push(`capacity ${cap} is not a valid fragment multiple`);
    if (this.allocated > cap || this.allocated % FRAGMENT_MIN !== 0) problems.push(`allocated ${this.allocated} is out of range`);
    if (this.peakAllocated > cap || this.peakAllocated < this.allocated || this.peakAllocated % FRAGMENT_MIN !== 0) problems.push(`peak_allocated ${this.peakAllocated} is out of range`);
    if (this.peakRequest >= cap && this.oomCount === 0 && cap > 0) problems.push(`peak_request_size ${this.peakRequest} reaches the capacity without an OOM`);
    if (this.peakRequest === 0 && (this.peakAllocated !== 0 || this.allocated !== 0 || this.oomCount !== 0)) problems.push('nothing was requested but the counters moved');
    if (this.peakRequest !== 0 && this.peakRequest + ALIGNMENT > this.peakAllocated && this.oomCount === 0) problems.push(`peak_request_size ${this.peakRequest} never fitted in peak_allocated ${this.peakAllocated}`);
    if (this.units === 0) return problems;

    const freeInBin = new Int32Array(NUM_BINS);
    let expected = 0;
    let last = NONE;
    let usedUnits = 0;
    let steps = 0;
    for (let f = 0; f !== NONE; f = this.nextPhys[f]) {
      if (f !== expected || steps++ > this.units) {
        problems.push(`fragment chain jumps to ${this.at(f)} where ${this.at(expected)} was due`);
        break;
      }
      if (this.prevPhys[f] !== last) problems.push(`fragment at ${this.at(f)} has a broken prev link`);
      const s = this.size[f];
      if (s <= 0 || f + s > this.units) {
        problems.push(`fragment at ${this.at(f)} has size ${s * FRAGMENT_MIN}`);
        break;
      }
      if (this.used[f]) usedUnits += s;
      else {
        freeInBin[log2Floor(s)]++;
        if (last !== NONE && !this.used[last]) problems.push(`free fragments at ${this.at(last)} and ${this.at(f)} were not merged`);
      }
      expected = f + s;
      last = f;
    }
    if (expected !== this.units) problems.push(`fragments cover ${expected * FRAGMENT_MIN} of ${cap} bytes`);
    if (usedUnits * FRAGMENT_MIN !== this.allocated) problems.push(`used fragments hold ${usedUnits * FRAGMENT_MIN} bytes, allocated says ${this.allocated}`);
    for (let i = 0; i < NUM_BINS; i++) {
      let n = 0;
      let before = NONE;
      for (let f = this.bins[i]; f !== NONE; f = this.nextFree[f]) {
        if (f < 0 || f >= this.units || n > this.units) {
          problems.push(`bin ${i} runs off the heap or loops`);
          break;
        }
        if (this.used[f]) problems.push(`fragment at ${this.at(f)} is in bin ${i} but used`);
        if (this.size[f] <= 0 || log2Floor(this.size[f]) !== i) problems.push(`fragment at ${this.at(f)} of ${this.size[f] * FRAGMENT_MIN} bytes is in bin ${i}`);
        if (this.prevFree[f] !== before) problems.push(`fragment at ${this.at(f)} has a broken bin link`);
        before = f;
        n++;
      }
      if (n !== freeInBin[i]) problems.push(`bin ${i} lists ${n} fragments, the chain has ${freeInBin[i]} free of that size`);
    }
    return problems;
  }

  /** Adds a free fragment at the head of the bin its size rounds down to (most recently used first). */
  private rebin(f: number, work: Work): void {
    const bin = log2Floor(this.size[f]);
    const head = this.bins[bin];
    const at = this.fragmentAt(f);
    read(work, at + SIZE); // size
    read(work, this.start + POINTER * bin); // bin head
    this.nextFree[f] = head;
    this.prevFree[f] = NONE;
    if (head !== NONE) {
      this.prevFree[head] = f;
      write(work, this.fragmentAt(head) + PREV_FREE);
    }
    this.bins[bin] = f;
    this.mask |= 1 << bin;
    write(work, at + NEXT_FREE, 2); // two links
    write(work, this.start + POINTER * bin); // bin head
    write(work, this.start + MASK); // mask
    work.instructions += BIN_INSTRUCTIONS;
  }

  private unbin(f: number, work: Work): void {
    const bin = log2Floor(this.size[f]);
    const next = this.nextFree[f];
    const prev = this.prevFree[f];
    const at = this.fragmentAt(f);
    read(work, at + SIZE); // size
    read(work, at + NEXT_FREE, 2); // both links
    read(work, this.start + POINTER * bin); // bin head
    if (next !== NONE) {
      this.prevFree[next] = prev;
      write(work, this.fragmentAt(next) + PREV_FREE);
    }
    if (prev !== NONE) {
      this.nextFree[prev] = next;
      write(work, this.fragmentAt(prev) + NEXT_FREE);
    }
    if (this.bins[bin] === f) {
      this.bins[bin] = next;
      write(work, this.start + POINTER * bin);
      if (next === NONE) {
        this.mask &= ~(1 << bin);
        write(work, this.start + MASK);
      }
    }
    work.instructions += BIN_INSTRUCTIONS;
  }

  private interlink(left: number, right: number, work: Work): void {
    if (left !== NONE) {
      this.nextPhys[left] = right;
      write(work, this.fragmentAt(left) + NEXT_PHYS);
    }
    if (right !== NONE) {
      this.prevPhys[right] = left;
      write(work, this.fragmentAt(right) + PREV_PHYS);
    }
  }

  /** The fragment whose payload starts at `payload`. */
  private fragmentOf(payload: number): number {
    return (payload - ALIGNMENT - this.arena) / FRAGMENT_MIN;
  }

  /** Address of fragment f's header. */
  private fragmentAt(f: number): number {
    return this.arena + f * FRAGMENT_MIN;
  }

  private at(f: number): string {
    return `0x${(this.arena + f * FRAGMENT_MIN).toString(16)}`;
  }
}

function log2Floor(n: number): number {
  return 31 - Math.clz32(n);
}

function ceilLog2(n: number): number {
  return n <= 1 ? 0 : 32 - Math.clz32(n - 1);
}

export const halfFit: AllocatorEntry = {
  options: {},
  freesBlocks: true,
  naturalAlign: () => ALIGNMENT,
  // The arena after the instance is cut to whole minimum fragments (o1heapInit).
  grain: () => FRAGMENT_MIN,
  reuseGuaranteed: true,
  bound: { formula: 'H = 2M(1 + ceil(log2 n))', source: 'o1heap README (half-fit worst-case memory consumption)', bytes: (m, n) => 2 * m * (1 + Math.ceil(Math.log2(n))) },
  // As o1heapMinArenaSize, for a base aligned to 16 (create aligns it up and may then manage nothing).
  misfit: (size) => {
    const least = INSTANCE_SIZE + FRAGMENT_MIN;
    return size >= least ? null : `half-fit needs ${least} bytes: a ${INSTANCE_SIZE}-byte instance and one ${FRAGMENT_MIN}-byte fragment`;
  },
  create: (base, size) => new HalfFitAllocator(base, size),
};
