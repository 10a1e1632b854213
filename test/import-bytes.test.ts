import test from 'ava';
import fc from 'fast-check';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readAndroid } from '../src/import/android.js';
import { Scanner, whitespaceAt, Words } from '../src/import/bytes.js';
import { readCsapp } from '../src/import/csapp.js';
import { FileLines } from '../src/import/lines.js';
import { readMtrace } from '../src/import/mtrace.js';
import { writeNativeLog } from '../src/import/native.js';
import type { FieldOp } from '../src/import/ops.js';
import { readLog } from '../src/import/read.js';
import { tempDir } from './helpers/scenario.js';

const dir = tempDir();
let files = 0;

function write(text: string | Buffer): string {
  const path = join(dir, `log-${files++}.txt`);
  writeFileSync(path, text);
  return path;
}

/** Every line of a file through FileLines: [line number, text, unterminated]. */
function lines(path: string, chunk?: number): [number, string, boolean][] {
  const out: [number, string, boolean][] = [];
  const l = new FileLines(path, chunk);
  while (l.next()) out.push([l.line, l.text(), l.unterminated]);
  return out;
}

test('FileLines: every chunk size gives the same lines; only a last line without a newline is unterminated', (t) => {
  const path = write('@ ./é:[0x1] + 0x10 0x8\r\n\r\n- 0x10\n\n= End');
  const expected: [number, string, boolean][] = [
    [1, '@ ./é:[0x1] + 0x10 0x8', false],
    [2, '', false],
    [3, '- 0x10', false],
    [4, '', false],
    [5, '= End', true],
  ];
  for (let chunk = 1; chunk <= 40; chunk++) t.deepEqual(lines(path, chunk), expected, `chunk ${chunk}`);
  t.deepEqual(lines(write('x\r')), [[1, 'x', true]]);
  t.deepEqual(lines(write('\r\n')), [[1, '', false]]);
});

test('FileLines: close() before the end releases the file, and next() then says the input is over', (t) => {
  const l = new FileLines(write('a\nb\n'), 1);
  t.true(l.next());
  l.close();
  t.false(l.next());
});

// Lines that end in the middle of a chunk, and a realloc whose "<" line must be shown after the
// chunk it sat in was overwritten.
const MTRACE = [
  '= Start',
  '@ ./prog:(main+0x2a)[0x11c3] + 0x55ebe8cfb2a0 0x10',
  '@ ./my prog:[0x11d8] < 0x55ebe8cfb2a0',
  '@ ./my prog:[0x11d8] > 0x55ebe8cfb2c0 0x64',
  'garbage',
  '@ [0x7f00aa] + (nil) 0x1000',
  '@ ./prog:[0x1250] - 0x55EBE8CFB2C0',
  '@ ./prog:[0x1260] - 0x55ebe8cfb2c0',
  '@ ./prog:[0x1270] < 0x55ebe8cfb2a0',
];

test('mtrace from bytes: any chunk size and either line end read the same ops as whole strings do', (t) => {
  const expected = [...readMtrace(MTRACE, 'm.log')];
  t.like(expected.at(-2), { kind: 'problem', what: 'malformed', detail: 'the log ends after "@ ./prog:[0x1270] < 0x55ebe8cfb2a0", before its "> NEW SIZE" line' });
  for (const eol of ['\n', '\r\n']) {
    const path = write(MTRACE.join(eol) + eol);
    for (const chunk of [1, 2, 3, 7, 16, 33, 64, 1 << 16]) t.deepEqual([...readMtrace(new FileLines(path, chunk), 'm.log')], expected, `chunk ${chunk}, ${JSON.stringify(eol)}`);
  }
});

test('android and CS:APP from bytes: any chunk size reads the same ops as whole strings do', (t) => {
  const android = ['186: malloc 0xb6038060 20 1000 1250', '186: realloc 0xb6038080 0xb6038060 40', '  187:\tfree  0xb6038080 ', '187: calloc 0x0 2 8', '188: thread_done 0x0'];
  const csapp = ['20000', ' 2', '3', '1', 'a 0 8', 'r 0\t16', 'x', 'f 0'];
  const cases: [string[], (lines: FileLines | string[]) => Generator<FieldOp, number>][] = [
    [android, (l) => readAndroid(l, 'a.log')],
    [csapp, (l) => readCsapp(l, 'c.rep')],
  ];
  for (const [text, read] of cases) {
    const expected = [...read(text)];
    const path = write(text.join('\r\n'));
    for (const chunk of [1, 2, 5, 13, 1 << 16]) t.deepEqual([...read(new FileLines(path, chunk))], expected, `chunk ${chunk}`);
  }
});

