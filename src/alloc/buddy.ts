/**
 * Binary buddy allocator (Knowlton 1965; Knuth's TAOCP 2.5 algorithms R and S) on a 32-bit target.
 *
 * Layout: the arena starts at `origin`, the heap base aligned up to min_block. The managed bytes are
 * `units` min_block units, covered by the largest power-of-two top-level blocks that fit, in address
 * order (the binary digits of units × min_block: a 3808-byte cover is 2048 + 1024 + 512 + 128 + 64 + 32).
 * Every block of order k sits at an offset from `origin` that is a multiple of 2^k, so its buddy is at
 * offset ^ 2^k, and a buddy pair never straddles two top-level blocks.
 *
 * Block sizes live out of band, not in a header: the control structure is one byte per min_block unit
 * (the order of the block that starts there and a free bit, Knuth's TAG and KVAL), one free-list head
 * per order and a word of non-empty-order bits. It sits after the blocks, at the end of the heap, so it
 * does not spoil the arena's alignment, and counts as used. A used block therefore carries no header:
 * its only overhead is rounding up to 2^k (lastBlock = 2^k), and a payload starts on its block.
 * Free blocks hold their doubly linked list links (next, prev) in their first two words, which is why
 * min_block is at least 8. The control structure's layout (what the metadata trace names): the list
 * heads, one word per order from order 0, then the order mask word, then the table, unit u's byte at
 * table + u.
 *
 * Alloc takes the lowest non-empty order >= the one needed (one bit scan), splitting it down and
 * pushing the upper halves on their (empty) lists; free merges with the buddy while the buddy is free
 * and whole (its table byte says free at the same order), so both cost O(orders).
 *
 * Alignment: a block of order k is aligned to min(2^k, alignment of origin), so an alignment is
 * honoured by taking order >= log2(align) whenever origin is aligned at least that much. A larger
 * alignment than origin has cannot be given by any block of that order, and the request fails.
 * Leftover bytes below one min_block (and the alignment slack before origin) are not managed.
 * malloc (`align` 0) gets min_block's alignment, which every block has.
 *
 * Size 0 is emu's choice (Knuth's algorithm R starts from a size k >= 1): a min_block block, so that
 * every block has its own address, as glibc's malloc(0) gives a distinct pointer.
 *
 * realloc, emu's (Knuth gives none), in the buddy system's terms: a block whose order still fits stays;
 * a shrink splits off its upper halves onto their free lists (their buddies are the block, in use, so
 * nothing merges), so a shrink never fails; a growth takes the upper buddies of each order up to the
 * one needed when all are free and whole and the block sits at an address aligned to that order (it is
 * then the lower buddy all the way up); otherwise malloc, copy, free.
 */
import { alignUp } from '../util/bits.js';
import { read, reallocByMove, reallocEnded, reallocNull, write, NULL_ADDR, type Allocator, type AllocatorEntry, type AllocatorOptions, type ReallocOutcome, type ReallocState, type Work } from './allocator.js';

const POINTER = 4;
/** Table byte: bit 7 marks a free block; the low bits are its order above min_block. */
const FREE = 0x80;
const LEVEL = 0x7f;
const NONE = -1;
const DEFAULT_MIN_BLOCK = 16;
/** Fixed cost of alloc: size to order (clz), mask scan, list pop, address arithmetic. */
const ALLOC_INSTRUCTIONS = 14;
/** Per split level: halve, compute the buddy, push it. */
const SPLIT_INSTRUCTIONS = 5;
/** Fixed cost of free: address to unit, table lookup, final push. */
const FREE_INSTRUCTIONS = 10;
/** Per merge level: buddy address, compare its table byte, unlink it. */
const MERGE_INSTRUCTIONS = 6;
/** Fixed cost of realloc: the NULL test, address to unit, table lookup, size to order (clz), the compare. */
const REALLOC_INSTRUCTIONS = 12;

/** Bytes of the control structure for `units` units: list heads per order, the order mask, the table. */
export function buddyControlBytes(units: number): number {
  if (units <= 0) return 0;
  return POINTER * (ordersOf(units) + 1) + alignUp(units, POINTER);
}

