/**
 * malloc (`align` 0), size 0 and realloc, allocator by allocator, with exact addresses and work.
 * TLSF's are derived from mattconte/tlsf tlsf.c (tlsf_malloc, tlsf_realloc); the others from the
 * choices documented at each allocator.
 */
import test from 'ava';
import { MetadataTrace, NULL_ADDR, newWork, resetWork, type Allocator, type Work } from '../src/alloc/allocator.js';
import { BestFitAllocator } from '../src/alloc/best-fit.js';
import { BuddyAllocator } from '../src/alloc/buddy.js';
import { BumpAllocator } from '../src/alloc/bump.js';
import { DlmallocAllocator } from '../src/alloc/dlmalloc.js';
import { FirstFitAllocator } from '../src/alloc/first-fit.js';
import { HalfFitAllocator } from '../src/alloc/half-fit.js';
import { PoolAllocator } from '../src/alloc/pool.js';
import { PspSysmemAllocator, SCE_KERNEL_ERROR_MEMBLOCK_ALLOC_FAILED } from '../src/alloc/psp-sysmem.js';
import { ALLOCATORS } from '../src/alloc/registry.js';
import { TlsfAllocator } from '../src/alloc/tlsf.js';
import { PAGE, WasmMemoryAllocator } from '../src/alloc/wasm.js';

const BASE = 0x1000;
/** The first TLSF payload in a heap at BASE: the 3188-byte control structure (0xc74), then a size word. */
const TLSF_FIRST = 0x1c78;

/** [instructions, reads, writes] of `work`, which is then reset for the next call. */
function spent(work: Work): [number, number, number] {
  const counts: [number, number, number] = [work.instructions, work.reads, work.writes];
  resetWork(work);
  return counts;
}

/** Runs `call` on a fresh work record and returns its counts. */
function workOf(call: (w: Work) => unknown): [number, number, number] {
  const w = newWork();
  call(w);
  return spent(w);
}

function sum(...counts: Array<[number, number, number]>): [number, number, number] {
  return counts.reduce((a, c) => [a[0] + c[0], a[1] + c[1], a[2] + c[2]], [0, 0, 0]);
}

/**
 * An 8 KiB TLSF heap at BASE with a malloc of each of `sizes` in order, then the blocks at the indices
 * `freed` freed; `at` holds the addresses and `w` a work record, reset.
 */
function tlsfHeap(sizes: number[], freed: number[] = []): { h: TlsfAllocator; at: number[]; w: Work } {
  const w = newWork();
  const h = new TlsfAllocator(BASE, 8192);
  const at = sizes.map((size) => h.alloc(size, 0, w));
  for (const i of freed) h.free(at[i], w);
  resetWork(w);
  return { h, at, w };
}

/** tlsf_realloc's call, return and two tests (REALLOC_INSTRUCTIONS in tlsf.ts). */
const TLSF_REALLOC_ENTRY: [number, number, number] = [6, 0, 0];

test('natural alignment of every allocator, with default and given options', (t) => {
  const natural = Object.fromEntries([...ALLOCATORS].map(([name, entry]) => [name, entry.naturalAlign({})]));
  t.deepEqual(natural, { bump: 8, tlsf: 4, 'first-fit': 8, 'best-fit': 8, buddy: 16, 'half-fit': 16, pool: 8, 'psp-sysmem': 256, wasm: 8, dlmalloc: 8 });
  t.is(ALLOCATORS.get('tlsf')!.naturalAlign({ align: 8 }), 8);
  t.is(ALLOCATORS.get('buddy')!.naturalAlign({ min_block: 64 }), 64);
  t.is(ALLOCATORS.get('pool')!.naturalAlign({ align: 32 }), 32);
});

