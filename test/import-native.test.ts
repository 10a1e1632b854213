import test from 'ava';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Packr } from 'msgpackr';
import { readNative, writeNativeLog, type NativeRecord } from '../src/import/native.js';
import { streamViolations, type FieldOp } from '../src/import/ops.js';
import { readLog } from '../src/import/read.js';
import { computeStats } from '../src/import/stats.js';
import { InputError } from '../src/input/errors.js';
import { tempDir } from './helpers/scenario.js';

const dir = tempDir();
let files = 0;
const next = () => join(dir, `log-${files++}.emulog`);

// Record 1 is the header, so the first op is record 2.
const RECORDS: NativeRecord[] = [
  { op: 'alloc', ptr: 0x20001000, size: 64, align: 32, time: 10 }, //      2  p1 = 64 (align 32)   live 64
  { op: 'alloc', ptr: 0x20002000, size: 128, time: 20 }, //                3  p2 = 128             live 192
  { op: 'realloc', ptr: 0x20003000, old: 0x20001000, size: 256, time: 30 }, // 4 p1 -> 256        live 384 (peak)
  { op: 'free', ptr: 0x20002000, time: 40 }, //                            5  free p2              live 256
  { op: 'fault', kind: 'guard-hit', addr: 0x20003100, time: 50 }, //        6  what the device saw
  { op: 'realloc', ptr: 0, old: 0x20003000, size: 0, time: 60 }, //         7  realloc(p1, 0): free  live 0
  { op: 'alloc', ptr: 0, size: 1 << 20 }, //                               8  refused 1 MiB
  { op: 'realloc', ptr: 0x20004000, old: 0, size: 8 }, //                  9  realloc(NULL, 8): p3  live 8
  { op: 'fault', kind: 'heap-corrupt' }, //                                10 no address, no time
];

const OPS: FieldOp[] = [
  { kind: 'alloc', id: 'p1', size: 64, align: 32, time: 10, line: 2 },
  { kind: 'alloc', id: 'p2', size: 128, align: 0, time: 20, line: 3 },
  { kind: 'realloc', id: 'p1', size: 256, time: 30, line: 4 },
  { kind: 'free', id: 'p2', time: 40, line: 5 },
  { kind: 'fault', fault: 'guard-hit', addr: 0x20003100, time: 50, line: 6 },
  { kind: 'free', id: 'p1', time: 60, line: 7 },
  { kind: 'failed', id: null, size: 1 << 20, align: 0, time: null, line: 8 },
  { kind: 'alloc', id: 'p3', size: 8, align: 0, time: null, line: 9 },
  { kind: 'fault', fault: 'heap-corrupt', addr: null, time: null, line: 10 },
];

test('native round trip: what writeNativeLog writes, readLog reads back, fault records included', (t) => {
  const path = next();
  writeNativeLog(path, RECORDS, { meta: { device: 'psp', firmware: '6.61' } });
  const ops = [...readLog(path, 'native')];
  t.deepEqual(ops, OPS);
  t.deepEqual(streamViolations(ops), []);
  const s = computeStats(readLog(path, 'native'));
  // 11 records: header, 9 ops, end.
  t.like(s, { lines: 11, allocs: 3, frees: 2, reallocs: 1, failed: 1, peak_live_bytes: 384, peak_live_bytes_line: 4, largest_request: 1 << 20 });
  t.deepEqual(s.faults, { 'guard-hit': 1, 'heap-corrupt': 1 });
  t.like(s.live_at_end, { blocks: 1, bytes: 8 });
});

test('the writer streams a generator; 64-bit addresses as bigints stay exact', (t) => {
  const path = next();
  function* records(): Generator<NativeRecord> {
    for (let i = 0n; i < 5000n; i++) yield { op: 'alloc', ptr: 0xb400_0070_0000_0000n + i * 16n, size: 16 };
    for (let i = 0n; i < 5000n; i++) yield { op: 'free', ptr: 0xb400_0070_0000_0000n + i * 16n };
  }
  writeNativeLog(path, records());
  const s = computeStats(readLog(path, 'native'));
  t.like(s, { lines: 10_002, allocs: 5000, frees: 5000, peak_live_bytes: 80_000, peak_live_blocks: 5000 });
  t.true(Object.values(s.problems).every((n) => n === 0));
});

