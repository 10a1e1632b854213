/**
 * dlmalloc 2.8.6 as an mspace (create_mspace_with_base) on a 32-bit target. The exact offsets below
 * were worked by hand from dlmalloc.c (mspace_malloc, mspace_free, try_realloc_chunk,
 * internal_memalign) and agree with the C itself, built with -m32 -DONLY_MSPACES=1 -DHAVE_MMAP=0 and
 * run on a 64 KiB-aligned static buffer (offsets from the heap's base).
 */
import test, { type ExecutionContext } from 'ava';
import { MetadataTrace, NULL_ADDR, newWork, resetWork, type Work } from '../src/alloc/allocator.js';
import { dlmalloc, DlmallocAllocator, MAX_SMALL_REQUEST, MSIZE, TOP_FOOT_SIZE } from '../src/alloc/dlmalloc.js';
import { checkAgainstModel } from './helpers/allocator-model.js';

const BASE = 0x1000;
/** The malloc_state chunk is [BASE, BASE + 480); the first chunk (the top, at first) starts here. */
const FIRST = BASE + 480;

function tracedWork(): Work & { trace: MetadataTrace } {
  return { ...newWork(), trace: new MetadataTrace() };
}

function traced(t: ExecutionContext, work: Work, call: () => unknown): string[] {
  resetWork(work);
  call();
  t.is(work.trace!.length, work.reads + work.writes);
  return work.trace!.entries().map(([addr, written]) => `${written ? 'w' : 'r'} 0x${addr.toString(16)}`);
}

/** A chunk's head word, read from the model's words. */
function head(d: DlmallocAllocator, chunk: number): number {
  return (d as unknown as { peek(a: number): number }).peek(chunk + 4);
}

test('dlmalloc: the derived constants and the heap layout of create_mspace_with_base', (t) => {
  // sizeof(malloc_state) = 472 on 32-bit; pad_request(472) = 480; TOP_FOOT_SIZE = 0 + 24 + 16.
  t.is(MSIZE, 480);
  t.is(TOP_FOOT_SIZE, 40);
  t.is(MAX_SMALL_REQUEST, 244);
  const d = new DlmallocAllocator(BASE, 4096);
  t.is(d.capacity(), 4096);
  // The top: 4096 - 480 - 40 = 3576 bytes; the state's chunk and the top foot count as used.
  t.is(d.freeBytes(), 3576);
  t.is(d.usedBytes(), 520);
  t.is(d.largestFree(), 3576);
  t.is(head(d, BASE), 480 | 3); // msp->head = msize | INUSE_BITS
  t.is(head(d, FIRST), 3576 | 1); // the top's head, PINUSE
  t.is(head(d, BASE + 4096 - 40), 40); // init_top's fake head in the top foot
  t.deepEqual(d.check(), []);
  // mspace_mallinfo: arena counts the state's chunk; fordblks the top and its foot.
  t.deepEqual(d.diagnostics(), { arena: 4096, ordblks: 1, hblkhd: 0, usmblks: 4096, uordblks: 480, fordblks: 3616, keepcost: 3576 });
  // The capacity passed ends on an 8-byte boundary; a base 4 bytes off alignment puts msp 4 bytes in.
  const odd = new DlmallocAllocator(BASE + 4, 4103);
  t.is(odd.capacity(), 4100);
  t.is(odd.alloc(0, 0, newWork()), BASE + 4 + 4 + 488);
  t.deepEqual(odd.check(), []);
});