test('tlsf: align 0 is tlsf_malloc: 4-byte alignment, where memalign(8) skips to an 8-byte boundary with a leading block', (t) => {
  const w = newWork();
  const malloc = new TlsfAllocator(BASE, 8192);
  const memalign = new TlsfAllocator(BASE, 8192);
  // A 16-byte request takes a 20-byte block: the next payload is 0x1c78 + 20 = 0x1c8c, 4-aligned only.
  t.is(malloc.alloc(16, 0, w), TLSF_FIRST);
  t.deepEqual(spent(w), [124, 16, 18]);
  t.is(memalign.alloc(16, 4, w), TLSF_FIRST);
  // align 4 is ALIGN_SIZE: tlsf_memalign is tlsf_malloc there, word for word.
  t.deepEqual(spent(w), [124, 16, 18]);
  t.is(malloc.alloc(8, 0, w), 0x1c8c);
  t.deepEqual(spent(w), [124, 16, 18]);
  // memalign(8): 0x1c8c is 4 short of 0x1c90, a gap below a block, so it moves on by max(16 - 4, 8)
  // rounded to 8: 0x1ca0, and the 20-byte gap goes back as a free block of 16 payload bytes.
  t.is(memalign.alloc(8, 8, w), 0x1ca0);
  t.deepEqual(spent(w), [185, 21, 29]);
  t.is(malloc.freeBlockCount(), 1);
  t.is(memalign.freeBlockCount(), 2);
  t.deepEqual([malloc.check(), memalign.check()], [[], []]);
});

test('tlsf: malloc(0) and memalign(a, 0) are NULL after the call cost alone', (t) => {
  const w = newWork();
  const h = new TlsfAllocator(BASE, 8192);
  const used = h.usedBytes();
  // adjust_request_size(0) is 0 and block_locate_free(0) looks at nothing: MALLOC_INSTRUCTIONS only.
  t.is(h.alloc(0, 0, w), NULL_ADDR);
  t.deepEqual(spent(w), [22, 0, 0]);
  t.is(h.usedBytes(), used);
  // tlsf_memalign(a, 0): aligned_size is adjust, 0, at or below ALIGN_SIZE and above it alike.
  t.is(h.alloc(0, 4, w), NULL_ADDR);
  t.deepEqual(spent(w), [22, 0, 0]);
  t.is(h.alloc(0, 64, w), NULL_ADDR);
  t.deepEqual(spent(w), [22, 0, 0]);
  t.is(h.lastBlock, 0);
  t.is(h.usedBytes(), used);
  t.is(h.alloc(1, 4, w), TLSF_FIRST);
  t.is(h.lastBlock, 16);
});

test('tlsf: a shrinking realloc stays at its address and trims the tail into a free block', (t) => {
  const { h, at: [a], w } = tlsfHeap([100, 40]);
  const used = h.usedBytes();
  w.trace = new MetadataTrace();
  t.is(h.realloc(a, 40, w), a);
  t.is(h.lastRealloc, 'in-place');
  t.is(h.lastBlock, 44);
  t.is(h.lastMoved, 0);
  // The tail's 100 - 40 - 4 = 56 payload bytes are free; its size word counts as used.
  t.is(used - h.usedBytes(), 56);
  t.is(h.freeBlockCount(), 2);
  // The two size words tlsf_realloc reads first: a's at a - 4, the next block's at a + 100.
  t.deepEqual(w.trace.entries().slice(0, 2), [
    [a - 4, false],
    [a + 100, false],
  ]);
  t.is(w.trace.length, w.reads + w.writes);
  // 6 + 30 (realloc, resize) + 5 (trim) + 18 (split) + 3 (merge test) + 5 (mapping) + 16 (insert).
  t.deepEqual(spent(w), [83, 9, 11]);
  // Too little to split off (40 < 32 + 16): nothing moves, only the two size words and the trim test.
  w.trace = null;
  t.is(h.realloc(a, 30, w), a);
  t.deepEqual(spent(w), [41, 3, 0]);
  t.is(h.lastBlock, 44);
  t.deepEqual(h.check(), []);
});

