/**
 * The block format and free-list machinery shared by the address-ordered free-list allocators
 * (first-fit, best-fit); they differ only in which free block an allocation takes (`choose`).
 * Each block starts with an 8-byte header (its size with an in-use bit, and the previous block's size
 * for coalescing); a free block also holds next/prev free-list links in its payload, so the
 * minimum block is 16 bytes. The free list is kept in address order: free walks it to the insertion
 * point (unless a free neighbour's place can be taken), and a freed block merges with free neighbours
 * at once (boundary tags), so no two free blocks are ever adjacent.
 *
 * Word layout, for the metadata trace: a block's header is its size word (size | in-use bit) at
 * addr, then the previous block's size (the boundary tag) at addr + 4; a free block's next and prev
 * links follow at addr + 8 and addr + 12. The list's head and tail pointers are the allocator's own
 * fields (K&R's static `base`, a static in a real program, at an address emu does not know); the
 * trace records them as a notional sentinel in the heap's first two words, head at start and tail at
 * start + 4, the same words as the first block's header: a cache model sees them share its line,
 * which a real static would not. They are written by an unlink or insert at an end of the list.
 *
 * malloc (`align` 0) gives the grain's alignment, 8: blocks start on the grain and payloads follow an
 * 8-byte header. Size 0 is emu's choice (K&R's malloc and these emu allocators have no rule of their
 * own; C leaves it to the implementation): a minimum block, a distinct live pointer as glibc's
 * malloc(0) returns, so that a program freeing it later frees a real block.
 *
 * realloc is emu's too (K&R has none), the usual boundary-tag one, as dlmalloc's try_realloc_chunk
 * resizes in place: a shrink keeps the block and gives its tail back as a free block when the tail
 * can be a block of its own (merging with a free block after it); a growth takes what it needs from
 * a free block right after it when that is big enough (leaving any usable remainder free); only
 * otherwise malloc, copy, free. realloc(p, 0) is a shrink to the minimum block (dlmalloc's default,
 * without REALLOC_ZERO_BYTES_FREES), so a shrink never fails.
 */
import { alignUp } from '../util/bits.js';
import { read, reallocByMove, reallocEnded, reallocNull, write, NULL_ADDR, type Allocator, type ReallocOutcome, type ReallocState, type Work } from './allocator.js';

export const HEADER = 8;
/** Offsets of a block's words from its address (see the layout above). */
export const PREV_SIZE = 4;
export const NEXT_LINK = 8;
export const PREV_LINK = 12;
/** Offsets of the notional list sentinel's words from the heap's (aligned) start. */
const HEAD = 0;
const TAIL = 4;
export const MIN_BLOCK = 16;
export const GRAIN = 8;
/** A free block's metadata: its header and the next/prev free-list links after it (the minimum block). */
const FREE_METADATA = HEADER + 8;
const ALLOC_INSTRUCTIONS = 12;
const FREE_INSTRUCTIONS = 10;
/** realloc's own cost: the NULL test, the block looked up, the size rounded and compared, the branch. */
const REALLOC_INSTRUCTIONS = 10;
/** extend (morecore's part): the new end rounded, the top block found and compared, the branch. */
const EXTEND_INSTRUCTIONS = 8;
/** Per visited free-list node when searching for the first match: compare, branch, advance. */
export const VISIT_INSTRUCTIONS = 4;

export interface FreeBlock {
  addr: number;
  size: number;
  free: boolean;
  prevPhys: FreeBlock | null;
  nextPhys: FreeBlock | null;
  prevFree: FreeBlock | null;
  nextFree: FreeBlock | null;
}

export abstract class FreeListAllocator implements Allocator, ReallocState {
  protected head: FreeBlock | null;
  /** Live blocks by payload address. */
  private readonly used = new Map<number, FreeBlock>();
  private readonly start: number;
  /** Bytes managed from start: whole grains; moved by extend when the heap's dynamic segment is resized. */
  private managed: number;
  private freeTotal: number;
  lastBlock = 0;
  lastRealloc: ReallocOutcome = 'failed';
  lastMoved = 0;