test('dlmalloc: malloc(0) is a minimum chunk; small bins, the dv and coalescing with it, exact offsets', (t) => {
  const w = newWork();
  const d = new DlmallocAllocator(BASE, 4096);
  // malloc(0): request2size(0) = MIN_CHUNK_SIZE = 16, split off the top; 12 usable bytes. Never NULL.
  t.is(d.alloc(0, 0, w), BASE + 488);
  t.is(d.lastBlock, 16);
  t.is(d.alloc(0, 0, w), BASE + 504);
  // pad_request(100) = 104 at +512; pad_request(300) = 304 at +616; pad_request(20) = 24 at +920.
  const a = d.alloc(100, 0, w);
  const b = d.alloc(300, 0, w);
  t.deepEqual([a, b, d.alloc(20, 0, w)], [BASE + 520, BASE + 624, BASE + 928]);
  // free(a): both neighbours in use, so its 104 bytes go to small bin 13.
  t.is(d.free(a, w), 104);
  // malloc(40): nb = 48 (bin 6); no exact fit and no dv, so the next non-empty small bin (13) is
  // split: 48 bytes at +512, the 56-byte remainder at +560 becomes the dv.
  t.is(d.alloc(40, 0, w), BASE + 520);
  // free(b): its previous chunk is the dv, and the chunk after it is in use: the dv grows to 360.
  d.free(b, w);
  t.is(head(d, BASE + 560), 360 | 1);
  // malloc(8): nb = 16, no small bin fits exactly, so the dv is split: 16 at +560, the dv is now +576 (344).
  t.is(d.alloc(8, 0, w), BASE + 568);
  t.is(head(d, BASE + 576), 344 | 1);
  t.is(d.freeBytes(), 344 + 3576 - 16 - 16 - 104 - 304 - 24);
  t.deepEqual(d.check(), []);
});

test('dlmalloc: realloc shrinks in place, grows into the top, else moves; realloc(p, 0) keeps a minimum chunk', (t) => {
  const w = newWork();
  const d = new DlmallocAllocator(BASE, 4096);
  const a = d.alloc(100, 0, w); // 104 bytes at +480
  d.alloc(20, 0, w); // 24 at +584, pinning a
  // realloc(a, 50): nb = 56; the 48-byte tail is split off (dispose_chunk) into small bin 6.
  t.is(d.realloc(a, 50, w), a);
  t.is(d.lastRealloc, 'in-place');
  t.is(d.lastBlock, 56);
  // realloc(a, 200): nb = 208; the free 48 after it is not enough (56 + 48 < 208): mspace_malloc(200)
  // takes 208 bytes of the top at +608, copies chunksize - 4 = 52 bytes, frees a (merged with the 48).
  const moved = d.realloc(a, 200, w);
  t.is(moved, BASE + 616);
  t.is(d.lastRealloc, 'moved');
  t.is(d.lastMoved, 52);
  // malloc(8) splits the 104-byte chunk at +480: the 88 after it become the dv.
  const small = d.alloc(8, 0, w);
  t.is(small, BASE + 488);
  // realloc(moved, 400): the next chunk is the top: it grows in place, the top moves to +1016.
  t.is(d.realloc(moved, 400, w), moved);
  t.is(d.lastRealloc, 'in-place');
  t.is(d.lastBlock, 408);
  t.is(d.freeBytes(), 88 + (4096 - 40 - 1016));
  // realloc(p, 0): REALLOC_ZERO_BYTES_FREES is not defined: a realloc to a 16-byte chunk, in place.
  t.is(d.realloc(small, 0, w), small);
  t.is(d.lastRealloc, 'in-place');
  t.is(d.lastBlock, 16);
  // realloc(NULL, n) is malloc(n): 24 bytes, served from the dv (+496).
  t.is(d.realloc(NULL_ADDR, 20, w), BASE + 504);
  t.is(d.lastRealloc, 'allocated');
  // A growth that cannot fit anywhere fails and leaves the block.
  t.is(d.realloc(moved, 5000, w), NULL_ADDR);
  t.is(d.lastRealloc, 'failed');
  t.deepEqual(d.check(), []);
});

test('dlmalloc: realloc grows into the dv and into a free next chunk', (t) => {
  const w = newWork();
  const d = new DlmallocAllocator(BASE, 4096);
  const a = d.alloc(24, 0, w); // 32 at +480
  const b = d.alloc(200, 0, w); // 208 at +512
  d.alloc(24, 0, w); // 32 at +720
  d.free(b, w); // small bin 26
  d.alloc(100, 0, w); // 104 from bin 26 at +512; the 104 after it (+616) become the dv
  const c = d.alloc(24, 0, w); // 32 from the dv at +616; the dv is +648 (72)
  t.is(c, BASE + 624);
  // realloc(c, 60): nb = 64, next is the dv: 32 + 72 - 64 = 40 stays the dv at +680.
  t.is(d.realloc(c, 60, w), c);
  t.is(head(d, BASE + 680), 40 | 1);
  // Into a free next chunk: a (32 at +480) freed goes to small bin 4 and comes straight back (an
  // exact fit); the 104 bytes at +512 after it are freed to small bin 13.
  d.free(a, w);
  const a2 = d.alloc(24, 0, w);
  t.is(a2, a);
  d.free(BASE + 520, w);
  // realloc(a2, 100): nb = 104 <= 32 + 104: the next chunk is unlinked, the 32 past nb disposed (bin 4).
  t.is(d.realloc(a2, 100, w), a2);
  t.is(d.lastRealloc, 'in-place');
  t.is(d.lastBlock, 104);
  t.deepEqual(d.check(), []);
});

