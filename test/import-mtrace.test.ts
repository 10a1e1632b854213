import test from 'ava';
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../src/input/errors.js';
import { readMtrace } from '../src/import/mtrace.js';
import type { FieldOp } from '../src/import/ops.js';
import { readLog } from '../src/import/read.js';
import { computeStats } from '../src/import/stats.js';
import { tempDir } from './helpers/scenario.js';

const dir = tempDir();
let files = 0;

function write(lines: string[], eol = '\n', finalNewline = true): string {
  const path = join(dir, `log-${files++}.mtrace`);
  writeFileSync(path, lines.join(eol) + (finalNewline ? eol : ''));
  return path;
}

// Every caller shape glibc writes (with and without symbol, no symbol information, no caller at all,
// a file name with a space), realloc moving and in place, a failed malloc and a failed realloc.
const COMPLETE = [
  '= Start', //                                        line 1
  '@ ./prog:[0x11b0] + 0x1000 0x10', //                2  p1 = 16           live 16, 1 block
  '@ ./prog:(main+0x2a)[0x11c3] + 0x2000 0x20', //     3  p2 = 32           live 48, 2 blocks
  '@ ./my prog:[0x11d8] < 0x1000', //                  4
  '@ ./my prog:[0x11d8] > 0x3000 0x64', //             5  p1 -> 100         live 132
  '@ [0x7f00aa] + 0x1000 0x28', //                     6  p3 = 40 (0x1000 reused) live 172, 3 blocks
  '+ 0x4000 0', //                                     7  p4 = 0            live 172, 4 blocks (peak blocks)
  '@ ./prog:[0x11f6] - 0x2000', //                     8  free p2           live 140, 3 blocks
  '@ ./prog:[0x1233] + (nil) 0x1000000', //            9  refused 16 MiB    (largest request)
  '@ ./prog:[0x1240] < 0x3000', //                     10
  '@ ./prog:[0x1240] > 0x3000 0xc8', //                11 p1 -> 200 in place live 240 (peak bytes)
  '@ ./prog:[0x1250] ! 0x1000 0x100000', //            12 refused realloc of p3
  '@ ./prog:[0x1260] - 0x3000', //                     13 free p1           live 40, 2 blocks
  '= End', //                                          14
];

const COMPLETE_OPS: FieldOp[] = [
  { kind: 'alloc', id: 'p1', size: 16, align: 0, time: null, line: 2, caller: './prog:[0x11b0]' },
  { kind: 'alloc', id: 'p2', size: 32, align: 0, time: null, line: 3, caller: './prog:(main+0x2a)[0x11c3]' },
  { kind: 'realloc', id: 'p1', size: 100, time: null, line: 5, caller: './my prog:[0x11d8]' },
  { kind: 'alloc', id: 'p3', size: 40, align: 0, time: null, line: 6, caller: '[0x7f00aa]' },
  { kind: 'alloc', id: 'p4', size: 0, align: 0, time: null, line: 7 },
  { kind: 'free', id: 'p2', time: null, line: 8, caller: './prog:[0x11f6]' },
  { kind: 'failed', id: null, size: 0x1000000, align: 0, time: null, line: 9, caller: './prog:[0x1233]' },
  { kind: 'realloc', id: 'p1', size: 200, time: null, line: 11, caller: './prog:[0x1240]' },
  { kind: 'failed', id: 'p3', size: 0x100000, align: 0, time: null, line: 12, caller: './prog:[0x1250]' },
  { kind: 'free', id: 'p1', time: null, line: 13, caller: './prog:[0x1260]' },
];

