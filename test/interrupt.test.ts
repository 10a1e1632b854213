/**
 * Interrupts (issue 14): SIGINT or SIGTERM during a long `emu run`, `emu test`, `emu repro` or
 * `emu size` ends it with exit 130 or 143, and leaves no temporary file beside a golden or a --trace
 * file, no scratch folder in the temporary folder, and the goldens as they were. Each child gets a
 * private TMPDIR, so that what it leaves there is its own. The signal is sent once the run's first
 * temporary file exists (`emu size` writes none: once it has read its scenario): the test waits for
 * the run to be under way, not for a time.
 */
import test, { type ExecutionContext } from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, constants, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, emu, tempDir } from './helpers/scenario.js';

/** Millions of operations: minutes of work, far longer than any test waits. */
const scenario = (count: number) => `target: bare-metal
seed: 3
heaps: [{name: main, allocator: first-fit, in: {in: sram, size: 64K}}]
steps:
  - random: {heap: main, count: ${count}, size: {uniform: [16, 256]}, max_live: 40}
`;

interface Project {
  dir: string;
  tmp: string;
  file: string;
}

/** scenarios/long.yaml (with a golden recorded from a short version of it when `golden`), and a private TMPDIR. */
function project(t: ExecutionContext, golden: boolean): Project {
  const dir = tempDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const tmp = join(dir, 'tmp');
  mkdirSync(tmp);
  mkdirSync(join(dir, 'scenarios'));
  const file = join(dir, 'scenarios', 'long.yaml');
  if (golden) {
    writeFileSync(file, scenario(100));
    const r = emu(['run', file, '--update'], { cwd: dir });
    if (r.status !== 0) throw new Error(r.stdout + r.stderr);
  }
  writeFileSync(file, scenario(50_000_000));
  return { dir, tmp, file };
}

/** Temporary files anywhere under the project, and everything in its private TMPDIR. */
function leftovers(p: Project): string[] {
  const found: string[] = readdirSync(p.tmp).map((name) => join(p.tmp, name));
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (path !== p.tmp) walk(path);
      } else if (/\.tmp-\d+$/.test(entry.name)) found.push(path);
    }
  };
  walk(p.dir);
  return found;
}

/**
 * The run has made a temporary file of its own: beside its outputs, or inside the scratch folder its
 * supervisor makes first (an empty one only says the command has started).
 */
function underWay(p: Project): boolean {
  const inScratch = readdirSync(p.tmp, { withFileTypes: true }).some((e) => !e.isDirectory() || readdirSync(join(p.tmp, e.name)).length > 0);
  return inScratch || leftovers(p).some((path) => !path.startsWith(p.tmp));
}

