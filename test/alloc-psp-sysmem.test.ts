/**
 * psp-sysmem against the console's behaviour. Quoted lines are from pspautotests
 * tests/sysmem/partition.expected (and memblock.expected where named), recorded on a real PSP.
 */
import test from 'ava';
import { MODE_ADDR, MODE_HIGH, MODE_HIGH_ALIGNED, MODE_LOW, MODE_LOW_ALIGNED, newWork, type Allocator, type Work } from '../src/alloc/allocator.js';
import {
  PspSysmemAllocator,
  pspSysmem,
  SCE_KERNEL_ERROR_ILLEGAL_ALIGNMENT_SIZE,
  SCE_KERNEL_ERROR_ILLEGAL_MEMBLOCKTYPE,
  SCE_KERNEL_ERROR_MEMBLOCK_ALLOC_FAILED,
} from '../src/alloc/psp-sysmem.js';
import { checkAgainstModel } from './helpers/allocator-model.js';

/** The PSP user partition: 24 MiB at 0x08800000. */
const BASE = 0x08800000;
const SIZE = 24 * 1024 * 1024;
const TOP = BASE + SIZE; // 0x0A000000

const D8 = SCE_KERNEL_ERROR_ILLEGAL_MEMBLOCKTYPE;
const D9 = SCE_KERNEL_ERROR_MEMBLOCK_ALLOC_FAILED;
const E4 = SCE_KERNEL_ERROR_ILLEGAL_ALIGNMENT_SIZE;

function partition(): { psp: PspSysmemAllocator; w: Work } {
  return { psp: new PspSysmemAllocator(BASE, SIZE), w: newWork() };
}

test('psp-sysmem: two 1-byte blocks are 0x100 apart; High allocates from the top', (t) => {
  const { psp, w } = partition();
  // "Minimum difference: 100" (two type-0 allocations of 0x1 bytes).
  t.is(psp.alloc(1, 1, w, MODE_LOW), 0x08800000);
  t.is(psp.lastError, 0);
  t.is(psp.lastBlock, 0x100);
  t.is(psp.alloc(1, 1, w, MODE_LOW), 0x08800100);
  // High: the block ends at the top of the partition...
  t.is(psp.alloc(1, 1, w, MODE_HIGH), TOP - 0x100);
  // ...and the next High block ends where that one starts (memblock.expected, two type-1 blocks:
  // "Size 1: OK, delta=100", "Size 101: OK, delta=200", "Size 1001: OK, delta=1100").
  t.is(psp.alloc(0x101, 1, w, MODE_HIGH), TOP - 0x100 - 0x200);
  t.is(psp.usedBytes(), 0x100 + 0x100 + 0x100 + 0x200);
  t.is(psp.usedBytes() + psp.freeBytes(), psp.capacity());
  t.is(psp.capacity(), SIZE);
  t.deepEqual(psp.check(), []);
});

test('psp-sysmem: size 0 fails with 0x800200D9; lastError goes back to 0 on success', (t) => {
  const { psp, w } = partition();
  // "Size 0x00000000: Failed (800200D9)", "Size 0xFFFFFFFF: Failed (800200D9)".
  t.is(psp.alloc(0, 1, w, MODE_LOW), -1);
  t.is(psp.lastError, D9);
  t.is(psp.alloc(0xffffffff, 1, w, MODE_LOW), -1);
  t.is(psp.lastError, D9);
  // "Size 0x00000001: OK (low)".
  t.is(psp.alloc(1, 1, w, MODE_LOW), BASE);
  t.is(psp.lastError, 0);
});

test('psp-sysmem: a request larger than the partition fails; the whole partition fits when empty', (t) => {
  const { psp, w } = partition();
  t.is(psp.alloc(SIZE + 1, 1, w, MODE_LOW), -1);
  t.is(psp.lastError, D9);
  t.is(psp.alloc(SIZE + 1, 1, w, MODE_HIGH), -1);
  t.is(psp.lastError, D9);
  t.is(psp.alloc(SIZE, 1, w, MODE_HIGH), BASE);
  t.is(psp.freeBytes(), 0);
  t.is(psp.alloc(1, 1, w, MODE_LOW), -1);
  t.is(psp.lastError, D9);
});

test('psp-sysmem: a non-power-of-two alignment fails with 0x800200E4; an unknown type with 0x800200D8', (t) => {
  const { psp, w } = partition();
  // "Align 0x00000003 low: Failed (800200E4)", "Align 0x00000011 high: Failed (800200E4)",
  // "Align 0x00000060 low: Failed (800200E4)", "Align 0x00000000 low: Failed (800200E4)".
  for (const [align, mode] of [[3, MODE_LOW_ALIGNED], [0x11, MODE_HIGH_ALIGNED], [0x60, MODE_LOW_ALIGNED], [0, MODE_LOW_ALIGNED], [-5, MODE_HIGH_ALIGNED]]) {
    t.is(psp.alloc(0x1000, align, w, mode), -1, `align ${align}`);
    t.is(psp.lastError, E4, `align ${align}`);
  }
  // "Type 5: Failed (800200D8)" ... "Type 10: Failed (800200D8)", "Type -1: Failed (800200D8)".
  for (const mode of [7, 5, 10, -1, 1.5]) {
    t.is(psp.alloc(0x1000, 1, w, mode), -1, `mode ${mode}`);
    t.is(psp.lastError, D8, `mode ${mode}`);
  }
  // The type is judged before the alignment and the size.
  t.is(psp.alloc(0, 3, w, 7), -1);
  t.is(psp.lastError, D8);
  // The alignment before the size ("Type 3: Failed (800200E4)" was called with alignment 0).
  t.is(psp.alloc(0, 3, w, MODE_LOW_ALIGNED), -1);
  t.is(psp.lastError, E4);
  t.is(psp.usedBytes(), 0);
});

