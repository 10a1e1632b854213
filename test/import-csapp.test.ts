import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readCsapp } from '../src/import/csapp.js';
import { streamViolations } from '../src/import/ops.js';
import { readLog } from '../src/import/read.js';
import { computeStats } from '../src/import/stats.js';
import { InputError } from '../src/input/errors.js';
import { tempDir } from './helpers/scenario.js';

const dir = tempDir();
let files = 0;

function write(lines: string[]): string {
  const path = join(dir, `trace-${files++}.rep`);
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

test('a CS:APP trace: slot ids become block ids, a slot reused after its free gets a fresh id', (t) => {
  const path = write([
    '20000', //        1 suggested heap size
    '3', //            2 ids
    '8', //            3 operations
    '1', //            4 weight
    'a 0 512', //      5  0 = 512          live 512, 1 block
    'a 1 128', //      6  1 = 128          live 640, 2
    'r 0 640', //      7  0 -> 640         live 768
    'f 1', //          8  free 1           live 640, 1
    'a 1 100', //      9  1#2 = 100        live 740, 2
    'f 0', //          10 free 0           live 100, 1
    'a 0 24', //       11 0#2 = 24         live 124, 2
    'a 2 1000', //     12 2 = 1000         live 1124, 3 (both peaks)
  ]);
  const ops = [...readLog(path, 'csapp')];
  t.deepEqual(ops.map((op) => ('id' in op ? `${op.kind} ${op.id}` : op.kind)), ['alloc 0', 'alloc 1', 'realloc 0', 'free 1', 'alloc 1#2', 'free 0', 'alloc 0#2', 'alloc 2']);
  // No alloc ever names a live id (or one used before), so an engine sees no reassigned live block.
  t.deepEqual(streamViolations(ops), []);
  const s = computeStats(ops);
  t.like(s, { lines: 12, allocs: 5, frees: 2, reallocs: 1, peak_live_bytes: 1124, peak_live_bytes_line: 12, peak_live_blocks: 3, peak_live_blocks_line: 12, largest_request: 1000 });
  t.like(s.live_at_end, { blocks: 3, bytes: 1124 });
  t.true(Object.values(s.problems).every((n) => n === 0));
});

test('a slot allocated while live leaks its old block; unknown and double frees are problems', (t) => {
  const ops = [...readCsapp(['0', '4', '5', '0', 'a 0 8', 'a 0 16', 'f 3', 'f 0', 'f 0'])];
  t.deepEqual(
    ops.map((op) => `${op.line} ${op.kind === 'problem' ? op.what : `${op.kind} ${'id' in op ? op.id : ''}`}`),
    ['5 alloc 0', '6 duplicate-alloc', '6 alloc 0#2', '7 unknown-free', '8 free 0#2', '9 double-free'],
  );
  t.deepEqual(streamViolations(ops), []);
  // The first block of slot 0 was leaked by the program: still live at the end.
  t.deepEqual(computeStats(ops).live_at_end, { blocks: 1, bytes: 8, largest: [{ id: '0', size: 8, line: 5 }] });
});

test('fewer operations than the header declares is a truncated trace; more is flagged once and read', (t) => {
  const short = [...readCsapp(['0', '2', '10', '1', 'a 0 8', 'a 1 8'])];
  t.like(short.at(-1), { kind: 'problem', what: 'truncated', line: 6 });
  const long = [...readCsapp(['0', '2', '1', '1', 'a 0 8', 'f 0', 'x 1', '  '])];
  t.deepEqual(long.map((op) => `${op.line} ${op.kind === 'problem' ? op.what : op.kind}`), ['5 alloc', '6 malformed', '6 free', '7 malformed']);
});

test('a file that is not a CS:APP trace is rejected at the header line that is wrong', (t) => {
  const text = write(['20000', '3', 'eight', '1', 'a 0 1']);
  const error = t.throws(() => [...readLog(text, 'csapp')], { instanceOf: InputError });
  t.is(String(error), `${text}:3:1: not a CS:APP trace: header line 3 should be the number of operations (an integer), found "eight"; check --format`);
  t.throws(() => [...readCsapp(['20000', '3'], 'short.rep')], { instanceOf: InputError, message: /ends inside its 4-line header/ });
  t.throws(() => [...readCsapp(['= Start', '+ 0x10 0x8'], 'm.log')], { instanceOf: InputError, message: /header line 1 should be the suggested heap size/ });
});
