import test from 'ava';
import { pack, Unpackr } from 'msgpackr';
import { existsSync, readFileSync, readdirSync, readlinkSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../src/engine/engine.js';
import { loadScenario } from '../src/scenario/parse.js';
import { ByteReader, ByteWriter } from '../src/trace/bytes.js';
import { schemaTables, withTables } from '../src/trace/format-doc.js';
import { MAX_NESTING, packValue, unpackValue } from '../src/trace/msgpack.js';
import { compareTraces } from '../src/trace/compare.js';
import { readTrace } from '../src/trace/reader.js';
import { RecordEncoder } from '../src/trace/records.js';
import { EVENTS, RING_SLOTS, type TraceEvent } from '../src/trace/schema.js';
import { EventCollector, TraceFileWriter } from '../src/trace/writer.js';
import { REPO, tempDir } from './helpers/scenario.js';

const goldens = readdirSync(join(REPO, 'golden'))
  .filter((f) => f.endsWith('.trace'))
  .sort();

function packed(value: unknown): Buffer {
  const w = new ByteWriter(16);
  packValue(w, value);
  return w.buf.subarray(0, w.pos);
}

function unpacked(bytes: Uint8Array): unknown {
  const r = new ByteReader();
  r.buf = Buffer.from(bytes);
  r.end = r.buf.length;
  const value = unpackValue(r);
  if (r.pos !== r.end) throw new Error(`${r.end - r.pos} bytes left over`);
  return value;
}

const VALUES: unknown[] = [
  0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, -(2 ** 53) + 1, 0.5, -2.25, 1e300,
  '', 'a', 'x'.repeat(31), 'x'.repeat(32), 'x'.repeat(300), 'x'.repeat(70000), 'é'.repeat(20), '€🙂'.repeat(40),
  true, false, null, [], [1, 'two', null], Array.from({ length: 20 }, (_, i) => i), Array.from({ length: 70000 }, () => 7),
  {}, { a: 1, b: { c: [1, { d: 'e' }] } }, Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i])),
];

/** msgpackr reading 64-bit integers as numbers, as emu's values hold them. */
const msgpackr = new Unpackr({ int64AsType: 'number', mapsAsObjects: true });

test('value fields are standard MessagePack: msgpackr reads what emu writes, and emu reads what msgpackr writes', (t) => {
  for (const value of VALUES) {
    const label = JSON.stringify(value).slice(0, 40);
    t.deepEqual(msgpackr.unpack(packed(value)), value, label);
    t.deepEqual(unpacked(pack(value)), value, label);
  }
});

test('values nest at most MAX_NESTING deep: deeper is damage, refused the same way whatever stack the reader has left', (t) => {
  const nested = (depth: number, open: number) => Buffer.concat([Buffer.alloc(depth, open), Buffer.from([0x01])]);
  t.deepEqual(JSON.stringify(unpacked(nested(MAX_NESTING, 0x91))), '['.repeat(MAX_NESTING) + '1' + ']'.repeat(MAX_NESTING));
  // Deep enough to run out of stack without the limit: a RangeError whose depth depended on the caller.
  for (const open of [0x91, 0x81]) t.throws(() => unpacked(nested(100_000, open)), { message: `MessagePack arrays and maps nested deeper than ${MAX_NESTING}` });
  t.throws(() => unpacked(nested(MAX_NESTING + 1, 0x91)), { message: /nested deeper than/ });
});

test('a map key named __proto__ is read as data, not as the prototype', (t) => {
  const value = unpacked(Buffer.from([0x81, 0xa9, ...Buffer.from('__proto__'), 0x01])) as Record<string, unknown>;
  t.deepEqual(Object.keys(value), ['__proto__']);
  t.is(Object.getPrototypeOf(value), Object.prototype);
});

test('the worked example of docs/trace-format.md is the bytes the encoder writes', (t) => {
  const w = new ByteWriter(64);
  const encoder = new RecordEncoder(w);
  encoder.event('place', 0, 0, { line: 25, what: 'heap', name: 'main', in: 'sram', addr: 0x20020000, size: 65536 });
  const start = w.pos;
  encoder.event('alloc', 1, 0, { line: 30, heap: 'main', id: 'a0', size: 100, align: 8, addr: 0x20020008, block: 104, cycles: 31 });
  const doc = readFileSync(join(REPO, 'docs', 'trace-format.md'), 'utf8');
  const example = doc.slice(doc.indexOf('### Example'), doc.indexOf('## Goldens'));
  const bytes = [...example.matchAll(/^((?:[0-9a-f]{2} )+) /gm)].flatMap((m) => m[1].trim().split(' ').map((b) => parseInt(b, 16)));
  t.deepEqual([...w.buf.subarray(start, w.pos)], bytes);
});

test("the document's event tables are the schema's", (t) => {
  const doc = readFileSync(join(REPO, 'docs', 'trace-format.md'), 'utf8');
  t.is(withTables(doc), doc, 'docs/trace-format.md is out of date: npm run build && node dist/src/trace/format-doc.js --write');
  for (const spec of EVENTS) t.true(schemaTables().includes(`### \`${spec.type}\` (tag ${spec.tag})`));
});