/** The most min_block units that fit in `avail` bytes together with their control structure. */
export function buddyUnits(avail: number, minBlock: number): number {
  const most = Math.floor(avail / minBlock);
  if (most <= 0) return 0;
  // Control for `most` units is at least that for the answer, so this is a count that fits.
  let units = Math.max(0, Math.floor((avail - buddyControlBytes(most)) / minBlock));
  while ((units + 1) * minBlock + buddyControlBytes(units + 1) <= avail) units++;
  return units;
}

export class BuddyAllocator implements Allocator, ReallocState {
  private readonly origin: number;
  private readonly minBlock: number;
  private readonly minLog: number;
  /** min_block units managed (the cover is units × min_block bytes). */
  private readonly units: number;
  private readonly control: number;
  /** Addresses in the control structure after the cover: heads[0], the order mask, the table's first byte. */
  private readonly headsAt: number;
  private readonly maskAt: number;
  private readonly tableAt: number;
  /** The order of the largest top-level block (orders counted above min_block). */
  private readonly topLevel: number;
  /** The largest alignment every offset-aligned block inherits from origin. */
  private readonly originAlign: number;
  /** Per unit: FREE | order of the block starting there (meaningful at block starts only). */
  private readonly table: Uint8Array;
  /** Free-list links per unit, kept in the free blocks themselves. */
  private readonly next: Int32Array;
  private readonly prev: Int32Array;
  private readonly heads: Int32Array;
  /** Bit k set when the list of order k is non-empty. */
  private mask = 0;
  private allocated = 0;
  private freeBlocks = 0;
  lastBlock = 0;
  lastRealloc: ReallocOutcome = 'failed';
  lastMoved = 0;

  constructor(base: number, size: number, minBlock = DEFAULT_MIN_BLOCK) {
    this.minBlock = minBlock;
    this.minLog = Math.log2(minBlock);
    this.origin = alignUp(base, minBlock);
    this.units = buddyUnits(base + size - this.origin, minBlock);
    this.control = buddyControlBytes(this.units);
    const orders = this.units > 0 ? ordersOf(this.units) : 0;
    this.topLevel = orders - 1;
    this.headsAt = this.origin + this.units * minBlock;
    this.maskAt = this.headsAt + POINTER * orders;
    this.tableAt = this.maskAt + POINTER;
    this.originAlign = largestPow2Dividing(this.origin);
    this.table = new Uint8Array(this.units);
    this.next = new Int32Array(this.units).fill(NONE);
    this.prev = new Int32Array(this.units).fill(NONE);
    this.heads = new Int32Array(orders).fill(NONE);
    // The top-level blocks, largest first: one per set bit of units.
    let u = 0;
    for (let level = this.topLevel; level >= 0; level--) {
      if ((this.units & (1 << level)) === 0) continue;
      this.table[u] = FREE | level;
      this.heads[level] = u;
      this.mask |= 1 << level;
      this.freeBlocks++;
      u += 1 << level;
    }
  }

  alloc(size: number, align: number, work: Work): number {
    work.instructions += ALLOC_INSTRUCTIONS;
    if (align > this.originAlign) return -1;
    const need = Math.max(size, align, this.minBlock);
    if (need > this.units * this.minBlock) return -1;
    const level = ceilLog2(need) - this.minLog;
    read(work, this.maskAt); // the order mask
    let mask = this.mask;
    const suitable = mask & ~((1 << level) - 1);
    if (suitable === 0) return -1;
    let l = 31 - Math.clz32(suitable & -suitable);
    const u = this.heads[l];
    const after = this.next[u];
    read(work, this.headsAt + POINTER * l); // the list head
    read(work, this.blockAt(u)); // and its next link
    this.heads[l] = after;
    write(work, this.headsAt + POINTER * l);
    if (after !== NONE) {
      this.prev[after] = NONE;
      write(work, this.blockAt(after) + POINTER); // its prev link
    } else {
      mask &= ~(1 << l);
    }
    this.freeBlocks--;
    // Split down: each upper half goes on its order's list, which was empty (l was the lowest non-empty).
    while (l > level) {
      l--;
      const half = u + (1 << l);
      this.next[half] = NONE;
      this.prev[half] = NONE;
      this.heads[l] = half;
      this.table[half] = FREE | l;
      mask |= 1 << l;
      this.freeBlocks++;
      write(work, this.blockAt(half), 2); // its two links
      write(work, this.headsAt + POINTER * l); // the list head
      write(work, this.tableAt + half); // its table byte
      work.instructions += SPLIT_INSTRUCTIONS;
    }
    this.table[u] = level;
    write(work, this.tableAt + u);
    if (mask !== this.mask) {
      this.mask = mask;
      write(work, this.maskAt);
    }
    const bytes = this.minBlock * 2 ** level;
    this.allocated += bytes;
    this.lastBlock = bytes;
    return this.origin + u * this.minBlock;
  }

