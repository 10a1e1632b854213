/**
 * `emu size`: the smallest heap size with no memory fault, per allocator. Every size the command
 * reports is checked here by running the engine directly: it passes, and one grain less fails.
 */
import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../src/engine/engine.js';
import { loadScenario } from '../src/scenario/parse.js';
import type { Scenario } from '../src/scenario/types.js';
import { defaultAllocators, sampleAbove, DENSE_STEPS, SPREAD, type SizeResult } from '../src/size/search.js';
import { emu, REPO, tempDir } from './helpers/scenario.js';

/** A row of `emu size --json`: the search's result as JSON gives it back. */
type Result = SizeResult;

interface Report {
  format: string;
  version: number;
  heap: string;
  heap_in: string;
  room: number;
  allocators: Result[];
}

const MEMORY = ['oom', 'fragmented', 'grow-failed', 'budget-exceeded'];

/** The faults that fail a size: memory faults on the heap, or a heap the allocator cannot be made in. */
function failures(scenario: Scenario, heap: string, r: Result, size: number): string[] {
  const heaps = scenario.heaps.map((h) => (h.name === heap ? { ...h, allocator: r.allocator, options: r.options, place: { ...h.place, size } } : h));
  const result = run({ ...scenario, heaps }, { sinks: [] });
  return result.faults.filter((f) => (MEMORY.includes(f.kind) && f.heap === heap) || f.kind === 'layout-invalid').map((f) => f.kind);
}

/** Every allocator's size passes and one grain less fails (or is no heap at all). */
function checkSizes(t: import('ava').ExecutionContext, scenario: Scenario, report: Report): void {
  for (const r of report.allocators) {
    t.not(r.size, null, `${r.allocator} found no size`);
    const size = r.size!;
    t.is(size % r.grain, 0, r.allocator);
    t.deepEqual(failures(scenario, report.heap, r, size), [], `${r.allocator} at ${size}`);
    if (size > r.grain) {
      const below = failures(scenario, report.heap, r, size - r.grain);
      t.true(below.length > 0, `${r.allocator} at ${size - r.grain} should fail`);
      t.is(r.below!.size, size - r.grain);
      t.is(r.below!.fault.kind, below[0]);
    }
    t.true(r.peak_live! > 0);
    t.is(r.overhead_ratio_ppm, Math.round((size * 1e6) / r.peak_live!));
    t.true(r.tried_above > 0);
  }
}

/** A small scenario with two heaps: `main` churns 200 random requests, then takes a 3,000-byte block. */
function twoHeaps(dir: string): string {
  const file = join(dir, 'two-heaps.yaml');
  writeFileSync(file, `target: bare-metal
seed: 7
heaps:
  - {name: scratch, allocator: first-fit, in: {in: sram, size: 4K}}
  - {name: main, allocator: tlsf, in: {in: sram, size: 16K}}
steps:
  - alloc: {id: keep, heap: scratch, size: 256}
  - random: {heap: main, count: 200, size: {uniform: [16, 600]}, max_live: 12}
  - alloc: {id: big, heap: main, size: 3000}
  - free: big
  - free: keep
`);
  return file;
}

function sizeJson(args: string[]): { report: Report; stdout: string } {
  const r = emu(['size', ...args, '--json']);
  if (r.status !== 0) throw new Error(`exit ${r.status}: ${r.stdout}${r.stderr}`);
  return { report: JSON.parse(r.stdout) as Report, stdout: r.stdout };
}

test('the default allocators are the general-purpose ones', (t) => {
  t.deepEqual(defaultAllocators(), ['tlsf', 'first-fit', 'best-fit', 'buddy', 'half-fit', 'dlmalloc']);
});

test('the sizes tried above a found one: every grain step, then quarters, none past the room', (t) => {
  const ks = sampleAbove(100, 1000);
  t.deepEqual(ks.slice(0, DENSE_STEPS), Array.from({ length: DENSE_STEPS }, (_, i) => 101 + i));
  t.deepEqual(ks.slice(DENSE_STEPS), [125, 150, 175, 200]);
  t.is(ks.length, DENSE_STEPS + SPREAD);
  t.deepEqual(sampleAbove(100, 104), [101, 102, 103, 104]);
});