  constructor(
    private readonly base: number,
    size: number,
  ) {
    this.start = alignUp(base, GRAIN);
    this.managed = Math.floor((base + size - this.start) / GRAIN) * GRAIN;
    this.head = this.managed >= MIN_BLOCK ? block(this.start, this.managed) : null;
    this.freeTotal = this.head ? this.managed : 0;
  }

  /**
   * The free block to take `need` bytes (header included, rounded) at `align` from, or null when
   * none fits. Charges the list walk to `work`; the caller charges the fixed cost and the split.
   */
  protected abstract choose(need: number, align: number, work: Work): FreeBlock | null;

  /** `align` 0 (malloc) and alignments up to the grain place alike: every payload is 8-aligned. */
  alloc(size: number, align: number, work: Work): number {
    work.instructions += ALLOC_INSTRUCTIONS;
    const need = blockFor(size);
    const a = Math.max(align, GRAIN);
    let b = this.choose(need, a, work);
    if (!b) return -1;
    const payload = alignedPayload(b.addr, a);
    const front = payload - HEADER - b.addr;
    if (front > 0) b = this.splitFront(b, front, work);
    this.takeFromFree(b, need, work);
    write(work, b.addr); // b's size word: in-use bit set
    this.lastBlock = b.size;
    this.used.set(payload, b);
    return payload;
  }

  /** In place when it can be (see the header), else malloc, copy, free; realloc(NULL_ADDR, size) is malloc. */
  realloc(addr: number, size: number, work: Work): number {
    work.instructions += REALLOC_INSTRUCTIONS;
    if (addr === NULL_ADDR) return reallocNull(this, size, work);
    const b = this.used.get(addr);
    if (!b) return reallocEnded(this, 'failed', NULL_ADDR); // not a live block
    const need = blockFor(size);
    read(work, b.addr); // its size word
    if (need <= b.size) this.shrinkInPlace(b, need, work);
    else if (!this.growInPlace(b, need, work)) return reallocByMove(this, addr, size, b.size - HEADER, work);
    this.lastBlock = b.size;
    return reallocEnded(this, 'in-place', addr);
  }

  free(addr: number, work: Work): number {
    work.instructions += FREE_INSTRUCTIONS;
    const b = this.used.get(addr)!;
    this.used.delete(addr);
    return this.release(b, work);
  }

  /** Frees used block b (not among the live blocks): merges it with free neighbours or puts it on the list. */
  private release(b: FreeBlock, work: Work): number {
    const released = b.size;
    this.freeTotal += released;
    b.free = true;
    read(work, b.addr); // its size word
    write(work, b.addr); // the in-use bit cleared
    const next = b.nextPhys;
    const prev = b.prevPhys;
    if (next?.free) {
      // Absorb the next block and take its place in the list: address order is kept.
      read(work, next.addr); // next's size word: free
      this.replaceInList(next, b);
      absorb(b, next);
      write(work, b.addr); // b's size, grown
      write(work, b.addr + NEXT_LINK, 2); // b's links, next's list place (the neighbours' links are not counted)
    } else if (!prev?.free) {
      this.insertInOrder(b, work);
    }
    if (prev?.free) {
      read(work, prev.addr); // prev's size word: free
      if (b.prevFree || b.nextFree || this.head === b) this.unlink(b);
      absorb(prev, b);
      write(work, prev.addr); // prev's size, grown
      // The boundary tag after the merged block learns its size; the last block has none: prev's next link then.
      const after = prev.nextPhys;
      write(work, after ? after.addr + PREV_SIZE : prev.addr + NEXT_LINK);
    }
    return released;
  }