test('dlmalloc: memalign over-allocates, gives back the leader and the spare tail (internal_memalign)', (t) => {
  const w = newWork();
  const d = new DlmallocAllocator(0x10000, 8192);
  t.is(d.alloc(10, 0, w), 0x10000 + 488);
  // memalign(64, 100): nb = 104, req = 104 + 64 + 16 - 4 = 180 -> a 184-byte chunk at +496 (payload
  // +504). The next 64-aligned payload, +512, leaves an 8-byte leader (< MIN_CHUNK_SIZE), so +576:
  // the 72-byte leader goes to small bin 9; the 112 left are within nb + MIN_CHUNK_SIZE, kept whole.
  t.is(d.alloc(100, 64, w), 0x10000 + 576);
  t.is(d.lastBlock, 112);
  // memalign(4096, 10): nb = 16, req = 4124 -> 4128 bytes of the top at +680; the payload goes to
  // +4096: a 3408-byte leader to tree bin 7; of the 720 left, 704 past nb go back into the top.
  t.is(d.alloc(10, 4096, w), 0x10000 + 4096);
  t.is(d.lastBlock, 16);
  t.is(head(d, 0x10000 + 680), 3408 | 1);
  t.is(head(d, 0x10000 + 4104), 4048 | 1); // the top
  // memalign(8) and below is mspace_malloc: from the small bin 9 chunk (72) at +496, split for nb = 16.
  t.is(d.alloc(8, 8, w), 0x10000 + 504);
  t.deepEqual(d.check(), []);
});

test('dlmalloc: the words of a malloc from a fresh heap, at their addresses', (t) => {
  const d = new DlmallocAllocator(BASE, 4096);
  const w = tracedWork();
  // ms = BASE + 8: smallmap +0, treemap +4, dvsize +8, topsize +12, top +24.
  t.deepEqual(traced(t, w, () => t.is(d.alloc(0, 0, w), BASE + 488)), [
    'r 0x1008', // smallmap >> idx
    'r 0x1010', // nb > dvsize
    'r 0x100c', // treemap (no tree to try)
    'r 0x1010', // nb <= dvsize
    'r 0x1014', 'w 0x1014', // topsize -= nb
    'r 0x1020', 'w 0x1020', // top = top + nb
    'w 0x11f4', // the new top's head
    'w 0x11e4', // the chunk's head
  ]);
  // free: least_addr (ok_address), the head, the next chunk's head (the top), top and topsize, the
  // merged top's head, the dv test, trim_check (should_trim).
  t.deepEqual(traced(t, w, () => d.free(BASE + 488, w)), [
    'r 0x1018', 'r 0x11e4', 'r 0x11f4', 'r 0x1020', 'r 0x1014', 'w 0x1014', 'w 0x1020', 'w 0x11e4', 'r 0x101c', 'r 0x1024',
  ]);
  t.deepEqual(d.check(), []);
});

test('dlmalloc: check() is clean, and finds planted corruption', (t) => {
  const w = newWork();
  const d = new DlmallocAllocator(BASE, 4096);
  const a = d.alloc(100, 0, w);
  d.alloc(20, 0, w);
  d.free(a, w); // 104 bytes at +480, small bin 13
  t.deepEqual(d.check(), []);
  const words = d as unknown as { peek(a: number): number; poke(a: number, v: number): void };
  // A wild write over the free chunk's foot (the next chunk's prev_foot).
  const foot = FIRST + 104;
  words.poke(foot, 0x41414141);
  t.true(d.check().some((p) => p.includes('foot')), d.check().join('; '));
  words.poke(foot, 104);
  t.deepEqual(d.check(), []);
  // Its fd link.
  words.poke(FIRST + 8, FIRST + 999 * 8);
  t.true(d.check().length > 0);
  words.poke(FIRST + 8, BASE + 8 + 40 + 8 * 13);
  t.deepEqual(d.check(), []);
  // The smallmap bit of bin 13 cleared: the chunk is then in no bin.
  words.poke(BASE + 8, 0);
  t.true(d.check().some((p) => p.includes('neither the dv nor in its bin')), d.check().join('; '));
});

