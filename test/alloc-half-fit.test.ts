import test from 'ava';
import fc from 'fast-check';
import { newWork } from '../src/alloc/allocator.js';
import { halfFit, HalfFitAllocator } from '../src/alloc/half-fit.js';
import { checkAgainstModel } from './helpers/allocator-model.js';

const BASE = 0x1000;
/** The instance takes the first 160 bytes; fragments start here. */
const ARENA = BASE + 160;
/** 160 bytes of instance + a 4096-byte capacity. */
const SIZE = 160 + 4096;

test('half-fit: the instance counts as used; capacity is rounded down to 32-byte fragments', (t) => {
  const h = new HalfFitAllocator(BASE, SIZE);
  t.is(h.capacity(), SIZE);
  t.is(h.usedBytes(), 160);
  t.is(h.freeBytes(), 4096);
  t.is(h.largestFree(), 4096);
  t.deepEqual(h.diagnostics(), { capacity: 4096, allocated: 0, peak_allocated: 0, peak_request_size: 0, oom_count: 0 });
  t.deepEqual(Object.keys(h.diagnostics()), ['capacity', 'allocated', 'peak_allocated', 'peak_request_size', 'oom_count']);
  // 1000 - 160 = 840 -> 832 (26 fragments of 32); the 8 left over are not managed.
  const odd = new HalfFitAllocator(BASE, 1000);
  t.is(odd.capacity(), 160 + 832);
  t.is(odd.diagnostics().capacity, 832);
});

test('half-fit: exact placements, round-up fetch, round-down insert, merging', (t) => {
  const w = newWork();
  const h = new HalfFitAllocator(BASE, SIZE);
  t.is(ARENA, 0x10a0);
  // 40 + 16 = 56 -> F = 64. The 4096 fragment (bin 7) splits: 64 @0x10a0 used, 4032 @0x10e0 to bin 6.
  const a = h.alloc(40, 8, w);
  t.is(a, 0x10b0); // header of 16 bytes before the payload
  t.is(h.lastBlock, 64);
  // 10 + 16 = 26 -> F = 32 @0x10e0; 100 + 16 = 116 -> F = 128 @0x1100.
  const b = h.alloc(10, 8, w);
  const c = h.alloc(100, 8, w);
  t.deepEqual([b, c], [0x10f0, 0x1110]);
  t.is(h.lastBlock, 128);
  h.free(a, w); // 64 @0x10a0, neighbour b used: bin 1
  t.is(h.free(b, w), 32); // joins left: 96 @0x10a0, inserted rounded DOWN into bin 1 ([64, 128))
  t.deepEqual(h.check(), []);
  // 70 + 16 = 86 would fit in the 96 fragment, but the fetch rounds UP to F = 128 (bin >= 2):
  // the 96 fragment is skipped and the tail 3872 @0x1180 (bin 6) is split instead.
  const g = h.alloc(70, 8, w);
  t.is(g, 0x1190);
  t.is(h.lastBlock, 128);
  // 40 -> F = 64 (bin >= 1): now the 96 fragment serves, leaving 32 @0x10e0 in bin 0.
  const d = h.alloc(40, 8, w);
  t.is(d, 0x10b0);
  // 1 -> F = 32 (bin >= 0): the 32 fragment, whole.
  const e = h.alloc(1, 8, w);
  t.is(e, 0x10f0);
  t.is(h.lastBlock, 32);
  // allocated: c 128 + g 128 + d 64 + e 32 = 352; the peak is now.
  t.deepEqual(h.diagnostics(), { capacity: 4096, allocated: 352, peak_allocated: 352, peak_request_size: 100, oom_count: 0 });
  t.is(h.usedBytes(), 160 + 352);
  // Larger than capacity - 16: refused before any search, still counted.
  t.is(h.alloc(4081, 8, w), -1);
  // 2033 + 16 = 2049 -> F = 4096: no fragment that large is left.
  t.is(h.alloc(2033, 8, w), -1);
  t.deepEqual(h.diagnostics(), { capacity: 4096, allocated: 352, peak_allocated: 352, peak_request_size: 4081, oom_count: 2 });
  // Freeing everything merges back to one 4096 fragment.
  for (const x of [d, c, e, g]) h.free(x, w);
  t.is(h.largestFree(), 4096);
  t.is(h.usedBytes(), 160);
  t.deepEqual(h.check(), []);
  // Zero bytes: NULL, and not an out-of-memory.
  t.is(h.alloc(0, 8, w), -1);
  t.is(h.diagnostics().oom_count, 2);
});

