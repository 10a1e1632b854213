/**
 * A program's bugs in its field log are faults at their log lines. The capture in test/fixtures is a
 * real glibc mtrace log of double-free.c (its header says how it was made): glibc let the double
 * free pass and handed the same 40 bytes out twice. The Android and CS:APP files are the same calls
 * in those formats (CS:APP has no addresses, so no overlap).
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { run } from '../src/engine/engine.js';
import { loadScenario } from '../src/scenario/parse.js';
import { emu, REPO, tempDir } from './helpers/scenario.js';

const FIXTURES = join(REPO, 'test', 'fixtures');

function replayFaults(file: string, format: string, allocator: string): string[] {
  const dir = tempDir();
  copyFileSync(join(FIXTURES, file), join(dir, file));
  writeFileSync(join(dir, 's.yaml'), `target: psp
leak_check: false
heaps: [{name: main, allocator: ${allocator}, in: user, size: 64K}]
steps:
  - replay: {file: ${file}, format: ${format}, heap: main}
`);
  const result = run(loadScenario(join(dir, 's.yaml')), { sinks: [] });
  return result.faults.map((f) => `${f.kind} log line ${f.logLine} ${f.detected} ${f.id}: ${f.detail}`);
}

test('the real mtrace capture: the double free at its log line (precise on dlmalloc, silent on tlsf), then the memory handed out twice', (t) => {
  const overlap = 'heap-corrupt log line 9 silent p3: the log shows memory handed out twice: the host handed out 0x55c8eb96e4a0 (p5, 40 bytes) while p3 still holds it; p3 was allocated at log line 7';
  const dl = replayFaults('double-free.mtrace', 'mtrace', 'dlmalloc');
  t.deepEqual(dl.map((f) => f.replace(/0x[0-9A-F]{8}/, 'ADDR')), ['double-free log line 6 precise p1: id p1 was already freed (ADDR, 40 bytes, allocated at log line 2)', overlap]);
  const tlsf = replayFaults('double-free.mtrace', 'mtrace', 'tlsf');
  t.deepEqual(tlsf.map((f) => f.split(':')[0]), ['double-free log line 6 silent p1', 'heap-corrupt log line 9 silent p3']);
});

test('the same calls as an Android record_allocs log and a CS:APP trace give the same faults at their lines', (t) => {
  const android = replayFaults('double-free.android', 'android', 'dlmalloc');
  t.deepEqual(android.map((f) => f.split(':')[0]), ['double-free log line 5 precise p1', 'heap-corrupt log line 8 silent p3']);
  const csapp = replayFaults('double-free.rep', 'csapp', 'dlmalloc');
  t.deepEqual(csapp.map((f) => f.split(':')[0]), ['double-free log line 9 precise 0']);
});

test('a realloc of a freed pointer is use-after-free, a free of a pointer the log never returned invalid-free; the replay goes on', (t) => {
  const dir = tempDir();
  writeFileSync(join(dir, 'bugs.mtrace'), ['= Start', '+ 0x1000 0x20', '- 0x1000', '< 0x1000', '> 0x2000 0x40', '- 0x9999', '- 0x2000', '= End', ''].join('\n'));
  writeFileSync(join(dir, 's.yaml'), `target: psp
heaps: [{name: main, allocator: dlmalloc, in: user, size: 64K}]
steps:
  - replay: {file: bugs.mtrace, format: mtrace, heap: main}
`);
  const result = run(loadScenario(join(dir, 's.yaml')), { sinks: [] });
  t.deepEqual(result.faults.map((f) => [f.kind, f.logLine, f.detected, f.id]), [
    ['use-after-free', 5, 'precise', 'p1'], // a realloc's line is its '>' line
    ['invalid-free', 6, 'silent', '0x9999'],
  ]);
  // The realloc's new block (p2) was allocated and freed: nothing leaks.
  t.deepEqual(result.summary.heaps[0].allocs, 2);
  t.deepEqual(result.summary.heaps[0].frees, 2);
});

test("callers are kept: mtrace's on each event and fault, in the summary and in emu inspect", (t) => {
  const dir = tempDir();
  copyFileSync(join(FIXTURES, 'double-free.mtrace'), join(dir, 'double-free.mtrace'));
  writeFileSync(join(dir, 's.yaml'), `target: psp
leak_check: false
heaps: [{name: main, allocator: dlmalloc, in: user, size: 64K}]
steps:
  - replay: {file: double-free.mtrace, format: mtrace, heap: main}
`);
  const ran = emu(['run', 's.yaml', '--trace', 't.trace'], { cwd: dir });
  t.regex(ran.stdout, /double-free \(precise\) heap main id p1 caller \.\/double-free:\[0x11c6\]:/);
  const shown = emu(['inspect', 't.trace'], { cwd: dir }).stdout;
  t.regex(shown, /alloc heap=main id=p1 .* log_line=2 caller=\.\/double-free:\[0x1190\]/);
  t.regex(shown, /FAULT double-free .* log_line=6 caller=\.\/double-free:\[0x11c6\]/);
});

test('emu repro stops at the double free of the capture, and --shrink keeps it', (t) => {
  const dir = tempDir();
  copyFileSync(join(FIXTURES, 'double-free.mtrace'), join(dir, 'double-free.mtrace'));
  const r = emu(['repro', 'double-free.mtrace', '--format', 'mtrace', '--target', 'psp', '--heap', 'dlmalloc', '--shrink'], { cwd: dir });
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /first fault at operation 5 \(log line 6\): double-free \(precise\) heap main id p1/);
  t.regex(r.stdout, /wrote double-free-repro\.yaml: 3 operations \(from 5/);
  const shrunk = readFileSync(join(dir, 'double-free-repro.yaml'), 'utf8');
  t.regex(shrunk, /- alloc: \{ id: p1, heap: main, size: 40 \}\n  - free: p1\n  - free: \{ id: p1, heap: main \}\n/);
  const again = emu(['run', 'double-free-repro.yaml'], { cwd: dir });
  t.is(again.status, 0, again.stdout + again.stderr);
  t.regex(again.stdout, /double-free \(precise\)/);
});

/** The C compiler and glibc's mtrace library, where the machine has them. */
function captureTools(): { cc: string; preload: string } | null {
  if (spawnSync('cc', ['--version']).status !== 0) return null;
  const preload = spawnSync('cc', ['-print-file-name=libc_malloc_debug.so.0'], { encoding: 'utf8' }).stdout.trim();
  return isAbsolute(preload) && existsSync(preload) ? { cc: 'cc', preload } : null;
}

