/**
 * Command-line robustness (issue 14): bad paths and bad numbers are usage errors (exit 2, a message
 * naming what was typed, no stack trace, nothing left behind), and CI is read as people set it.
 */
import test, { type ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isCI } from '../src/cli/options.js';
import { CLI, emu, tempDir } from './helpers/scenario.js';

const SMALL = `target: bare-metal
seed: 1
heaps: [{name: main, allocator: first-fit, in: {in: sram, size: 4K}}]
steps:
  - alloc: {id: a, heap: main, size: 64}
  - free: a
`;

/** A temporary folder, removed when the test ends. */
function scratch(t: ExecutionContext): string {
  const dir = tempDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A folder holding scenarios/small.yaml, and the path of that scenario. */
function project(t: ExecutionContext): { dir: string; scenario: string } {
  const dir = scratch(t);
  mkdirSync(join(dir, 'scenarios'));
  const scenario = join(dir, 'scenarios', 'small.yaml');
  writeFileSync(scenario, SMALL);
  return { dir, scenario };
}

function assertUsage(t: ExecutionContext, r: ReturnType<typeof emu>, message: RegExp): void {
  t.is(r.status, 2, r.stdout + r.stderr);
  t.regex(r.stderr, message);
  t.notRegex(r.stderr, /internal error|\n\s+at /);
}

test('run --trace FOLDER is refused, and leaves no temporary file beside it', (t) => {
  const { dir, scenario } = project(t);
  const folder = join(dir, 'out');
  mkdirSync(folder);
  assertUsage(t, emu(['run', scenario, '--trace', folder]), /--trace .*out: is a folder/);
  t.deepEqual(readdirSync(dir).sort(), ['out', 'scenarios']);
  t.deepEqual(readdirSync(folder), []);
});

test('run --trace in a folder that does not exist is refused', (t) => {
  const { dir, scenario } = project(t);
  assertUsage(t, emu(['run', scenario, '--trace', join(dir, 'nowhere', 'x.trace')]), /cannot write there: folder .*nowhere does not exist/);
});

test('what follows -- is positionals: emu test -- DIR runs DIR (it ran ./scenarios); one that looks like an option is refused', (t) => {
  const { dir } = project(t);
  const r = emu(['test', '--', join(dir, 'scenarios')], { cwd: dir });
  t.is(r.status, 1, r.stderr);
  t.regex(r.stdout, /^FAIL +small .*golden missing/m);
  t.regex(r.stdout, /0 passed, 1 failed/);
  assertUsage(t, emu(['test', '--', '--seed', join(dir, 'scenarios')], { cwd: dir }), /--seed after --: write \.\/--seed for a file of that name/);
});

test('map FOLDER is a usage error', (t) => {
  const { dir } = project(t);
  assertUsage(t, emu(['map', dir]), /is a folder/);
});

test('a folder where a file is read, or a path through a file, is a usage error naming it (both were internal errors)', (t) => {
  const { dir, scenario } = project(t);
  const folder = join(dir, 'folder.yaml');
  mkdirSync(folder);
  for (const args of [['run', folder], ['repro', folder], ['size', folder]]) assertUsage(t, emu(args), /folder\.yaml: is a folder, not a file/);
  assertUsage(t, emu(['inspect', folder]), /folder\.yaml: is a folder, not a trace/);
  assertUsage(t, emu(['diff', folder, folder]), /folder\.yaml: is a folder, not a trace/);
  assertUsage(t, emu(['run', join(scenario, 'x.yaml')]), /cannot read .*small\.yaml\/x\.yaml: a part of the path is a file, not a folder/);
});

test('--seed and --jobs name what was typed', (t) => {
  const { scenario } = project(t);
  assertUsage(t, emu(['run', scenario, '--seed', 'abc']), /--seed: expected a whole number from 0 to 4294967295, got "abc"/);
  assertUsage(t, emu(['run', scenario, '--seed', '1.5']), /got "1.5"/);
  assertUsage(t, emu(['test', scenario, '--jobs', 'x']), /--jobs: expected a whole number of at least 1, got "x"/);
  assertUsage(t, emu(['size', scenario, '--jobs', 'x']), /--jobs: expected a whole number of at least 1, got "x"/);
  const ok = emu(['run', scenario, '--seed', '7']);
  t.is(ok.status, 0, ok.stdout + ok.stderr);
  t.regex(ok.stdout, /seed 7/);
});

test('--seeds beyond 32 bits is a usage error (at 2^53 the seeds stopped counting up: the run never ended)', (t) => {
  const { scenario } = project(t);
  assertUsage(t, emu(['run', scenario, '--seeds', '4294967296..4294967297']), /--seeds: expected a whole number from 0 to 4294967295, got "4294967296"/);
  const endless = spawnSync(process.execPath, [CLI, 'run', scenario, '--seeds', '9007199254740992..9007199254740993'], { encoding: 'utf8', timeout: 30_000 });
  assertUsage(t, endless, /--seeds: expected a whole number from 0 to 4294967295/);
  const last = emu(['run', scenario, '--seeds', '4294967294..4294967295']);
  t.is(last.status, 0, last.stderr);
  t.regex(last.stdout, /seed 4294967295: no faults/);
});

test('an option given twice is a usage error naming it (a path option reached the file functions as an array: exit 3)', (t) => {
  const { dir, scenario } = project(t);
  assertUsage(t, emu(['run', scenario, '--trace', join(dir, 'a.trace'), '--trace', join(dir, 'b.trace')]), /--trace is given 2 times; give it once/);
  assertUsage(t, emu(['size', scenario, '--jobs', '1', '--jobs', '2']), /--jobs is given 2 times/);
  // Several scenarios are one positional, not a repeated option; `--` ends the options.
  t.is(emu(['run', scenario, scenario, '--seed', '2']).status, 0);
  t.is(emu(['run', scenario, '--seed', '2', '--', scenario]).status, 0);
});

test('--help of a command run under the interrupt supervisor prints its usage and exits 0 (it exited 3)', (t) => {
  for (const command of ['run', 'test', 'repro', 'size', 'inspect']) {
    const r = emu([command, '--help']);
    t.is(r.status, 0, `${command}: ${r.stderr}`);
    t.regex(r.stdout, new RegExp(`^emu ${command} `), command);
    t.is(r.stderr, '', command);
  }
});

test('import --out in a missing folder says the write failed', (t) => {
  const dir = scratch(t);
  const log = join(dir, 'prog.mtrace');
  writeFileSync(log, '= Start\n@ ./prog:[0x401000] + 0x10010 0x20\n@ ./prog:[0x401100] - 0x10010\n= End\n');
  const r = emu(['import', log, '--format', 'mtrace', '--target', 'bare-metal', '--heap', 'first-fit', '--out', join(dir, 'missing-dir', 'x.yaml')]);
  assertUsage(t, r, /cannot write there: folder .*missing-dir does not exist/);
  t.notRegex(r.stderr, /cannot read/);
});

test('CI=false, CI=0 and an empty CI are not CI; CI=true and CI=1 are', (t) => {
  for (const value of ['false', '0', '', 'no', 'off', 'FALSE']) t.false(isCI({ CI: value }), value);
  for (const value of ['true', '1', 'yes', 'github']) t.true(isCI({ CI: value }), value);
  t.false(isCI({}));
  // CI=false lets --update write a golden, as on a developer's machine.
  const { dir, scenario } = project(t);
  const r = emu(['run', scenario, '--update'], { env: { CI: 'false' } });
  t.is(r.status, 0, r.stdout + r.stderr);
  t.true(existsSync(join(dir, 'golden', 'small.trace')));
});

test('CI=true emu repro --shrink writes the shrunk scenario but no golden', (t) => {
  const dir = scratch(t);
  const file = join(dir, 'oom.yaml');
  writeFileSync(file, `target: bare-metal
seed: 6
heaps: [{name: main, allocator: first-fit, in: {in: sram, size: 1300}}]
steps:
  - random: {heap: main, count: 12, size: {uniform: [64, 512]}, max_live: 4, free_order: fifo}
`);
  const r = emu(['repro', file, '--shrink'], { env: { CI: 'true' } });
  t.is(r.status, 0, r.stdout + r.stderr);
  t.regex(r.stdout, /golden: not written \(goldens are never written in CI\)/);
  t.true(existsSync(join(dir, 'oom-repro.yaml')));
  t.false(existsSync(join(dir, 'golden')), readdirSync(dir).join(', '));
});
