/**
 * The PSP kernel's partition allocator (sceKernelAllocPartitionMemory / sceKernelFreePartitionMemory)
 * as the console behaves in the pspautotests tests/sysmem results. The partition is handed out in
 * 256-byte grains with no header inside it (the control blocks live in kernel memory), so two 1-byte
 * blocks are 0x100 apart. Placement types, numbered as on the console: 0 Low (lowest fitting address),
 * 1 High (the block ends at the top of the highest fitting free range), 2 Addr (at a given address,
 * rounded down to the grain), 3 LowAligned and 4 HighAligned (any power-of-two alignment). Failures
 * return the console's error codes. The blocks, free and used, form one address-ordered doubly linked
 * list as in PPSSPP's BlockAllocator: Low and Addr walk it from the bottom, High from the top, and free
 * finds its block by walking from the bottom, so every call slows down as the number of blocks grows.
 *
 * Where the control blocks are, for the metadata trace: in kernel memory, not in the partition. emu
 * places them in a notional kernel block list at the start of the PSP's kernel partition (physical
 * 0x08000000, K0 0x88000000): the partition's bottom and top pointers at PSP_KERNEL_CONTROL and + 4
 * (a 16-byte header), then one 16-byte control block per slot, slot i at PSP_KERNEL_CONTROL + 16 +
 * 16 i: start at +0, size and taken flag at +4, prev at +8, next at +12. A block keeps its slot for
 * its life; a freed slot is reused by the next block created (last freed first), as a kernel pool of
 * control blocks would. The addresses are the same for every psp-sysmem heap of a scenario, and on
 * targets other than the PSP they are notional (they may name another region there).
 *
 * malloc (`align` 0) is Low, High or Addr without an alignment: the 256-byte grain. With LowAligned or
 * HighAligned, alignment 0 is refused as on the console ("Type 3: Failed (800200E4)"). Size 0 fails
 * with 0x800200D9 in every mode. No realloc: the kernel API has no call that resizes a partition block
 * (sceKernelAllocPartitionMemory, sceKernelFreePartitionMemory, sceKernelGetBlockHeadAddr only), so
 * the allocator leaves Allocator.realloc undefined.
 */
import { isPow2 } from '../util/bits.js';
import { hex } from '../util/text.js';
import { alignUp } from '../util/bits.js';
import { read, write, MODE_ADDR, MODE_HIGH, MODE_HIGH_ALIGNED, MODE_LOW, MODE_LOW_ALIGNED, type Allocator, type AllocatorEntry, type Work } from './allocator.js';

/** The partition's allocation unit (pspautotests sysmem/partition: "Minimum difference: 100"). */
export const GRAIN = 0x100;

/** Error codes (PPSSPP's names; values as printed by pspautotests sysmem/partition.expected). */
export const SCE_KERNEL_ERROR_UNKNOWN_UID = 0x800200cb;
export const SCE_KERNEL_ERROR_ILLEGAL_MEMBLOCKTYPE = 0x800200d8;
export const SCE_KERNEL_ERROR_MEMBLOCK_ALLOC_FAILED = 0x800200d9;
export const SCE_KERNEL_ERROR_ILLEGAL_ALIGNMENT_SIZE = 0x800200e4;

/** Argument checks (type, alignment, size), rounding, and the call's fixed bookkeeping. */
const ALLOC_INSTRUCTIONS = 24;
const FREE_INSTRUCTIONS = 16;
/** Per visited block: test taken, compute the aligned start, compare with the end, advance. */
const VISIT_INSTRUCTIONS = 5;
/** Per visited block: its start, its size and taken flag, and the link to follow. */
const VISIT_READS = 3;
/** The notional kernel block list (see above): the partition's header, then 16-byte control blocks. */
export const PSP_KERNEL_CONTROL = 0x08000000;
export const PSP_CONTROL_BLOCK = 16;
/** Offsets in the header and in a control block. */
const BOTTOM = 0;
const TOP = 4;
const START = 0;
const SIZE = 4;
const PREV = 8;
const NEXT = 12;

interface Block {
  start: number;
  size: number;
  taken: boolean;
  prev: Block | null;
  next: Block | null;
  /** Its control block's slot in the notional kernel block list. */
  slot: number;
}

/** Address of a control block. */
function control(b: Block): number {
  return PSP_KERNEL_CONTROL + PSP_CONTROL_BLOCK * (b.slot + 1);
}