test('tlsf: a shrink whose tail meets a free block merges with it (block_trim_used)', (t) => {
  const { h, at: [a], w } = tlsfHeap([100, 40, 40], [1]);
  t.is(h.realloc(a, 40, w), a);
  t.deepEqual(spent(w), [116, 14, 18]);
  t.is(h.freeBlockCount(), 2); // the merged tail and the pool's remainder
  // The tail (56) + b's header and payload (4 + 40) = 100 payload bytes at a + 44: an exact fit.
  t.is(h.alloc(100, 0, w), a + 44);
  t.deepEqual(h.check(), []);
});

test('tlsf: growing into a free next block stays at its address and trims the rest back', (t) => {
  const { h, at: [a], w } = tlsfHeap([40, 100, 8], [1]);
  // combined = 40 + 100 + 4 = 144 >= 100: block_merge_next, block_mark_as_used, then the trim leaves
  // 144 - 100 - 4 = 40 free bytes at a + 104.
  t.is(h.realloc(a, 100, w), a);
  t.is(h.lastRealloc, 'in-place');
  t.is(h.lastBlock, 104);
  t.deepEqual(spent(w), [126, 16, 20]);
  t.is(h.alloc(40, 0, w), a + 104);
  t.deepEqual(h.check(), []);
  // Exactly the combined size: the whole neighbour is absorbed, nothing is split off.
  const { h: g } = tlsfHeap([40, 100, 8], [1]);
  t.is(g.realloc(a, 144, w), a);
  t.is(g.lastBlock, 148);
  t.is(g.freeBlockCount(), 1);
  t.deepEqual(g.check(), []);
});

test('tlsf: a growth the next block cannot hold is tlsf_malloc, the copy (reported, not charged), tlsf_free', (t) => {
  const { h, at: [a], w } = tlsfHeap([40, 40]);
  const { h: twin } = tlsfHeap([40, 40]);
  const moved = h.realloc(a, 200, w);
  // After b (0x1ca4, 44 bytes): 0x1cd0.
  t.is(moved, 0x1cd0);
  t.is(h.lastRealloc, 'moved');
  t.is(h.lastBlock, 204);
  t.is(h.lastMoved, 40); // memcpy(p, ptr, min(cursize, size))
  // The work is the realloc's own (the two size words), then tlsf_malloc's and tlsf_free's.
  const own: [number, number, number] = [6 + 30, 2, 0];
  const malloc = workOf((v) => twin.alloc(200, 0, v));
  const free = workOf((v) => twin.free(a, v));
  t.deepEqual(spent(w), sum(own, malloc, free));
  // The old block was freed: the next 40-byte request gets it back.
  t.is(h.alloc(40, 0, w), a);
  t.deepEqual(h.check(), []);
});

test('tlsf: a failed move returns NULL and leaves the block as it was', (t) => {
  const w = newWork();
  const h = new TlsfAllocator(BASE, 4096);
  const a = h.alloc(100, 0, w);
  t.true(h.alloc(h.largestFree() - 100, 0, w) > a); // the rest, but a remainder too small to grow into
  resetWork(w);
  const used = h.usedBytes();
  t.is(h.realloc(a, 200, w), NULL_ADDR);
  t.is(h.lastRealloc, 'failed');
  t.is(h.usedBytes(), used);
  t.deepEqual(h.check(), []);
  t.is(h.free(a, w), 104); // still live, still 100 + 4 bytes
});

