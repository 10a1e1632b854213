/**
 * Heaps that follow their dynamic segment (Allocator.extend): TLSF adds the new memory as a pool
 * (tlsf_add_pool), the free-list allocators and bump move their end, wasm's memory.grow asks its
 * segment for room; the others have no extend.
 */
import test from 'ava';
import { MetadataTrace, newWork, type Allocator, type SegmentMemory } from '../src/alloc/allocator.js';
import { BestFitAllocator } from '../src/alloc/best-fit.js';
import { BumpAllocator } from '../src/alloc/bump.js';
import { FirstFitAllocator } from '../src/alloc/first-fit.js';
import { ALLOCATORS } from '../src/alloc/registry.js';
import { TlsfAllocator } from '../src/alloc/tlsf.js';
import { PAGE, WasmMemoryAllocator, wasm } from '../src/alloc/wasm.js';

const BASE = 0x10000;

/** Sums that hold for every allocator, after every call. */
function consistent(t: { deepEqual: (a: unknown, b: unknown, m?: string) => void; is: (a: unknown, b: unknown, m?: string) => void }, a: Allocator, what: string): void {
  t.deepEqual(a.check(), [], what);
  t.is(a.usedBytes() + a.freeBytes(), a.capacity(), what);
}

test('bump: the end moves with the segment; a shrink below the bump pointer is refused', (t) => {
  const b = new BumpAllocator(BASE, 256);
  const w = newWork();
  t.is(b.alloc(200, 0, w), BASE);
  t.is(b.alloc(100, 0, w), -1);
  t.true(b.extend(512, w));
  t.is(b.capacity(), 512);
  t.is(b.alloc(100, 0, w), BASE + 200);
  t.false(b.extend(299, w)); // the pointer is at 300
  t.is(b.capacity(), 512);
  t.true(b.extend(300, w));
  t.is(b.freeBytes(), 0);
  consistent(t, b, 'bump');
});

test('first-fit: a free block at the end grows; after a used one the new memory is a block given to free()', (t) => {
  const w = newWork();
  const grows = new FirstFitAllocator(BASE, 256);
  t.is(grows.alloc(200, 0, w), BASE + 8); // a 208-byte block, 48 free after it at BASE + 208
  t.true(grows.extend(512, w));
  t.is(grows.largestFree(), 304);
  t.is(grows.alloc(280, 0, w), BASE + 216);
  consistent(t, grows, 'free block grown');

  const fresh = new FirstFitAllocator(BASE, 256);
  t.is(fresh.alloc(248, 0, w), BASE + 8); // the whole heap
  t.is(fresh.freeBytes(), 0);
  t.true(fresh.extend(256 + 8, w)); // too few bytes for a block after a used one: they wait
  t.is(fresh.capacity(), 256);
  t.true(fresh.extend(512, w));
  t.is(fresh.capacity(), 512);
  t.is(fresh.freeBytes(), 256);
  t.is(fresh.alloc(200, 0, w), BASE + 256 + 8);
  consistent(t, fresh, 'new block');
});

test('first-fit: growth charges free()\'s list walk (K&R morecore), and the metadata trace matches the counts', (t) => {
  const heap = new FirstFitAllocator(BASE, 1024);
  const w = newWork();
  w.trace = new MetadataTrace();
  const blocks = [0, 1, 2, 3].map(() => heap.alloc(100, 0, w));
  heap.free(blocks[0], w);
  heap.free(blocks[2], w);
  t.is(heap.alloc(500, 0, w), BASE + 4 * 112 + 8); // the tail
  t.is(heap.freeBytes(), 2 * 112 + 1024 - 4 * 112 - 512);
  const before = { reads: w.reads, writes: w.writes, length: w.trace.length };
  t.true(heap.extend(2048, w));
  t.is(w.reads + w.writes - before.reads - before.writes, w.trace.length - before.length);
  consistent(t, heap, 'after growth');
  // A shrink takes bytes off the free block at the end, never a used one.
  t.true(heap.extend(1536, w));
  t.is(heap.capacity(), 1536);
  t.true(heap.extend(1000, w)); // the 512-byte block ends at 960; 40 bytes stay free
  t.false(heap.extend(968, w)); // 8 bytes would stay: not a block
  t.true(heap.extend(960, w)); // the free block goes entirely
  t.false(heap.extend(952, w)); // into the used block
  consistent(t, heap, 'after shrink');
});

test('first-fit and best-fit: a shrink that would leave less than a minimum block, or cut a used block, is refused', (t) => {
  for (const heap of [new FirstFitAllocator(BASE, 256), new BestFitAllocator(BASE, 256)]) {
    const w = newWork();
    heap.alloc(100, 0, w); // a 112-byte block, 144 free after it
    t.false(heap.extend(256 - 136, w)); // 8 bytes would be left of the free block
    t.true(heap.extend(256 - 144, w)); // the free block goes entirely
    t.is(heap.freeBytes(), 0);
    t.false(heap.extend(104, w));
    consistent(t, heap, heap.constructor.name);
  }
});

