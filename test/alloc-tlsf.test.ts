import test from 'ava';
import fc from 'fast-check';
import { newWork, type Work } from '../src/alloc/allocator.js';
import { FirstFitAllocator } from '../src/alloc/first-fit.js';
import { TlsfAllocator, tlsf, tlsfParameters } from '../src/alloc/tlsf.js';
import { checkAgainstModel } from './helpers/allocator-model.js';

const BASE = 0x1000;
const CONTEXT = { policy: 'std' } as const;
const total = (w: Work) => w.instructions + w.reads + w.writes;

test('tlsf: control structure as tlsf.c lays it out on 32-bit, charged as used with the pool overhead', (t) => {
  // FL_INDEX_SHIFT = 5 + 2 = 7, FL_INDEX_COUNT = 30 - 7 + 1 = 24, SMALL_BLOCK_SIZE = 128.
  // control_t = block_null 16 + fl_bitmap 4 + sl_bitmap 24 * 4 + blocks 24 * 32 * 4 = 3188 bytes.
  t.like(tlsfParameters(), { flShift: 7, flCount: 24, smallBlock: 128, controlBytes: 3188, minPayload: 12 });
  // sl_log2 3: shift 5, 26 classes: 16 + 4 + 26 * 4 + 26 * 8 * 4 = 956. align 8: shift 8, 23 classes: 3056.
  t.like(tlsfParameters(3, 4), { flShift: 5, flCount: 26, smallBlock: 32, controlBytes: 956 });
  t.like(tlsfParameters(5, 8), { flShift: 8, flCount: 23, smallBlock: 256, controlBytes: 3056 });
  const h = new TlsfAllocator(BASE, 8192);
  t.is(h.capacity(), 8192);
  // Empty heap: control 3188 + pool overhead 2 x 4 (the free block's size word and the sentinel's).
  t.is(h.usedBytes(), 3196);
  t.is(h.freeBytes(), 8192 - 3196);
  t.is(h.largestFree(), 4996);
  t.deepEqual(h.diagnostics(), { control_bytes: 3188, free_blocks: 1 });
  t.deepEqual(h.check(), []);
  // An unaligned base is aligned up first: capacity is what is left of the heap after that.
  t.is(new TlsfAllocator(BASE + 2, 8192).capacity(), 8190);
});

test('tlsf: exact placements, minimum block, split, and a free that merges with both neighbours', (t) => {
  const w = newWork();
  const h = new TlsfAllocator(BASE, 8192);
  // First payload: 0x1000 + 3188 (control, 0xc74) + 4 (size word) = 0x1c78.
  const a = h.alloc(100, 4, w);
  t.is(a, 0x1c78);
  t.is(h.lastBlock, 104); // 100 payload + 4 header
  // Each split leaves the rest right after: 0x1c78 + 100 + 4 = 0x1ce0.
  const b = h.alloc(1, 4, w);
  t.is(b, 0x1ce0);
  t.is(h.lastBlock, 16); // 1 byte rounds up to block_size_min 12, + 4
  const c = h.alloc(20, 4, w);
  t.is(c, 0x1cf0); // 0x1ce0 + 12 + 4
  t.is(h.lastBlock, 24);
  const d = h.alloc(50, 4, w);
  t.is(d, 0x1d08); // 0x1cf0 + 20 + 4; 50 rounds to 52
  t.is(h.usedBytes(), 3196 + 104 + 16 + 24 + 56);
  t.is(h.free(a, w), 104);
  t.is(h.free(c, w), 24);
  t.is(h.freeBlockCount(), 3); // a, c, and the tail
  // b sits between two free blocks: all three merge into 100 + 4 + 12 + 4 + 20 = 140 payload bytes.
  t.is(h.free(b, w), 16);
  t.is(h.freeBlockCount(), 2);
  t.is(h.freeBytes(), 8192 - 3196 - 56 - 4); // everything but d and the merged block's size word
  t.deepEqual(h.check(), []);
  // 140 is in list (1, 3) = [140, 144); the search for 140 rounds to 143, still (1, 3): taken whole.
  t.is(h.alloc(140, 4, w), 0x1c78);
  t.is(h.lastBlock, 144);
  t.deepEqual(h.check(), []);
});