test('a complete mtrace log: every caller shape, realloc chains, refused requests', (t) => {
  const path = write(COMPLETE);
  t.deepEqual([...readLog(path, 'mtrace')], COMPLETE_OPS);
  const s = computeStats(readLog(path, 'mtrace'));
  t.like(s, {
    lines: 14, allocs: 4, frees: 2, reallocs: 2, failed: 2,
    peak_live_bytes: 240, peak_live_bytes_line: 11, peak_live_blocks: 4, peak_live_blocks_line: 7,
    largest_request: 0x1000000, largest_request_line: 9,
  });
  t.deepEqual(s.live_at_end, { blocks: 2, bytes: 40, largest: [{ id: 'p3', size: 40, line: 6 }, { id: 'p4', size: 0, line: 7 }] });
  t.true(Object.values(s.problems).every((n) => n === 0));
  // Callers: a realloc's bytes count for the realloc's caller; ties in the order of their names.
  t.deepEqual(s.top_callers.by_allocations.slice(0, 3), [
    { caller: './prog:(main+0x2a)[0x11c3]', allocations: 1, peak_live_bytes: 32 },
    { caller: './prog:[0x11b0]', allocations: 1, peak_live_bytes: 16 },
    { caller: '[0x7f00aa]', allocations: 1, peak_live_bytes: 40 },
  ]);
  t.deepEqual(s.top_callers.by_peak_live_bytes.slice(0, 3), [
    { caller: './prog:[0x1240]', allocations: 0, peak_live_bytes: 200 },
    { caller: './my prog:[0x11d8]', allocations: 0, peak_live_bytes: 100 },
    { caller: '[0x7f00aa]', allocations: 1, peak_live_bytes: 40 },
  ]);
});

test('CRLF line ends and a last line without a newline read the same', (t) => {
  t.deepEqual([...readLog(write(COMPLETE, '\r\n'), 'mtrace')], COMPLETE_OPS);
  t.deepEqual([...readLog(write(COMPLETE, '\r\n', false), 'mtrace')], COMPLETE_OPS);
  t.deepEqual([...readLog(write(COMPLETE, '\n', false), 'mtrace')], COMPLETE_OPS);
});

test('a log cut off without "= End" (a crashed program) ends with a truncated problem; its live blocks are the crash state', (t) => {
  const path = write([
    '= Start', //             1
    '+ 0xa0 0x100', //        2 p1 = 256   live 256
    '+ 0xb0 0x200', //        3 p2 = 512   live 768 (peak)
    '- 0xa0', //              4            live 512
    '+ 0xc0 0x80', //         5 p3 = 128   live 640
    '@ ./prog:[0x11b0] + 0xd0 0x', // 6 cut mid-line by the crash: malformed
  ]);
  const ops = [...readLog(path, 'mtrace')];
  const problems = ops.filter((op) => op.kind === 'problem');
  t.deepEqual(problems.map((p) => [p.kind === 'problem' && p.what, p.line]), [['malformed', 6], ['truncated', 6]]);
  t.regex(problems[1].kind === 'problem' ? problems[1].detail : '', /without "= End".*2 block\(s\) were live/);
  const s = computeStats(ops);
  t.like(s, { allocs: 3, frees: 1, peak_live_bytes: 768, peak_live_bytes_line: 3 });
  t.like(s.live_at_end, { blocks: 2, bytes: 640 });
  t.like(s.problems, { truncated: 1, malformed: 1 });
});

test('the last line of a log without "= End" and without a final newline was cut mid-write: malformed, not a record', (t) => {
  // glibc flushes its 512-byte buffer as it fills: a crash can leave "+ 0xd0 0x1" of "+ 0xd0 0x100".
  const path = write(['= Start', '+ 0xa0 0x100', '+ 0xd0 0x1'], '\n', false);
  const ops = [...readLog(path, 'mtrace')];
  t.deepEqual(ops.map((op) => `${op.line} ${op.kind === 'problem' ? op.what : op.kind}`), ['2 alloc', '3 malformed', '3 truncated']);
  t.regex((ops[1] as { detail: string }).detail, /no newline: cut mid-write/);
  // The same lines from memory (no file, so nothing is known about newlines) read the last record.
  t.is([...readMtrace(['= Start', '+ 0xa0 0x100', '+ 0xd0 0x1'])].filter((op) => op.kind === 'alloc').length, 2);
});

