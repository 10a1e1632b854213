/**
 * Memory bounded whatever the scenario (issue 14): once a small heap is full every allocation fails,
 * and a failing allocation must keep nothing per failure. Failed ids are remembered in a bounded ring
 * (FAILED_MEMORY), so free() of a recently failed id is still free(NULL).
 */
import test from 'ava';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { BlockTable, FAILED_MEMORY, FREED_MEMORY, type LiveBlock } from '../src/engine/blocks.js';
import { run } from '../src/engine/engine.js';
import type { Heap } from '../src/heap/heap.js';
import { parseScenario } from '../src/scenario/parse.js';
import { runText } from './helpers/scenario.js';

// A full collection before each sample, so that what is measured is what the run keeps.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const failing = (times: number) => `target: bare-metal
heaps: [{name: h, allocator: first-fit, in: {in: sram, size: 64K}}]
steps:
  - repeat: {times: ${times}, steps: [alloc: {id: "a\${i}", heap: h, size: 64}]}
`;

test('2 million failing allocations run in flat memory', (t) => {
  const scenario = parseScenario('/virtual/full.yaml', failing(2_000_000), 'h');
  const samples: number[] = [];
  const result = run(scenario, {
    sinks: [],
    progressEvery: 1 << 18,
    onProgress: () => {
      gc();
      samples.push(process.memoryUsage().heapUsed);
    },
  });
  t.is(result.summary.ops, 2_000_000);
  t.true(result.faultCount > 1_990_000);
  // The ring of failed ids is full after 65,536 failures; from the second sample on, nothing grows.
  // (Before: every failed id was kept, about 130 bytes each: some 200 MB more by the end.)
  t.true(samples.length >= 7, String(samples.length));
  const growth = samples.at(-1)! - samples[1];
  t.true(growth < 16 * 2 ** 20, `heap grew by ${(growth / 2 ** 20).toFixed(1)} MiB from op ${1 << 19} to ${samples.length << 18}`);
});

test('the block table keeps at most FAILED_MEMORY failed ids', (t) => {
  const table = new BlockTable();
  const heap = {} as Heap;
  const nullBlock = (op: number): LiveBlock => ({ heap, addr: -1, size: 64, crate: null, scope: 0, op, line: 1, logLine: null });
  for (let i = 0; i < 2_000_000; i++) table.setFailed(`a${i}`, nullBlock(i));
  t.is(table.remembered, FAILED_MEMORY);
  // The most recent are remembered as null pointers; the oldest are forgotten.
  t.is(table.get('a1999999')?.addr, -1);
  t.is(table.get('a0'), undefined);
  // An id failed long ago and bound again since is not dropped when its old failure leaves the ring.
  const again = new BlockTable();
  again.setFailed('x', nullBlock(0));
  again.set('x', { ...nullBlock(1), addr: 0x100 });
  for (let i = 0; i < FAILED_MEMORY; i++) again.setFailed(`b${i}`, nullBlock(i));
  t.is(again.get('x')?.addr, 0x100);
});

test('free of a recently failed id is still free(NULL): no fault', (t) => {
  const { result, events } = runText(`target: bare-metal
heaps: [{name: h, allocator: first-fit, in: {in: sram, size: 1K}}]
steps:
  - alloc: {id: big, heap: h, size: 4K}
  - free: big
`);
  t.deepEqual(Object.keys(result.summary.faults), ['oom']);
  const free = events.find((e) => e.type === 'free');
  t.is(free?.addr, null);
  t.is(free?.id, "big");
});

test('freed ids are found by the lazily built index: the latest free of an id wins, the oldest leave the ring, a held id is not freed', (t) => {
  const table = new BlockTable();
  const heap = {} as Heap;
  const block = (op: number, addr: number): LiveBlock => ({ heap, addr, size: 16, crate: null, scope: 0, op, line: 1, logLine: null });
  table.set('x', block(1, 0x100));
  table.release('x', block(1, 0x100));
  table.set('x', block(2, 0x200));
  t.is(table.freedBlock('x'), undefined); // held again
  table.release('x', block(2, 0x200));
  t.is(table.freedBlock('x')?.addr, 0x200); // the index is built here: the latest free wins
  // With the index kept up to date, then dropped after a ring of frees without a lookup, then rebuilt.
  for (let i = 0; i < FREED_MEMORY - 1; i++) table.release(`f${i}`, block(3 + i, 0x1000 + i));
  t.is(table.freedBlock('x')?.addr, 0x200); // still in the ring: one slot left
  for (let i = 0; i < FREED_MEMORY + 2; i++) table.release(`g${i}`, block(i, 0x9000));
  t.is(table.freedBlock('x'), undefined); // left the ring
  t.is(table.freedBlock('f0'), undefined);
  t.is(table.freedBlock(`g${FREED_MEMORY + 1}`)?.op, FREED_MEMORY + 1);
  t.is(table.remembered, FREED_MEMORY);
});