test('tlsf: mapping_insert and mapping_search pinned to (fl, sl)', (t) => {
  const h = new TlsfAllocator(BASE, 8192);
  // Below 128 the lists are 4 bytes wide: sl = size / 4.
  t.deepEqual(h.mapping(12), [0, 3]);
  t.deepEqual(h.mapping(127), [0, 31]);
  // 128: fls 7, sl = (128 >> 2) ^ 32 = 0, fl = 7 - 6 = 1.
  t.deepEqual(h.mapping(128), [1, 0]);
  // 1000: fls 9, sl = (1000 >> 4) ^ 32 = 62 ^ 32 = 30, fl = 9 - 6 = 3: list [992, 1008).
  t.deepEqual(h.mapping(1000), [3, 30]);
  t.deepEqual(h.mapping(1 << 20), [14, 0]);
  // The search rounds up by 2^(fls - 5) - 1 = 15: 1015 lands in the next list.
  t.deepEqual(h.searchMapping(1000), [3, 31]);
  t.deepEqual(h.searchMapping(992), [3, 30]);
  t.deepEqual(h.searchMapping(12), [0, 3]);
  // sl_log2 3: threshold 32; 1000: fls 9, (1000 >> 6) ^ 8 = 7, fl = 9 - 4 = 5.
  const s3 = new TlsfAllocator(BASE, 8192, 3, 4);
  t.deepEqual(s3.mapping(127), [2, 7]);
  t.deepEqual(s3.mapping(1000), [5, 7]);
  // align 8: threshold 256, lists 8 bytes wide below it.
  const a8 = new TlsfAllocator(BASE, 8192, 5, 8);
  t.deepEqual(a8.mapping(12), [0, 1]);
  t.deepEqual(a8.mapping(1000), [2, 30]);
});

test('tlsf: align 8 keeps every payload and block size a multiple of 8', (t) => {
  const w = newWork();
  const h = new TlsfAllocator(BASE, 8192, 5, 8);
  // Control 3056; the first payload is 3056 + 4 aligned up to 8 = 3064 = 0xbf8 past the base.
  t.is(h.alloc(1, 8, w), 0x1bf8);
  t.is(h.lastBlock, 16); // payload 12 + 4
  t.is(h.alloc(13, 8, w), 0x1c08);
  t.is(h.lastBlock, 24); // 13 + 4 rounds to 24: payload 20
  t.deepEqual(h.check(), []);
});

test('tlsf: alignment above the TLSF alignment trims the leading gap back to the free lists', (t) => {
  const w = newWork();
  const h = new TlsfAllocator(BASE, 8192);
  // Searched for 40 + 256 + 16; found the pool block at 0x1c78; aligned up to 0x1d00, the 136-byte
  // gap becomes a free block of 132 payload bytes in front.
  t.is(h.alloc(40, 256, w), 0x1d00);
  t.is(h.lastBlock, 44);
  t.is(h.freeBlockCount(), 2);
  // A 120-byte request (list (0, 30)) finds the 132-byte gap block in (1, 1).
  t.is(h.alloc(120, 4, w), 0x1c78);
  // A gap smaller than a block moves on by one alignment: 0x1c78 + 4 is 8-aligned only 4 bytes on.
  const g = new TlsfAllocator(BASE, 8192);
  t.is(g.alloc(8, 4, w), 0x1c78);
  const p = g.alloc(8, 8, w); // the free payload is at 0x1c88 (8-aligned, no gap)
  t.is(p, 0x1c88);
  const q = g.alloc(8, 16, w); // free payload at 0x1c98: 8 short of 16, too small, so 0x1ca0 + 16
  t.is(q % 16, 0);
  t.is(q, 0x1cb0);
  t.deepEqual(g.check(), []);
});

