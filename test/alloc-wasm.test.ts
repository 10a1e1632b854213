import test from 'ava';
import { newWork, type AllocatorContext } from '../src/alloc/allocator.js';
import { firstFit } from '../src/alloc/first-fit.js';
import { PAGE, WasmMemoryAllocator, wasm, type WasmOptions } from '../src/alloc/wasm.js';
import { checkAgainstModel } from './helpers/allocator-model.js';

const BASE = 0x10000;
const STD: AllocatorContext = { policy: 'std' };
const NO_STD: AllocatorContext = { policy: 'no_std_alloc' };

function memory(options: Partial<WasmOptions>, size = 64 * PAGE): WasmMemoryAllocator {
  return new WasmMemoryAllocator(BASE, size, { initialPages: 1, maxPages: 16, instanceLimit: 16 * 1024 * 1024, autoGrow: false, ...options });
}

test('wasm: grow returns the page count before, and -1 beyond max_pages', (t) => {
  const m = memory({ maxPages: 4 });
  const w = newWork();
  t.is(m.capacity(), PAGE);
  t.is(m.grow(1, w), 1);
  t.is(m.grow(2, w), 2);
  t.is(m.capacity(), 4 * PAGE);
  t.is(m.grow(0, w), 4); // memory.grow(0) is the current size
  t.is(m.grow(1, w), -1);
  t.is(m.capacity(), 4 * PAGE);
  t.is(m.freeBytes(), 4 * PAGE);
  t.is(m.largestFree(), 4 * PAGE);
  t.deepEqual(m.diagnostics(), { pages: 4, max_pages: 4, grows: 2, grow_failures: 1 });
  t.deepEqual(Object.keys(m.diagnostics()), ['pages', 'max_pages', 'grows', 'grow_failures']);
  t.deepEqual(m.check(), []);
});

test('wasm: grow returns -1 beyond the instance limit and beyond the heap', (t) => {
  const w = newWork();
  const limited = memory({ maxPages: 16, instanceLimit: 3 * PAGE });
  t.is(limited.diagnostics().max_pages, 3);
  t.is(limited.grow(3, w), -1);
  t.is(limited.grow(2, w), 1);
  t.is(limited.grow(1, w), -1);
  const small = memory({ maxPages: 16 }, 2 * PAGE + 100);
  t.is(small.diagnostics().max_pages, 2);
  t.is(small.grow(2, w), -1);
  t.is(small.grow(1, w), 1);
  t.is(small.grow(-1, w), -1);
});

test('wasm: default limits by policy (seed 000 DEFAULT_MAX_PAGES, seed 002 16 MiB instance limit)', (t) => {
  const heap = 64 * 1024 * 1024;
  // std: 1024 pages, but the default 16 MiB instance limit caps the memory at 256 pages.
  t.is(wasm.create(BASE, heap, {}, STD).diagnostics!().max_pages, 256);
  t.is(wasm.create(BASE, heap, { instance_limit: 100 * 1024 * 1024 }, STD).diagnostics!().max_pages, 1024);
  t.is(wasm.create(BASE, heap, {}, NO_STD).diagnostics!().max_pages, 16);
  t.is(wasm.create(BASE, heap, {}, { policy: 'no_alloc' }).diagnostics!().max_pages, 16);
  const m = wasm.create(BASE, heap, {}, NO_STD);
  t.is(m.capacity(), PAGE); // initial_pages defaults to 1
  t.is(wasm.options.instance_limit.max, 100 * 1024 * 1024);
  t.is(wasm.bound, firstFit.bound);
  t.true(wasm.grows && wasm.freesBlocks && wasm.reuseGuaranteed && !wasm.modes && !wasm.errorCodes);
});

test('wasm: an allocation that fails before a grow succeeds after it, in the merged top block', (t) => {
  const m = memory({ maxPages: 4 });
  const w = newWork();
  t.is(m.alloc(70000, 8, w), -1);
  t.is(m.grow(1, w), 1);
  t.is(m.alloc(70000, 8, w), BASE + 8); // first fit's 8-byte header in front
  t.is(m.lastBlock, 70008);
  t.is(m.usedBytes(), 70008);
  t.is(m.usedBytes() + m.freeBytes(), m.capacity());

  // A free block at the top merges with the new page.
  const n = memory({ maxPages: 4 });
  t.is(n.alloc(60000, 8, w), BASE + 8); // a 60008-byte block; 5528 bytes stay free at the top
  t.is(n.alloc(10000, 8, w), -1);
  t.is(n.grow(1, w), 1);
  t.is(n.alloc(70000, 8, w), BASE + 60008 + 8); // 5528 + 65536 bytes in one free block
  t.deepEqual(n.check(), []);
});