test('emu size of a scenario: each size passes and one grain less fails, for every default allocator', (t) => {
  const file = twoHeaps(tempDir());
  const { report } = sizeJson([file, '--heap', 'main']);
  t.is(report.format, 'emu-size');
  t.is(report.version, 1);
  t.is(report.heap, 'main');
  t.deepEqual(report.allocators.map((r) => r.allocator), defaultAllocators());
  checkSizes(t, loadScenario(file), report);
  // tlsf keeps the heap's options (none here); the grains are the allocators' own.
  t.deepEqual(Object.fromEntries(report.allocators.map((r) => [r.allocator, r.grain])), { tlsf: 4, 'first-fit': 8, 'best-fit': 8, buddy: 16, 'half-fit': 32, dlmalloc: 8 });
});

test('emu size prints a table with every allocator, its size and the bounds', (t) => {
  const file = twoHeaps(tempDir());
  const r = emu(['size', file, '--heap', 'main', '--allocators', 'dlmalloc,first-fit']);
  t.is(r.status, 0, r.stderr);
  t.log(r.stdout);
  const { report } = sizeJson([file, '--heap', 'main', '--allocators', 'dlmalloc,first-fit']);
  const lines = r.stdout.split('\n');
  t.regex(lines[0], /^heap main of two-heaps on bare-metal: tlsf, 16 KiB in sram/);
  t.regex(r.stdout, /allocator +grain +size +peak live +size\/live +Robson +own bound +alloc cycles max +one grain less/);
  for (const a of report.allocators) {
    const row = lines.find((l) => l.startsWith(a.allocator + ' '));
    t.truthy(row, a.allocator);
    const ratio = (a.overhead_ratio_ppm! / 1e6).toFixed(2);
    const own = a.own_bound === null ? '-' : a.own_bound.toLocaleString('en-US');
    t.regex(row!, new RegExp(`${a.size!.toLocaleString('en-US')} +${a.peak_live!.toLocaleString('en-US')} +${ratio}x +${a.robson!.toLocaleString('en-US')} +${own} +${a.alloc_cycles_max!.toLocaleString('en-US')} +${a.below!.fault.kind}`));
  }
  // The order is the one asked for.
  t.true(r.stdout.indexOf('dlmalloc ') < r.stdout.indexOf('first-fit '));
});

test('emu size of an imported mtrace log finds sizes the replay passes at, and fails one grain below', (t) => {
  const dir = tempDir();
  const log = join(dir, 'small.mtrace');
  // 300 operations: up to 10 blocks of 16..1015 bytes live, all freed at the end.
  const lines = ['= Start'];
  const live: number[] = [];
  let ptr = 0x1000;
  let seed = 1;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let i = 0; i < 300; i++) {
    if (live.length < 10 && (live.length === 0 || rnd() < 0.55)) {
      ptr += 0x1000;
      lines.push(`@ ./prog:[0x401000] + 0x${ptr.toString(16)} 0x${(16 + Math.floor(rnd() * 1000)).toString(16)}`);
      live.push(ptr);
    } else {
      const [p] = live.splice(Math.floor(rnd() * live.length), 1);
      lines.push(`@ ./prog:[0x401100] - 0x${p.toString(16)}`);
    }
  }
  for (const p of live) lines.push(`@ ./prog:[0x401100] - 0x${p.toString(16)}`);
  lines.push('= End');
  writeFileSync(log, lines.join('\n') + '\n');
  const { report } = sizeJson([log, '--format', 'mtrace', '--target', 'psp', '--allocators', 'tlsf,first-fit,buddy']);
  t.is(report.heap, 'main');
  t.is(report.heap_in, '.wrt_instances');
  // The same replay, as a scenario beside the log.
  const file = join(dir, 'check.yaml');
  writeFileSync(file, `target: psp\nheaps: [{name: main, allocator: tlsf, in: {in: .wrt_instances, size: 64K}}]\nsteps:\n  - replay: {file: small.mtrace, format: mtrace, heap: main}\n`);
  checkSizes(t, loadScenario(file), report);
  // The faults one grain below are at the log's lines.
  for (const r of report.allocators) t.true((r.below!.fault as { log_line?: number }).log_line! > 1);
});