test('tlsf: memalign of 0 bytes is NULL as in tlsf.c, for every alignment, and takes nothing', (t) => {
  // Offsets from a 32-bit build of mattconte/tlsf (tlsf_create_with_pool on an 8192-byte, 4 KiB-aligned
  // buffer): tlsf_memalign(64 | 8 | 4 | 1, 0) and tlsf_malloc(0) are NULL; then tlsf_memalign(64, 1) is
  // at +3264 (the 72-byte gap from +3192 given back as a free block of 68 payload bytes) and
  // tlsf_malloc(1) at +3192, in that block; tlsf_walk_pool then sees 2 free blocks holding 4960 bytes.
  const w = newWork();
  const h = new TlsfAllocator(BASE, 8192);
  t.deepEqual([64, 8, 4, 1, 0].map((align) => h.alloc(0, align, w)), [-1, -1, -1, -1, -1]);
  t.is(h.freeBlockCount(), 1);
  t.is(h.alloc(1, 64, w), BASE + 3264);
  t.is(h.alloc(1, 0, w), BASE + 3192);
  t.is(h.freeBlockCount(), 2);
  t.is(h.freeBytes(), 4960);
  t.deepEqual(h.check(), []);
});

test('tlsf: WCET patterns: malloc_worst and free_worst pinned, work flat in the number of free blocks', (t) => {
  // malloc_worst: a small request against one huge free block: second-level miss, first-level ffs,
  // both bitmap bits cleared, split, the remainder inserted.
  const fresh = new TlsfAllocator(BASE, 1 << 20);
  const mw = newWork();
  fresh.alloc(100, 4, mw);
  t.deepEqual(mw, { instructions: 124, reads: 16, writes: 18, trace: null }); // 158
  // The same from a request of 128 bytes or more, which mapping_search rounds up first: the longest
  // malloc path, calibrated to the published "at most 168 x86 instructions".
  const longest = newWork();
  new TlsfAllocator(BASE, 1 << 20).alloc(1000, 4, longest);
  t.deepEqual(longest, { instructions: 134, reads: 16, writes: 18, trace: null });
  t.is(total(longest), 168);

  // free_worst: a block between two free neighbours, each alone in its own first-level class, so
  // both removals clear their second- and first-level bits.
  const h = new TlsfAllocator(BASE, 1 << 20);
  const w = newWork();
  const prev = h.alloc(24, 4, w); // list (0, 6), first level 0
  const mid = h.alloc(24, 4, w);
  const next = h.alloc(200, 4, w); // list (1, 18), first level 1
  h.alloc(24, 4, w); // keeps next from merging with the tail
  h.free(prev, w);
  h.free(next, w);
  const fw = newWork();
  t.is(h.free(mid, fw), 28);
  t.deepEqual(fw, { instructions: 120, reads: 18, writes: 23, trace: null }); // 161

  t.deepEqual(h.check(), []);

  // Hundreds of free blocks: 400 holes of 24 bytes (all in list (0, 6)) between used blocks.
  const many = new TlsfAllocator(BASE, 1 << 20);
  const blocks = Array.from({ length: 800 }, () => many.alloc(24, 4, w));
  for (let i = 0; i < blocks.length; i += 2) many.free(blocks[i], w);
  t.is(many.freeBlockCount(), 401);
  // The same request costs exactly what it cost on the fresh heap: the holes are never looked at.
  const fw2 = newWork();
  many.alloc(100, 4, fw2);
  t.deepEqual(fw2, mw);
  // Every operation of a long mixed run stays within the two worst cases.
  let seed = 7;
  const next32 = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  const live: number[] = [];
  let worstAlloc = 0;
  let worstFree = 0;
  for (let i = 0; i < 3000; i++) {
    const step = newWork();
    if (live.length > 0 && next32() % 3 === 0) {
      many.free(live.splice(next32() % live.length, 1)[0], step);
      worstFree = Math.max(worstFree, total(step));
    } else {
      const addr = many.alloc(1 + (next32() % 700), 4, step);
      if (addr >= 0) live.push(addr);
      worstAlloc = Math.max(worstAlloc, total(step));
    }
  }
  t.true(worstAlloc <= total(longest), `alloc worst ${worstAlloc}`);
  t.true(worstFree <= total(fw), `free worst ${worstFree}`);
  t.deepEqual(many.check(), []);
  // First fit, for contrast, walks the holes.
  const ff = new FirstFitAllocator(BASE, 1 << 20);
  const ffBlocks = Array.from({ length: 800 }, () => ff.alloc(24, 8, w));
  for (let i = 0; i < ffBlocks.length; i += 2) ff.free(ffBlocks[i], w);
  const ffw = newWork();
  ff.alloc(100, 8, ffw);
  t.true(total(ffw) > 10 * total(mw));
});

