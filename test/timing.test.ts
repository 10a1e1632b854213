import test from 'ava';
import { DataCache } from '../src/timing/cache.js';
import type { Region } from '../src/target/types.js';

/** PSP main RAM as its target file has it: 70 cycles a read, 1 a write, 4-byte bus words. */
const RAM: Region = { name: 'ram', base: 0x08000000, size: 32 << 20, kind: 'ram', read: 70, write: 1, bus: 4, cpuMapped: true, dma: true, cached: true, views: [], mirrors: [], reserved: [], line: 0, col: 0 };

test('PSP data cache: 16 KiB, 2-way, 64-byte lines; a hit costs a cycle, a miss 70 for the first word and 1 for each next', (t) => {
  const cache = new DataCache({ size: 16 * 1024, line: 64, ways: 2, writeBack: true });
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
  t.deepEqual([cache.hits, cache.misses], [3, 4]);
});

test('a dirty victim is written back before its line is reused', (t) => {
  const cache = new DataCache({ size: 16 * 1024, line: 64, ways: 2, writeBack: true });
  const a = 0x08800000;
  cache.access(a, true, RAM); // write-allocate: the line is filled, then dirty
  cache.access(a + 8192, false, RAM);
  // a is now the LRU line of the set, and dirty: written back (1 for the first word, 15 for the burst).
  t.is(cache.access(a + 16384, false, RAM), 1 + 70 + 15 + 1 + 15);
});

test('a range is charged per line each access touches', (t) => {
  const cache = new DataCache({ size: 16 * 1024, line: 32, ways: 4, writeBack: true });
  const sram: Region = { ...RAM, read: 2, write: 1, bus: 4 };
  // 64 bytes from a line boundary, 4 bytes at a time: 2 misses (2 + 7 burst words) and 14 hits.
  t.is(cache.range(0x20020000, 64, 4, false, sram), 2 * (1 + 2 + 7) + 14);
  // An 8-byte access straddling two lines touches both.
  t.is(cache.range(0x20020040 - 4, 8, 8, false, sram), 1 + (1 + 2 + 7));
});