const tools = captureTools();
(tools ? test : test.skip)(`the committed capture is what double-free.c logs when run again${tools ? '' : ' (skipped: no C compiler or libc_malloc_debug here)'}`, (t) => {
  const dir = tempDir();
  const program = join(dir, 'double-free');
  const cc = spawnSync(tools!.cc, ['-O0', '-o', program, join(FIXTURES, 'double-free.c')], { encoding: 'utf8' });
  t.is(cc.status, 0, cc.stderr);
  const log = join(dir, 'again.mtrace');
  const ran = spawnSync(program, [], { env: { ...process.env, GLIBC_TUNABLES: 'glibc.malloc.tcache_count=0', MALLOC_TRACE: log, LD_PRELOAD: tools!.preload }, encoding: 'utf8' });
  t.is(ran.status, 1, 'the program finds its data overwritten');
  // Addresses and code offsets differ from run to run; the calls, sizes and which pointers repeat do not.
  const shape = (text: string) => {
    const names = new Map<string, string>();
    return text
      .trim()
      .split('\n')
      .map((l) => l.replace(/^@ \S+ /, '').replace(/0x[0-9a-f]+/g, (p) => (/^0x[0-9a-f]{2}$/.test(p) ? p : (names.get(p) ?? names.set(p, `P${names.size}`).get(p)!))));
  };
  t.deepEqual(shape(readFileSync(log, 'utf8')), shape(readFileSync(join(FIXTURES, 'double-free.mtrace'), 'utf8')));
});