test('tlsf: good fit fails although the freed block would fit (the known TLSF failure)', (t) => {
  const w = newWork();
  // Pool of 1104 payload bytes: 3188 + 8 + 1104 = 4300.
  const h = new TlsfAllocator(BASE, 4300);
  const a = h.alloc(1000, 4, w);
  t.is(a, 0x1c78);
  // 1104 - 1004 = 100 bytes are left: 96 cannot split them (100 < 96 + 16), so b takes all 100.
  h.alloc(96, 4, w);
  t.is(h.lastBlock, 104);
  t.is(h.freeBytes(), 0);
  t.is(h.free(a, w), 1004);
  // The freed 1000-byte block sits in list (3, 30) = [992, 1008); a request for 1000 searches from
  // (3, 31), finds nothing there or above, and fails: so a free followed by the same request can fail.
  t.is(h.freeBytes(), 1000);
  t.is(h.largestFree(), 1000);
  t.is(h.alloc(1000, 4, w), -1);
  t.is(h.lastBlock, 0);
  // 992 searches from (3, 30) and gets it.
  t.is(h.alloc(992, 4, w), 0x1c78);
  t.deepEqual(h.check(), []);
  t.false(tlsf.reuseGuaranteed);
});

test('tlsf: check() reports a corrupted bitmap and a corrupted size word', (t) => {
  const w = newWork();
  const h = new TlsfAllocator(BASE, 8192);
  const a = h.alloc(100, 4, w);
  h.alloc(100, 4, w);
  h.free(a, w);
  t.deepEqual(h.check(), []);
  const inner = h as unknown as { slBitmap: Int32Array; flBitmap: number; hdr: Int32Array };
  inner.slBitmap[5] |= 1 << 2;
  const bitmap = h.check();
  t.true(bitmap.includes('first-level bit 5 is clear but its second-level map is 4'), bitmap.join('; '));
  t.true(bitmap.includes('list (5, 2) is marked non-empty but is empty'), bitmap.join('; '));
  inner.slBitmap[5] = 0;
  // The freed block's size word (slot 1: the pool's first block) claims 8 more bytes.
  inner.hdr[1] += 8;
  const size = h.check();
  t.true(size.some((p) => p.includes('should start at')), size.join('; '));
  t.true(size.some((p) => p.includes('free bytes')), size.join('; '));
});

test('tlsf: misfit for a heap too small for control, pool overhead and one block', (t) => {
  // 3188 + 8 + 12 = 3208 bytes at least.
  t.is(tlsf.misfit!(3207, {}, CONTEXT), 'TLSF needs 3208 bytes: a 3188-byte control structure, 8 bytes of pool overhead and a 12-byte minimum block');
  t.is(tlsf.misfit!(3208, {}, CONTEXT), null);
  // sl_log2 1: 16 + 4 + 28 * 4 + 28 * 2 * 4 = 356 bytes of control.
  t.regex(tlsf.misfit!(300, { sl_log2: 1 }, CONTEXT) ?? '', /356-byte control/);
  t.is(tlsf.misfit!(376, { sl_log2: 1 }, CONTEXT), null);
  t.regex(tlsf.misfit!(2700, { align: 64 }, CONTEXT) ?? '', /bytes to align the pool/);
  // tlsf_add_pool refuses a pool block of block_size_max (1 GiB) or more.
  t.regex(tlsf.misfit!(2 ** 30 + 4096, {}, CONTEXT) ?? '', /block_size_max/);
  // A heap that small still constructs: every request fails and all of it counts as used.
  const h = tlsf.create(BASE, 1000, {}, CONTEXT);
  t.is(h.alloc(1, 4, newWork()), -1);
  t.is(h.usedBytes(), 1000);
  t.is(h.freeBytes(), 0);
  t.deepEqual(h.check(), []);
});

