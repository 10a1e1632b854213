import test from 'ava';
import { newWork } from '../src/alloc/allocator.js';
import { buddy, buddyControlBytes, BuddyAllocator } from '../src/alloc/buddy.js';
import { checkAgainstModel } from './helpers/allocator-model.js';

const BASE = 0x1000;

/** A heap whose cover is exactly `cover` bytes of min_block units, plus its control structure. */
function heapFor(cover: number, minBlock = 16): number {
  return cover + buddyControlBytes(cover / minBlock);
}

test('buddy: the control structure of a 1024-byte cover is 96 bytes and counts as used', (t) => {
  // 64 units of 16 bytes: orders 0..6 (16..1024) -> 7 list heads + the order mask = 8 words = 32 bytes,
  // plus one table byte per unit = 64 bytes.
  t.is(heapFor(1024), 1120);
  const b = new BuddyAllocator(BASE, 1120, 16);
  t.is(b.capacity(), 1120);
  t.is(b.usedBytes(), 96);
  t.is(b.freeBytes(), 1024);
  t.is(b.largestFree(), 1024);
  t.deepEqual(b.diagnostics(), { min_block: 16, orders: 7, top_blocks: 1, free_blocks: 1 });
});

test('buddy: exact splits, then buddy merges give back the whole block', (t) => {
  const w = newWork();
  const b = new BuddyAllocator(BASE, 1120, 16);
  // 100 bytes -> order 128. The 1024 block at 0x1000 splits: 512 @0x1200, 256 @0x1100 and 128 @0x1080
  // go on their lists; the 128 at 0x1000 is handed out.
  const a = b.alloc(100, 8, w);
  t.is(a, 0x1000);
  t.is(b.lastBlock, 128);
  t.is(b.diagnostics().free_blocks, 3);
  // 16 bytes: the lowest non-empty order >= 16 is 128 @0x1080: 64 @0x10c0, 32 @0x10a0, 16 @0x1090 go free.
  const c = b.alloc(16, 8, w);
  t.is(c, 0x1080);
  t.is(b.lastBlock, 16);
  t.is(b.diagnostics().free_blocks, 5);
  // 64 bytes aligned to 64: the free 64 @0x10c0 (offset 0xc0, a multiple of 64).
  const d = b.alloc(64, 64, w);
  t.is(d, 0x10c0);
  t.is(b.usedBytes(), 96 + 128 + 16 + 64);
  t.deepEqual(b.check(), []);
  // free(0x1080): buddy 0x1090 (16, free) -> 32 @0x1080; buddy 0x10a0 (32, free) -> 64 @0x1080;
  // buddy 0x10c0 is used: stop.
  t.is(b.free(c, w), 16);
  t.is(b.diagnostics().free_blocks, 3); // 512, 256, 64
  // free(0x10c0): buddy 0x1080 (64, free) -> 128 @0x1080; buddy 0x1000 is used.
  t.is(b.free(d, w), 64);
  t.deepEqual(b.check(), []);
  // free(0x1000), 128: merges with 0x1080 (128), 0x1100 (256), 0x1200 (512): one 1024 block again.
  const work = newWork();
  t.is(b.free(a, work), 128);
  t.deepEqual(b.diagnostics(), { min_block: 16, orders: 7, top_blocks: 1, free_blocks: 1 });
  t.is(b.largestFree(), 1024);
  t.is(b.usedBytes(), 96);
  // 10 + 3 merges x 6 instructions; reads: table byte + mask, 3 x (buddy byte + 2 links), the order-6 head;
  // writes: 3 list unlinks (each buddy was alone), the push (2 links, head, table byte), the mask.
  t.deepEqual(work, { instructions: 28, reads: 12, writes: 8, trace: null });
  t.deepEqual(b.check(), []);
});

test('buddy: alloc work is one mask scan plus one step per split', (t) => {
  const b = new BuddyAllocator(BASE, 1120, 16);
  const w = newWork();
  b.alloc(100, 8, w);
  // 14 + 3 splits x 5; reads: mask, head, its next link; writes: head, 3 x (2 links, head, table byte),
  // the used block's table byte, the mask.
  t.deepEqual(w, { instructions: 29, reads: 3, writes: 15, trace: null });
});