  /**
   * The heap's dynamic segment was resized: the heap's end moves, as K&R's malloc grows its arena
   * (The C Programming Language, 2nd ed., section 8.7, morecore): the new memory becomes one block with
   * a header, given to free(), which puts it on the address-ordered list and merges it with a free
   * block before it; a free block at the end simply grows. Bytes too few for a block of their own
   * after a used block wait for the next growth. A shrink takes its bytes off a free block at the end
   * (leaving it a whole block or nothing); with a used block there, or too little, it is refused.
   */
  extend(size: number, work: Work): boolean {
    work.instructions += EXTEND_INSTRUCTIONS;
    const managed = Math.max(0, Math.floor((this.base + size - this.start) / GRAIN) * GRAIN);
    if (managed === this.managed) return true;
    const last = this.lastPhysical();
    if (last) read(work, last.addr); // the top block's size word: free, and how big
    if (managed < this.managed) {
      const cut = this.managed - managed;
      if (!last || !last.free || (last.size !== cut && last.size - cut < MIN_BLOCK)) return false;
      if (last.size === cut) {
        const before = last.prevFree;
        this.unlink(last);
        if (last.prevPhys) last.prevPhys.nextPhys = null;
        write(work, before ? before.addr + NEXT_LINK : this.start + HEAD); // the link that pointed at it
        write(work, this.start + TAIL); // the list's tail: it was the last block
      } else {
        last.size -= cut;
        write(work, last.addr); // its size word
      }
      this.freeTotal -= cut;
      this.managed = managed;
      return true;
    }
    const added = managed - this.managed;
    if (last?.free) {
      last.size += added;
      this.freeTotal += added;
      this.managed = managed;
      write(work, last.addr); // its size word
      return true;
    }
    if (added < MIN_BLOCK) return true; // the bytes wait: managed is unchanged, and so is capacity()
    const b = block(this.start + this.managed, added);
    b.free = false;
    if (last) linkPhysAfter(last, b);
    this.managed = managed;
    write(work, b.addr, 2); // the new block's header: its size, and the last block's size as its boundary tag
    work.instructions += FREE_INSTRUCTIONS; // given to free()
    this.release(b, work);
    return true;
  }

  /** The block at the heap's end, or null when there is none (a heap too small for one block). */
  private lastPhysical(): FreeBlock | null {
    let b: FreeBlock | null = this.head;
    if (!b) for (const u of this.used.values()) {
      b = u;
      break;
    }
    if (!b) return null;
    while (b.nextPhys) b = b.nextPhys;
    return b;
  }

  capacity(): number {
    return this.managed;
  }

  usedBytes(): number {
    return this.managed - this.freeTotal;
  }

  freeBytes(): number {
    return this.freeTotal;
  }

  largestFree(): number {
    let largest = 0;
    for (let b = this.head; b; b = b.nextFree) largest = Math.max(largest, b.size);
    return largest;
  }

  /** The address of the free block holding `addr`, or -1. Walks the free list; not charged (trace use only). */
  freeBlockAt(addr: number): number {
    for (let b = this.head; b && b.addr <= addr; b = b.nextFree) if (addr < b.addr + b.size) return b.addr;
    return -1;
  }

  /** Number of blocks on the free list (what the allocator walks). */
  freeListLength(): number {
    let n = 0;
    for (let b = this.head; b; b = b.nextFree) n++;
    return n;
  }

  /**
   * Every block's 8-byte header, and a free block's next/prev links in the 8 bytes after it: a free
   * block's metadata is [addr, addr + 16), a used block's [addr, addr + 8). Walks the physical chain
   * in address order from the first block (reached through prevPhys from the lowest free block, the
   * free list being address-ordered, or from any used block), stopping at the first block at or past
   * `end`. O(blocks), no bookkeeping on alloc and free.
   */
  metadataIn(start: number, end: number): number {
    let b = this.head;
    if (!b) for (const u of this.used.values()) {
      b = u;
      break;
    }
    if (!b || start >= end) return -1;
    while (b.prevPhys) b = b.prevPhys;
    for (; b && b.addr < end; b = b.nextPhys) {
      if (b.addr + (b.free ? FREE_METADATA : HEADER) > start) return Math.max(b.addr, start);
    }
    return -1;
  }