test('pointers beyond 2^53 stay exact: neighbours that a double would merge are two blocks', (t) => {
  const ops = [
    ...readMtrace([
      '= Start',
      '+ 0x1fffffffffffff 0x1', //  2^53 - 1: the largest number key
      '+ 0x20000000000000 0x2', //  2^53 and 2^53 + 1: one double, two pointers
      '+ 0x20000000000001 0x3',
      '+ 0x123456789abcdef0123 0x4', // more than 64 bits
      '- 0x0020000000000001',
      '- 0x20000000000001',
      '- 0x123456789ABCDEF0123',
      '- 0x001fffffffffffff',
      '= End',
    ]),
  ];
  t.deepEqual(ops, [
    { kind: 'alloc', id: 'p1', size: 1, align: 0, time: null, line: 2 },
    { kind: 'alloc', id: 'p2', size: 2, align: 0, time: null, line: 3 },
    { kind: 'alloc', id: 'p3', size: 3, align: 0, time: null, line: 4 },
    { kind: 'alloc', id: 'p4', size: 4, align: 0, time: null, line: 5 },
    { kind: 'free', id: 'p3', time: null, line: 6 },
    { kind: 'problem', what: 'double-free', detail: 'free of 0x20000000000001 (p3), already freed at line 6', line: 7, call: { kind: 'free', id: 'p3' } },
    { kind: 'free', id: 'p4', time: null, line: 8 },
    { kind: 'free', id: 'p1', time: null, line: 9 },
  ]);
});

test('native logs: a bigint address names the same block as the number it equals, and 64-bit ones stay exact', (t) => {
  const path = join(dir, `log-${files++}.emulog`);
  writeNativeLog(path, [
    { op: 'alloc', ptr: 16n, size: 1 },
    { op: 'alloc', ptr: 2n ** 64n - 1n, size: 2 },
    { op: 'alloc', ptr: 2n ** 64n - 2n, size: 3 },
    { op: 'free', ptr: 16 },
    { op: 'free', ptr: 2n ** 64n - 1n },
    { op: 'free', ptr: 2n ** 64n - 1n },
  ]);
  t.deepEqual(
    [...readLog(path, 'native')].map((op) => (op.kind === 'problem' ? op.detail : `${op.kind} ${'id' in op ? op.id : ''}`)),
    ['alloc p1', 'alloc p2', 'alloc p3', 'free p1', 'free p2', 'free of 0xffffffffffffffff (p2), already freed at line 6'],
  );
});

test('whitespaceAt finds exactly the characters /\\s/ matches, in UTF-8', (t) => {
  const wrong: string[] = [];
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const char = String.fromCodePoint(cp);
    const bytes = Buffer.from(char);
    const expected = /\s/.test(char) ? bytes.length : 0;
    if (whitespaceAt(bytes, 0, bytes.length) !== expected) wrong.push(cp.toString(16));
  }
  t.deepEqual(wrong, []);
});

const TEXT = fc.string({ unit: fc.constantFrom('a', '1', 'x', ' ', ' ', '\t', '\r', '\u00a0', '\u2028', '\u3000', '\ufeff', 'é', '\u{1F642}', '\u0085'), maxLength: 30 });

test('Words splits bytes as split(" ") and trim().split(/\\s+/) split the decoded text', (t) => {
  const words = new Words();
  const all = () => Array.from({ length: Math.min(words.count, Words.MAX_WORDS) }, (_, i) => words.text(i));
  fc.assert(
    fc.property(TEXT, (text) => {
      const bytes = Buffer.from(`>${text}<`);
      const spaced = text.split(' ');
      if (words.splitAtSpaces(bytes, 1, bytes.length - 1)) {
        t.false(spaced.includes(''));
        t.is(words.count, spaced.length);
        t.deepEqual(all(), spaced.slice(0, Words.MAX_WORDS));
      } else {
        t.true(spaced.includes(''));
      }
      const trimmed = text.trim();
      const split = trimmed === '' ? [] : trimmed.split(/\s+/);
      words.splitAtWhitespace(bytes, 1, bytes.length - 1);
      t.is(words.count, split.length);
      t.deepEqual(all(), split.slice(0, Words.MAX_WORDS));
    }),
  );
});

test('Scanner: numbers read as Number() reads them, tokens end at a space', (t) => {
  const scan = (text: string) => new Scanner().reset(Buffer.from(text), 0, Buffer.byteLength(text));
  for (const digits of ['0', '007', '9007199254740993', '123456789012345678901234567890']) {
    const s = scan(digits);
    t.is(s.decimal(), Number(digits), digits);
    t.true(s.atEnd());
  }
  for (const bad of ['', '1a', '-1', '１']) t.is(scan(bad).decimal(), -1, bad);
  const s = scan('0x10 0 (nil) 0X1F x');
  t.is(s.pointer(), 16);
  t.true(s.space());
  t.is(s.hexSize(), 0);
  t.true(s.space());
  t.is(s.pointer(), 0);
  t.true(s.space());
  t.is(s.hexSize(), 31);
  t.true(s.space());
  t.is(s.hexSize(), -1);
  t.false(scan('').space());
});
