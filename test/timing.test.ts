import test from 'ava';
import { newWork } from '../src/alloc/allocator.js';
import { TlsfAllocator } from '../src/alloc/tlsf.js';
import type { Region } from '../src/target/types.js';
import { DataCache } from '../src/timing/cache.js';
import { ofType, runText } from './helpers/scenario.js';

/** PSP main RAM as its target file has it: 70 cycles a read, 1 a write, 4-byte bus words. */
const RAM: Region = { name: 'ram', base: 0x08000000, size: 32 << 20, kind: 'ram', read: 70, write: 1, bus: 4, cpuMapped: true, dma: true, cached: true, device: false, views: [], mirrors: [], reserved: [], line: 0, col: 0 };

test('PSP data cache: 16 KiB, 2-way, 64-byte lines; a hit costs a cycle, a miss 70 for the first word and 1 for each next', (t) => {
  const cache = new DataCache({ size: 16 * 1024, line: 64, ways: 2, writeBack: true, invalidateAlign: null, asRam: null });
  const a = 0x08800000;
  const fill = 1 + 70 + 15; // 64-byte line = 16 words of 4 bytes: the first at the miss latency, 15 in the burst
  t.is(cache.access(a, false, RAM), fill);
  t.is(cache.access(a + 60, false, RAM), 1); // same line
  // 128 sets: a + 8 KiB maps to the same set, into the second way.
  t.is(cache.access(a + 8192, false, RAM), fill);
  t.is(cache.access(a, false, RAM), 1);
  // A third line in that set evicts the least recently used: a + 8 KiB.
  t.is(cache.access(a + 16384, false, RAM), fill);
  t.is(cache.access(a, false, RAM), 1);
  t.is(cache.access(a + 8192, false, RAM), fill);
});

test('a dirty victim is written back before its line is reused', (t) => {
  const cache = new DataCache({ size: 16 * 1024, line: 64, ways: 2, writeBack: true, invalidateAlign: null, asRam: null });
  const a = 0x08800000;
  cache.access(a, true, RAM); // write-allocate: the line is filled, then dirty
  cache.access(a + 8192, false, RAM);
  // a is now the LRU line of the set, and dirty: written back (1 for the first word, 15 for the burst).
  t.is(cache.access(a + 16384, false, RAM), 1 + 70 + 15 + 1 + 15);
});

test('a range is charged per line each access touches', (t) => {
  const cache = new DataCache({ size: 16 * 1024, line: 32, ways: 4, writeBack: true, invalidateAlign: null, asRam: null });
  const sram: Region = { ...RAM, read: 2, write: 1, bus: 4 };
  // 64 bytes from a line boundary, 4 bytes at a time: 2 misses (2 + 7 burst words) and 14 hits.
  t.is(cache.range(0x20020000, 64, 4, false, sram), 2 * (1 + 2 + 7) + 14);
  // An 8-byte access straddling two lines touches both.
  t.is(cache.range(0x20020040 - 4, 8, 8, false, sram), 1 + (1 + 2 + 7));
});


test('cache maintenance over a range larger than the cache: found from the tags, with the same lines, write-backs and first dirty line as line by line', (t) => {
  const geometry = { size: 16 * 1024, line: 64, ways: 2, writeBack: true, invalidateAlign: null, asRam: null };
  const dirtyLines = (cache: DataCache) => {
    for (const offset of [0x2000, 0x40, 0x1000]) {
      cache.access(0x08800000 + offset, true, RAM);
      cache.programWrote(0x08800000 + offset, 4, 9, 40 + offset);
    }
  };
  // 256 lines in the cache: 4 KiB (64 lines) is searched line by line, 1e9 bytes from the tags.
  const small = new DataCache(geometry);
  dirtyLines(small);
  const large = new DataCache(geometry);
  dirtyLines(large);
  t.deepEqual(small.dirtyUnder(0x08800000, 0x4000), { addr: 0x08800040, op: 9, line: 0x40 + 40 });
  t.deepEqual(large.dirtyUnder(0x08800000, 1e9), { addr: 0x08800040, op: 9, line: 0x40 + 40 });
  // Every line of the range is looked up (a cycle each); the three dirty ones are written back (1 + 15 each).
  t.deepEqual(small.maintain(true, false, 0x08800000, 0x4000, RAM), { cycles: 256 + 3 * 16, lines: 256, writtenBack: 3 });
  t.deepEqual(large.maintain(true, false, 0x08800000, 1e9, RAM), { cycles: 15_625_000 + 3 * 16, lines: 15_625_000, writtenBack: 3 });
  t.is(large.dirtyUnder(0x08800000, 1e9), null);
});