  check(): string[] {
    const problems: string[] = [];
    let freeSum = 0;
    let last: FreeBlock | null = null;
    for (let b = this.head; b; b = b.nextFree) {
      if (!b.free) problems.push(`block at ${b.addr} is on the free list but marked used`);
      if (last && last.addr >= b.addr) problems.push(`free list out of address order at ${b.addr}`);
      if (b.prevFree !== last) problems.push(`broken prev link at ${b.addr}`);
      if (b.nextPhys?.free) problems.push(`free blocks at ${b.addr} and ${b.nextPhys.addr} were not coalesced`);
      freeSum += b.size;
      last = b;
    }
    if (freeSum !== this.freeTotal) problems.push(`free list holds ${freeSum} bytes, accounting says ${this.freeTotal}`);
    return problems;
  }

  /** Splits `front` bytes off the start of free block b; the front stays free, the rest is returned. */
  private splitFront(b: FreeBlock, front: number, work: Work): FreeBlock {
    const rest = block(b.addr + front, b.size - front);
    b.size = front;
    linkPhysAfter(b, rest);
    rest.nextFree = b.nextFree;
    rest.prevFree = b;
    if (b.nextFree) b.nextFree.prevFree = rest;
    b.nextFree = rest;
    write(work, b.addr); // b's size, now the front's
    write(work, rest.addr); // rest's size word
    write(work, rest.addr + NEXT_LINK, 2); // rest's links (the neighbours' links are not counted)
    return rest;
  }

  /**
   * realloc's shrink: used block b keeps `need` bytes, and a tail that can be a block of its own is
   * freed (merging with a free block after it). b's size word and the tail's boundary tag are written,
   * and the block after the tail learns the tail's size; the tail's size word is written by its free.
   */
  private shrinkInPlace(b: FreeBlock, need: number, work: Work): void {
    const tail = b.size - need;
    if (tail < MIN_BLOCK) return;
    const rest = block(b.addr + need, tail);
    rest.free = false;
    b.size = need;
    linkPhysAfter(b, rest);
    write(work, b.addr); // b's size
    write(work, rest.addr + PREV_SIZE); // the tail's boundary tag: b's size
    if (rest.nextPhys) write(work, rest.nextPhys.addr + PREV_SIZE); // the next block's boundary tag: the tail's size
    work.instructions += FREE_INSTRUCTIONS; // the tail is freed as free() would
    this.release(rest, work);
  }

  /**
   * realloc's growth: when the block after used block b is free and the two hold `need` bytes, b takes
   * what it lacks from the front of that block (its remainder stays free when it can be a block) and
   * true is returned; else false, nothing changed.
   */
  private growInPlace(b: FreeBlock, need: number, work: Work): boolean {
    const next = b.nextPhys;
    if (!next) return false;
    read(work, next.addr); // next's size word: free, and how big
    if (!next.free || b.size + next.size < need) return false;
    this.takeFromFree(next, need - b.size, work);
    absorb(b, next);
    write(work, b.addr); // b's size, grown
    // A remainder's header carries b's size as its boundary tag; without one, the used block after does.
    const after = b.nextPhys;
    if (after && !after.free) write(work, after.addr + PREV_SIZE);
    return true;
  }

  /** Takes `need` bytes from the start of free block b, leaving any usable tail on the list; the caller writes b's size word. */
  private takeFromFree(b: FreeBlock, need: number, work: Work): void {
    const tail = b.size - need;
    if (tail >= MIN_BLOCK) {
      const rest = block(b.addr + need, tail);
      b.size = need;
      linkPhysAfter(b, rest);
      this.replaceInList(b, rest);
      write(work, rest.addr, 4); // rest's header (size, and b's size as its boundary tag), its links: b's list place
    } else {
      const before = b.prevFree;
      const after = b.nextFree;
      this.unlink(b);
      write(work, before ? before.addr + NEXT_LINK : this.start + HEAD); // the link that pointed at b
      write(work, after ? after.addr + PREV_LINK : this.start + TAIL); // and the one back
    }
    b.free = false;
    this.freeTotal -= b.size;
  }