test('emu size --jobs 2 gives exactly what --jobs 1 gives', (t) => {
  const file = twoHeaps(tempDir());
  const one = sizeJson([file, '--heap', 'main', '--jobs', '1']).stdout;
  const two = sizeJson([file, '--heap', 'main', '--jobs', '2']).stdout;
  t.is(two, one);
  const text1 = emu(['size', file, '--heap', 'main', '--allocators', 'buddy,tlsf,dlmalloc', '--jobs', '1']);
  const text3 = emu(['size', file, '--heap', 'main', '--allocators', 'buddy,tlsf,dlmalloc', '--jobs', '3']);
  t.is(text3.stdout, text1.stdout);
  t.is(text3.status, 0);
});

test('emu size says when no size passes up to the region, and exits 1', (t) => {
  const dir = tempDir();
  const file = join(dir, 'huge.yaml');
  // The DTCM is 128 KiB: a 200 KiB request fits in no heap there.
  writeFileSync(file, `target: bare-metal\nheaps: [{name: main, allocator: first-fit, in: {in: dtcm, size: 64K}}]\nsteps:\n  - alloc: {id: huge, heap: main, size: 200K}\n  - free: huge\n`);
  const r = emu(['size', file, '--allocators', 'first-fit,dlmalloc']);
  t.is(r.status, 1, r.stderr);
  t.regex(r.stdout, /first-fit: no passing size up to the region's capacity \(131,072 bytes\); there the first is oom at line 4/);
  t.regex(r.stdout, /dlmalloc: no passing size up to the region's capacity \(131,072 bytes\)/);
  const json = JSON.parse(emu(['size', file, '--json']).stdout) as Report;
  t.is(json.room, 131072);
  for (const a of json.allocators) {
    t.is(a.size, null);
    t.is(a.fault_at_room!.kind, 'oom');
  }
});

test('emu size reports sizes above the found one that fail (not monotone), and checks them', (t) => {
  // buddy on the half-fit scenario's heap: found by bisection, yet two sizes a few grains above fail.
  const file = join(REPO, 'scenarios/half-fit.yaml');
  const { report } = sizeJson([file, '--allocators', 'buddy']);
  const [r] = report.allocators;
  t.false(r.monotone);
  t.true(r.failing_above.length > 0);
  const scenario = loadScenario(file);
  for (const size of r.failing_above) t.true(failures(scenario, 'main', r, size).length > 0, `${size} fails`);
  t.true(r.steady_size! > Math.max(...r.failing_above));
  t.deepEqual(failures(scenario, 'main', r, r.steady_size!), []);
  checkSizes(t, scenario, report);
  const text = emu(['size', file, '--allocators', 'buddy']).stdout;
  t.regex(text, new RegExp(`\\* buddy: not monotone: .*fail.*every size tried from ${r.steady_size!.toLocaleString('en-US')} up passes`));
});

test('emu size: bad input exits 2 with a message, never a stack trace', (t) => {
  const dir = tempDir();
  const file = twoHeaps(dir);
  const bad = join(dir, 'bad.mtrace');
  writeFileSync(bad, 'this is not a log\n');
  const scoped = join(dir, 'scoped.yaml');
  writeFileSync(scoped, `target: psx\nheaps: [{name: frame, allocator: bump, in: .wrt_scratch}]\nsteps:\n  - scope: {heap: frame, steps: [{alloc: {id: a, heap: frame, size: 16}}]}\n`);
  const cases: Array<[string[], RegExp]> = [
    [[file, '--heap', 'main', '--allocators', 'tlsff'], /unknown allocator 'tlsff' \(did you mean 'tlsf'\?\)/],
    [[file, '--heap', 'mian'], /no heap 'mian' \(did you mean 'main'\?\) \(heaps: scratch, main\)/],
    [[file], /has 2 heaps \(scratch, main\): name the one to size with --heap/],
    [[bad, '--format', 'mtrace', '--target', 'psp'], /bad\.mtrace:1:1: error: not a glibc mtrace log/],
    [[bad, '--target', 'psp'], /needs --format and --target/],
    [[scoped], /scoped\.yaml:4:1: error: heap 'frame' cannot be sized with tlsf: this scope needs an allocator with scopes/],
    [[file, '--heap', 'main', '--jobs', '0'], /--jobs: expected a whole number of at least 1/],
    [[file, '--heap', 'main', '--target', 'psp'], /--target: for a field log only/],
    [[join(dir, 'missing.yaml')], /missing\.yaml: no such file/],
  ];
  for (const [args, message] of cases) {
    const r = emu(['size', ...args]);
    t.is(r.status, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    t.regex(r.stderr, message);
    t.notRegex(r.stderr, /\n\s+at /, 'no stack trace');
  }
});
