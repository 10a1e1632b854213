/**
 * The CI recipe in .github/: the workflow's own `emu test` command, run for each shard of its matrix
 * in a small project under CI=true, covers every scenario once and leaves the JUnit file the upload
 * step names; the problem matcher links emu's input errors to their file, line and column.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { CLI, emu, REPO, tempDir } from './helpers/scenario.js';
import { checkJunit } from './helpers/junit.js';

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  if?: string;
}

const workflow = parse(readFileSync(join(REPO, '.github', 'workflows', 'emu.yml'), 'utf8')) as {
  jobs: { scenarios: { strategy: { 'fail-fast': boolean; matrix: { shard: number[] } }; steps: Step[] } };
};
const job = workflow.jobs.scenarios;
const shards = job.strategy.matrix.shard;

/** A step's text with the matrix entry and the job total put in, as GitHub does. */
function expand(text: string, shard: number): string {
  return text.replaceAll('${{ matrix.shard }}', String(shard)).replaceAll('${{ strategy.job-total }}', String(shards.length));
}

test('the workflow installs with the npm cache on Node 20, builds, and uploads every shard\'s report even when it fails', (t) => {
  const setup = job.steps.find((s) => s.uses?.startsWith('actions/setup-node@'));
  t.like(setup?.with, { 'node-version': 20, cache: 'npm' });
  const runs = job.steps.map((s) => s.run ?? '');
  t.true(runs.indexOf('npm ci') >= 0 && runs.indexOf('npm ci') < runs.indexOf('npm run build'));
  t.false(job.strategy['fail-fast']);
  t.deepEqual(shards, Array.from({ length: shards.length }, (_, i) => i + 1));
  const upload = job.steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'))!;
  t.is(upload.if, 'always()');
  t.false(runs.some((r) => r.includes('--update') || r.includes(' -u ')));
});

test('the workflow\'s emu test, run for each shard under CI=true, runs every scenario once and writes the JUnit file it uploads', (t) => {
  const dir = tempDir();
  mkdirSync(join(dir, 'scenarios'));
  const names = ['a', 'b', 'c', 'd', 'e', 'f'];
  for (const [i, name] of names.entries()) writeFileSync(join(dir, 'scenarios', `${name}.yaml`), `target: psp\nheaps: [{name: h, allocator: tlsf, in: user, size: 64K}]\nsteps:\n  - alloc: {id: x, heap: h, size: ${16 * (i + 1)}}\n`);
  t.is(emu(['test', '--update'], { cwd: dir }).status, 0);
  const command = job.steps.find((s) => s.run?.includes(' test '))!.run!;
  const seen: string[] = [];
  for (const shard of shards) {
    const [node, cli, ...args] = expand(command, shard).split(/\s+/);
    t.is(`${node} ${cli}`, 'node dist/src/cli/main.js');
    t.true(args.includes(`${shard}/${shards.length}`));
    const r = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: 'true' } });
    t.is(r.status, 0, r.stdout + r.stderr);
    const upload = job.steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'))!;
    const report = join(dir, expand(String(upload.with!.path), shard));
    t.true(existsSync(report), report);
    const { errors, cases } = checkJunit(readFileSync(report, 'utf8'));
    t.deepEqual(errors, []);
    seen.push(...cases.map((c) => c.name));
  }
  t.deepEqual(seen.sort(), names);
  // And in CI the goldens are never written.
  const update = spawnSync(process.execPath, [CLI, 'test', '--update'], { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: 'true' } });
  t.is(update.status, 2);
  t.regex(update.stderr, /goldens are never written in CI/);
});

test('the problem matcher takes the file, line, column and message of emu\'s input errors, alone or in emu test\'s report', (t) => {
  const matcher = JSON.parse(readFileSync(join(REPO, '.github', 'emu-problem-matcher.json'), 'utf8')) as { problemMatcher: { pattern: { regexp: string; file: number; line: number; column: number; message: number }[] }[] };
  const pattern = matcher.problemMatcher[0].pattern[0];
  const regexp = new RegExp(pattern.regexp);
  const dir = tempDir();
  mkdirSync(join(dir, 'scenarios'));
  writeFileSync(join(dir, 'scenarios', 'bad.yaml'), 'target: nowhere\nsteps: []\n');
  const run = emu(['run', 'scenarios/bad.yaml'], { cwd: dir }).stderr.split('\n')[0];
  const suite = emu(['test'], { cwd: dir }).stdout.split('\n')[0];
  for (const line of [run, suite]) {
    const m = regexp.exec(line);
    t.truthy(m, line);
    t.deepEqual([m![pattern.file], m![pattern.line], m![pattern.column]], ['scenarios/bad.yaml', '1', '9']);
    t.regex(m![pattern.message], /^unknown target 'nowhere'/);
  }
});