  private insertInOrder(b: FreeBlock, work: Work): void {
    let prev: FreeBlock | null = null;
    let cur = this.head;
    let visited = 0;
    for (; cur && cur.addr < b.addr; cur = cur.nextFree) {
      prev = cur;
      visited++;
    }
    chargeListWalk(this.head, visited, VISIT_INSTRUCTIONS, work);
    b.prevFree = prev;
    b.nextFree = cur;
    if (cur) cur.prevFree = b;
    if (prev) prev.nextFree = b;
    else this.head = b;
    write(work, b.addr + NEXT_LINK, 2); // b's links
    write(work, cur ? cur.addr + PREV_LINK : this.start + TAIL); // cur's prev link (the tail when b goes last)
    write(work, prev ? prev.addr + NEXT_LINK : this.start + HEAD); // prev's next link (the head when b goes first)
  }

  private replaceInList(old: FreeBlock, replacement: FreeBlock): void {
    replacement.prevFree = old.prevFree;
    replacement.nextFree = old.nextFree;
    if (old.prevFree) old.prevFree.nextFree = replacement;
    else this.head = replacement;
    if (old.nextFree) old.nextFree.prevFree = replacement;
    old.prevFree = old.nextFree = null;
  }

  private unlink(b: FreeBlock): void {
    if (b.prevFree) b.prevFree.nextFree = b.nextFree;
    else this.head = b.nextFree;
    if (b.nextFree) b.nextFree.prevFree = b.prevFree;
    b.prevFree = b.nextFree = null;
  }
}

/**
 * Charges a walk over the first `count` nodes of the free list from `first`: `visitInstructions` and
 * two reads per node, its size word and next link. Charged once, after the walk, so that the walk
 * itself is a bare loop; when tracing, the nodes are walked again for their addresses.
 */
export function chargeListWalk(first: FreeBlock | null, count: number, visitInstructions: number, work: Work): void {
  work.instructions += visitInstructions * count;
  work.reads += 2 * count;
  const trace = work.trace;
  if (trace === null || count === 0) return;
  trace.reserve(2 * count);
  const { addrs, writes } = trace;
  let i = trace.length;
  for (let b = first!, n = 0; n < count; n++, b = b.nextFree!) {
    addrs[i] = b.addr;
    addrs[i + 1] = b.addr + NEXT_LINK;
    writes[i] = writes[i + 1] = 0;
    i += 2;
  }
  trace.length = i;
}

/** Whether free block b can hold `need` bytes with its payload aligned to `align`. */
export function fits(b: FreeBlock, need: number, align: number): boolean {
  // malloc's alignment, the walks' common case: a block on the grain has its payload right after its
  // header (alignedPayload gives addr + HEADER, no sliver in front), so only the size decides.
  if (align === GRAIN && b.addr % GRAIN === 0) return need <= b.size;
  return alignedPayload(b.addr, align) - HEADER - b.addr + need <= b.size;
}

/** The block for a `size`-byte request: header included, rounded to the grain, at least the minimum block. */
function blockFor(size: number): number {
  return Math.max(MIN_BLOCK, alignUp(size + HEADER, GRAIN));
}

function block(addr: number, size: number): FreeBlock {
  return { addr, size, free: true, prevPhys: null, nextPhys: null, prevFree: null, nextFree: null };
}

function linkPhysAfter(b: FreeBlock, rest: FreeBlock): void {
  rest.prevPhys = b;
  rest.nextPhys = b.nextPhys;
  if (b.nextPhys) b.nextPhys.prevPhys = rest;
  b.nextPhys = rest;
}

/** Merges physically-next block `next` into `b`. */
function absorb(b: FreeBlock, next: FreeBlock): void {
  b.size += next.size;
  b.nextPhys = next.nextPhys;
  if (next.nextPhys) next.nextPhys.prevPhys = b;
}

/** The first payload address in a block at `addr` that is aligned and leaves no unusable sliver in front. */
function alignedPayload(addr: number, align: number): number {
  let payload = alignUp(addr + HEADER, align);
  while (payload - HEADER - addr > 0 && payload - HEADER - addr < MIN_BLOCK) payload += align;
  return payload;
}
