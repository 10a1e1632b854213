import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readAndroid } from '../src/import/android.js';
import { streamViolations, type FieldOp } from '../src/import/ops.js';
import { readLog } from '../src/import/read.js';
import { computeStats } from '../src/import/stats.js';
import { InputError } from '../src/input/errors.js';
import { tempDir } from './helpers/scenario.js';

const dir = tempDir();
let files = 0;

function write(lines: string[], eol = '\n'): string {
  const path = join(dir, `log-${files++}.txt`);
  writeFileSync(path, lines.join(eol) + eol);
  return path;
}

// Three threads interleaved, as malloc_debug writes them.
const THREADS = [
  '100: malloc 0x1000 20', //              1  p1 = 20                    live 20, 1 block
  '101: calloc 0x2000 32 4', //            2  p2 = 32*4 = 128            live 148, 2
  '100: memalign 0x3000 64 100', //        3  p3 = 100, align 64         live 248, 3
  '101: realloc 0x4000 0x2000 200', //     4  p2 -> 200 (moved)          live 320, 3
  '102: realloc 0x5000 0x0 16', //         5  realloc(NULL, 16): p4 = 16 live 336, 4 (peak blocks)
  '100: free 0x1000', //                   6  free p1                    live 316, 3
  '102: realloc 0x0 0x5000 0', //          7  realloc(p4, 0): free p4    live 300, 2
  '101: malloc 0x0 4096', //               8  refused 4096
  '102: thread_done 0x0', //               9  ignored
  '100: memalign 0x6000 4096 8192', //     10 p5 = 8192, align 4096 (pvalloc) live 8492, 3 (peak bytes)
  '100: free 0x0', //                      11 free(NULL): ignored
  '101: free 0x4000', //                   12 free p2                    live 8292, 2
];

test('a multi-threaded record_allocs log: calloc, memalign with its alignment, realloc forms, all threads in log order', (t) => {
  const path = write(THREADS);
  const ops = [...readLog(path, 'android')];
  t.deepEqual(ops, [
    { kind: 'alloc', id: 'p1', size: 20, align: 0, time: null, line: 1, caller: 'tid 100' },
    { kind: 'alloc', id: 'p2', size: 128, align: 0, time: null, line: 2, caller: 'tid 101' },
    { kind: 'alloc', id: 'p3', size: 100, align: 64, time: null, line: 3, caller: 'tid 100' },
    { kind: 'realloc', id: 'p2', size: 200, time: null, line: 4, caller: 'tid 101' },
    { kind: 'alloc', id: 'p4', size: 16, align: 0, time: null, line: 5, caller: 'tid 102' },
    { kind: 'free', id: 'p1', time: null, line: 6, caller: 'tid 100' },
    { kind: 'free', id: 'p4', time: null, line: 7, caller: 'tid 102' },
    { kind: 'failed', id: null, size: 4096, align: 0, time: null, line: 8, caller: 'tid 101' },
    { kind: 'alloc', id: 'p5', size: 8192, align: 4096, time: null, line: 10, caller: 'tid 100' },
    { kind: 'free', id: 'p2', time: null, line: 12, caller: 'tid 101' },
  ] satisfies FieldOp[]);
  t.deepEqual(streamViolations(ops), []);
  const s = computeStats(ops);
  t.like(s, {
    allocs: 5, frees: 3, reallocs: 1, failed: 1,
    peak_live_bytes: 8492, peak_live_bytes_line: 10, peak_live_blocks: 4, peak_live_blocks_line: 5,
    largest_request: 8192, largest_request_line: 10,
  });
  t.deepEqual(s.live_at_end, { blocks: 2, bytes: 8292, largest: [{ id: 'p5', size: 8192, line: 10 }, { id: 'p3', size: 100, line: 3 }] });
  t.is(computeStats(readLog(path, 'android')).lines, 12);
});

test('the newer format with START_NS END_NS timestamps: the start time becomes the op time', (t) => {
  const ops = [...readAndroid([
    '200: malloc 0xa0 10 1000 1100',
    '201: memalign 0xb0 16 24 1200 1300',
    '200: free 0xa0 1400 1500',
    '201: thread_done 0x0 1600',
    '200: calloc 0xc0 2 8 1700 1800',
    '200: realloc 0xd0 0xc0 40 1900 2000',
    '201: free 0xb0', // old and new forms may mix (a hand-edited log): both are read
  ])];
  t.deepEqual(ops.map((op) => ('time' in op ? [op.kind, op.time] : [op.kind])), [['alloc', 1000], ['alloc', 1200], ['free', 1400], ['alloc', 1700], ['realloc', 1900], ['free', null]]);
  t.like(ops[1], { align: 16, size: 24 });
  t.like(ops[3], { size: 16 });
});

test('frees of unknown pointers, double frees and malformed records are problems; the stream goes on', (t) => {
  const ops = [...readAndroid([
    '1: malloc 0x10 8', //              1 p1
    '1: free 0x10', //                  2
    '1: free 0x10', //                  3 double free
    '2: free 0x99', //                  4 unknown free
    '2: realloc 0x20 0x98 4', //        5 unknown realloc, then p2
    '1: malloc 0x30', //                6 no size
    '1: malloc 0x30 8 1000', //         7 one timestamp
    '1: frobnicate 0x30 8', //          8 unknown type
    'x: malloc 0x30 8', //              9 no TID
    '1: malloc zz 8', //                10 no pointer
    '1:  malloc  0x30   8', //          11 odd spacing: read
    '2: realloc 0x0 0x20 64', //        12 failed realloc of p2 (size > 0): p2 stays
  ], 'a.log')];
  t.deepEqual(
    ops.map((op) => `${op.line} ${op.kind === 'problem' ? op.what : op.kind}`),
    ['1 alloc', '2 free', '3 double-free', '4 unknown-free', '5 unknown-realloc', '5 alloc', '6 malformed', '7 malformed', '8 malformed', '9 malformed', '10 malformed', '11 alloc', '12 failed'],
  );
  t.like(ops.at(-1), { kind: 'failed', id: 'p2', size: 64 });
  t.deepEqual(streamViolations(ops), []);
  t.like(computeStats(ops).live_at_end, { blocks: 2, bytes: 12 });
});

test('a file that is not a record_allocs log is rejected with file:line', (t) => {
  const mtrace = write(['= Start', '@ ./prog:[0x11b0] + 0x55ebe8cfb2a0 0x10', '= End']);
  const error = t.throws(() => [...readLog(mtrace, 'android')], { instanceOf: InputError });
  t.regex(String(error), new RegExp(`^${mtrace}:1:1: not an Android malloc_debug record_allocs log: .*"186: malloc 0xb6038060 20"`));
});