const allocCycles = (text: string) => ofType(runText(text).events, 'alloc').map((e) => e.cycles as number);

test('cycles: one TLSF alloc with its metadata in PSX RAM (7 a read) versus the scratchpad (1 a read)', (t) => {
  // Its work, from the allocator itself: a 100-byte request against the fresh heap's one free block.
  const w = newWork();
  new TlsfAllocator(0x1f800000, 1024, 1, 8).alloc(100, 8, w);
  // 100 bytes is above the small-block threshold (2 lists x 8 bytes), so the search rounds it up first.
  t.deepEqual([w.instructions, w.reads, w.writes], [134, 16, 18]);
  const on = (place: string) => allocCycles(`
target: psx
heaps: [{name: h, allocator: tlsf, in: ${place}, options: {sl_log2: 1, align: 8}}]
steps: [{alloc: {id: a, heap: h, size: 100}}, {free: a}]
`)[0];
  t.is(on('{in: .wrt_scratch, size: 1K}'), 134 + 16 * 7 + 18 * 1); // 264
  t.is(on('scratchpad'), 134 + 16 * 1 + 18 * 1); // 168
});

test('shape: first-fit\'s worst alloc grows with its free list, TLSF\'s stays put', (t) => {
  const probe = (allocator: string, holes: number) => {
    const cycles = allocCycles(`
target: psx
leak_check: false
heaps: [{name: h, allocator: ${allocator}, in: .wrt_scratch, options: ${allocator === 'tlsf' ? '{align: 8}' : '{}'}}]
steps:
  - repeat: {times: ${holes}, steps: [{alloc: {id: "hole-\${i}", heap: h, size: 48}}, {alloc: {id: "pin-\${i}", heap: h, size: 16}}]}
  - repeat: {times: ${holes}, steps: [{free: "hole-\${i}"}]}
  - alloc: {id: probe, heap: h, size: 256}
`);
    return cycles[cycles.length - 1];
  };
  const ff = [10, 100, 1000].map((n) => probe('first-fit', n));
  const tl = [10, 100, 1000].map((n) => probe('tlsf', n));
  // First-fit visits every hole before the tail: 4 instructions and 2 reads at 7 cycles a node.
  t.is(ff[1] - ff[0], 90 * (4 + 2 * 7));
  t.is(ff[2] - ff[1], 900 * (4 + 2 * 7));
  t.is(tl[0], tl[1]);
  t.is(tl[1], tl[2]);
});

test('shape: tlsf-bsd\'s worst cases are the most TLSF cycles any operation of a random run costs', (t) => {
  const { events } = runText(`
target: psx
heaps: [{name: h, allocator: tlsf, in: .wrt_scratch, options: {align: 8}}]
steps:
  - random: {heap: h, count: 5000, size: {uniform: [8, 4K]}, max_live: 16, stream: run}
  # malloc_worst: a request against the one huge free block the drained heap has become
  - alloc: {id: worst, heap: h, size: 1000}
  - alloc: {id: a, heap: h, size: 24}
  - alloc: {id: b, heap: h, size: 24}
  - free: worst
  - free: a
  # free_worst: b between two free neighbours (worst and a merged before it, the heap's free tail after)
  - free: b
`);
  const random = (type: string) => ofType(events, type).filter((e) => (e.id as string).startsWith('run#')).map((e) => e.cycles as number);
  const worstAlloc = ofType(events, 'alloc').find((e) => e.id === 'worst')!.cycles as number;
  const worstFree = ofType(events, 'free').find((e) => e.id === 'b')!.cycles as number;
  t.true(random('alloc').length > 2000);
  t.is(Math.max(...random('alloc')), worstAlloc);
  t.is(Math.max(...random('free')), worstFree);
});
