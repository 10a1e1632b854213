import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readLines, MAX_LINE } from '../src/import/lines.js';
import { readMtrace } from '../src/import/mtrace.js';
import { PointerIds, pointerKey, hexSize, type FieldOp } from '../src/import/ops.js';
import { FORMATS, readLog } from '../src/import/read.js';
import { computeStats, formatStats } from '../src/import/stats.js';
import { InputError, UsageError } from '../src/input/errors.js';
import { tempDir } from './helpers/scenario.js';

const dir = tempDir();

test('formatStats: aligned columns, thousands separators, where to look', (t) => {
  const s = computeStats(readMtrace([
    '= Start', //               1
    '+ 0x10 0x2710', //         2 p1 = 10,000
    '+ 0x20 0x186a0', //        3 p2 = 100,000   live 110,000 (peak), 2 blocks
    '- 0x10', //                4
    '- 0x10', //                5 double free
    '- 0x99', //                6 unknown free
    '+ 0x30 0x8', //            7 p3 = 8
    '+ (nil) 0x10000000', //    8 refused 256 MiB; no "= End": truncated
  ]));
  t.is(formatStats(s), [
    'lines                            8',
    'allocations                      3',
    'frees                            1',
    'reallocations                    0',
    'refused requests                 1',
    'peak live bytes            110,000  at line 3',
    'peak live blocks                 2  at line 3',
    'largest request        268,435,456  at line 8',
    'live at end, bytes         100,008',
    'live at end, blocks              2',
    'problem: unknown-free            1  first at line 6',
    'problem: double-free             1  first at line 5',
    'problem: truncated               1  first at line 8',
    '',
    'still live at the end:',
    '  id    bytes  allocated',
    '  p2  100,000  at line 3',
    '  p3        8  at line 7',
    '',
  ].join('\n'));
  t.regex(formatStats(computeStats(readMtrace(['= Start', '= End']))), /live at end, blocks  0\n\nnothing is live at the end\n$/);
});

test('computeStats: device faults by kind, the largest live blocks in a stable order, ops of unknown ids tolerated', (t) => {
  const ops: FieldOp[] = [
    { kind: 'alloc', id: 'a', size: 10, align: 0, time: null, line: 1 },
    { kind: 'alloc', id: 'b', size: 30, align: 0, time: null, line: 2 },
    { kind: 'alloc', id: 'c', size: 30, align: 0, time: null, line: 3 },
    { kind: 'alloc', id: 'd', size: 5, align: 0, time: null, line: 4 },
    { kind: 'alloc', id: 'e', size: 30, align: 0, time: null, line: 5 },
    { kind: 'alloc', id: 'f', size: 1, align: 0, time: null, line: 6 },
    { kind: 'alloc', id: 'g', size: 2, align: 0, time: null, line: 7 },
    { kind: 'fault', fault: 'oom', addr: null, time: 9, line: 8 },
    { kind: 'fault', fault: 'guard-hit', addr: 0x100, time: 10, line: 9 },
    { kind: 'fault', fault: 'oom', addr: null, time: 11, line: 10 },
    { kind: 'free', id: 'zz', time: null, line: 11 },
    { kind: 'realloc', id: 'a', size: 40, time: null, line: 12 },
  ];
  const s = computeStats(ops);
  t.deepEqual(Object.entries(s.faults), [['guard-hit', 1], ['oom', 2]]);
  t.deepEqual(s.live_at_end.largest.map((b) => b.id), ['a', 'b', 'c', 'e', 'd']);
  t.like(s, { lines: 12, frees: 1, peak_live_bytes: 138, peak_live_blocks: 7, largest_request: 40, largest_request_line: 12 });
  t.regex(formatStats(s, 'record'), /^records +12\n[^]*device fault: guard-hit +1\ndevice fault: oom +2\n\nstill live at the end \(the 5 largest of 7\):/);
});

test('readLog: unknown formats and missing files are usage errors', (t) => {
  t.deepEqual([...FORMATS], ['mtrace', 'android', 'csapp', 'native']);
  t.throws(() => readLog(join(dir, 'nope.log'), 'mtrace'), { instanceOf: UsageError, message: /no such log file/ });
  t.throws(() => readLog(dir, 'mtrace'), { instanceOf: UsageError, message: /not a file/ });
  const path = join(dir, 'x.log');
  writeFileSync(path, '= Start\n');
  t.throws(() => readLog(path, 'valgrind'), { instanceOf: UsageError, message: 'unknown field-log format "valgrind" (expected one of: mtrace, android, csapp, native)' });
});

test('readLines: any chunk size splits the same lines, across CRLF pairs and multi-byte characters', (t) => {
  const text = 'ä first\r\n\r\nsecond line €\n\nthird 🙂 line\r\nlast without newline';
  const path = join(dir, 'lines.txt');
  writeFileSync(path, text);
  const expected = ['ä first', '', 'second line €', '', 'third 🙂 line', 'last without newline'];
  for (let chunk = 1; chunk <= 12; chunk++) t.deepEqual([...readLines(path, chunk)], expected, `chunk ${chunk}`);
  t.deepEqual([...readLines(path)], expected);
  writeFileSync(path, 'one\r\n');
  t.deepEqual([...readLines(path, 4)], ['one']);
  writeFileSync(path, '');
  t.deepEqual([...readLines(path)], []);
  writeFileSync(path, '\n');
  t.deepEqual([...readLines(path)], ['']);
});

test('readLines: a line longer than MAX_LINE is refused as not a text log', (t) => {
  const path = join(dir, 'long.txt');
  writeFileSync(path, `short\n${'x'.repeat(MAX_LINE + 10)}\n`);
  const error = t.throws(() => [...readLines(path)], { instanceOf: InputError });
  t.is(error?.pos.line, 2);
});

test('PointerIds remembers at least the last N freed pointers to tell double frees from unknown ones', (t) => {
  const ids = new PointerIds(4);
  for (let i = 1; i <= 10; i++) ids.alloc(`${i}`, 8, 0, i, null);
  for (let i = 1; i <= 10; i++) ids.free(`${i}`, 10 + i, null);
  const what = (p: string) => (ids.free(p, 100, null) as { what?: string }).what;
  t.is(what('a'), 'unknown-free');
  for (const p of ['10', '9', '8', '7']) t.is(what(p), 'double-free', p);
  t.is(what('1'), 'unknown-free');
  t.is(ids.liveCount, 0);
});

test('pointer and size tokens', (t) => {
  t.is(pointerKey('0x55ebe8cfb2a0'), '55ebe8cfb2a0');
  t.is(pointerKey('0X00ABc0'), 'abc0');
  t.is(pointerKey('abc0'), 'abc0');
  for (const nil of ['(nil)', '(null)', '0x0', '0', '0x0000']) t.is(pointerKey(nil), '', nil);
  for (const bad of ['0x', '0xg1', '(nul)', '', '-1']) t.is(pointerKey(bad), undefined, bad);
  t.is(hexSize('0'), 0);
  t.is(hexSize('0x1F'), 31);
  for (const bad of ['', '0x', '10', '0xz', '00']) t.is(hexSize(bad), -1, bad);
});