test('wasm: auto_grow grows by the pages a request needs, within the limit', (t) => {
  const m = memory({ maxPages: 4, autoGrow: true });
  const w = newWork();
  t.is(m.alloc(100000, 8, w), BASE + 8); // 100008 bytes: two more pages
  t.deepEqual(m.diagnostics(), { pages: 3, max_pages: 4, grows: 1, grow_failures: 0 });
  t.is(m.capacity(), 3 * PAGE);
  // 200008 bytes need four pages, one is left: memory.grow returns -1 and the allocation fails.
  t.is(m.alloc(200000, 8, w), -1);
  t.deepEqual(m.diagnostics(), { pages: 3, max_pages: 4, grows: 1, grow_failures: 1 });
  t.is(m.alloc(50000, 8, w), BASE + 100008 + 8); // fits without growing
  t.is(m.diagnostics().pages, 3);
  t.deepEqual(m.check(), []);

  // From zero pages.
  const z = memory({ initialPages: 0, maxPages: 2, autoGrow: true });
  t.is(z.capacity(), 0);
  t.is(z.alloc(16, 4096, w), BASE + 4096);
  t.is(z.diagnostics().pages, 1);
  t.deepEqual(z.check(), []);

  // Without auto_grow the memory stays as it is.
  const fixed = memory({ maxPages: 4 });
  t.is(fixed.alloc(100000, 8, w), -1);
  t.is(fixed.diagnostics().grows, 0);
});

test('wasm: capacity tracks pages and used + free equals it', (t) => {
  const m = memory({ maxPages: 8 });
  const w = newWork();
  const a = m.alloc(1000, 8, w);
  const b = m.alloc(2000, 64, w);
  for (const pages of [1, 2, 3]) {
    m.grow(1, w);
    t.is(m.capacity(), (pages + 1) * PAGE);
    t.is(m.usedBytes() + m.freeBytes(), m.capacity());
  }
  m.free(a, w);
  m.free(b, w);
  t.is(m.usedBytes(), 0);
  t.is(m.largestFree(), 4 * PAGE);
  t.deepEqual(m.check(), []);
});

test('wasm: misfit when the heap cannot hold initial_pages, or they exceed the limit', (t) => {
  t.is(wasm.misfit!(PAGE, {}, NO_STD), null);
  t.truthy(wasm.misfit!(PAGE - 1, {}, NO_STD));
  t.truthy(wasm.misfit!(3 * PAGE, { initial_pages: 4 }, NO_STD));
  t.truthy(wasm.misfit!(64 * PAGE, { initial_pages: 20 }, NO_STD)); // over the 16-page default
  t.is(wasm.misfit!(64 * PAGE, { initial_pages: 20 }, STD), null);
  t.truthy(wasm.misfit!(64 * PAGE, { initial_pages: 20, instance_limit: 16 * PAGE }, STD));
  t.is(wasm.misfit!(0, { initial_pages: 0 }, NO_STD), null);
});

test('wasm: check() detects a page count that disagrees with the allocator', (t) => {
  const m = memory({ maxPages: 4 });
  t.deepEqual(m.check(), []);
  (m as any).pages = 2;
  t.true(m.check().length > 0);
});

test('wasm: metadataIn reports first fit\'s metadata in the current memory only, never the walls', (t) => {
  const m = memory({ maxPages: 4 });
  const w = newWork();
  // The memory is [0x10000, 0x20000); the walls over pages 1..3 have their headers at 0x20000,
  // 0x30000, 0x40000 but are not memory yet. a: header [0x10000, 0x10008), payload [0x10008, 0x1006c),
  // block to 0x10070; the free rest: header [0x10070, 0x10078), links [0x10078, 0x10080).
  const a = m.alloc(100, 8, w);
  t.is(a, 0x10008);
  t.is(m.metadataIn(0x10000, 0x10001), 0x10000);
  t.is(m.metadataIn(a, a + 100), -1);
  t.is(m.metadataIn(0x1006f, 0x10071), 0x10070); // a's last byte, then the free block's header
  t.is(m.metadataIn(0x10078, 0x10080), 0x10078); // its links
  t.is(m.metadataIn(0x10080, 0x50000), -1); // the free rest, then the walls' headers above the memory
  t.is(m.metadataIn(0x20000, 0x20008), -1); // the lowest wall's header, at the memory's end
  // Grown by a page: that wall is freed into the free block, which now runs to 0x30000. A 64 KiB block
  // [0x10070, 0x20078) spans the old end; the free rest's header is at 0x20078, its links at 0x20080.
  t.is(m.grow(1, w), 1);
  t.is(m.metadataIn(0x10080, 0x50000), -1); // the next wall (0x30000) is still above the memory
  const b = m.alloc(0x10000, 8, w);
  t.is(b, 0x10078);
  t.is(m.metadataIn(b, b + 0x10000), -1); // including the old wall's header at 0x20000
  t.is(m.metadataIn(b, 0x50000), 0x20078);
  t.is(m.metadataIn(0x20080, 0x50000), 0x20080);
  t.is(m.metadataIn(0x20088, 0x50000), -1);
});

test('property: wasm with auto_grow never overlaps, stays in bounds, aligns, accounts for every byte', (t) => {
  const size = 6 * PAGE;
  checkAgainstModel(t, {
    // Requests up to 1.4 pages: auto_grow adds one or two pages at a time, and refuses near the limit.
    make: () => memory({ maxPages: 6, autoGrow: true }, size),
    base: BASE,
    size,
    maxRequest: 90000,
    maxAlignLog: 12,
    naturalAlign: wasm.naturalAlign({}),
    freesBlocks: true,
    reuseGuaranteed: true,
    numRuns: 3000,
  });
});