test('dlmalloc: metadataIn finds the malloc_state, heads, free links and feet, never a live payload', (t) => {
  const w = newWork();
  const d = new DlmallocAllocator(BASE, 4096);
  t.is(d.metadataIn(BASE, BASE + 4), -1); // msp's prev_foot: nobody's
  t.is(d.metadataIn(BASE, BASE + 5), BASE + 4); // msp's head, then the state
  t.is(d.metadataIn(FIRST - 1, FIRST + 8), FIRST - 1);
  const a = d.alloc(100, 0, w); // chunk +480, 104 bytes: payload [+488, +584), the next head at +588
  const b = d.alloc(300, 0, w); // chunk +584
  d.alloc(20, 0, w);
  t.is(d.metadataIn(a, a + 100), -1);
  t.is(d.metadataIn(a, BASE + 588), -1); // the usable 100 bytes run into the next chunk's prev_foot
  t.is(d.metadataIn(a, BASE + 589), BASE + 588);
  d.free(b, w); // 304 bytes: a tree chunk: head, fd, bk, child[0], child[1], parent, index; its foot
  t.is(d.metadataIn(BASE + 584, BASE + 592), BASE + 588);
  t.is(d.metadataIn(BASE + 592, BASE + 700), BASE + 592);
  t.is(d.metadataIn(BASE + 616, BASE + 888), -1);
  t.is(d.metadataIn(BASE + 616, BASE + 889), BASE + 888); // the foot = the next chunk's prev_foot
  // The top's head and the fake head in the top foot; nothing between.
  t.is(d.metadataIn(BASE + 4096 - 40, BASE + 4096), BASE + 4096 - 36);
});

test('dlmalloc: a full heap fails (sys_alloc cannot grow it); a shrink never fails; freeing all gives it all back', (t) => {
  const w = newWork();
  const d = new DlmallocAllocator(BASE, 4096);
  // The top serves nb < topsize only: 3576 - 8 = 3568 bytes is the largest chunk, a request of 3564.
  t.is(d.alloc(3565, 0, w), NULL_ADDR);
  const big = d.alloc(3564, 0, w);
  t.is(big, BASE + 488);
  t.is(d.alloc(0, 0, w), NULL_ADDR);
  t.is(d.realloc(big, 10, w), big);
  t.is(d.realloc(big, 2 ** 32 - 64, w), NULL_ADDR); // >= MAX_REQUEST
  t.is(d.alloc(2 ** 32 - 65, 0, w), NULL_ADDR);
  d.free(big, w);
  t.is(d.freeBytes(), 3576);
  t.deepEqual(d.check(), []);
});

test('dlmalloc: entry, misfit and bound', (t) => {
  t.is(dlmalloc.naturalAlign({}), 8);
  t.false(dlmalloc.reuseGuaranteed);
  t.is(dlmalloc.bound, null);
  t.true(dlmalloc.freesBlocks);
  t.is(dlmalloc.misfit!(528, {}, { policy: 'std' }), null);
  t.regex(dlmalloc.misfit!(527, {}, { policy: 'std' })!, /528 bytes/);
  const tiny = new DlmallocAllocator(BASE, 520); // capacity must exceed msize + TOP_FOOT_SIZE
  t.is(tiny.capacity(), 0);
  t.is(tiny.alloc(1, 0, newWork()), NULL_ADDR);
  t.deepEqual(tiny.check(), []);
  t.is(tiny.metadataIn(BASE, BASE + 520), -1);
});

for (const [base, size, maxRequest] of [
  [BASE, 4096, 600],
  [BASE, 16384, 2048],
  [0x80001004, 6000, 700],
  [0x10000, 96 * 1024, 9000],
] as const) {
  test(`property: dlmalloc (${size} bytes at 0x${base.toString(16)}) never overlaps, stays in bounds, aligns, accounts for every byte`, (t) => {
    checkAgainstModel(t, { make: () => new DlmallocAllocator(base, size), base, size, maxRequest, maxAlignLog: 10, freesBlocks: true, reuseGuaranteed: dlmalloc.reuseGuaranteed, naturalAlign: dlmalloc.naturalAlign({}), numRuns: 1500 });
  });
}