test('psp-sysmem: Addr places exactly at the address, rounded down to the grain', (t) => {
  const { psp, w } = partition();
  // "At low: OK (low)" / "Above low: OK (middle)".
  const at = BASE + 0x10000;
  t.is(psp.alloc(0x1000, 1, w, MODE_ADDR, at), at);
  // "Second at low: Failed (800200D9)": the address is taken.
  t.is(psp.alloc(0x1000, 1, w, MODE_ADDR, at), -1);
  t.is(psp.lastError, D9);
  t.is(psp.alloc(0x100, 1, w, MODE_ADDR, at + 0x800), -1);
  t.is(psp.lastError, D9);
  // A block that would run into the taken one fails too.
  t.is(psp.alloc(0x200, 1, w, MODE_ADDR, at - 0x100), -1);
  t.is(psp.lastError, D9);
  // "Below low: Failed (800200D9)": outside the partition.
  t.is(psp.alloc(0x1000, 1, w, MODE_ADDR, BASE - 0x1000), -1);
  t.is(psp.lastError, D9);
  t.is(psp.alloc(0x100, 1, w, MODE_ADDR, TOP), -1);
  t.is(psp.alloc(0x200, 1, w, MODE_ADDR, TOP - 0x100), -1);
  // An unaligned address is rounded down (PPSSPP: `alignment &= ~0xFF` before AllocAt), and the size
  // rounds up to the grain from there.
  t.is(psp.alloc(0x100, 1, w, MODE_ADDR, at + 0x2080), at + 0x2000);
  t.is(psp.lastBlock, 0x100);
  // The last grain of the partition.
  t.is(psp.alloc(1, 1, w, MODE_ADDR, TOP - 1), TOP - 0x100);
  // "Second type low: OK (middle)" with "Difference: 1000": Low ignores the address (the memory below
  // is free here, so it goes to the bottom).
  t.is(psp.alloc(0x1000, 1, w, MODE_LOW, at), BASE);
  t.deepEqual(psp.check(), []);
});

test('psp-sysmem: LowAligned and HighAligned placements; the gaps they leave stay free', (t) => {
  const { psp, w } = partition();
  t.is(psp.alloc(1, 1, w, MODE_LOW), BASE);
  // "Align 0x00004000 low: OK": the first 0x4000-aligned address above the used grain.
  t.is(psp.alloc(0x1000, 0x4000, w, MODE_LOW_ALIGNED), BASE + 0x4000);
  // The gap in front is a free block: a Low request takes it.
  t.is(psp.alloc(0x100, 1, w, MODE_LOW), BASE + 0x100);
  t.is(psp.alloc(1, 1, w, MODE_HIGH), TOP - 0x100);
  // HighAligned: the highest 0x4000-aligned address where 0x1000 bytes fit below TOP - 0x100.
  t.is(psp.alloc(0x1000, 0x4000, w, MODE_HIGH_ALIGNED), TOP - 0x4000);
  // The gap above it stays free: the next High block goes right below the first one.
  t.is(psp.alloc(1, 1, w, MODE_HIGH), TOP - 0x200);
  // "Align 0x00000001 low: OK", "Align 0x00000008 high: OK": alignments below the grain are accepted.
  t.is(psp.alloc(1, 1, w, MODE_LOW_ALIGNED), BASE + 0x200);
  t.is(psp.alloc(1, 8, w, MODE_HIGH_ALIGNED), TOP - 0x300);
  // "Offset difference: 200": two type-3 blocks of 0x101 bytes at alignment 1 are 0x200 apart.
  const a = psp.alloc(0x101, 1, w, MODE_LOW_ALIGNED);
  const b = psp.alloc(0x101, 1, w, MODE_LOW_ALIGNED);
  t.is(b - a, 0x200);
  // "Align 0x04000000 low: Failed (800200D9)": no 64 MiB-aligned address inside the partition.
  t.is(psp.alloc(0x1000, 0x04000000, w, MODE_LOW_ALIGNED), -1);
  t.is(psp.lastError, D9);
  t.is(psp.alloc(0x1000, 0x80000000, w, MODE_HIGH_ALIGNED), -1);
  t.is(psp.lastError, D9);
  t.deepEqual(psp.check(), []);
});

