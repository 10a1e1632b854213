import test from 'ava';
import fc from 'fast-check';
import { newWork } from '../src/alloc/allocator.js';
import { BestFitAllocator, bestFit } from '../src/alloc/best-fit.js';
import { FirstFitAllocator } from '../src/alloc/first-fit.js';
import { checkAgainstModel } from './helpers/allocator-model.js';

const BASE = 0x1000;

// Block arithmetic (as first-fit): a block is max(16, roundUp8(size + 8)) bytes, payload = block + 8.

test('best-fit: takes the smallest hole that fits where first-fit takes the first', (t) => {
  const w = newWork();
  const bf = new BestFitAllocator(BASE, 1024);
  const ff = new FirstFitAllocator(BASE, 1024);
  for (const heap of [bf, ff]) {
    const a = heap.alloc(100, 8, w); // block [0x1000, 0x1070): 112 bytes
    heap.alloc(8, 8, w); //             block [0x1070, 0x1080): 16 bytes, keeps the holes apart
    const b = heap.alloc(40, 8, w); //  block [0x1080, 0x10b0): 48 bytes
    heap.alloc(8, 8, w); //             block [0x10b0, 0x10c0); tail [0x10c0, 0x1400) = 832 bytes
    t.deepEqual([a, b], [0x1008, 0x1088]);
    heap.free(a, w);
    heap.free(b, w);
    t.is(heap.freeListLength(), 3); // holes of 112 at 0x1000 and 48 at 0x1080, and the 832-byte tail
  }
  // 40 bytes need a 48-byte block: first fit splits the 112-byte hole, best fit takes the exact 48.
  t.is(ff.alloc(40, 8, w), 0x1008);
  t.is(bf.alloc(40, 8, w), 0x1088);
  // 100 bytes need 112: first fit's 112-byte hole is gone (64 left at 0x1030), so it cuts the tail;
  // best fit still has the 112-byte hole.
  t.is(ff.alloc(100, 8, w), 0x10c8);
  t.is(bf.alloc(100, 8, w), 0x1008);
  t.is(ff.largestFree(), 832 - 112);
  t.is(bf.largestFree(), 832);
  t.deepEqual(bf.check(), []);
  t.deepEqual(ff.check(), []);
});

test('best-fit: equal holes, the lower address wins', (t) => {
  const w = newWork();
  const bf = new BestFitAllocator(BASE, 1024);
  const x1 = bf.alloc(40, 8, w); // [0x1000, 0x1030)
  bf.alloc(8, 8, w); //             [0x1030, 0x1040)
  const x2 = bf.alloc(40, 8, w); // [0x1040, 0x1070)
  bf.alloc(8, 8, w); //             [0x1070, 0x1080); tail [0x1080, 0x1400) = 896 bytes
  bf.free(x2, w); // the higher hole is freed first: list order is by address, not by free time
  bf.free(x1, w);
  // 24 bytes need 32: both 48-byte holes fit (neither exactly); the one at 0x1000 is taken and split,
  // leaving a 16-byte hole at 0x1020.
  t.is(bf.alloc(24, 8, w), 0x1008);
  t.is(bf.lastBlock, 32);
  // Now the 16-byte hole is too small and the 48-byte hole at 0x1040 is the best.
  t.is(bf.alloc(24, 8, w), 0x1048);
  // 8 bytes need 16: the two 16-byte leftovers (0x1020 and 0x1060) tie; the lower one wins, exactly.
  t.is(bf.alloc(8, 8, w), 0x1028);
  t.is(bf.alloc(8, 8, w), 0x1068);
  t.is(bf.freeListLength(), 1);
  t.deepEqual(bf.check(), []);
});

test('best-fit: freed neighbours coalesce into one hole, which then fits exactly', (t) => {
  const w = newWork();
  const bf = new BestFitAllocator(BASE, 1024);
  const a = bf.alloc(40, 8, w); // [0x1000, 0x1030) 48 bytes
  const b = bf.alloc(24, 8, w); // [0x1030, 0x1050) 32 bytes
  const c = bf.alloc(56, 8, w); // [0x1050, 0x1090) 64 bytes
  bf.alloc(8, 8, w); //            [0x1090, 0x10a0); tail [0x10a0, 0x1400) = 864 bytes
  bf.free(a, w);
  bf.free(c, w);
  t.is(bf.freeListLength(), 3);
  t.is(bf.free(b, w), 32); // merges with both neighbours: 48 + 32 + 64 = 144 bytes at 0x1000
  t.is(bf.freeListLength(), 2);
  t.is(bf.largestFree(), 864);
  // 136 bytes need exactly 144: the merged hole, not the tail.
  t.is(bf.alloc(136, 8, w), 0x1008);
  t.is(bf.lastBlock, 144);
  t.is(bf.freeListLength(), 1);
  t.is(bf.usedBytes(), 144 + 16);
  t.deepEqual(bf.check(), []);
});

