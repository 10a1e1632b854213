/**
 * Field logs replayed on a target: the replay step, `emu import` and `emu run --seeds`.
 */
import test from 'ava';
import { existsSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../src/engine/engine.js';
import { loadScenario } from '../src/scenario/parse.js';
import type { TraceEvent } from '../src/trace/schema.js';
import { emu, ofType, tempDir } from './helpers/scenario.js';
import { EventCollector } from '../src/trace/writer.js';

/** A crashed program's mtrace log: no "= End", an unknown free on line 7. */
const LOG = `= Start
@ ./prog:[0x401234] + 0x55d0a0 0x40
@ ./prog:[0x401234] + 0x55d0f0 0x100
@ ./prog:[0x401250] - 0x55d0a0
@ ./prog:[0x401260] < 0x55d0f0
@ ./prog:[0x401260] > 0x55d200 0x200
@ ./prog:[0x401270] - 0x55d999
@ ./prog:[0x401280] + 0x55d0a0 0x18
`;

function replayed(heapSize: string, log = LOG): TraceEvent[] {
  const dir = tempDir();
  writeFileSync(join(dir, 'crash.mtrace'), log);
  writeFileSync(join(dir, 's.yaml'), `target: psp
leak_check: false
heaps: [{name: main, allocator: first-fit, in: {in: .wrt_instances, size: ${heapSize}}}]
steps:
  - replay: {file: crash.mtrace, format: mtrace, heap: main}
`);
  const collector = new EventCollector();
  run(loadScenario(join(dir, 's.yaml')), { sinks: [collector] });
  return collector.events;
}

test('replay: each log operation becomes an event that keeps its log line; the program\'s bad calls are faults, the log\'s own problems log events', (t) => {
  const events = replayed('64K');
  const ops = events.filter((e) => ['alloc', 'free', 'realloc'].includes(e.type as string));
  t.deepEqual(ops.map((e) => [e.type, e.id, e.log_line]), [['alloc', 'p1', 2], ['alloc', 'p2', 3], ['free', 'p1', 4], ['realloc', 'p2', 6], ['alloc', 'p3', 8]]);
  t.deepEqual(ops.map((e) => e.line), [5, 5, 5, 5, 5]); // the replay step's scenario line
  t.deepEqual(ofType(events, 'realloc')[0].size, 0x200);
  t.deepEqual(ofType(events, 'log').map((e) => [e.what, e.log_line]), [['truncated', 8]]);
  t.deepEqual(ofType(events, 'fault').map((e) => [e.kind, e.id, e.log_line]), [['invalid-free', '0x55d999', 7]]);
});

test('replay: a fault during a replayed operation names the log line', (t) => {
  // 512 bytes hold p1 (72) and p2 (264) but not the 0x200-byte realloc beside p2 (first-fit needs 520).
  const faults = ofType(replayed('512'), 'fault');
  t.deepEqual(faults.map((f) => [f.kind, f.id, f.log_line]), [['oom', 'p2', 6], ['invalid-free', '0x55d999', 7]]);
});

test('replay: a size or alignment no heap serves (beyond 2^53, from a damaged line) is noted and fails as a request of the largest size; the trace holds it', (t) => {
  const dir = tempDir();
  // A successful malloc of 2^64 + 2^66 bytes, memalign to 2^54, and one of 2^53 - 1 (a power of two above it once rounded).
  writeFileSync(join(dir, 'big.txt'), '1: malloc 0x5500 92233720368547758080\n1: memalign 0x6600 18014398509481984 16\n1: memalign 0x7700 9007199254740991 16\n1: free 0x5500\n');
  writeFileSync(join(dir, 's.yaml'), `target: bare-metal
leak_check: false
heaps: [{name: main, allocator: first-fit, in: {in: sram, size: 64K}}]
steps:
  - replay: {file: big.txt, format: android, heap: main}
`);
  const collector = new EventCollector();
  run(loadScenario(join(dir, 's.yaml')), { sinks: [collector] });
  const events = collector.events;
  t.deepEqual(ofType(events, 'log').map((e) => [e.log_line, e.what, e.detail]), [
    [1, 'oversized', 'the log asks for 92233720368547760000 bytes; replayed as a request of 9007199254740991 bytes'],
    [2, 'oversized', 'the log asks for 16 bytes aligned to 18014398509481984; replayed as a request of 16 bytes aligned to 4503599627370496'],
    [3, 'oversized', 'the log asks for 16 bytes aligned to 9007199254740991; replayed as a request of 16 bytes aligned to 4503599627370496'],
  ]);
  t.deepEqual(ofType(events, 'alloc').map((e) => [e.size, e.align, e.addr]), [[Number.MAX_SAFE_INTEGER, 0, null], [16, 2 ** 52, null], [16, 2 ** 52, null]]);
  t.deepEqual(ofType(events, 'fault').map((e) => [e.kind, e.log_line]), [['oom', 1], ['fragmented', 2], ['fragmented', 3]]);
});

test('emu import --stats prints the log\'s counts, peak and what is live at the end', (t) => {
  const dir = tempDir();
  writeFileSync(join(dir, 'crash.mtrace'), LOG);
  const r = emu(['import', join(dir, 'crash.mtrace'), '--format', 'mtrace', '--stats']);
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /allocations\s+3\n/);
  t.regex(r.stdout, /frees\s+1\n/);
  t.regex(r.stdout, /reallocations\s+1\n/);
  // p2 (0x200 after the realloc) and p3 (0x18) are live at line 8: 536 bytes.
  t.regex(r.stdout, /peak live bytes\s+536\s+at line 8/);
  t.regex(r.stdout, /problem: unknown-free\s+1\s+first at line 7/);
  t.false(existsSync(join(dir, 'crash.yaml')));
});