// No metadataIn: the control blocks live in kernel memory, and a partition block has no header inside it.
export class PspSysmemAllocator implements Allocator {
  private bottom: Block | null;
  private top: Block | null;
  private readonly start: number;
  private readonly managed: number;
  private used = 0;
  /** Control-block slots: the next never used, and the freed ones (reused last freed first). */
  private slotTop = 0;
  private readonly spareSlots: number[] = [];
  lastBlock = 0;
  /** The error code of the most recent failed alloc; 0 after a success. */
  lastError = 0;

  constructor(base: number, size: number) {
    this.start = alignUp(base, GRAIN);
    this.managed = Math.max(0, Math.floor((base + size - this.start) / GRAIN) * GRAIN);
    this.bottom = this.managed > 0 ? { start: this.start, size: this.managed, taken: false, prev: null, next: null, slot: this.newSlot() } : null;
    this.top = this.bottom;
  }

  /**
   * `mode` is the console's type number (default Low); `align` is the alignment of types 3 and 4 (the
   * console passes it in the address argument); `at` is the address of type 2.
   */
  alloc(size: number, align: number, work: Work, mode: number = MODE_LOW, at = 0): number {
    work.instructions += ALLOC_INSTRUCTIONS;
    // The console checks the type first (sysmem/partition.expected: "Type 5: Failed (800200D8)",
    // "Type -1: Failed (800200D8)"), then the alignment of the aligned types ("Type 3: Failed (800200E4)"
    // with alignment 0; "Align 0x00000003 low: Failed (800200E4)"), then the size.
    if (!Number.isInteger(mode) || mode < MODE_LOW || mode > MODE_HIGH_ALIGNED) return this.fail(SCE_KERNEL_ERROR_ILLEGAL_MEMBLOCKTYPE);
    let alignment = GRAIN;
    const fromTop = mode === MODE_HIGH || mode === MODE_HIGH_ALIGNED;
    // Any power of two is accepted, even below the grain ("Align 0x00000001 low: OK"); the grain still
    // applies, so alignments up to 256 change nothing. Low, High and Addr take no alignment on the
    // console: the argument that carries it is ignored by Low and High ("Wrong type: OK (low)") and is
    // the address for Addr, so an `align` given with them is ignored and the grain gives them 256
    // (pspautotests tests/sysmem/partition.c; ppsspp Core/HLE/sceKernelMemory.cpp).
    if (mode === MODE_LOW_ALIGNED || mode === MODE_HIGH_ALIGNED) {
      if (!isPow2(align)) return this.fail(SCE_KERNEL_ERROR_ILLEGAL_ALIGNMENT_SIZE);
      alignment = Math.max(align, GRAIN);
    }
    // Size 0 and sizes beyond the partition fail as "no memory" ("Size 0x00000000: Failed (800200D9)",
    // "Size 0xFFFFFFFF: Failed (800200D9)").
    if (!(size > 0) || size > this.managed) return this.fail(SCE_KERNEL_ERROR_MEMBLOCK_ALLOC_FAILED);
    const need = alignUp(size, GRAIN);
    let b: Block | null;
    if (mode === MODE_ADDR) b = this.placeAt(at, need, work);
    else if (fromTop) b = this.placeHigh(need, alignment, work);
    else b = this.placeLow(need, alignment, work);
    // An occupied, partly free or out-of-partition address fails like a full partition ("Below low:
    // Failed (800200D9)", "Second at low: Failed (800200D9)"), and so does an alignment no free range
    // can meet ("Align 0x04000000 low: Failed (800200D9)").
    if (!b) return this.fail(SCE_KERNEL_ERROR_MEMBLOCK_ALLOC_FAILED);
    this.used += b.size;
    this.lastBlock = b.size;
    this.lastError = 0;
    return b.start;
  }

  free(addr: number, work: Work): number {
    work.instructions += FREE_INSTRUCTIONS;
    let b = this.bottom;
    let passed = 0;
    for (; b && b.start < addr; b = b.next) passed++;
    if (!b || b.start !== addr || !b.taken) {
      this.visits(this.bottom, passed, NEXT, work);
      return 0;
    }
    this.visits(this.bottom, passed + 1, NEXT, work); // and b's own
    const released = b.size;
    this.used -= released;
    b.taken = false;
    write(work, control(b) + SIZE); // the taken flag, cleared
    // Merge with free neighbours: no two free blocks are ever adjacent.
    const prev = b.prev;
    if (prev && !prev.taken) {
      read(work, control(prev) + SIZE); // its taken flag
      prev.size += b.size;
      this.unlink(b, prev, work);
      b = prev;
    }
    const next = b.next;
    if (next && !next.taken) {
      read(work, control(next) + SIZE); // its taken flag
      b.size += next.size;
      this.unlink(next, b, work);
    }
    return released;
  }