test('half-fit: alignments above 16 are honoured by a wrapper that over-allocates by align', (t) => {
  const w = newWork();
  const h = new HalfFitAllocator(BASE, SIZE);
  // 100 bytes at 64: o1heap is asked for 100 + 64 = 164 -> F = 256 @0x10a0, payload 0x10b0;
  // the first 64-aligned address at least a pointer past it is 0x10c0 (the payload pointer sits at 0x10bc).
  const a = h.alloc(100, 64, w);
  t.is(a, 0x10c0);
  t.is(h.lastBlock, 256);
  t.is(h.diagnostics().peak_request_size, 164);
  // The tail @0x11a0 serves 8 + 256 = 264 -> F = 512, payload 0x11b0; 0x11b0 + 4 aligned up to 256 = 0x1200.
  const b = h.alloc(8, 256, w);
  t.is(b, 0x1200);
  t.is(h.lastBlock, 512); // 8 + 256 + 16 = 280 -> 512
  t.is(h.free(a, w), 256);
  t.is(h.free(b, w), 512);
  t.is(h.largestFree(), 4096);
  t.deepEqual(h.check(), []);
});

test('half-fit: alloc work does not depend on the number of free fragments', (t) => {
  const works = [0, 1, 10, 100].map((n) => {
    const h = new HalfFitAllocator(BASE, 160 + 65536);
    const w = newWork();
    const blocks = Array.from({ length: 2 * n }, () => h.alloc(16, 8, w));
    for (let i = 0; i < blocks.length; i += 2) h.free(blocks[i], w); // n separate 32-byte holes in bin 0
    t.is(h.diagnostics().allocated, n * 32);
    const work = newWork();
    t.true(h.alloc(4000, 8, work) > 0); // F = 4096, split off the tail whatever lies before it
    return work;
  });
  // 24 + unbin 6 + split 4 + rebin 6; reads: capacity, mask, bin head, unbin 4 (size, links, head),
  // the tail's next, rebin 2 (size, head), allocated and peak, peak_request_size;
  // writes: bin head + mask (unbin), size, remainder size + used flag, 1 + 2 interlinks,
  // rebin 4, allocated, peak_allocated, used flag, peak_request_size.
  for (const work of works) t.deepEqual(work, { instructions: 40, reads: 13, writes: 16, trace: null });
});

test('half-fit: free work is fixed per merge case', (t) => {
  const w = newWork();
  const h = new HalfFitAllocator(BASE, SIZE);
  const [a, b, c] = [h.alloc(16, 8, w), h.alloc(16, 8, w), h.alloc(16, 8, w)];
  h.alloc(16, 8, w); // keeps c's right neighbour used
  h.free(a, w);
  h.free(c, w);
  const both = newWork();
  t.is(h.free(b, both), 32); // joins a on the left and c on the right
  // 16 + 2 unbins + 1 rebin + 2 merges; reads: size, allocated, prev, next, both used flags,
  // 2 x unbin 4, next's next, rebin 2; writes: used, allocated, 3 sizes, interlink 2, rebin 4 (96 bytes
  // go to the empty bin 1), unbin a: c's next link (bin 0 was c -> a), unbin c: bin head and mask.
  t.deepEqual(both, { instructions: 42, reads: 17, writes: 14, trace: null });
  t.deepEqual(h.check(), []);
});