test('emu import writes a scenario that replays the log, and never overwrites one', (t) => {
  const dir = tempDir();
  writeFileSync(join(dir, 'crash.mtrace'), LOG);
  const args = ['import', join(dir, 'crash.mtrace'), '--format', 'mtrace', '--target', 'psp', '--heap', 'first-fit'];
  const first = emu(args);
  t.is(first.status, 0, first.stderr);
  const scenario = readFileSync(join(dir, 'crash.yaml'), 'utf8');
  t.regex(scenario, /replay: \{file: "crash.mtrace", format: mtrace, heap: main\}/);
  t.regex(scenario, /leak_check: false/); // two blocks were still live when the program died
  const ran = emu(['run', join(dir, 'crash.yaml'), '--update']);
  t.is(ran.status, 0, ran.stdout + ran.stderr);
  t.regex(ran.stdout, /faults: 1 \(invalid-free 1\)\n  line 12 \(log line 7\), op 5: invalid-free \(silent\) heap main id 0x55d999/);
  writeFileSync(join(dir, 'crash.yaml'), '# mine\n');
  const again = emu(args);
  t.is(again.status, 2);
  t.regex(again.stderr, /exists; pass --force/);
  t.is(readFileSync(join(dir, 'crash.yaml'), 'utf8'), '# mine\n');
  t.is(emu([...args, '--force']).status, 0);
});

test('emu import: an unknown allocator or a file that is not the format is an input error', (t) => {
  const dir = tempDir();
  writeFileSync(join(dir, 'crash.mtrace'), LOG);
  const bad = emu(['import', join(dir, 'crash.mtrace'), '--format', 'mtrace', '--target', 'psp', '--heap', 'tlfs']);
  t.is(bad.status, 2);
  t.regex(bad.stderr, /unknown allocator 'tlfs' \(did you mean 'tlsf'\?\)/);
  writeFileSync(join(dir, 'notes.txt'), Array.from({ length: 30 }, (_, i) => `note ${i}`).join('\n'));
  const wrong = emu(['import', join(dir, 'notes.txt'), '--format', 'mtrace', '--stats']);
  t.is(wrong.status, 2);
  t.regex(wrong.stderr, /notes\.txt:\d+:1: error: not a glibc mtrace log/);
  t.false(wrong.stderr.includes('    at '));
});

test('emu run --seeds --until-fault finds the first faulting seed, and its command replays that fault', (t) => {
  const dir = tempDir();
  const file = join(dir, 'seeds.yaml');
  writeFileSync(file, `target: psx
heaps: [{name: h, allocator: first-fit, in: {in: .wrt_scratch, size: 8K}}]
steps:
  - random: {heap: h, count: 200, size: {uniform: [16, 1K]}, max_live: 12}
`);
  const search = emu(['run', file, '--seeds', '0..50', '--until-fault']);
  t.is(search.status, 1);
  const found = /^seed (\d+): (\w[\w-]*) /m.exec(search.stdout)!;
  const command = /replay it with: emu run (\S+) --seed (\d+)/.exec(search.stdout)!;
  t.is(command[2], found[1]);
  // Every earlier seed ran clean.
  const clean = emu(['run', file, '--seeds', `0..${Number(found[1]) - 1}`]);
  t.is(clean.status, Number(found[1]) === 0 ? 1 : 0);
  const replay = emu(['run', command[1], '--seed', command[2]]);
  t.regex(replay.stdout, new RegExp(`faults: \\d+ \\(${found[2]} `));
  t.regex(replay.stdout, /golden: not compared \(seed overridden\)/);
});

test('emu run --seeds: bad ranges and combinations are usage errors', (t) => {
  const dir = tempDir();
  const file = join(dir, 's.yaml');
  writeFileSync(file, 'target: psx\nsteps: [{idle: 1}]\n');
  for (const args of [['--seeds', '5..2'], ['--seeds', 'x'], ['--until-fault'], ['--seeds', '0..1', '--update']]) {
    const r = emu(['run', file, ...args]);
    t.is(r.status, 2, args.join(' '));
  }
});

test('replay: a run that halts inside a replay (stopAtFirstFault) closes the log file it was reading', (t) => {
  const dir = tempDir();
  // Longer than a read chunk (64 KiB) after the bad free, so the file is still open when the run halts.
  const more = Array.from({ length: 3000 }, (_, k) => `@ ./prog:[0x401290] + 0x${(0x600000 + k * 0x100).toString(16)} 0x18\n@ ./prog:[0x4012a0] - 0x${(0x600000 + k * 0x100).toString(16)}\n`);
  writeFileSync(join(dir, 'crash.mtrace'), LOG + more.join(''));
  writeFileSync(join(dir, 's.yaml'), `target: psp
leak_check: false
heaps: [{name: main, allocator: first-fit, in: {in: .wrt_instances, size: 64K}}]
steps:
  - replay: {file: crash.mtrace, format: mtrace, heap: main}
`);
  const log = join(dir, 'crash.mtrace');
  const open = () => readdirSync('/proc/self/fd').filter((fd) => { try { return readlinkSync(`/proc/self/fd/${fd}`) === log; } catch { return false; } }).length;
  const result = run(loadScenario(join(dir, 's.yaml')), { sinks: [], stopAtFirstFault: true });
  t.true(result.summary.halted); // the free of 0x55d999 on line 7 halts it before the log's end
  t.is(result.summary.ops, 5);
  t.is(open(), 0);
});