/** Runs emu, sends `signal` once its first temporary file exists, and gives the exit code and stderr. */
async function interrupt(p: Project, args: string[], signal: NodeJS.Signals, ready = underWay): Promise<{ code: number | null; stderr: string; sawTemp: boolean }> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: p.dir, env: { ...process.env, CI: '', TMPDIR: p.tmp } });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  child.stdout.resume();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let sawTemp = false;
  // Polls for the run to be under way; a run that ends first fails the test below (sawTemp false).
  for (let i = 0; i < 1200 && child.exitCode === null; i++) {
    if (ready(p)) {
      sawTemp = true;
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill(signal);
  return { code: await exited, stderr, sawTemp };
}

test('SIGINT during emu run: exit 130, no scratch trace left in TMPDIR', async (t) => {
  const p = project(t, true);
  const golden = readFileSync(join(p.dir, 'golden', 'long.trace'));
  const r = await interrupt(p, ['run', p.file], 'SIGINT');
  t.true(r.sawTemp, r.stderr);
  t.is(r.code, 130, r.stderr);
  t.regex(r.stderr, /interrupted \(SIGINT\)/);
  t.deepEqual(leftovers(p), []);
  t.deepEqual(readFileSync(join(p.dir, 'golden', 'long.trace')), golden);
});

test('SIGTERM during emu run --update: exit 143, no partial golden, no temporary file', async (t) => {
  const p = project(t, false);
  const r = await interrupt(p, ['run', p.file, '--update'], 'SIGTERM');
  t.true(r.sawTemp, r.stderr);
  t.is(r.code, 143, r.stderr);
  t.deepEqual(leftovers(p), []);
  t.false(existsSync(join(p.dir, 'golden', 'long.trace')));
  t.false(existsSync(join(p.dir, 'golden', 'long.md')));
});

test('SIGINT during emu run --trace FILE: no temporary file beside it', async (t) => {
  const p = project(t, false);
  const r = await interrupt(p, ['run', p.file, '--trace', join(p.dir, 'out.trace')], 'SIGINT');
  t.true(r.sawTemp, r.stderr);
  t.is(r.code, 130, r.stderr);
  t.deepEqual(leftovers(p), []);
  t.false(existsSync(join(p.dir, 'out.trace')));
});

test('SIGTERM as soon as the supervisor has made its scratch folder: exit 143, the folder removed', async (t) => {
  const p = project(t, false);
  const r = await interrupt(p, ['run', p.file], 'SIGTERM', (q) => readdirSync(q.tmp).length > 0);
  t.true(r.sawTemp, r.stderr);
  t.is(r.code, 143, r.stderr);
  t.deepEqual(leftovers(p), []);
});

test('SIGTERM during emu test --jobs 2: exit 143, nothing left behind', async (t) => {
  const p = project(t, true);
  const second = join(p.dir, 'scenarios', 'long2.yaml');
  writeFileSync(second, scenario(100));
  t.is(emu(['run', second, '--update'], { cwd: p.dir, env: { TMPDIR: p.tmp } }).status, 0);
  writeFileSync(second, scenario(50_000_000));
  const r = await interrupt(p, ['test', 'scenarios', '--jobs', '2'], 'SIGTERM');
  t.true(r.sawTemp, r.stderr);
  t.is(r.code, 143, r.stderr);
  t.deepEqual(leftovers(p), []);
});

/**
 * `emu size` writes no temporary file to wait for: its scenario is a named pipe instead, which the
 * child opens (in the command's worker, so under the supervisor) when it reads the scenario. Until
 * then the test's open for writing fails (ENXIO: no reader); then the scenario text goes through.
 */
async function interruptSize(p: Project, jobs: string, signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  rmSync(p.file);
  const made = spawnSync('mkfifo', [p.file]);
  if (made.status !== 0) throw new Error(`mkfifo: ${made.stderr}`);
  const child = spawn(process.execPath, [CLI, 'size', p.file, '--jobs', jobs, '--allocators', 'first-fit,tlsf'], { cwd: p.dir, env: { ...process.env, CI: '', TMPDIR: p.tmp } });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  child.stdout.resume();
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (code, by) => resolve([code, by])));
  // Polls for the reader; a child that ends first fails the test below (its exit code).
  for (let i = 0; i < 1200 && child.exitCode === null; i++) {
    try {
      const pipe = openSync(p.file, constants.O_WRONLY | constants.O_NONBLOCK);
      writeSync(pipe, scenario(50_000_000));
      closeSync(pipe);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENXIO') throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  child.kill(signal);
  const [code, by] = await exited;
  return { code, signal: by, stderr };
}

test('SIGINT during emu size, SIGTERM during emu size --jobs 2: exit 130 and 143, nothing left behind', async (t) => {
  for (const [signal, code, jobs] of [['SIGINT', 130, '1'], ['SIGTERM', 143, '2']] as const) {
    const p = project(t, false);
    const r = await interruptSize(p, jobs, signal);
    t.is(r.code, code, `${signal}: ${r.signal ?? ''} ${r.stderr}`);
    t.regex(r.stderr, new RegExp(`interrupted \\(${signal}\\)`));
    t.deepEqual(leftovers(p), []);
    t.deepEqual(readdirSync(p.dir).sort(), ['scenarios', 'tmp']);
  }
});
