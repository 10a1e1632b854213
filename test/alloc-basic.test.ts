import test from 'ava';
import { newWork } from '../src/alloc/allocator.js';
import { BumpAllocator, bump } from '../src/alloc/bump.js';
import { FirstFitAllocator, firstFit } from '../src/alloc/first-fit.js';
import { checkAgainstModel } from './helpers/allocator-model.js';

const BASE = 0x1000;

test('bump: aligned addresses, padding counted, scopes release in O(1)', (t) => {
  const w = newWork();
  const bump = new BumpAllocator(BASE, 256);
  t.is(bump.alloc(10, 8, w), 0x1000);
  t.is(bump.lastBlock, 10);
  t.is(bump.alloc(4, 16, w), 0x1010); // 6 bytes of padding
  t.is(bump.lastBlock, 10);
  t.true(bump.enter(w));
  t.is(bump.alloc(32, 8, w), 0x1018);
  t.is(bump.usedSince(0), 36); // 4 bytes of padding to reach 8-byte alignment
  t.is(bump.cost(1, 64), 0x1040 + 1 - 0x1038);
  t.is(bump.exit(w), 36);
  t.is(bump.usedBytes(), 0x14);
  t.is(bump.alloc(300, 8, w), -1);
  t.is(bump.free(), 0);
  t.deepEqual(bump.check(), []);
});

test('bump: the 17th nested scope is refused', (t) => {
  const w = newWork();
  const bump = new BumpAllocator(BASE, 256);
  for (let i = 0; i < 16; i++) t.true(bump.enter(w));
  t.false(bump.enter(w));
  t.is(bump.depth, 16);
});

test('first-fit: exact placements, split, address-ordered reuse and coalescing', (t) => {
  const w = newWork();
  const ff = new FirstFitAllocator(BASE, 1024);
  // 8-byte header before each payload; sizes round to 8 with a 16-byte minimum block.
  const a = ff.alloc(100, 8, w);
  const b = ff.alloc(20, 8, w);
  const c = ff.alloc(1, 8, w);
  t.deepEqual([a, b, c], [0x1008, 0x1078, 0x1098]);
  t.is(ff.lastBlock, 16);
  t.is(ff.usedBytes(), 112 + 32 + 16);
  ff.free(a, w);
  t.is(ff.freeListLength(), 2);
  // A small request takes the first (lowest) hole, not the big tail.
  t.is(ff.alloc(40, 8, w), 0x1008);
  ff.free(b, w);
  ff.free(0x1008, w);
  // a's hole and b's hole merged into one block in front of c.
  t.is(ff.freeListLength(), 2);
  t.is(ff.alloc(130, 8, w), 0x1008);
  t.deepEqual(ff.check(), []);
});

test('first-fit: alignment leaves a free sliver in front that stays usable', (t) => {
  const w = newWork();
  const ff = new FirstFitAllocator(BASE, 4096);
  const a = ff.alloc(8, 256, w);
  t.is(a % 256, 0);
  t.is(a, 0x1100);
  t.is(ff.alloc(8, 8, w), 0x1008); // the 248-byte sliver before a is on the free list
  t.deepEqual(ff.check(), []);
});

test('first-fit: work grows with the free list walked', (t) => {
  const ff = new FirstFitAllocator(BASE, 64 * 1024);
  const w = newWork();
  const blocks = Array.from({ length: 40 }, () => ff.alloc(64, 8, w));
  for (let i = 0; i < blocks.length; i += 2) ff.free(blocks[i], w);
  const short = newWork();
  ff.alloc(64, 8, short); // the first hole fits
  const long = newWork();
  ff.alloc(128, 8, long); // no hole fits: walks all 19 remaining holes to the tail
  t.true(long.reads > short.reads * 10);
});

test('first-fit: metadataIn finds headers and free-list links, never a payload byte', (t) => {
  const w = newWork();
  const ff = new FirstFitAllocator(BASE, 1024);
  // a: block [0x1000, 0x1070) (8 + 100 rounded to 112), payload [0x1008, 0x106c);
  // b: block [0x1070, 0x1090) (8 + 20 -> 32), payload 0x1078; c takes the whole 880-byte tail
  // [0x1090, 0x1400) exactly, so the free list is empty and the walk starts from a used block.
  const a = ff.alloc(100, 8, w);
  const b = ff.alloc(20, 8, w);
  const c = ff.alloc(872, 8, w);
  t.deepEqual([a, b, c], [0x1008, 0x1078, 0x1098]);
  t.is(ff.freeListLength(), 0);
  t.is(ff.metadataIn(0x1000, 0x1400), 0x1000); // a's header
  t.is(ff.metadataIn(a, a + 100), -1); // inside a used payload
  t.is(ff.metadataIn(0x106f, 0x1070), -1); // the last byte of a's block (rounding bytes are payload too)
  t.is(ff.metadataIn(0x106f, 0x1071), 0x1070); // the next byte is b's header
  t.is(ff.metadataIn(b, 0x1400), 0x1090); // b's payload, then c's header at 0x1098 - 8
  t.is(ff.metadataIn(c, 0x1400), -1); // c's payload up to the heap's end
  // Freed, a's block keeps next/prev links in the 8 bytes after its header: [0x1008, 0x1010).
  ff.free(a, w);
  t.is(ff.metadataIn(a, 0x1400), 0x1008);
  t.is(ff.metadataIn(0x1010, 0x1070), -1); // the rest of a free block holds nothing
  t.is(ff.metadataIn(0x1010, 0x1071), 0x1070);
  t.is(ff.metadataIn(0x1010, 0x1010), -1); // an empty range
});

test('property: first-fit never overlaps, stays in bounds, aligns, accounts for every byte', (t) => {
  checkAgainstModel(t, { make: () => new FirstFitAllocator(BASE, 16384), base: BASE, size: 16384, freesBlocks: true, reuseGuaranteed: true, naturalAlign: firstFit.naturalAlign({}) });
});

test('property: bump never overlaps, stays in bounds, aligns, accounts for every byte', (t) => {
  checkAgainstModel(t, { make: () => new BumpAllocator(BASE, 16384), base: BASE, size: 16384, freesBlocks: false, reuseGuaranteed: false, naturalAlign: bump.naturalAlign({}) });
});