  capacity(): number {
    return this.managed;
  }

  usedBytes(): number {
    return this.used;
  }

  freeBytes(): number {
    return this.managed - this.used;
  }

  largestFree(): number {
    let largest = 0;
    for (let b = this.bottom; b; b = b.next) if (!b.taken) largest = Math.max(largest, b.size);
    return largest;
  }

  check(): string[] {
    const problems: string[] = [];
    let expected = this.start;
    let used = 0;
    let last: Block | null = null;
    for (let b = this.bottom; b; b = b.next) {
      if (b.start !== expected) problems.push(`block at ${hex(b.start)} should start at ${hex(expected)}: the blocks do not tile the partition`);
      if (b.size <= 0 || b.size % GRAIN !== 0 || b.start % GRAIN !== 0) problems.push(`block at ${hex(b.start)} (${b.size} bytes) is not whole grains`);
      if (b.prev !== last) problems.push(`broken prev link at ${hex(b.start)}`);
      if (!b.taken && last && !last.taken) problems.push(`free blocks at ${hex(last.start)} and ${hex(b.start)} were not merged`);
      if (b.taken) used += b.size;
      expected = b.start + b.size;
      last = b;
    }
    if (this.top !== last) problems.push('the top pointer is not the last block');
    if (expected !== this.start + this.managed) problems.push(`the blocks end at ${hex(expected)}, the partition at ${hex(this.start + this.managed)}`);
    if (used !== this.used) problems.push(`used blocks hold ${used} bytes, accounting says ${this.used}`);
    return problems;
  }

  /** Block counts for the summary: all control blocks, and the free ones among them. */
  diagnostics(): Record<string, number> {
    let blocks = 0;
    let free = 0;
    for (let b = this.bottom; b; b = b.next) {
      blocks++;
      if (!b.taken) free++;
    }
    return { blocks, free_blocks: free };
  }

  private fail(code: number): number {
    this.lastError = code;
    return -1;
  }

  /**
   * Charges visits to the `count` blocks from `first` on, following `link` (NEXT or PREV): each one's
   * start, its size and taken flag, and the link to follow. Charged once for the whole walk, after it,
   * so that the walk itself is a bare loop; when tracing, the blocks are walked again for their addresses.
   */
  private visits(first: Block | null, count: number, link: number, work: Work): void {
    work.instructions += VISIT_INSTRUCTIONS * count;
    work.reads += VISIT_READS * count;
    const trace = work.trace;
    if (trace === null || count === 0) return;
    trace.reserve(VISIT_READS * count);
    const { addrs, writes } = trace;
    const end = trace.length + VISIT_READS * count;
    let i = trace.length;
    for (let b = first!; i < end; b = (link === NEXT ? b.next : b.prev)!) {
      const at = control(b);
      addrs[i] = at + START;
      addrs[i + 1] = at + SIZE;
      addrs[i + 2] = at + link;
      writes[i] = writes[i + 1] = writes[i + 2] = 0;
      i += VISIT_READS;
    }
    trace.length = end;
  }

  private newSlot(): number {
    return this.spareSlots.length > 0 ? this.spareSlots.pop()! : this.slotTop++;
  }

  /** Types 0 and 3: the first free block from the bottom with room at the first aligned address in it. */
  private placeLow(need: number, alignment: number, work: Work): Block | null {
    let visited = 0;
    for (let b = this.bottom; b; b = b.next) {
      visited++;
      if (b.taken) continue;
      const front = alignUp(b.start, alignment) - b.start;
      if (front + need > b.size) continue;
      this.visits(this.bottom, visited, NEXT, work);
      return this.carve(b, front, need, work);
    }
    this.visits(this.bottom, visited, NEXT, work);
    return null;
  }