  free(addr: number, work: Work): number {
    work.instructions += FREE_INSTRUCTIONS;
    let u = (addr - this.origin) / this.minBlock;
    let l = this.table[u] & LEVEL;
    read(work, this.tableAt + u); // the table byte
    read(work, this.maskAt); // and the order mask
    const bytes = this.minBlock * 2 ** l;
    this.allocated -= bytes;
    const mask = this.mask;
    while (l < this.topLevel) {
      const span = 1 << l;
      const b = u ^ span;
      // A buddy reaching past the cover belongs to no pair: u's block is a top-level block.
      if (b + span > this.units) break;
      read(work, this.tableAt + b); // the buddy's table byte
      if (this.table[b] !== (FREE | l)) break;
      this.unlink(b, l, work);
      work.instructions += MERGE_INSTRUCTIONS;
      if (b < u) u = b;
      l++;
    }
    this.push(u, l, work);
    if (mask !== this.mask) write(work, this.maskAt);
    return bytes;
  }

  /** See the header: in place when the order still fits, shrinks, or grows into free upper buddies; else malloc, copy, free. */
  realloc(addr: number, size: number, work: Work): number {
    work.instructions += REALLOC_INSTRUCTIONS;
    if (addr === NULL_ADDR) return reallocNull(this, size, work);
    const u = (addr - this.origin) / this.minBlock;
    if (!(Number.isInteger(u) && u >= 0 && u < this.units) || this.table[u] & FREE) return reallocEnded(this, 'failed', NULL_ADDR); // not a live block
    read(work, this.tableAt + u); // its order
    const l = this.table[u] & LEVEL;
    const level = ceilLog2(Math.max(size, this.minBlock)) - this.minLog;
    const mask = this.mask;
    if (level < l) {
      // Split: each upper half goes on its list; its buddy is the (used) lower half, so nothing merges.
      for (let k = l - 1; k >= level; k--) {
        this.push(u + (1 << k), k, work);
        work.instructions += SPLIT_INSTRUCTIONS;
      }
    } else if (level > l) {
      if (!this.upperBuddiesFree(u, l, level, work)) return reallocByMove(this, addr, size, this.minBlock * 2 ** l, work);
      for (let k = l; k < level; k++) {
        this.unlink(u + (1 << k), k, work);
        work.instructions += MERGE_INSTRUCTIONS;
      }
    }
    if (level !== l) {
      this.table[u] = level;
      write(work, this.tableAt + u); // its new order
      if (mask !== this.mask) write(work, this.maskAt);
    }
    const bytes = this.minBlock * 2 ** level;
    this.allocated += bytes - this.minBlock * 2 ** l;
    this.lastBlock = bytes;
    return reallocEnded(this, 'in-place', addr);
  }

  capacity(): number {
    return this.units * this.minBlock + this.control;
  }

  usedBytes(): number {
    return this.control + this.allocated;
  }

  freeBytes(): number {
    return this.units * this.minBlock - this.allocated;
  }

  largestFree(): number {
    return this.mask === 0 ? 0 : this.minBlock * 2 ** (31 - Math.clz32(this.mask));
  }