test('buddy: 1025-byte requests take 2048-byte blocks, four of them fill an 8 KiB cover', (t) => {
  const size = heapFor(8192); // 512 units: 10 orders -> 11 words + 512 table bytes = 556
  t.is(size, 8748);
  const w = newWork();
  const b = new BuddyAllocator(BASE, size, 16);
  const addrs = [];
  for (let i = 0; i < 4; i++) {
    addrs.push(b.alloc(1025, 8, w));
    t.is(b.lastBlock, 2048);
  }
  t.deepEqual(addrs, [0x1000, 0x1800, 0x2000, 0x2800]);
  // 4100 bytes requested hold all 8192: internal fragmentation just under 2x.
  t.is(b.usedBytes(), 556 + 4 * 2048);
  t.is(b.freeBytes(), 0);
  t.is(b.alloc(1, 8, w), -1);
  // No header: exactly 1024 bytes take a 1024-byte block.
  b.free(0x2800, w);
  t.is(b.alloc(1024, 8, w), 0x2800);
  t.is(b.lastBlock, 1024);
  t.deepEqual(b.check(), []);
});

test('buddy: a non-power-of-two heap is covered by top-level blocks in address order', (t) => {
  const w = newWork();
  // 16384 bytes: 961 units (15376 bytes) + 1008 bytes of control (11 words + 964 table bytes) = 16384.
  const b = new BuddyAllocator(BASE, 16384, 16);
  t.is(b.capacity(), 16384);
  t.is(b.freeBytes(), 15376);
  // 961 = 512 + 256 + 128 + 64 + 1 units: 8192 @0x1000, 4096 @0x3000, 2048 @0x4000, 1024 @0x4800, 16 @0x4c00.
  t.deepEqual(b.diagnostics(), { min_block: 16, orders: 10, top_blocks: 5, free_blocks: 5 });
  t.is(b.largestFree(), 8192);
  t.is(b.alloc(16, 8, w), 0x4c00); // the smallest block that fits is the 16-byte top-level block
  t.is(b.alloc(16, 8, w), 0x4800); // then the 1024 block splits
  t.is(b.alloc(5000, 8, w), 0x1000);
  t.is(b.alloc(8193, 8, w), -1); // no 16 KiB block exists although 15376 bytes were free at the start
  b.free(0x4c00, w);
  b.free(0x4800, w);
  b.free(0x1000, w);
  // Top-level blocks are not buddies of each other: five blocks again.
  t.is(b.diagnostics().free_blocks, 5);
  t.deepEqual(b.check(), []);
});

test('buddy: alignment comes from the order, up to the alignment of the arena origin', (t) => {
  const w = newWork();
  const b = new BuddyAllocator(BASE, heapFor(4096), 16);
  t.is(b.alloc(8, 8, w), 0x1000);
  t.is(b.alloc(8, 256, w), 0x1100); // order 256: the first 256 block is 0x1100 (0x1000 was split)
  t.is(b.lastBlock, 256);
  // Base 0x1008 aligns up to origin 0x1010, which is only 16-aligned: no 32-aligned block exists.
  // 1192 bytes: 68 units (1024 @0x1010 + 64 @0x1410) and 32 + 68 = 100 bytes of control (+4 unmanaged).
  const odd = new BuddyAllocator(0x1008, 1200, 16);
  t.is(odd.capacity(), 1088 + 100);
  t.is(odd.alloc(8, 16, w), 0x1410); // the smallest block that fits: the 64-byte top-level block splits
  t.is(odd.alloc(8, 32, w), -1);
  t.deepEqual(odd.check(), []);
});

test('buddy: min_block 64 rounds small requests to 64', (t) => {
  const w = newWork();
  const b = new BuddyAllocator(BASE, heapFor(4096, 64), 64);
  t.is(b.alloc(1, 1, w), 0x1000);
  t.is(b.lastBlock, 64);
  t.is(b.alloc(65, 1, w), 0x1080);
  t.is(b.lastBlock, 128);
  t.is(b.diagnostics().orders, 7);
});

test('buddy: check() finds a free-list block the table calls used', (t) => {
  const w = newWork();
  const b = new BuddyAllocator(BASE, 1120, 16);
  b.alloc(100, 8, w); // 128 @0x1080 (unit 8) is on the order-3 list
  t.deepEqual(b.check(), []);
  (b as unknown as { table: Uint8Array }).table[8] = 3; // a stray write: order 3, used
  const problems = b.check();
  t.true(problems.some((p) => p.includes('0x1080 is on the order-3 free list but the table says used')), problems.join('; '));
});