test('tlsf: entry, options and the worst-case bound', (t) => {
  t.deepEqual(Object.keys(tlsf.options), ['sl_log2', 'align']);
  t.true(tlsf.freesBlocks);
  t.falsy(tlsf.scopes || tlsf.modes || tlsf.errorCodes || tlsf.grows);
  const bound = tlsf.bound!;
  t.is(bound.bytes(1000, 10), 8000); // M(n - 2)
  t.is(bound.bytes(1000, 1), 1000); // Robson's M(1 + log2(n) / 2) takes over below n = 4
  t.is(bound.bytes(1000, 2), 1500);
  t.is(bound.bytes(1000, 4), 2000);
  const h = tlsf.create(BASE, 65536, { sl_log2: 3, align: 8 }, CONTEXT) as TlsfAllocator;
  t.like(h.params, { slLog2: 3, alignLog2: 3 });
  t.is(h.alloc(5, 1, newWork()) % 8, 0);
});

test('tlsf: a heap above 64 MiB indexes live blocks by hashing, with the same results', (t) => {
  const w = newWork();
  const big = new TlsfAllocator(BASE, 80 << 20);
  const small = new TlsfAllocator(BASE, 1 << 20);
  let seed = 3;
  const next32 = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  const live: [number, number][] = [];
  for (let i = 0; i < 4000; i++) {
    if (live.length > 0 && next32() % 2 === 0) {
      const [x, y] = live.splice(next32() % live.length, 1)[0];
      t.is(big.free(x, w), small.free(y, w));
    } else {
      const size = 1 + (next32() % 300);
      const x = big.alloc(size, 4, w);
      const y = small.alloc(size, 4, w);
      t.is(x, y);
      if (x >= 0) live.push([x, y]);
    }
  }
  t.true(live.length > 100);
  t.is(big.free(BASE + 12345, w), 0); // no live block there
  t.is(small.free(live[0][1] + 4, w), 0); // inside a live block's bucket, but not its address
  t.deepEqual(big.check(), []);
  t.is(big.usedBytes() - 3196, small.usedBytes() - 3196);
});