test('tlsf: growth is tlsf_add_pool over the new memory: a pool of its own after the old one, never merged with it', (t) => {
  const heap = new TlsfAllocator(BASE, 8192);
  const w = newWork();
  const tail = heap.largestFree();
  t.true(tail > 4000);
  t.true(heap.extend(16384, w));
  t.is(heap.capacity(), 16384);
  // The pool starts at the old end (8192 is aligned): its first size word there, the payload 4 bytes on,
  // 8192 - 8 bytes of pool overhead (the size word and the sentinel's).
  t.is(heap.largestFree(), 8184);
  t.is(heap.freeBytes(), tail + 8184);
  t.is(heap.alloc(8000, 0, w), BASE + 8196);
  t.is(heap.alloc(tail + 1, 0, w), -1); // the old pool's tail and the new pool do not merge
  consistent(t, heap, 'two pools');
  heap.free(BASE + 8196, w);
  t.is(heap.largestFree(), 8184);
  consistent(t, heap, 'freed in the second pool');
  t.false(heap.extend(12000, w)); // TLSF cannot give back part of a pool
  t.is(heap.capacity(), 16384);
});

test('tlsf: a growth too small for a pool waits for the next one; the metadata trace matches the counts', (t) => {
  const heap = new TlsfAllocator(BASE, 8192);
  const w = newWork();
  w.trace = new MetadataTrace();
  t.true(heap.extend(8192 + 16, w)); // 16 bytes: 8 of overhead and less than a 12-byte minimum block
  t.is(heap.capacity(), 8192);
  t.is(w.trace.length, 0);
  t.true(heap.extend(8192 + 64, w));
  t.is(heap.capacity(), 8256);
  t.is(heap.largestFree() >= 56, true);
  t.is(w.reads + w.writes, w.trace.length);
  t.true(w.instructions > 0);
  consistent(t, heap, 'small pool');
});

test('tlsf: growing past 64 MiB moves the live index from direct to probed without losing a block', (t) => {
  const heap = new TlsfAllocator(BASE, 1024 * 1024);
  const w = newWork();
  const low = heap.alloc(1000, 0, w);
  t.true(heap.extend(80 * 1024 * 1024, w));
  const high = heap.alloc(70 * 1024 * 1024, 0, w);
  t.true(high > BASE + 1024 * 1024);
  t.is(heap.free(low, w), 1004);
  t.true(heap.free(high, w) > 0);
  consistent(t, heap, 'grown');
});

test('wasm in a dynamic segment: memory.grow asks the segment first and returns -1 when it says no', (t) => {
  const asked: number[] = [];
  let room = 3 * PAGE;
  const segment: SegmentMemory = {
    request: (size) => {
      asked.push(size);
      return size <= room;
    },
  };
  // Made over a one-page segment: the segment's size is no limit of the memory's, the arena is.
  const m = wasm.create(BASE, PAGE, { max_pages: 64 }, { policy: 'std', segment }) as WasmMemoryAllocator;
  t.is(m.maxPages, 64);
  const w = newWork();
  t.is(m.grow(2, w), 1);
  t.is(m.grow(1, w), -1);
  t.deepEqual(asked, [3 * PAGE, 4 * PAGE]);
  room = 4 * PAGE;
  t.is(m.grow(1, w), 3);
  t.is(m.capacity(), 4 * PAGE);
  t.is(m.grow(61, w), -1); // max_pages: refused before the segment is asked
  t.deepEqual(asked, [3 * PAGE, 4 * PAGE, 4 * PAGE]);
  t.deepEqual(m.diagnostics(), { pages: 4, max_pages: 64, grows: 2, grow_failures: 2 });
  // A segment step may give the memory room, never less than it has.
  t.true(m.extend(8 * PAGE));
  t.false(m.extend(3 * PAGE));
  // Outside a dynamic segment there is no extend to call: the heap is the memory's limit.
  t.false(new WasmMemoryAllocator(BASE, 4 * PAGE, { initialPages: 1, maxPages: 4, instanceLimit: 16 << 20, autoGrow: false }).extend(8 * PAGE));
  t.is(wasm.misfit!(PAGE, { initial_pages: 2 }, { policy: 'std', segment }), `${PAGE} bytes cannot hold initial_pages 2 (${2 * PAGE} bytes)`);
});

test('which allocators follow their segment: tlsf, first-fit, best-fit, bump and wasm; the others have no extend', (t) => {
  const follows = [...ALLOCATORS].filter(([, entry]) => {
    const context = { policy: 'std' as const, segment: { request: () => true } };
    return typeof entry.create(BASE, 1 << 20, {}, context).extend === 'function';
  }).map(([name]) => name);
  t.deepEqual(follows, ['bump', 'tlsf', 'first-fit', 'best-fit', 'wasm']);
});