test('best-fit: an aligned request keeps the free sliver in front, as first-fit does', (t) => {
  const w = newWork();
  const bf = new BestFitAllocator(BASE, 4096);
  // Payload 0x1100 is the first 256-aligned address with no sliver under 16 bytes in front:
  // the block starts at 0x10f8 and the 248 bytes [0x1000, 0x10f8) stay free.
  t.is(bf.alloc(8, 256, w), 0x1100);
  t.is(bf.freeListLength(), 2);
  t.is(bf.alloc(8, 8, w), 0x1008); // the 248-byte sliver is smaller than the tail: best fit takes it
  t.deepEqual(bf.check(), []);
});

/** Eight 64-byte blocks with every other one freed: four 64-byte holes, then the tail (5 free nodes). */
function holes(): BestFitAllocator {
  const w = newWork();
  const bf = new BestFitAllocator(BASE, 1024);
  const blocks = Array.from({ length: 8 }, () => bf.alloc(56, 8, w)); // 0x1008, 0x1048, ... 0x11c8
  for (let i = 0; i < 8; i += 2) bf.free(blocks[i], w);
  return bf; // holes at 0x1000, 0x1080, 0x1100, 0x1180 (64 each), tail [0x1200, 0x1400) = 512
}

test('best-fit: pinned work: the whole list is walked unless a block fits exactly', (t) => {
  const bf = holes();
  t.is(bf.freeListLength(), 5);
  // An exact fit (56 bytes need 64) stops at the first node: 12 fixed + 2 search + 6 per node;
  // 2 reads (size, next) per node; unlink (2 writes) and the in-use bit (1).
  const exact = newWork();
  t.is(bf.alloc(56, 8, exact), 0x1008);
  t.deepEqual(exact, { instructions: 12 + 2 + 6, reads: 2, writes: 3, trace: null });
  // 24 bytes need 32: no exact fit, so all 4 remaining nodes are visited; the first 64-byte hole
  // (0x1080) wins and is split: the new tail block (4 writes) and the in-use bit (1).
  const walk = newWork();
  t.is(bf.alloc(24, 8, walk), 0x1088);
  t.deepEqual(walk, { instructions: 12 + 2 + 6 * 4, reads: 2 * 4, writes: 5, trace: null });
  // First fit on the same heap stops at the first node.
  const ff = new FirstFitAllocator(BASE, 1024);
  const w = newWork();
  const blocks = Array.from({ length: 8 }, () => ff.alloc(56, 8, w));
  for (let i = 0; i < 8; i += 2) ff.free(blocks[i], w);
  const first = newWork();
  t.is(ff.alloc(24, 8, first), 0x1008);
  t.deepEqual(first, { instructions: 12 + 4, reads: 2, writes: 5, trace: null });
  // A failed request walks everything too: still 4 nodes (the split left a 32-byte hole at 0x10a0).
  t.is(bf.freeListLength(), 4);
  const fail = newWork();
  t.is(bf.alloc(600, 8, fail), -1);
  t.deepEqual(fail, { instructions: 12 + 2 + 6 * 4, reads: 2 * 4, writes: 0, trace: null });
});

test('best-fit: work grows with the free-list length', (t) => {
  const walk = (holesWanted: number) => {
    const w = newWork();
    const bf = new BestFitAllocator(BASE, 64 * 1024);
    const blocks = Array.from({ length: 2 * holesWanted }, () => bf.alloc(56, 8, w));
    for (let i = 0; i < blocks.length; i += 2) bf.free(blocks[i], w);
    const work = newWork();
    t.is(bf.alloc(24, 8, work), BASE + 8); // every hole fits, none exactly: the first one wins
    return work;
  };
  const short = walk(4);
  const long = walk(40);
  // holes + the tail are visited, 2 reads each.
  t.is(short.reads, 2 * 5);
  t.is(long.reads, 2 * 41);
  t.is(long.instructions - short.instructions, 6 * 36);
});

test('best-fit: check() reports a corrupted free list', (t) => {
  const w = newWork();
  const bf = new BestFitAllocator(BASE, 1024);
  const a = bf.alloc(40, 8, w);
  bf.alloc(8, 8, w);
  bf.free(a, w);
  t.deepEqual(bf.check(), []);
  const head = (bf as any).head;
  head.size += 8; // the hole claims 8 bytes it does not have
  head.nextFree.free = false; // and the tail is marked used while still listed
  const problems = bf.check();
  t.true(problems.some((p) => /marked used/.test(p)), problems.join('; '));
  t.true(problems.some((p) => /accounting says/.test(p)), problems.join('; '));
});

