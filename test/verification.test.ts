/**
 * Verification levels are checks, each at its cost: `minimal` checks an access through a block
 * against its bounds, `standard` also every access's alignment, `full` also checksums the allocator's
 * metadata so that harm to a header is found at the next operation on its heap. The same writes
 * under `none` behave as without any checks.
 */
import test from 'ava';
import type { TraceEvent } from '../src/trace/schema.js';
import { ofType, runText } from './helpers/scenario.js';

const faults = (events: TraceEvent[]) => ofType(events, 'fault').filter((f) => f.kind !== 'leak');
const summary = (fs: TraceEvent[]) => fs.map((f) => [f.kind, f.detected, f.line, f.cause_line ?? null]);

/** Two first-fit blocks on the PSX (8-byte headers): a at 0x00150008, b's header at 0x00150070. */
function heapOf(verification: string, steps: string): TraceEvent[] {
  return runText(`
target: psx
verification: ${verification}
heaps: [{name: h, allocator: first-fit, in: .wrt_scratch}]
steps:
  - alloc: {id: a, heap: h, size: 100}
  - alloc: {id: b, heap: h, size: 16}
${steps}`).events;
}

test('minimal: an off-by-one write through a block is out-of-bounds at once; under none it is silent', (t) => {
  const offByOne = '  - write: {id: a, offset: 100, len: 1, width: 1}\n  - free: a\n  - free: b\n';
  t.deepEqual(summary(faults(heapOf('none', offByOne))), [['out-of-bounds', 'silent', 8, null]]);
  const minimal = faults(heapOf('minimal', offByOne));
  t.deepEqual(summary(minimal), [['out-of-bounds', 'precise', 8, null]]);
  t.regex(minimal[0].detail as string, /1 bytes past the end of id a \(100 bytes at 0x00150008\), caught by the bounds check \(verification minimal\)/);
  // The level's extra bytes hide nothing: the overflow is reported whatever the padding.
  for (const level of ['standard', 'full']) t.deepEqual(summary(faults(heapOf(level, offByOne))), [['out-of-bounds', 'precise', 8, null]], level);
});

test('minimal: a write past a block into the next header is stopped before it lands; under none it corrupts the heap', (t) => {
  // a's block is 112 bytes under none (100 + 8, rounded), so offset 104 is b's header.
  const over = '  - write: {id: a, offset: 100, len: 8, width: 4}\n  - free: b\n  - free: a\n';
  t.deepEqual(summary(faults(heapOf('none', over))), [['heap-corrupt', 'delayed', 9, 8]]);
  t.deepEqual(summary(faults(heapOf('minimal', over))), [['out-of-bounds', 'precise', 8, null]]);
});

test('full: a stray write over a header is found at the next operation on that heap, precisely, naming the write', (t) => {
  // A wild pointer (no block to bound it) writes b's header; the next alloc on the heap checks the checksums.
  const stray = (heapB: number) => `  - write: {addr: ${heapB}, len: 4}\n  - idle: 100\n  - alloc: {id: c, heap: h, size: 8}\n  - free: c\n  - free: b\n  - free: a\n`;
  const full = faults(heapOf('full', stray(0x00150078)));
  t.deepEqual(summary(full), [['heap-corrupt', 'precise', 10, 8]]);
  t.regex(full[0].detail as string, /write of 4 bytes at 0x00150078 \(op 3, line 8\) overwrote h's allocator metadata at 0x00150078/);
  t.is(full[0].op, 5);
  // Under none the same harm waits for a free that reads b's header: c's, its neighbour's (line 11).
  const none = faults(heapOf('none', stray(0x00150070)));
  t.deepEqual(summary(none), [['heap-corrupt', 'delayed', 11, 8]]);
});

test('standard: a misaligned access is caught by the alignment check even where the CPU allows it', (t) => {
  const read = (verification: string) => faults(runText(`target: qnx\nverification: ${verification}\nsteps:\n  - read: {addr: 0x84000002, width: 4}\n`).events);
  t.deepEqual(summary(read('none')), []);
  t.deepEqual(summary(read('minimal')), []);
  t.deepEqual(summary(read('standard')), [['misaligned', 'precise', 4, null]]);
  t.regex(read('full')[0].detail as string, /not 4-byte aligned, caught by the alignment check \(verification full\)/);
});

test('every check costs cycles: 2 a bounds check, 1 an alignment check, per access', (t) => {
  const cost = (verification: string, at: string) =>
    ofType(runText(`target: psx\nverification: ${verification}\nheaps: [{name: h, allocator: bump, in: .wrt_scratch}]\nsteps:\n  - alloc: {id: a, heap: h, size: 64}\n  - read: {${at}, len: 64, width: 4}\n`).events, 'access')[0].cycles;
  const plain = 16 * 7; // 16 words from uncached RAM at 7 cycles a load
  t.is(cost('none', 'id: a'), plain);
  t.is(cost('minimal', 'id: a'), plain + 16 * 2);
  t.is(cost('standard', 'id: a'), plain + 16 * 3);
  t.is(cost('full', 'id: a'), plain + 16 * 3);
  // A raw address has no block to bound: only the alignment check applies.
  t.is(cost('minimal', 'addr: 0x00150000'), plain);
  t.is(cost('standard', 'addr: 0x00150000'), plain + 16);
});