test('tlsf: realloc(p, 0) is tlsf_free and NULL; realloc(NULL, n) is tlsf_malloc', (t) => {
  const baseline = new TlsfAllocator(BASE, 8192).usedBytes();
  const { h, at: [a], w } = tlsfHeap([40]);
  const { h: twin } = tlsfHeap([40]);
  t.is(h.realloc(a, 0, w), NULL_ADDR);
  t.is(h.lastRealloc, 'freed');
  t.is(h.lastBlock, 0);
  t.is(h.usedBytes(), baseline);
  t.deepEqual(spent(w), sum(TLSF_REALLOC_ENTRY, workOf((v) => twin.free(a, v))));
  t.is(h.realloc(NULL_ADDR, 40, w), TLSF_FIRST);
  t.is(h.lastRealloc, 'allocated');
  t.is(h.lastBlock, 44);
  t.deepEqual(spent(w), sum(TLSF_REALLOC_ENTRY, workOf((v) => twin.alloc(40, 0, v))));
  // realloc(NULL, 0) is tlsf_malloc(0): NULL, and a failure (nothing was freed).
  t.is(h.realloc(NULL_ADDR, 0, w), NULL_ADDR);
  t.is(h.lastRealloc, 'failed');
  t.deepEqual(h.check(), []);
});

test('malloc(0) in every allocator, as each answers it', (t) => {
  const w = newWork();
  const twice = (a: Allocator): [number, number, number] => [a.alloc(0, 0, w), a.alloc(0, 0, w), a.lastBlock];
  // bump: one byte each, at the natural alignment, so the pointers differ (the second pays 7 bytes of padding).
  t.deepEqual(twice(new BumpAllocator(BASE, 256)), [0x1000, 0x1008, 8]);
  // first-fit, best-fit, wasm: a minimum block (16 bytes) each.
  t.deepEqual(twice(new FirstFitAllocator(BASE, 1024)), [0x1008, 0x1018, 16]);
  t.deepEqual(twice(new BestFitAllocator(BASE, 1024)), [0x1008, 0x1018, 16]);
  const memory = new WasmMemoryAllocator(BASE, PAGE, { initialPages: 1, maxPages: 1, instanceLimit: PAGE, autoGrow: false });
  t.deepEqual(twice(memory), [0x1008, 0x1018, 16]);
  // buddy: a min_block block each (the smallest free block: the cover's last top-level one, 32 bytes).
  t.deepEqual(twice(new BuddyAllocator(BASE, 4096)), [0x1ec0, 0x1ed0, 16]);
  // pool: a block each.
  t.deepEqual(twice(new PoolAllocator(BASE, 1024, 64)), [0x1000, 0x1040, 64]);
  // dlmalloc: request2size(0) = MIN_CHUNK_SIZE, a 16-byte chunk each, after the 480-byte malloc_state chunk.
  t.deepEqual(twice(new DlmallocAllocator(BASE, 4096)), [0x11e8, 0x11f8, 16]);
  // tlsf_malloc(0) and o1heapAllocate(0): NULL; o1heap does not count it as out of memory.
  t.deepEqual(twice(new TlsfAllocator(BASE, 8192)).slice(0, 2), [NULL_ADDR, NULL_ADDR]);
  const halfFit = new HalfFitAllocator(BASE, 4096);
  t.deepEqual(twice(halfFit).slice(0, 2), [NULL_ADDR, NULL_ADDR]);
  t.like(halfFit.diagnostics(), { allocated: 0, oom_count: 0, peak_request_size: 0 });
  // psp-sysmem: "Size 0x00000000: Failed (800200D9)".
  const psp = new PspSysmemAllocator(0x08800000, 0x10000);
  t.deepEqual(twice(psp).slice(0, 2), [NULL_ADDR, NULL_ADDR]);
  t.is(psp.lastError, SCE_KERNEL_ERROR_MEMBLOCK_ALLOC_FAILED);
});

test('psp-sysmem has no realloc: the kernel API has none', (t) => {
  const psp: Allocator = ALLOCATORS.get('psp-sysmem')!.create(0x08800000, 0x10000, {}, { policy: 'std' });
  t.is(psp.realloc, undefined);
});