test('unknown frees, double frees, reallocs of unknown pointers and lost frees are reported, not crashed on', (t) => {
  const path = write([
    '= Start', //         1
    '+ 0x10 0x8', //      2 p1 = 8       live 8
    '- 0x10', //          3 free p1      live 0
    '- 0x10', //          4 double free
    '- 0x99', //          5 unknown free
    '< 0x77', //          6
    '> 0x88 0x10', //     7 unknown realloc, then p2 = 16 (the host did hand 0x88 out)   live 16
    '+ 0x88 0x20', //     8 0x88 again while p2 holds it: duplicate, free p2, p3 = 32      live 32 (peak)
    '- 0x88', //          9 free p3      live 0
    '= End', //           10
  ]);
  const ops = [...readLog(path, 'mtrace')];
  t.deepEqual(
    ops.map((op) => (op.kind === 'problem' ? `${op.line} ${op.what}` : `${op.line} ${op.kind} ${'id' in op ? op.id : ''}`)),
    ['2 alloc p1', '3 free p1', '4 double-free', '5 unknown-free', '7 unknown-realloc', '7 alloc p2', '8 duplicate-alloc', '8 free p2', '8 alloc p3', '9 free p3'],
  );
  const double = ops.find((op) => op.kind === 'problem' && op.what === 'double-free');
  t.regex(double?.kind === 'problem' ? double.detail : '', /0x10 \(p1\), already freed at line 3/);
  const s = computeStats(ops);
  t.like(s, { allocs: 3, frees: 3, reallocs: 0, peak_live_bytes: 32, peak_live_bytes_line: 8 });
  t.deepEqual(s.problems, { 'unknown-free': 1, 'double-free': 1, 'unknown-realloc': 1, 'duplicate-alloc': 1, truncated: 0, malformed: 0 });
  t.deepEqual(s.problem_lines, { 'double-free': 4, 'unknown-free': 5, 'unknown-realloc': 7, 'duplicate-alloc': 8 });
  t.like(s.live_at_end, { blocks: 0, bytes: 0 });
});

test('a "<" without its ">", a ">" without its "<", and malformed lines after the first good one are problems in place', (t) => {
  const ops = [...readMtrace(['= Start', '+ 0x10 0x8', '< 0x10', '- 0x10', '> 0x20 0x4', '+ 0x30 zz', 'garbage', '@ no bracket', 'x 0x10', '= Begin', '< 0x20'], 'x.log')];
  t.deepEqual(
    ops.map((op) => (op.kind === 'problem' ? `${op.line} ${op.what}` : `${op.line} ${op.kind}`)),
    ['2 alloc', '3 malformed', '4 free', '5 malformed', '5 alloc', '6 malformed', '7 malformed', '8 malformed', '9 malformed', '10 malformed', '11 malformed', '11 truncated'],
  );
  t.regex((ops[10] as { detail: string }).detail, /the log ends after "< 0x20", before its "> NEW SIZE" line/);
  // The "<" is reported where it is, and the free after it still frees the block.
  const s = computeStats(ops);
  t.like(s.live_at_end, { blocks: 1, bytes: 4 });
});

test('free(NULL) and realloc(p, 0) read as glibc writes them; blank lines are skipped', (t) => {
  // realloc(p, 0) frees p and glibc logs it as "- p"; free(NULL) is not logged, a hand-written "- (nil)" is ignored.
  const ops = [...readMtrace(['= Start', '', '+ 0x10 0x8', '- (nil)', '- 0x10', '', '= End'])];
  t.deepEqual(ops, [
    { kind: 'alloc', id: 'p1', size: 8, align: 0, time: null, line: 3 },
    { kind: 'free', id: 'p1', time: null, line: 5 },
  ]);
});

test('pointers are compared as numbers written in hex: case and leading zeros do not matter, 64 bits stay exact', (t) => {
  const ops = [...readMtrace(['= Start', '+ 0xFFFF80000000ABC0 0x10', '+ 0xffff80000000abc1 0x10', '- 0x0000ffff80000000abc0', '- 0xFFFF80000000ABC1', '= End'])];
  t.deepEqual(ops.map((op) => (op.kind === 'free' || op.kind === 'alloc' ? `${op.kind} ${op.id}` : op.kind)), ['alloc p1', 'alloc p2', 'free p1', 'free p2']);
});