test('buddy: check() finds a broken free-list link', (t) => {
  const w = newWork();
  const b = new BuddyAllocator(BASE, 1120, 16);
  const x = b.alloc(16, 8, w);
  const y = b.alloc(16, 8, w);
  b.alloc(16, 8, w);
  b.free(x, w);
  b.free(y, w); // y's buddy 0x1000 is free: they merge into 32 @0x1000
  t.deepEqual(b.check(), []);
  (b as unknown as { heads: Int32Array }).heads[1] = -1; // the order-1 list loses its block
  const problems = b.check();
  t.true(problems.some((p) => p.includes('order 1: 0 blocks listed, 1 free in the table')), problems.join('; '));
  t.true(problems.some((p) => p.includes('order mask bit 1')), problems.join('; '));
});

test('buddy: metadataIn finds free blocks\' links and the control structure after the cover, no headers', (t) => {
  const w = newWork();
  const b = new BuddyAllocator(BASE, 1120, 16);
  // The cover is [0x1000, 0x1400); the 96-byte control structure follows it: [0x1400, 0x1460).
  // a (100 -> 128) at 0x1000, c (16) at 0x1080: free 16 @0x1090, 32 @0x10a0, 64 @0x10c0, 256 @0x1100,
  // 512 @0x1200, each with its next/prev links in its first 8 bytes.
  const a = b.alloc(100, 8, w);
  const c = b.alloc(16, 8, w);
  t.deepEqual([a, c], [0x1000, 0x1080]);
  t.is(b.metadataIn(a, a + 128), -1); // a used block has no header: all of it is payload
  t.is(b.metadataIn(0x1000, 0x1400), 0x1090); // a and c hold nothing; the free 16's links do
  t.is(b.metadataIn(0x108f, 0x1090), -1); // c's last byte
  t.is(b.metadataIn(0x108f, 0x1091), 0x1090); // the free neighbour's next link
  t.is(b.metadataIn(0x1098, 0x10a0), -1); // the free 16's second half
  t.is(b.metadataIn(0x1208, 0x1400), -1); // the free 512 past its links
  t.is(b.metadataIn(0x1208, 0x1401), 0x1400); // the control structure
  t.is(b.metadataIn(0x145f, 0x1460), 0x145f); // its last byte
  t.is(b.metadataIn(0x1460, 0x1500), -1); // past the heap
  // Two used blocks side by side: nothing between them.
  t.is(b.alloc(16, 8, w), 0x1090);
  t.is(b.metadataIn(0x1080, 0x10a0), -1);
  t.is(b.metadataIn(0x1080, 0x10a1), 0x10a0);
});

test('buddy: entry options, misfit and creation', (t) => {
  t.deepEqual(buddy.options.min_block, { kind: 'size', min: 8, max: 4096, pow2: true, about: 'the smallest block handed out, a power of two' });
  t.is(buddy.bound, null);
  // One 16-byte block needs 16 + 2 words (one list head, the mask) + 4 table bytes (one, rounded to a word).
  t.is(buddy.misfit!(28, {}, { policy: 'std' }), null);
  t.regex(buddy.misfit!(27, {}, { policy: 'std' })!, /28 bytes/);
  t.regex(buddy.misfit!(1000, { min_block: 1024 }, { policy: 'std' })!, /1036 bytes/);
  const b = buddy.create(BASE, 1120, { min_block: 32 }, { policy: 'std' });
  t.is(b.diagnostics!().min_block, 32);
});

for (const [size, minBlock] of [[16384, 16], [heapFor(8192), 16], [3000, 8], [20000, 64]] as const) {
  test(`property: buddy (${size} bytes, min_block ${minBlock}) never overlaps, stays in bounds, aligns, accounts for every byte`, (t) => {
    checkAgainstModel(t, { make: () => new BuddyAllocator(BASE, size, minBlock), base: BASE, size, freesBlocks: true, reuseGuaranteed: buddy.reuseGuaranteed, naturalAlign: buddy.naturalAlign({ min_block: minBlock }), numRuns: 3000 });
  });
}