  /**
   * What the buddy keeps in the heap: a free block's next/prev links (its first two words) and the
   * control structure, which starts right after the cover (origin + units x min_block, word-aligned;
   * the unmanaged leftover, if any, comes after it). A used block has no header, so its whole block
   * is payload. Walks the blocks in address order by their table bytes up to `end`.
   */
  metadataIn(start: number, end: number): number {
    if (start >= end) return -1;
    for (let u = 0; u < this.units; u += 2 ** (this.table[u] & LEVEL)) {
      const at = this.origin + u * this.minBlock;
      if (at >= end) return -1;
      if ((this.table[u] & FREE) !== 0 && at + 2 * POINTER > start) return Math.max(at, start);
    }
    const control = this.origin + this.units * this.minBlock;
    return control < end && control + this.control > start ? Math.max(control, start) : -1;
  }

  diagnostics(): Record<string, number> {
    return { min_block: this.minBlock, orders: this.topLevel + 1, top_blocks: popcount(this.units), free_blocks: this.freeBlocks };
  }

  /**
   * Walks the blocks by their table bytes (the tree), then every free list, and checks that the two
   * agree: each listed block is a free block start of the list's order, links run both ways, counts
   * per order and the order mask match, no free pair of buddies was left unmerged, and the byte
   * totals match the accounting.
   */
  check(): string[] {
    const problems: string[] = [];
    const orders = this.topLevel + 1;
    /** Per unit: 1 + order of a free block starting there, or 0. */
    const freeStart = new Uint8Array(this.units);
    const freeCount = new Int32Array(Math.max(orders, 1));
    let usedSum = 0;
    let freeSum = 0;
    let blocks = 0;
    for (let u = 0; u < this.units; ) {
      const e = this.table[u];
      const l = e & LEVEL;
      const span = 2 ** l;
      if (l > this.topLevel || u % span !== 0 || u + span > this.units) {
        problems.push(`block at ${this.at(u)} of order ${l} is misplaced or leaves the cover`);
        break;
      }
      if (e & FREE) {
        freeStart[u] = l + 1;
        freeCount[l]++;
        freeSum += span * this.minBlock;
        blocks++;
      } else {
        usedSum += span * this.minBlock;
      }
      u += span;
    }
    for (let u = 0; u < this.units; u++) {
      const l = freeStart[u] - 1;
      if (l < 0 || l >= this.topLevel) continue;
      const b = u ^ (1 << l);
      if (b + (1 << l) <= this.units && freeStart[b] === l + 1) problems.push(`free buddies at ${this.at(Math.min(u, b))} and ${this.at(Math.max(u, b))} (order ${l}) were not merged`);
    }
    for (let l = 0; l < orders; l++) {
      let n = 0;
      let last = NONE;
      for (let u = this.heads[l]; u !== NONE; u = this.next[u]) {
        if (u < 0 || u >= this.units || n > this.units) {
          problems.push(`free list of order ${l} runs off the heap or loops`);
          break;
        }
        if (freeStart[u] !== l + 1) problems.push(`block at ${this.at(u)} is on the order-${l} free list but the table says ${this.table[u] & FREE ? 'free' : 'used'} order ${this.table[u] & LEVEL}`);
        if (this.prev[u] !== last) problems.push(`broken prev link at ${this.at(u)} on the order-${l} free list`);
        last = u;
        n++;
      }
      if (n !== freeCount[l]) problems.push(`order ${l}: ${n} blocks listed, ${freeCount[l]} free in the table`);
      if (((this.mask >>> l) & 1) !== (this.heads[l] === NONE ? 0 : 1)) problems.push(`order mask bit ${l} disagrees with its free list`);
    }
    if (this.mask >>> Math.max(orders, 0) !== 0) problems.push(`order mask has bits above order ${this.topLevel}`);
    if (blocks !== this.freeBlocks) problems.push(`${blocks} free blocks in the table, accounting says ${this.freeBlocks}`);
    if (usedSum !== this.allocated) problems.push(`used blocks hold ${usedSum} bytes, accounting says ${this.allocated}`);
    if (freeSum !== this.freeBytes()) problems.push(`free blocks hold ${freeSum} bytes, accounting says ${this.freeBytes()}`);
    return problems;
  }