test('first-fit: a shrink splits off the tail, a growth takes the free block after, else the block moves', (t) => {
  const w = newWork();
  const ff = new FirstFitAllocator(BASE, 1024);
  const a = ff.alloc(100, 0, w); // a 112-byte block at 0x1000
  ff.alloc(20, 0, w); // 32 bytes at 0x1070
  resetWork(w);
  // 40 bytes need 48: the 64-byte tail at 0x1030 is freed, first on the list.
  t.is(ff.realloc(a, 40, w), a);
  t.is(ff.lastBlock, 48);
  t.is(ff.freeListLength(), 2);
  t.deepEqual(spent(w), [20, 2, 8]);
  // 90 bytes need 104: the free tail right after holds the 56 missing; its 8-byte rest is no block, so all of it is taken.
  t.is(ff.realloc(a, 90, w), a);
  t.is(ff.lastRealloc, 'in-place');
  t.is(ff.lastBlock, 112);
  t.is(ff.freeListLength(), 1);
  t.deepEqual(spent(w), [10, 2, 4]);
  // 200 bytes: the next block is used, so a new block after it (0x1090), 104 payload bytes copied.
  t.is(ff.realloc(a, 200, w), 0x1098);
  t.is(ff.lastRealloc, 'moved');
  t.is(ff.lastMoved, 104);
  t.is(ff.alloc(100, 0, w), a); // the old block was freed
  // realloc(p, 0) is a shrink to the minimum block, never a free.
  t.is(ff.realloc(a, 0, w), a);
  t.is(ff.lastBlock, 16);
  t.deepEqual(ff.check(), []);
});

test('bump: the last block resizes in place, another shrinks in place and moves to grow', (t) => {
  const w = newWork();
  const bump = new BumpAllocator(BASE, 256);
  const a = bump.alloc(10, 0, w);
  const b = bump.alloc(10, 0, w);
  t.deepEqual([a, b], [0x1000, 0x1010]); // malloc's alignment: 8
  resetWork(w);
  t.is(bump.realloc(b, 30, w), b);
  t.is(bump.usedBytes(), 0x10 + 30);
  t.deepEqual(spent(w), [8, 2, 1]); // top and end read, top written
  t.is(bump.realloc(b, 4, w), b);
  t.is(bump.usedBytes(), 0x14);
  t.is(bump.realloc(a, 4, w), a); // not last: a shrink keeps the block as it is
  t.is(bump.lastBlock, 10);
  t.deepEqual(spent(w), [16, 4, 1]);
  // Not last and growing: a new block at 0x1018, 10 bytes copied; the old one stays taken.
  t.is(bump.realloc(a, 20, w), 0x1018);
  t.is(bump.lastRealloc, 'moved');
  t.is(bump.lastMoved, 10);
  t.is(bump.usedBytes(), 0x18 + 20);
  // The last block cannot grow past the heap's end, and moving would need more.
  t.is(bump.realloc(0x1018, 300, w), NULL_ADDR);
  t.is(bump.lastRealloc, 'failed');
  // Inside a scope entered after it, the last block is no longer the scope's to resize: it moves.
  t.true(bump.enter(w));
  t.is(bump.realloc(0x1018, 30, w), 0x1030);
  t.is(bump.exit(w), 0x1030 + 30 - 0x102c);
  t.is(bump.realloc(0x1018, 8, w), 0x1018); // and after the exit it is the last block again
  t.is(bump.usedBytes(), 0x20);
  t.deepEqual(bump.check(), []);
});

test('buddy: a shrink pushes the upper halves, a growth takes free upper buddies, a used buddy forces a move', (t) => {
  const w = newWork();
  const buddy = new BuddyAllocator(BASE, 4096);
  const a = buddy.alloc(200, 0, w);
  t.is(a, 0x1c00);
  t.is(buddy.diagnostics().free_blocks, 6);
  resetWork(w);
  // 256 -> 32: the halves of 128 (0x1c80), 64 (0x1c40) and 32 (0x1c20) go on their lists.
  t.is(buddy.realloc(a, 20, w), a);
  t.is(buddy.lastBlock, 32);
  t.is(buddy.diagnostics().free_blocks, 9);
  // 32 -> 128: the buddies at 0x1c20 and 0x1c40 are free and whole: taken back, no move.
  t.is(buddy.realloc(a, 120, w), a);
  t.is(buddy.lastRealloc, 'in-place');
  t.is(buddy.lastBlock, 128);
  t.is(buddy.diagnostics().free_blocks, 7);
  t.is(buddy.alloc(100, 0, w), 0x1c80); // the last free buddy, now used
  // 128 -> 256 needs the buddy at 0x1c80: used, so a new 256-byte block, 128 bytes copied.
  t.is(buddy.realloc(a, 200, w), 0x1d00);
  t.is(buddy.lastRealloc, 'moved');
  t.is(buddy.lastMoved, 128);
  t.deepEqual(buddy.check(), []);
});