test('a file that is not an mtrace log is rejected with file:line and a clear message', (t) => {
  const text = write(['hello', 'world']);
  const error = t.throws(() => [...readLog(text, 'mtrace')], { instanceOf: InputError });
  t.is(String(error), `${text}:1:1: not a glibc mtrace log: none of its 2 line(s) is one (line 1 reads "hello"; expected lines like "@ ./prog:[0x11b0] + 0x55ebe8cfb2a0 0x10"); check --format`);

  const android = write(['186: malloc 0xb6038060 20', '186: free 0xb6038060']);
  t.throws(() => [...readLog(android, 'mtrace')], { instanceOf: InputError, message: /not a glibc mtrace log/ });

  const empty = write([], '\n', false);
  t.throws(() => [...readLog(empty, 'mtrace')], { instanceOf: InputError, message: /the file has no lines/ });

  // 20 bad lines before the first good one: rejected, before anything is yielded.
  const bad20 = write([...Array.from({ length: 20 }, (_, i) => `junk ${i}`), '= Start', '= End']);
  const seen: FieldOp[] = [];
  t.throws(() => {
    for (const op of readLog(bad20, 'mtrace')) seen.push(op);
  }, { instanceOf: InputError, message: /none of its first 20 lines is one/ });
  t.deepEqual(seen, []);

  // 19 bad lines, then good ones: a damaged log, read with 19 problems first.
  const bad19 = write([...Array.from({ length: 19 }, (_, i) => `junk ${i}`), '+ 0x10 0x8', '= End']);
  const ops = [...readLog(bad19, 'mtrace')];
  t.is(ops.length, 20);
  t.deepEqual(ops.slice(0, 19).map((op) => op.kind === 'problem' && op.what), Array(19).fill('malformed'));
  t.deepEqual(ops.slice(0, 19).map((op) => op.line), Array.from({ length: 19 }, (_, i) => i + 1));
  t.like(ops[19], { kind: 'alloc', line: 20 });
});

test('a log far larger than the read chunk streams through, and peak live bytes are exact', (t) => {
  // 200,000 lines: block i (size 1 + i % 97) is allocated, and freed 50 allocations later; every
  // 7th block is reallocated to twice its size right after its allocation (two lines). Expected values
  // are counted while writing.
  const lines = ['= Start'];
  const live = new Map<number, number>();
  let bytes = 0;
  let peak = 0;
  let allocs = 0;
  let frees = 0;
  let reallocs = 0;
  for (let i = 0; lines.length < 199_999; i++) {
    const size = 1 + (i % 97);
    const ptr = 0x10000 + (i % 4096) * 0x100; // addresses are reused, as a real allocator does
    lines.push(`@ ./prog:(work+0x${(i % 50).toString(16)})[0x4011a0] + 0x${ptr.toString(16)} 0x${size.toString(16)}`);
    allocs++;
    live.set(ptr, size);
    bytes += size;
    peak = Math.max(peak, bytes);
    if (i % 7 === 0) {
      lines.push(`@ ./prog:[0x4011b0] < 0x${ptr.toString(16)}`, `@ ./prog:[0x4011b0] > 0x${ptr.toString(16)} 0x${(2 * size).toString(16)}`);
      reallocs++;
      bytes += size;
      live.set(ptr, 2 * size);
      peak = Math.max(peak, bytes);
    }
    if (i >= 50) {
      const old = 0x10000 + ((i - 50) % 4096) * 0x100;
      lines.push(`@ ./prog:[0x4011c0] - 0x${old.toString(16)}`);
      frees++;
      bytes -= live.get(old)!;
      live.delete(old);
    }
  }
  lines.push('= End');
  const path = write(lines);
  const s = computeStats(readLog(path, 'mtrace'));
  t.like(s, { lines: lines.length, allocs, frees, reallocs, peak_live_bytes: peak });
  t.like(s.live_at_end, { blocks: live.size, bytes });
  t.true(Object.values(s.problems).every((n) => n === 0));
});