test('every golden reads back as the events a fresh run of its scenario gives', (t) => {
  t.true(goldens.length >= 20);
  for (const name of goldens) {
    const scenario = loadScenario(join(REPO, 'scenarios', name.replace(/\.trace$/, '.yaml')));
    const collector = new EventCollector();
    run(scenario, { sinks: [collector] });
    const read = [...readTrace(join(REPO, 'golden', name)).events];
    t.is(read.length, collector.events.length, name);
    t.deepEqual(read, collector.events, name);
    t.is(read.at(-1)?.type, 'end');
    t.is(read.at(-1)?.events, read.length);
  }
});

test('alloc/free-heavy goldens take at most 16 bytes an event, and all goldens together under 3 MB', (t) => {
  let total = 0;
  for (const name of goldens) total += statSync(join(REPO, 'golden', name)).size;
  t.true(total < 3 * 1024 * 1024, `${total} bytes`);
  const path = join(REPO, 'golden', 'allocators-compare.trace');
  const events = [...readTrace(path).events];
  t.true(events.filter((e) => e.type === 'alloc' || e.type === 'free').length > 0.9 * events.length);
  t.true(statSync(path).size / events.length <= 16, `${statSync(path).size / events.length} bytes an event`);
});

/** Writes events through a file writer and reads them back. */
function roundTrip(events: Array<[string, number, number, Record<string, unknown>]>): TraceEvent[] {
  const path = join(tempDir(), 'x.trace');
  const writer = new TraceFileWriter(path);
  writer.header({ type: 'header', format: 'emu-trace', version: 2, scenario: 's', scenario_sha256: '', target: 't', target_sha256: '', seed: 0, policy: 'std', verification: 'none' });
  for (const [type, op, cycle, fields] of events) writer.event(type, op, cycle, fields);
  writer.close();
  return [...readTrace(path).events];
}

test('more distinct names than the intern ring holds: old slots are reused, and every name reads back', (t) => {
  const n = RING_SLOTS + 500;
  const events: Array<[string, number, number, Record<string, unknown>]> = [];
  for (let i = 0; i < n; i++) events.push(['alloc', i, i * 3, { line: 1, heap: 'h', id: `b${i}`, size: i, align: 0, addr: i % 7 === 0 ? null : 0x8000_0000 + i * 16, block: i, cycles: 3 }]);
  // Names long gone from the ring come back as new strings; a recent one as a reference.
  for (const i of [0, 1, n - 1]) events.push(['free', n, n * 3, { line: 2, heap: 'h', id: `b${i}`, addr: 0x8000_0000 + i * 16, block: i, cycles: 0, error: null }]);
  events.push(['end', n, n * 3, { halted: false, events: n + 4, summary: { ok: true } }]);
  const read = roundTrip(events);
  t.is(read.length, events.length);
  read.forEach((e, i) => {
    const [type, op, cycle, fields] = events[i];
    t.deepEqual(e, { seq: i, op, cycle, type, ...fields });
  });
});

test('extreme values of every coding survive the round trip', (t) => {
  const events: Array<[string, number, number, Record<string, unknown>]> = [
    ['grow', 0, 0, { line: 2 ** 40, heap: 'é€🙂', pages: 2 ** 53 - 1, old_pages: -(2 ** 52), old_capacity: 0, capacity: 2 ** 32 }],
    ['grow', 0, 2 ** 53 - 1, { line: -5, heap: null, auto: true, old_capacity: 1, capacity: 2, cycles: 0 }],
    ['alloc', 5, 2 ** 53 - 1, { line: 0, heap: 'h', id: null, size: 0, align: 0, addr: 0xffff_ffff, block: 0, cycles: 0, mode: 'addr', at: 2 ** 52, error: -(2 ** 52), log_line: -3 }],
    ['fault', 5, 2 ** 53 - 1, { line: 3, kind: 'oom', detected: 'precise', heap: 'h', id: 'x', detail: 'd'.repeat(100000), cause_op: 4, cause_line: 1, log_line: 7 }],
    ['end', 6, 2 ** 53 - 1, { halted: true, events: 5, summary: null }],
  ];
  const read = roundTrip(events);
  read.forEach((e, i) => {
    const [type, op, cycle, fields] = events[i];
    t.deepEqual(e, { seq: i, op, cycle, type, ...fields });
  });
});

test('a record whose text outgrows the buffer keeps the integer fields after it (the buffer grows in the middle of a record)', (t) => {
  const collector = new EventCollector();
  const fields = { line: 3, kind: 'oom', detected: 'precise', heap: 'h', id: 'x', detail: 'é'.repeat(5000), cause_op: 2 ** 40, cause_line: 9, log_line: 2 ** 45 };
  collector.event('fault', 1, 2, fields);
  collector.event('fault', 2, 3, { ...fields, detail: 'short' });
  t.deepEqual(collector.events, [
    { seq: 0, op: 1, cycle: 2, type: 'fault', ...fields },
    { seq: 1, op: 2, cycle: 3, type: 'fault', ...fields, detail: 'short' },
  ]);
});