test('a log without its end record, or cut mid-record, ends with a truncated problem', (t) => {
  const crashed = next();
  writeNativeLog(crashed, RECORDS.slice(0, 3), { end: false });
  const ops = [...readLog(crashed, 'native')];
  t.like(ops.at(-1), { kind: 'problem', what: 'truncated', line: 4 });
  t.regex(ops.at(-1)!.kind === 'problem' ? (ops.at(-1) as { detail: string }).detail : '', /without an \{ op: 'end' \} record.*2 block\(s\) were live/);

  const cut = next();
  writeNativeLog(cut, RECORDS);
  truncateSync(cut, readFileSync(cut).length - 3);
  const cutOps = [...readLog(cut, 'native')];
  t.like(cutOps.at(-1), { kind: 'problem', what: 'truncated' });
  t.regex((cutOps.at(-1) as { detail: string }).detail, /cut off or damaged after record \d+/);
  t.deepEqual(cutOps.slice(0, 8), OPS.slice(0, 8));
});

test('records that decode but do not fit are malformed problems', (t) => {
  const path = next();
  const bad = [
    { op: 'grow', pages: 1 },
    { op: 'alloc', ptr: -1, size: 8 },
    { op: 'alloc', ptr: 16, size: 8, time: 'noon' },
    { op: 'fault', addr: 3 },
    [1, 2],
    { op: 'free', ptr: 32 },
  ] as unknown as NativeRecord[];
  writeNativeLog(path, bad);
  const ops = [...readLog(path, 'native')];
  t.deepEqual(ops.map((op) => `${op.line} ${op.kind === 'problem' ? op.what : op.kind}`), ['2 malformed', '3 malformed', '4 malformed', '5 malformed', '6 malformed', '7 unknown-free']);
});

test('a file that is not a native log is rejected at record 1', (t) => {
  const text = join(dir, 'text.log');
  writeFileSync(text, '= Start\n+ 0x10 0x8\n= End\n');
  t.throws(() => [...readLog(text, 'native')], { instanceOf: InputError, message: /not an emu native field log: record 1 is not a \{ format: 'emu-field-log' \} header/ });
  const empty = join(dir, 'empty.log');
  writeFileSync(empty, '');
  t.throws(() => [...readLog(empty, 'native')], { instanceOf: InputError, message: /the file is empty/ });
  t.throws(() => [...readNative([Buffer.from([0x85, 0xa2])], 'junk.bin')], { instanceOf: InputError, message: /does not decode as MessagePack/ });
  const packr = new Packr({ useRecords: false });
  t.throws(() => [...readNative([packr.pack({ op: 'alloc', ptr: 1, size: 1 })], 'a.bin')], { instanceOf: InputError, message: /record 1 is not/ });
  const error = t.throws(() => [...readNative([packr.pack({ format: 'emu-field-log', version: 2 })], 'v2.bin')], { instanceOf: InputError });
  t.is(String(error), 'v2.bin:1:1: native field log version 2; this emu reads version 1');
});

test('a record whose op is a 64-bit integer is malformed, and says so (JSON could not show the bigint: an internal error)', (t) => {
  const path = next();
  writeNativeLog(path, [{ op: 2n ** 60n }, { op: { of: [1n] } }] as unknown as NativeRecord[]);
  const problems = [...readLog(path, 'native')].filter((op) => op.kind === 'problem');
  t.deepEqual(problems.map((p) => (p as { detail: string }).detail), [
    'record 2: unknown op "1152921504606846976" (expected alloc, free, realloc, fault or end)',
    'record 3: unknown op {"of":["1"]} (expected alloc, free, realloc, fault or end)',
  ]);
});

