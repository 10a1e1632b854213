import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_LINE } from '../src/import/lines.js';
import { readMtrace } from '../src/import/mtrace.js';
import type { FieldOp } from '../src/import/ops.js';
import { readLog } from '../src/import/read.js';
import { computeStats } from '../src/import/stats.js';
import { BATCH } from '../src/import/stream.js';
import { InputError } from '../src/input/errors.js';
import { tempDir } from './helpers/scenario.js';

const dir = tempDir();

/**
 * An mtrace log of several batches whose lines make one op, none, or several (a duplicate
 * allocation: a problem, a free and an alloc), with callers, problems and 64-bit pointers.
 */
function churn(lines: number): string[] {
  const out = ['= Start'];
  const callers = ['@ ./prog:[0x11b0] ', '@ [0x7f00aa] ', '', '@ ./a b:(f+0x1)[0x10] '];
  for (let i = 0; out.length < lines; i++) {
    const at = callers[i % callers.length];
    const ptr = `0x${(0x7f3a00000000 + (i % 300) * 64).toString(16)}`;
    if (i % 3 === 2) out.push(`${at}- ${ptr}`);
    else out.push(`${at}+ ${ptr} 0x${(1 + (i % 97)).toString(16)}`);
    if (i % 50 === 0) out.push(`${at}- 0xdead`, 'garbage', '', `${at}< ${ptr}`, `${at}> ${ptr} 0x10`, `${at}+ (nil) 0x100`, '+ 0xabc0 0x1', '- 0xabc0', '- 0xabc0');
    if (i % 77 === 0) out.push(`+ 0x123456789abcdef0123 0x${i.toString(16)}`, '- 0x123456789ABCDEF0123');
  }
  return out;
}

test('the stats of a log stream, read from its columns, are those of its ops read as objects', (t) => {
  const path = join(dir, 'churn.mtrace');
  writeFileSync(path, churn(5 * BATCH).join('\n') + '\n');
  const ops = [...readLog(path, 'mtrace')];
  t.true(ops.length > 4 * BATCH);
  const kinds = [...new Set(ops.map((op) => (op.kind === 'problem' ? op.what : op.kind)))].sort();
  t.deepEqual(kinds, ['alloc', 'double-free', 'duplicate-alloc', 'failed', 'free', 'malformed', 'realloc', 'truncated', 'unknown-free', 'unknown-realloc']);
  const streamed = computeStats(readLog(path, 'mtrace'));
  t.deepEqual(streamed, computeStats(ops));
  t.is(streamed.lines, computeStats(readMtrace(churn(5 * BATCH))).lines);
});

test('an error met mid-batch is thrown after the ops before it, as a generator would throw it', (t) => {
  const path = join(dir, 'long-line.mtrace');
  const good = churn(BATCH / 2);
  writeFileSync(path, `${good.join('\n')}\n${'x'.repeat(MAX_LINE + 1)}\n- 0x10\n`);
  const expected = [...readMtrace(good)].filter((op) => !(op.kind === 'problem' && op.what === 'truncated'));
  const seen: FieldOp[] = [];
  const error = t.throws(() => {
    for (const op of readLog(path, 'mtrace')) seen.push(op);
  }, { instanceOf: InputError });
  t.is(error?.pos.line, good.length + 1);
  t.deepEqual(seen, expected);
});

test('the stream is a generator: its line count once, then nothing; return() ends it early', (t) => {
  const ops = readMtrace(['= Start', '+ 0x10 0x8', '- 0x10', '= End']);
  t.like(ops.next(), { done: false, value: { kind: 'alloc', id: 'p1' } });
  t.like(ops.next(), { done: false, value: { kind: 'free', id: 'p1' } });
  t.deepEqual(ops.next(), { value: 4, done: true });
  t.deepEqual(ops.next(), { value: undefined, done: true });
  const early = readMtrace(['= Start', '+ 0x10 0x8', '- 0x10', '= End']);
  early.next();
  t.deepEqual(early.return(7), { value: 7, done: true });
  t.deepEqual(early.next(), { value: undefined, done: true });
});