test('tlsf: metadataIn finds the control structure, size words, free links and prev_phys, never a payload byte', (t) => {
  const w = newWork();
  const h = new TlsfAllocator(BASE, 8192);
  // control_t is [0x1000, 0x1c74) (3188 bytes); a's size word [0x1c74, 0x1c78), payload [0x1c78, 0x1cdc);
  // b's size word [0x1cdc, 0x1ce0), payload [0x1ce0, 0x1cec) (the 12-byte minimum); the free rest's size
  // word [0x1cec, 0x1cf0), payload 0x1cf0 of 8192 - 3188 - 8 - 104 - 16 = 4876 bytes, so its last word
  // (the sentinel's prev_phys) is [0x2ff8, 0x2ffc) and the sentinel's size word [0x2ffc, 0x3000).
  const a = h.alloc(100, 4, w);
  const b = h.alloc(1, 4, w);
  t.deepEqual([a, b], [0x1c78, 0x1ce0]);
  t.is(h.metadataIn(0x1000, 0x3000), 0x1000); // the control structure
  t.is(h.metadataIn(0x1c73, 0x1c78), 0x1c73); // its last byte
  t.is(h.metadataIn(a, a + 100), -1); // a's payload
  t.is(h.metadataIn(0x1cdb, 0x1cdc), -1); // a's last byte
  t.is(h.metadataIn(0x1cdb, 0x1cdd), 0x1cdc); // b's size word
  t.is(h.metadataIn(b, b + 12), -1); // a used block's last word is payload: nothing reads it as prev_phys
  t.is(h.metadataIn(0x1ce0, 0x1cf8), 0x1cec); // the free rest's size word
  t.is(h.metadataIn(0x1cf0, 0x1cf8), 0x1cf0); // its next_free, prev_free
  t.is(h.metadataIn(0x1cf8, 0x2ff8), -1); // the middle of a free block
  t.is(h.metadataIn(0x1cf8, 0x2ff9), 0x2ff8); // its last word: the sentinel's prev_phys
  t.is(h.metadataIn(0x2ffc, 0x3000), 0x2ffc); // the sentinel's size word
  t.is(h.metadataIn(0x3000, 0x3100), -1); // past the heap
  // Freed (b is used, so no merge): a's links at [0x1c78, 0x1c80), its last word [0x1c78 + 96, 0x1cdc).
  h.free(a, w);
  t.is(h.metadataIn(0x1c78, 0x1c80), 0x1c78);
  t.is(h.metadataIn(0x1c80, 0x1cd8), -1);
  t.is(h.metadataIn(0x1c80, 0x1cdc), 0x1cd8);
  // align 8: control_t is 3056 bytes [0x1000, 0x1bf0); the first payload is aligned to 0x1bf8, so the
  // first size word is [0x1bf4, 0x1bf8) and the 4 bytes between them are alignment, not metadata.
  const h8 = new TlsfAllocator(BASE, 8192, 5, 8);
  t.is(h8.metadataIn(0x1bef, 0x1bf4), 0x1bef);
  t.is(h8.metadataIn(0x1bf0, 0x1bf4), -1);
  t.is(h8.metadataIn(0x1bf0, 0x1bf5), 0x1bf4);
});

test('property: tlsf never overlaps, stays in bounds, aligns, accounts for every byte', (t) => {
  checkAgainstModel(t, { make: () => new TlsfAllocator(BASE, 16384), base: BASE, size: 16384, freesBlocks: true, reuseGuaranteed: tlsf.reuseGuaranteed, naturalAlign: tlsf.naturalAlign({}), numRuns: 3000 });
});

test('property: tlsf with sl_log2 3 on a small heap', (t) => {
  checkAgainstModel(t, { make: () => new TlsfAllocator(BASE, 6144, 3, 4), base: BASE, size: 6144, freesBlocks: true, reuseGuaranteed: tlsf.reuseGuaranteed, naturalAlign: tlsf.naturalAlign({ sl_log2: 3 }), numRuns: 3000 });
});

test('property: tlsf with align 8 from an unaligned base above 2^31', (t) => {
  const base = 0x8000_1002; // above 2^31 and unaligned
  checkAgainstModel(t, { make: () => new TlsfAllocator(base, 32768, 5, 8), base, size: 32768, freesBlocks: true, reuseGuaranteed: tlsf.reuseGuaranteed, naturalAlign: tlsf.naturalAlign({ align: 8 }), numRuns: 3000, maxAlignLog: 10 });
});

test('property: tlsf with align 64 and small requests', (t) => {
  checkAgainstModel(t, { make: () => new TlsfAllocator(BASE, 12288, 4, 64), base: BASE, size: 12288, freesBlocks: true, reuseGuaranteed: tlsf.reuseGuaranteed, naturalAlign: tlsf.naturalAlign({ align: 64 }), numRuns: 1000, maxRequest: 200 });
});

test('property: tlsf with sl_log2 1 (two lists per class)', (t) => {
  checkAgainstModel(t, { make: () => new TlsfAllocator(BASE, 4096, 1, 4), base: BASE, size: 4096, freesBlocks: true, reuseGuaranteed: tlsf.reuseGuaranteed, naturalAlign: tlsf.naturalAlign({ sl_log2: 1 }), numRuns: 1000, maxRequest: 512 });
});