test('half-fit: o1heap-style shadow model of the diagnostics after every step', (t) => {
  const capacity = 8192;
  type Step = { kind: 'alloc'; size: number; alignLog: number } | { kind: 'free'; pick: number };
  const step: fc.Arbitrary<Step> = fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('alloc' as const), size: fc.integer({ min: 0, max: 3000 }), alignLog: fc.integer({ min: 0, max: 7 }) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('free' as const), pick: fc.nat() }) },
  );
  fc.assert(
    fc.property(fc.array(step, { minLength: 50, maxLength: 300 }), (steps) => {
      const h = new HalfFitAllocator(BASE, 160 + capacity);
      const work = newWork();
      const shadow = { capacity, allocated: 0, peak_allocated: 0, peak_request_size: 0, oom_count: 0 };
      const live: { addr: number; fragment: number }[] = [];
      for (const s of steps) {
        if (s.kind === 'alloc') {
          const align = 2 ** s.alignLog;
          const amount = s.size > 0 && align > 16 ? s.size + align : s.size;
          const fragment = Math.max(32, 2 ** Math.ceil(Math.log2(amount + 16)));
          // Half-fit's promise: the request is served exactly when a free fragment of F bytes exists.
          const servable = amount > 0 && amount <= capacity - 16 && h.largestFree() >= fragment;
          const addr = h.alloc(s.size, align, work);
          if (servable !== addr >= 0) throw new Error(`alloc(${s.size}, ${align}) gave ${addr}; largest free ${h.largestFree()}, F ${fragment}`);
          shadow.peak_request_size = Math.max(shadow.peak_request_size, amount);
          if (addr >= 0) {
            if (h.lastBlock !== fragment) throw new Error(`lastBlock ${h.lastBlock}, F ${fragment}`);
            if (addr % Math.max(align, 16) !== 0) throw new Error(`${addr} not aligned to ${align}`);
            live.push({ addr, fragment });
            shadow.allocated += fragment;
            shadow.peak_allocated = Math.max(shadow.peak_allocated, shadow.allocated);
          } else if (amount > 0) {
            shadow.oom_count++;
          }
        } else if (live.length > 0) {
          const [b] = live.splice(s.pick % live.length, 1);
          if (h.free(b.addr, work) !== b.fragment) throw new Error(`free(${b.addr}) released the wrong size`);
          shadow.allocated -= b.fragment;
        }
        const diagnostics = h.diagnostics();
        if (JSON.stringify(diagnostics) !== JSON.stringify(shadow)) throw new Error(`diagnostics ${JSON.stringify(diagnostics)}, shadow ${JSON.stringify(shadow)}`);
        const problems = h.check();
        if (problems.length > 0) throw new Error(problems.join('; '));
      }
      return true;
    }),
    { numRuns: 500, seed: 1995 },
  );
  t.pass();
});

test('half-fit: check() finds a corrupted fragment header and a corrupted bin mask', (t) => {
  const w = newWork();
  const h = new HalfFitAllocator(BASE, SIZE);
  h.alloc(40, 8, w); // 64 used @0x10a0, 4032 free @0x10e0 (fragment index 2) in bin 6
  t.deepEqual(h.check(), []);
  const inner = h as unknown as { used: Uint8Array; mask: number };
  inner.used[2] = 1; // a wild write sets the free fragment's used flag
  let problems = h.check();
  t.true(problems.some((p) => p.includes('0x10e0 is in bin 6 but used')), problems.join('; '));
  t.true(problems.some((p) => p.includes('allocated says 64')), problems.join('; '));
  inner.used[2] = 0;
  t.deepEqual(h.check(), []);
  inner.mask &= ~(1 << 6);
  problems = h.check();
  t.true(problems.some((p) => p.includes('bin mask bit 6 disagrees')), problems.join('; '));
});