test('psp-sysmem: Low, High and Addr ignore an alignment, as the console does; the aligned types honour it', (t) => {
  const { psp, w } = partition();
  t.is(psp.alloc(1, 256, w, MODE_LOW), BASE);
  t.is(psp.alloc(1, 0x1000, w, MODE_LOW), BASE + 0x100); // the next grain, not the next 4 KiB
  t.is(psp.alloc(0x100, 0x1000, w, MODE_HIGH), TOP - 0x100);
  t.is(psp.alloc(1, 0x3000, w, MODE_LOW), BASE + 0x200); // not a power of two, and still no E4
  t.is(psp.lastError, 0);
  t.is(psp.alloc(1, 0x3000, w, MODE_ADDR, BASE + 0x300), BASE + 0x300);
  // Near miss: LowAligned and HighAligned take the alignment (and check it).
  t.is(psp.alloc(1, 0x1000, w, MODE_LOW_ALIGNED), BASE + 0x1000);
  t.is(psp.alloc(0x100, 0x1000, w, MODE_HIGH_ALIGNED), TOP - 0x1000);
  t.is(psp.alloc(1, 0x3000, w, MODE_LOW_ALIGNED), -1);
  t.is(psp.lastError, E4);
});

test('psp-sysmem: free merges neighbours and gives the memory back', (t) => {
  const { psp, w } = partition();
  const [a, b, c] = [psp.alloc(0x100, 1, w), psp.alloc(0x300, 1, w), psp.alloc(0x100, 1, w)];
  t.deepEqual([a, b, c], [BASE, BASE + 0x100, BASE + 0x400]);
  t.deepEqual(psp.diagnostics(), { blocks: 4, free_blocks: 1 });
  t.is(psp.free(a, w), 0x100);
  t.is(psp.free(c, w), 0x100); // merges with the free rest of the partition
  t.deepEqual(psp.diagnostics(), { blocks: 3, free_blocks: 2 });
  t.is(psp.largestFree(), SIZE - 0x400);
  // The freed grain at the bottom is reused first.
  t.is(psp.alloc(0x100, 1, w), BASE);
  t.is(psp.free(BASE, w), 0x100);
  t.is(psp.free(b, w), 0x300); // merges with both neighbours
  t.deepEqual(psp.diagnostics(), { blocks: 1, free_blocks: 1 });
  t.is(psp.largestFree(), SIZE);
  t.is(psp.usedBytes(), 0);
  t.deepEqual(psp.check(), []);
});

test('psp-sysmem: 1024 blocks of 0x100 fit, and the work grows with the number of blocks', (t) => {
  const { psp, w } = partition();
  // "Create 1024: OK".
  const blocks = Array.from({ length: 1024 }, () => psp.alloc(0x100, 1, w, MODE_LOW));
  t.true(blocks.every((addr, i) => addr === BASE + i * 0x100));
  const early = newWork();
  const fresh = new PspSysmemAllocator(BASE, SIZE);
  fresh.alloc(0x100, 1, early, MODE_LOW);
  const late = newWork();
  psp.alloc(0x100, 1, late, MODE_LOW);
  t.true(late.reads > early.reads * 100);
  // High starts from the top: cheap while the top is free.
  const high = newWork();
  psp.alloc(0x100, 1, high, MODE_HIGH);
  t.is(high.reads, early.reads);
});

test('psp-sysmem: misfit when the heap cannot hold one grain', (t) => {
  const context = { policy: 'no_std_alloc' as const };
  t.truthy(pspSysmem.misfit!(255, {}, context));
  t.is(pspSysmem.misfit!(256, {}, context), null);
  t.true(pspSysmem.modes && pspSysmem.errorCodes && pspSysmem.freesBlocks && pspSysmem.reuseGuaranteed);
});

test('psp-sysmem: check() detects a corrupted block list', (t) => {
  const { psp, w } = partition();
  psp.alloc(0x100, 1, w);
  psp.alloc(0x100, 1, w);
  t.deepEqual(psp.check(), []);
  (psp as any).bottom.next.size += 0x100;
  t.true(psp.check().length > 0);
});

const MODES_BY_REQUEST = [MODE_LOW, MODE_HIGH, MODE_LOW_ALIGNED, MODE_HIGH_ALIGNED];

test('property: psp-sysmem in every mode never overlaps, stays in bounds, aligns, accounts for every byte', (t) => {
  const size = 0x20000;
  checkAgainstModel(t, {
    make: () => new PspSysmemAllocator(BASE, size),
    base: BASE,
    size,
    maxRequest: 0x3000,
    maxAlignLog: 13,
    naturalAlign: pspSysmem.naturalAlign({}),
    freesBlocks: true,
    reuseGuaranteed: true,
    // The mode is a function of the request, so that a block freed and asked for again uses the same
    // one; Low and High ignore an alignment, so they get only those the grain gives.
    request: (a: Allocator, n: number, align: number, work: Work) => a.alloc(n, align, work, MODES_BY_REQUEST[align > 0x100 ? 2 + (n % 2) : (n + Math.clz32(align)) % 4]),
    numRuns: 3000,
  });
});