test('best-fit: entry and bound', (t) => {
  t.deepEqual(bestFit.options, {});
  t.true(bestFit.freesBlocks && bestFit.reuseGuaranteed);
  t.falsy(bestFit.scopes || bestFit.modes || bestFit.errorCodes || bestFit.grows);
  const bound = bestFit.bound!;
  t.is(bound.formula, 'M(n - 2)');
  t.is(bound.bytes(1000, 10), 8000); // as published from n = 4 on
  t.is(bound.bytes(1000, 4), 2000); // M(n - 2) = 2000 > Robson's 2000 - 4 + 1 = 1997
  t.is(bound.bytes(1000, 2), 1499); // M(n - 2) = 0: Robson's 1000 * 1.5 - 2 + 1 = 1499
  t.is(bound.bytes(1000, 1), 1000); // never below M
  const heap = bestFit.create(BASE, 256, {}, { policy: 'no_std_alloc' });
  t.is(heap.capacity(), 256);
  t.is(heap.alloc(8, 8, newWork()), BASE + 8);
});

test('best-fit: metadataIn finds headers and free-list links, never a payload byte', (t) => {
  const w = newWork();
  const bf = new BestFitAllocator(BASE, 1024);
  // a aligned to 256: payload 0x1100, block [0x10f8, 0x1108) (8 + 8 -> 16); the 248-byte sliver
  // [0x1000, 0x10f8) stays free in front, the 760-byte tail [0x1108, 0x1400) behind.
  const a = bf.alloc(8, 256, w);
  // b: the smallest hole that fits is the sliver: block [0x1000, 0x1010), payload 0x1008; the sliver's
  // rest [0x1010, 0x10f8) stays free. The free list's head (0x1010) is not the first block: the walk
  // goes back from it to 0x1000 through the physical links.
  const b = bf.alloc(8, 8, w);
  t.deepEqual([a, b], [0x1100, 0x1008]);
  t.is(bf.metadataIn(0x1000, 0x1400), 0x1000); // b's header
  t.is(bf.metadataIn(b, b + 8), -1); // b's whole payload
  t.is(bf.metadataIn(0x100f, 0x1011), 0x1010); // b's last byte is not metadata, the free block's header is
  t.is(bf.metadataIn(0x1018, 0x1020), 0x1018); // its next/prev links: header 0x1010 + 8
  t.is(bf.metadataIn(0x1020, 0x10f8), -1); // the rest of the free block
  t.is(bf.metadataIn(0x1020, 0x10f9), 0x10f8); // a's header
  t.is(bf.metadataIn(a, a + 8), -1);
  t.is(bf.metadataIn(0x1107, 0x1109), 0x1108); // the tail's header right after a's last byte
  t.is(bf.metadataIn(0x1110, 0x1118), 0x1110); // the tail's links
  t.is(bf.metadataIn(0x1118, 0x1400), -1);
});

test('property: best-fit takes the smallest free block that fits, the lowest-addressed on a tie', (t) => {
  // An independent statement of "fits": the first aligned payload at least 8 bytes into the block
  // whose front gap is 0 or a whole 16-byte block, and the rounded request must end inside the block.
  const fitsIn = (b: { addr: number; size: number }, size: number, align: number): boolean => {
    let p = Math.ceil((b.addr + 8) / align) * align;
    while (p - 8 - b.addr > 0 && p - 8 - b.addr < 16) p += align;
    return p - 8 + Math.max(16, Math.ceil((size + 8) / 8) * 8) <= b.addr + b.size;
  };
  const op = fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('alloc' as const), size: fc.integer({ min: 1, max: 600 }), alignLog: fc.integer({ min: 0, max: 7 }) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('free' as const), pick: fc.nat() }) },
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 100 }), (ops) => {
      const bf = new BestFitAllocator(BASE, 4096);
      const w = newWork();
      const live: number[] = [];
      for (const o of ops) {
        if (o.kind === 'free') {
          if (live.length > 0) bf.free(live.splice(o.pick % live.length, 1)[0], w);
          continue;
        }
        const align = 2 ** o.alignLog;
        const free: { addr: number; size: number }[] = [];
        for (let b = (bf as any).head; b; b = b.nextFree) free.push({ addr: b.addr, size: b.size });
        const fitting = free.filter((b) => fitsIn(b, o.size, align));
        const expected = fitting.reduce<{ addr: number; size: number } | null>((best, b) => (!best || b.size < best.size ? b : best), null);
        const addr = bf.alloc(o.size, align, w);
        if (!expected) {
          if (addr !== -1) return false;
          continue;
        }
        // The block taken (after any front split) lies inside the expected free block.
        if (addr < expected.addr + 8 || addr >= expected.addr + expected.size) return false;
        live.push(addr);
      }
      return true;
    }),
    { numRuns: 1000, seed: 42 },
  );
  t.pass();
});

for (const [base, size] of [
  [BASE, 1024],
  [BASE, 4096],
  [BASE, 16384],
  [BASE + 4, 3000], // base and end off the 8-byte grain
]) {
  test(`property: best-fit in ${size} bytes at ${base} never overlaps, stays in bounds, aligns, accounts for every byte`, (t) => {
    checkAgainstModel(t, {
      make: () => new BestFitAllocator(base, size),
      base,
      size,
      maxRequest: Math.min(2048, size / 4),
      naturalAlign: bestFit.naturalAlign({}),
      freesBlocks: true,
      reuseGuaranteed: true,
      numRuns: 3000,
    });
  });
}