test('half-fit: o1heap has no realloc, so every realloc moves, a shrink fails on a full heap, and size 0 frees', (t) => {
  const w = newWork();
  const h = new HalfFitAllocator(BASE, 1024);
  const a = h.alloc(100, 0, w); // a 128-byte fragment at 0x10a0
  t.is(a, 0x10b0);
  // Shrinking still takes a new fragment (64 bytes, after a's) and frees the old one: 20 bytes copied.
  const b = h.realloc(a, 20, w);
  t.is(b, 0x1130);
  t.is(h.lastRealloc, 'moved');
  t.is(h.lastMoved, 20);
  t.is(h.diagnostics().allocated, 64);
  while (h.alloc(16, 0, w) >= 0);
  const oom = h.diagnostics().oom_count;
  t.is(h.realloc(b, 10, w), NULL_ADDR);
  t.is(h.lastRealloc, 'failed');
  t.is(h.diagnostics().oom_count, oom + 1); // o1heapAllocate's failure is counted, as the wrapper's malloc
  t.is(h.realloc(b, 0, w), NULL_ADDR);
  t.is(h.lastRealloc, 'freed');
  t.deepEqual(h.check(), []);
});

test('pool: realloc stays in its block up to the block size and fails above it', (t) => {
  const w = newWork();
  const pool = new PoolAllocator(BASE, 1024, 64);
  const a = pool.alloc(10, 0, w);
  resetWork(w);
  t.is(pool.realloc(a, 64, w), a);
  t.is(pool.lastRealloc, 'in-place');
  t.is(pool.lastBlock, 64);
  t.deepEqual(spent(w), [3, 0, 0]);
  t.is(pool.realloc(a, 65, w), NULL_ADDR);
  t.is(pool.lastRealloc, 'failed');
  t.is(pool.realloc(a, 0, w), a);
  t.is(pool.realloc(NULL_ADDR, 8, w), a + 64);
  t.is(pool.lastRealloc, 'allocated');
});

test('wasm: with auto_grow, a realloc that does not fit grows the memory and the top block grows in place', (t) => {
  const w = newWork();
  const memory = new WasmMemoryAllocator(BASE, 3 * PAGE, { initialPages: 1, maxPages: 3, instanceLimit: 3 * PAGE, autoGrow: true });
  const a = memory.alloc(60000, 0, w);
  t.is(a, 0x1008);
  // 100000 bytes need a 100008-byte block: two pages grown, then first fit's in-place growth.
  t.is(memory.realloc(a, 100000, w), a);
  t.is(memory.lastRealloc, 'in-place');
  t.is(memory.lastBlock, 100008);
  t.is(memory.capacity(), 3 * PAGE);
  t.like(memory.diagnostics(), { pages: 3, grows: 1 });
  t.deepEqual(memory.check(), []);
  // Without auto_grow the same realloc fails and the block stays.
  const fixed = new WasmMemoryAllocator(BASE, 3 * PAGE, { initialPages: 1, maxPages: 3, instanceLimit: 3 * PAGE, autoGrow: false });
  const b = fixed.alloc(60000, 0, w);
  t.is(fixed.realloc(b, 100000, w), NULL_ADDR);
  t.is(fixed.lastRealloc, 'failed');
  t.is(fixed.free(b, w), 60008);
});