test('half-fit: metadataIn finds the instance, fragment headers, bin links and the aligned wrapper\'s pointer', (t) => {
  const w = newWork();
  const h = new HalfFitAllocator(BASE, 1024);
  // The instance is [0x1000, 0x10a0); 100 bytes take a 2^ceil(log2(116)) = 128-byte fragment at 0x10a0:
  // header [0x10a0, 0x10b0), payload [0x10b0, 0x1120). The free rest (736 bytes) starts at 0x1120:
  // header [0x1120, 0x1130), bin links [0x1130, 0x1138).
  const a = h.alloc(100, 8, w);
  t.is(a, 0x10b0);
  t.is(h.metadataIn(0x1000, 0x1001), 0x1000); // the instance
  t.is(h.metadataIn(0x109f, 0x10a1), 0x109f); // its last byte, then the first header
  t.is(h.metadataIn(a, 0x1120), -1); // the whole used payload, rounding included
  t.is(h.metadataIn(0x111f, 0x1121), 0x1120); // the last payload byte is not metadata, the next header is
  t.is(h.metadataIn(0x1130, 0x1400), 0x1130); // the free fragment's bin links
  t.is(h.metadataIn(0x1138, 0x1400), -1); // the rest of it holds nothing
  // 16 bytes aligned to 64: 80 bytes asked for, a 128-byte fragment at 0x1120 (payload 0x1130); the
  // address handed out is alignUp(0x1130 + 4, 64) = 0x1140, with the payload pointer in [0x113c, 0x1140).
  // The rest (608 bytes) moves to 0x11a0: header [0x11a0, 0x11b0), links [0x11b0, 0x11b8).
  const b = h.alloc(16, 64, w);
  t.is(b, 0x1140);
  t.is(h.metadataIn(0x1130, 0x1140), 0x113c); // the stored pointer
  t.is(h.metadataIn(b, 0x11a0), -1); // from the address handed out to the fragment's end
  t.is(h.metadataIn(b, 0x1400), 0x11a0);
  t.is(h.metadataIn(0x11b8, 0x1400), -1);
  // Freed: it merges with the rest; the pointer word is payload again, the links are back at 0x1130.
  h.free(b, w);
  t.is(h.metadataIn(0x1130, 0x1400), 0x1130);
  t.is(h.metadataIn(0x1138, 0x1400), -1);
});

test('half-fit: entry, bound and misfit', (t) => {
  t.true(halfFit.reuseGuaranteed);
  t.is(halfFit.bound!.formula, 'H = 2M(1 + ceil(log2 n))');
  t.is(halfFit.bound!.bytes(1000, 16), 2 * 1000 * (1 + 4));
  t.is(halfFit.bound!.bytes(1000, 17), 2 * 1000 * (1 + 5));
  t.is(halfFit.misfit!(192, {}, { policy: 'std' }), null);
  t.regex(halfFit.misfit!(191, {}, { policy: 'std' })!, /192 bytes/);
  // A heap that cannot hold one fragment manages nothing and fails every request.
  const tiny = new HalfFitAllocator(BASE, 100);
  t.is(tiny.capacity(), 0);
  t.is(tiny.alloc(1, 8, newWork()), -1);
  t.deepEqual(tiny.check(), []);
});

// Every alignment is honoured (above 16 by the wrapper), so the harness draws its full range, 1..256.
for (const [base, size] of [[BASE, 16384], [BASE, SIZE], [BASE + 8, 5000], [BASE, 160 + 65536]] as const) {
  test(`property: half-fit (${size} bytes at 0x${base.toString(16)}) never overlaps, stays in bounds, aligns, accounts for every byte`, (t) => {
    checkAgainstModel(t, { make: () => new HalfFitAllocator(base, size), base, size, maxAlignLog: 8, freesBlocks: true, reuseGuaranteed: halfFit.reuseGuaranteed, naturalAlign: halfFit.naturalAlign({}), shrinkMayFail: true, numRuns: 3000 });
  });
}