test('the encoder refuses what the schema does not hold, naming the event and field', (t) => {
  const encoder = new RecordEncoder(new ByteWriter(64));
  const free = { line: 1, heap: 'h', id: 'a', addr: 16, block: 8, cycles: 1 };
  t.throws(() => encoder.event('frees', 0, 0, free), { message: /no event type 'frees'/ });
  t.throws(() => encoder.event('free', 0, 0, { ...free, block: 1.5 }), { message: /free event: block = 1.5 is not an integer/ });
  t.throws(() => encoder.event('free', 0, 0, { ...free, block: -1 }), { message: /block = -1/ });
  t.throws(() => encoder.event('free', 0, 0, { ...free, heap: 3 }), { message: /free event: heap = 3 is not a string or null/ });
  t.throws(() => encoder.event('free', 0, 0, { line: 1, heap: 'h', id: 'a', addr: 16, cycles: 1 }), { message: /free event without its block field/ });
  encoder.event('free', 3, 100, free);
  t.throws(() => encoder.event('free', 2, 100, free), { message: /op went back by 1/ });
  t.throws(() => encoder.event('free', 3, 99, free), { message: /cycle went back by 1/ });
});

test('a trace cut anywhere, or with a damaged tag, is reported with the events read before it', (t) => {
  const dir = tempDir();
  const whole = readFileSync(join(REPO, 'golden', 'tlsf.trace'));
  const total = [...readTrace(join(REPO, 'golden', 'tlsf.trace')).events].length;
  for (const cut of [whole.length - 1, Math.floor(whole.length / 2), 400]) {
    const path = join(dir, `cut-${cut}.trace`);
    writeFileSync(path, whole.subarray(0, cut));
    let read = 0;
    const error = t.throws(() => {
      for (const _ of readTrace(path).events) read++;
    });
    t.regex(error!.message, /the trace is cut off (after \d+ events, with no end event|at byte \d+, inside event \d+)/);
    t.true(read > 0 && read < total, `${read} of ${total}`);
  }
  const damaged = Buffer.from(whole);
  t.true(whole[9] >= 0x80 && whole[10] < 0x80, 'a header length of two varint bytes');
  const headerEnd = 8 + 1 + 2 + (whole[9] & 0x7f) + whole[10] * 128; // magic, version, the length, the map
  damaged[headerEnd] = 0x7e; // tag 63: no such event type
  const path = join(dir, 'damaged.trace');
  writeFileSync(path, damaged);
  t.throws(() => [...readTrace(path).events], { message: new RegExp(`damaged at byte ${headerEnd}: unknown event tag 63 \\(0 events read before it\\)`) });
});

test('a version-1 trace and a file that is no trace are refused with what to do', (t) => {
  const dir = tempDir();
  const v1 = join(dir, 'v1.trace');
  writeFileSync(v1, Buffer.from(pack({ type: 'header', format: 'emu-trace', version: 1 })));
  t.throws(() => readTrace(v1), { message: /a version 1 trace \(MessagePack maps\); this emu reads version 2: record it again/ });
  const other = join(dir, 'other.trace');
  writeFileSync(other, 'hello world, not a trace');
  t.throws(() => readTrace(other), { message: /not an emu trace \(it does not begin with EMUTRACE\)/ });
  const empty = join(dir, 'empty.trace');
  writeFileSync(empty, '');
  t.throws(() => readTrace(empty), { message: /not an emu trace \(too short\)/ });
});

test('a comparison that stops at a damaged trace closes both files (each one it stopped left a descriptor open)', (t) => {
  // Linux lists a process's open files in /proc/self/fd; elsewhere there is nothing to count.
  const fds = '/proc/self/fd';
  if (!existsSync(fds)) return t.pass();
  const dir = tempDir();
  const good = join(dir, 'good.trace');
  const whole = readFileSync(join(REPO, 'golden', 'tlsf.trace'));
  writeFileSync(good, whole);
  const cut = join(dir, 'cut.trace');
  writeFileSync(cut, whole.subarray(0, whole.length >> 1));
  const other = join(dir, 'other.trace');
  writeFileSync(other, 'not a trace');
  const openOn = (path: string) => readdirSync(fds).filter((fd) => {
    try {
      return readlinkSync(join(fds, fd)) === realpathSync(path);
    } catch {
      return false; // the descriptor readdirSync itself used, closed by now
    }
  }).length;
  for (const [expected, actual] of [[good, cut], [cut, good], [good, other], [other, good]]) {
    t.throws(() => compareTraces(expected, actual));
    t.deepEqual([openOn(expected), openOn(actual)], [0, 0], `${expected} against ${actual}`);
  }
  t.true(compareTraces(good, good).same);
  t.is(openOn(good), 0);
});