test('property: the stats of a random alloc/free/realloc sequence rendered as an mtrace log equal a direct model', (t) => {
  type Cmd =
    | { t: 'alloc'; size: number; reuse: number }
    | { t: 'free'; pick: number }
    | { t: 'realloc'; pick: number; size: number; move: boolean; reuse: number }
    | { t: 'refused'; size: number }
    | { t: 'double'; pick: number }
    | { t: 'bogus' };
  const size = fc.integer({ min: 0, max: 1 << 20 });
  const cmd: fc.Arbitrary<Cmd> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ t: fc.constant('alloc' as const), size, reuse: fc.nat() }) },
    { weight: 3, arbitrary: fc.record({ t: fc.constant('free' as const), pick: fc.nat() }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('realloc' as const), pick: fc.nat(), size, move: fc.boolean(), reuse: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('refused' as const), size }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('double' as const), pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('bogus' as const) }) },
  );
  const callers = ['', '@ ./prog:[0x11b0] ', '@ ./a b:(f+0x1)[0x10] ', '@ [0x7f0011] '];

  fc.assert(
    fc.property(fc.array(cmd, { maxLength: 150 }), fc.boolean(), fc.nat(), (cmds, ended, callerSeed) => {
      const lines = ['= Start'];
      const hex = (n: number) => `0x${n.toString(16)}`;
      const at = () => callers[(callerSeed + lines.length) % callers.length];
      // The model: live blocks as [pointer, size], pointers freed and not handed out again.
      const live: [number, number][] = [];
      const freed: number[] = [];
      let fresh = 0x1000;
      const pointer = (reuse: number) => (freed.length > 0 && reuse % 2 === 0 ? freed.splice(reuse % freed.length, 1)[0] : (fresh += 0x40));
      const m = { allocs: 0, frees: 0, reallocs: 0, failed: 0, double: 0, unknown: 0, bytes: 0, peak: 0, largest: 0 };
      for (const c of cmds) {
        if (c.t === 'alloc') {
          const p = pointer(c.reuse);
          lines.push(`${at()}+ ${hex(p)} ${c.size === 0 ? '0' : hex(c.size)}`);
          live.push([p, c.size]);
          m.allocs++;
          m.bytes += c.size;
          m.largest = Math.max(m.largest, c.size);
        } else if (c.t === 'free' && live.length > 0) {
          const [p, s] = live.splice(c.pick % live.length, 1)[0];
          lines.push(`${at()}- ${hex(p)}`);
          freed.push(p);
          m.frees++;
          m.bytes -= s;
        } else if (c.t === 'realloc' && live.length > 0) {
          const k = c.pick % live.length;
          const [p, s] = live[k];
          const q = c.move ? pointer(c.reuse) : p;
          lines.push(`${at()}< ${hex(p)}`, `${at()}> ${hex(q)} ${c.size === 0 ? '0' : hex(c.size)}`);
          if (q !== p) freed.push(p);
          live[k] = [q, c.size];
          m.reallocs++;
          m.bytes += c.size - s;
          m.largest = Math.max(m.largest, c.size);
        } else if (c.t === 'refused') {
          lines.push(`${at()}+ (nil) ${c.size === 0 ? '0' : hex(c.size)}`);
          m.failed++;
          m.largest = Math.max(m.largest, c.size);
        } else if (c.t === 'double' && freed.length > 0) {
          lines.push(`${at()}- ${hex(freed[c.pick % freed.length])}`);
          m.double++;
        } else if (c.t === 'bogus') {
          lines.push(`${at()}- 0xdead${(m.unknown++).toString(16)}`);
        }
        m.peak = Math.max(m.peak, m.bytes);
      }
      if (ended) lines.push('= End');

      const s = computeStats(readMtrace(lines, 'property.log'));
      assert.deepEqual(
        { lines: s.lines, allocs: s.allocs, frees: s.frees, reallocs: s.reallocs, failed: s.failed, peak: s.peak_live_bytes, largest: s.largest_request, blocks: s.live_at_end.blocks, bytes: s.live_at_end.bytes, problems: s.problems },
        {
          lines: lines.length, allocs: m.allocs, frees: m.frees, reallocs: m.reallocs, failed: m.failed, peak: m.peak, largest: m.largest, blocks: live.length, bytes: m.bytes,
          problems: { 'unknown-free': m.unknown, 'double-free': m.double, 'unknown-realloc': 0, 'duplicate-alloc': 0, truncated: ended ? 0 : 1, malformed: 0 },
        },
      );
    }),
    { numRuns: 300, seed: 2034 },
  );
  t.pass();
});