  /**
   * Whether the block of order l at unit u can become one of order `level` where it is: u is aligned
   * to that order (so it is the lower buddy at every order up to it), the bigger block stays inside the
   * cover (and so inside one top-level block), and the upper buddy of every order from l up is a free
   * block of that order. Reads the buddies' table bytes until one is not.
   */
  private upperBuddiesFree(u: number, l: number, level: number, work: Work): boolean {
    if (level > this.topLevel || u % (1 << level) !== 0 || u + (1 << level) > this.units) return false;
    for (let k = l; k < level; k++) {
      const b = u + (1 << k);
      read(work, this.tableAt + b); // the buddy's table byte
      if (this.table[b] !== (FREE | k)) return false;
    }
    return true;
  }

  /** Takes free block b of order l off its list (its links read, its neighbours' written), clearing the order's mask bit when the list empties. */
  private unlink(b: number, l: number, work: Work): void {
    const n = this.next[b];
    const p = this.prev[b];
    read(work, this.blockAt(b), 2); // its links
    if (p !== NONE) this.next[p] = n;
    else this.heads[l] = n;
    write(work, p !== NONE ? this.blockAt(p) : this.headsAt + POINTER * l); // the link that pointed at it
    if (n !== NONE) {
      this.prev[n] = p;
      write(work, this.blockAt(n) + POINTER); // and the one back
    }
    if (p === NONE && n === NONE) this.mask &= ~(1 << l);
    this.freeBlocks--;
  }

  /** Pushes unit u as a free block of order l on the head of its list, marking it free in the table. */
  private push(u: number, l: number, work: Work): void {
    const head = this.heads[l];
    read(work, this.headsAt + POINTER * l); // the list head
    this.next[u] = head;
    this.prev[u] = NONE;
    if (head !== NONE) {
      this.prev[head] = u;
      write(work, this.blockAt(head) + POINTER); // its prev link
    }
    this.heads[l] = u;
    this.table[u] = FREE | l;
    write(work, this.blockAt(u), 2); // the block's two links
    write(work, this.headsAt + POINTER * l); // the list head
    write(work, this.tableAt + u); // its table byte
    this.mask |= 1 << l;
    this.freeBlocks++;
  }

  /** Address of unit u's block: a free block's next link is its first word, prev its second. */
  private blockAt(u: number): number {
    return this.origin + u * this.minBlock;
  }

  private at(u: number): string {
    return `0x${(this.origin + u * this.minBlock).toString(16)}`;
  }
}

/** Orders 0..floor(log2 units): how many list heads the control structure keeps. */
function ordersOf(units: number): number {
  return 32 - Math.clz32(units);
}

function ceilLog2(n: number): number {
  return n <= 1 ? 0 : n > 2 ** 31 ? 32 : 32 - Math.clz32(n - 1);
}

function largestPow2Dividing(n: number): number {
  if (n === 0) return 2 ** 32;
  let a = 1;
  while (a < 2 ** 32 && n % (a * 2) === 0) a *= 2;
  return a;
}

function popcount(n: number): number {
  let c = 0;
  for (let v = n >>> 0; v !== 0; v &= v - 1) c++;
  return c;
}

function minBlockOf(options: AllocatorOptions): number {
  return (options.min_block as number | undefined) ?? DEFAULT_MIN_BLOCK;
}

export const buddy: AllocatorEntry = {
  options: { min_block: { kind: 'size', min: 8, max: 4096, pow2: true, about: 'the smallest block handed out, a power of two' } },
  freesBlocks: true,
  naturalAlign: (options) => minBlockOf(options),
  reuseGuaranteed: true,
  // The facts give only the ~2x internal-fragmentation ceiling for buddies, not a heap size that never fails.
  bound: null,
  // misfit does not see the base: it assumes one aligned to min_block (create aligns it up and may manage less).
  misfit: (size, options) => {
    const min = minBlockOf(options);
    if (buddyUnits(size, min) > 0) return null;
    return `the buddy needs ${min + buddyControlBytes(1)} bytes for one ${min}-byte block and its control structure`;
  },
  create: (base, size, options) => new BuddyAllocator(base, size, minBlockOf(options)),
};