  /** Types 1 and 4: the first free block from the top with room; the block goes as high as it can. */
  private placeHigh(need: number, alignment: number, work: Work): Block | null {
    let visited = 0;
    for (let b = this.top; b; b = b.prev) {
      visited++;
      if (b.taken) continue;
      const head = Math.floor((b.start + b.size - need) / alignment) * alignment;
      if (head < b.start) continue;
      this.visits(this.top, visited, PREV, work);
      return this.carve(b, head - b.start, need, work);
    }
    this.visits(this.top, visited, PREV, work);
    return null;
  }

  /**
   * Type 2: the address is rounded down to the grain, as PPSSPP does (`alignment &= ~0xFF` before
   * BlockAllocator::AllocAt), and the block must lie inside one free block.
   */
  private placeAt(at: number, need: number, work: Work): Block | null {
    if (!Number.isFinite(at)) return null;
    const head = Math.floor(at / GRAIN) * GRAIN;
    let b = this.bottom;
    let passed = 0;
    for (; b && b.start + b.size <= head; b = b.next) passed++;
    if (!b || b.taken || b.start > head || head + need > b.start + b.size) {
      this.visits(this.bottom, passed, NEXT, work);
      return null;
    }
    this.visits(this.bottom, passed + 1, NEXT, work); // and b's own
    return this.carve(b, head - b.start, need, work);
  }

  /** Takes `need` bytes at `front` bytes into free block b; what is left on either side stays free. */
  private carve(b: Block, front: number, need: number, work: Work): Block {
    if (front > 0) {
      const before: Block = { start: b.start, size: front, taken: false, prev: b.prev, next: b, slot: this.newSlot() };
      // Inserting a control block is 6 writes: its four words, the link that pointed at b and b's prev.
      write(work, control(before), 4);
      write(work, b.prev ? control(b.prev) + NEXT : PSP_KERNEL_CONTROL + BOTTOM);
      write(work, control(b) + PREV);
      if (b.prev) b.prev.next = before;
      else this.bottom = before;
      b.prev = before;
      b.start += front;
      b.size -= front;
      write(work, control(b) + START, 2); // and b's start and size
    }
    if (b.size > need) {
      const after: Block = { start: b.start + need, size: b.size - need, taken: false, prev: b, next: b.next, slot: this.newSlot() };
      // Inserting a control block is 6 writes: its four words, the link back from b's successor and b's next.
      write(work, control(after), 4);
      write(work, b.next ? control(b.next) + PREV : PSP_KERNEL_CONTROL + TOP);
      write(work, control(b) + NEXT);
      if (b.next) b.next.prev = after;
      else this.top = after;
      b.next = after;
      b.size = need;
      write(work, control(b) + SIZE); // and b's size
    }
    b.taken = true;
    write(work, control(b) + SIZE); // the taken flag
    return b;
  }

  /** Removes b (already merged into `keeper`, a neighbour) from the list; its control block's slot is freed. */
  private unlink(b: Block, keeper: Block, work: Work): void {
    write(work, control(keeper) + SIZE); // the neighbour's size
    write(work, b.prev ? control(b.prev) + NEXT : PSP_KERNEL_CONTROL + BOTTOM); // and the two links
    write(work, b.next ? control(b.next) + PREV : PSP_KERNEL_CONTROL + TOP);
    if (b.prev) b.prev.next = b.next;
    else this.bottom = b.next;
    if (b.next) b.next.prev = b.prev;
    else this.top = b.prev;
    this.spareSlots.push(b.slot);
  }
}

export const pspSysmem: AllocatorEntry = {
  options: {},
  freesBlocks: true,
  naturalAlign: () => GRAIN,
  modes: true,
  errorCodes: true,
  // A free of a deleted or never-allocated uid changes nothing and returns 0x800200CB
  // (sysmem/partition.expected: "Free deleted: 800200CB", "Free invalid: 800200CB").
  invalidFreeError: SCE_KERNEL_ERROR_UNKNOWN_UID,
  // A bad alignment or type is refused before any memory is looked at (sysmem/partition.expected).
  argumentErrors: [SCE_KERNEL_ERROR_ILLEGAL_ALIGNMENT_SIZE, SCE_KERNEL_ERROR_ILLEGAL_MEMBLOCKTYPE],
  noRealloc: 'the kernel API (sceKernelAllocPartitionMemory / sceKernelFreePartitionMemory) has none; allocate, copy and free',
  reuseGuaranteed: true,
  bound: null,
  misfit: (size) => (size < GRAIN ? `${size} bytes cannot hold one ${GRAIN}-byte grain of the partition` : null),
  create: (base, size) => new PspSysmemAllocator(base, size),
};
