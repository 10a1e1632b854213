import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packr } from '../src/trace/codec.js';
import { EventEncoder } from '../src/trace/encode.js';
import { AllocEvent, FreeEvent } from '../src/trace/events.js';
import { readTrace } from '../src/trace/reader.js';
import { TraceFileWriter } from '../src/trace/writer.js';
import { REPO, tempDir } from './helpers/scenario.js';

function encode(value: unknown): Buffer {
  const buffer = Buffer.alloc(1 << 20);
  const end = new EventEncoder(buffer).encode(value, 0, buffer.length);
  return buffer.subarray(0, end);
}

test('the event encoder writes the bytes msgpackr writes, value kind by value kind', (t) => {
  const long = 'x'.repeat(300);
  const values: unknown[] = [
    0, 1, 31, 32, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, 0.5, -2.25, 1e300,
    '', 'a', 'x'.repeat(31), 'x'.repeat(32), 'x'.repeat(63), 'x'.repeat(64), long, 'x'.repeat(70000), 'é'.repeat(20), '€'.repeat(40), '🙂'.repeat(10), '🙂'.repeat(40), 'ab\ud800cd',
    true, false, null, undefined,
    [], [1, 'two', null], Array.from({ length: 20 }, (_, i) => i), Array.from({ length: 70000 }, () => 7),
    {}, { a: 1, b: { c: [1, { d: 'e' }] } },
    { type: 'alloc', seq: 1, id: 'x' }, { type: 'alloc', seq: 2, id: 'y', error: 0x800200d9 }, { type: 'alloc', id: 'reordered', seq: 3 },
  ];
  for (const value of values) t.deepEqual(encode(value), Buffer.from(packr.pack(value)), JSON.stringify(value)?.slice(0, 60));
});

test('an event type seen with several shapes keeps encoding each exactly', (t) => {
  const buffer = Buffer.alloc(4096);
  const encoder = new EventEncoder(buffer);
  const events = [
    { seq: 0, type: 'alloc', addr: 1 }, { seq: 1, type: 'alloc', addr: 2, error: null }, { seq: 2, type: 'alloc', addr: 3 },
    { seq: 3, type: 'alloc' }, { seq: 4, type: 'alloc', addr: 5, extra: 1 }, { type: 'alloc', seq: 5 }, { seq: 6, type: 'alloc', b: 1 }, { seq: 7, type: 'alloc', c: 2 },
  ];
  let position = 0;
  for (const e of events) {
    const end = encoder.encode(e, position, buffer.length);
    t.deepEqual(buffer.subarray(position, end), Buffer.from(packr.pack(e)), JSON.stringify(e));
    position = end;
  }
});

test('an event that does not fit in the space left is refused whole, not cut', (t) => {
  const buffer = Buffer.alloc(64);
  const encoder = new EventEncoder(buffer);
  t.is(encoder.encode({ type: 'fault', detail: 'y'.repeat(100) }, 0, 64), -1);
  t.is(encoder.encode({ type: 'free', id: 'a' }, 60, 64), -1);
  t.is(encoder.encode({ type: 'free', id: 'a' }, 0, 64), Buffer.from(packr.pack({ type: 'free', id: 'a' })).length);
});

test('re-writing every golden trace event by event gives the golden bytes', (t) => {
  const dir = tempDir();
  const goldens = readdirSync(join(REPO, 'golden')).filter((f) => f.endsWith('.trace')).sort();
  t.true(goldens.length >= 10);
  for (const name of goldens) {
    const path = join(REPO, 'golden', name);
    const copy = join(dir, name);
    const writer = new TraceFileWriter(copy);
    const { header, events } = readTrace(path);
    writer.write(header);
    for (const event of events) writer.write(event);
    writer.close();
    t.true(readFileSync(copy).equals(readFileSync(path)), name);
  }
});

test('the typed alloc and free events encode exactly as the plain objects they stand for', (t) => {
  const alloc = new AllocEvent(7, 3, 123456, 12, 'main', 'bench@main#5', 1000, 8, 0x08800c78, 1008, 231);
  const failed = new AllocEvent(8, 4, 2 ** 33, 12, 'main', 'x'.repeat(40), 1 << 20, 64, null, 0, 60);
  const free = new FreeEvent(9, 5, 123999, 13, 'main', 'bench@main#5', 0x08800c78, 1008, 150);
  for (const e of [alloc, failed, free]) {
    const plain = JSON.parse(JSON.stringify(e));
    t.deepEqual(Object.keys(e), Object.keys(plain));
    t.deepEqual(encode(e), Buffer.from(packr.pack(plain)));
  }
});
