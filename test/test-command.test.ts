/**
 * `emu test` as CI uses it: lines streamed in file order whatever --jobs, scenarios found in subfolders
 * (.yaml and .yml) or by a glob, several reports at once, and JUnit reports that keep the rules of the
 * common JUnit schemas for a passing, a failing, a mismatching, an unrecorded and a bad scenario.
 */
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, emu, tempDir } from './helpers/scenario.js';
import { checkJunit } from './helpers/junit.js';

const scenario = (size: number, extra = '') => `target: psp
heaps: [{name: h, allocator: first-fit, in: user, size: 64K}]
steps:
  - alloc: {id: a, heap: h, size: ${size}}
  - free: a
${extra}`;

/** Many operations: it finishes well after the small scenarios sorted before it. */
const SLOW = `target: psp
heaps: [{name: h, allocator: first-fit, in: user, size: 1M}]
steps:
  - random: {heap: h, count: 200000, size: {uniform: [16, 256]}, max_live: 50}
`;

/** A project folder: scenarios/ with the given files (paths may have folders), goldens recorded by --update. */
function project(files: Record<string, string>): string {
  const dir = tempDir();
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, 'scenarios', path, '..'), { recursive: true });
    writeFileSync(join(dir, 'scenarios', path), text);
  }
  const update = emu(['test', '-u'], { cwd: dir });
  if (update.status !== 0) throw new Error(update.stdout + update.stderr);
  return dir;
}

test('JUnit: passing, failing expectation, golden mismatch, missing golden and bad input keep the schema rules and say what failed', (t) => {
  const dir = project({ 'pass.yaml': scenario(100), 'expect.yaml': scenario(200), 'mismatch.yaml': scenario(300) });
  // After recording: an expectation that fails, a changed size (the golden differs from line 4), a
  // scenario with no golden yet, and one whose target does not exist.
  writeFileSync(join(dir, 'scenarios', 'expect.yaml'), scenario(200, 'expect:\n  faults: [{kind: double-free, line: 5}]\n'));
  writeFileSync(join(dir, 'scenarios', 'mismatch.yaml'), scenario(301));
  writeFileSync(join(dir, 'scenarios', 'new.yaml'), scenario(400));
  writeFileSync(join(dir, 'scenarios', 'bad.yaml'), 'target: nowhere\nsteps: []\n');
  const r = emu(['test', '--reporter', 'junit'], { cwd: dir, env: { CI: 'true' } });
  t.is(r.status, 2, r.stderr);
  const { errors, cases, suite } = checkJunit(r.stdout);
  t.deepEqual(errors, []);
  t.like(suite, { name: 'emu', tests: '5', failures: '3', errors: '1', skipped: '0' });
  t.regex(suite.timestamp, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/);
  t.deepEqual(
    cases.map((c) => [c.classname, c.name, c.file, c.problem?.tag ?? 'ok', c.problem?.type ?? '']),
    [
      ['scenarios', 'scenarios/bad.yaml', 'scenarios/bad.yaml', 'error', 'input-error'],
      ['scenarios', 'expect', 'scenarios/expect.yaml', 'failure', 'failed-expectation'],
      ['scenarios', 'mismatch', 'scenarios/mismatch.yaml', 'failure', 'golden-mismatch'],
      ['scenarios', 'new', 'scenarios/new.yaml', 'failure', 'missing-golden'],
      ['scenarios', 'pass', 'scenarios/pass.yaml', 'ok', ''],
    ],
  );
  const [bad, expect, mismatch, missing] = cases.map((c) => c.problem!);
  t.is(bad.message, "scenarios/bad.yaml:1:9: error: unknown target 'nowhere' (known: bare-metal, dreamcast, psp, psx, qnx, or a path to a target file)");
  t.regex(expect.message, /^failed expectation: .*double-free/);
  t.is(mismatch.message, 'golden mismatch (golden/mismatch.trace): first difference at event 4 (op 1, scenario line 4): size');
  t.regex(mismatch.text, /- golden: .*\n.*\+ this run: /);
  t.is(missing.message, 'missing golden golden/new.trace');
  t.true(cases.every((c) => /^\d+\.\d{3}$/.test(c.time)));
});

test('JUnit rules: the checker rejects what the schemas reject (the report emu wrote before)', (t) => {
  const old = '<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="emu" tests="1" failures="1">\n  <testcase classname="emu.scenarios" name="a" file="a.yaml">\n    <failure message="golden match">x</failure>\n  </testcase>\n</testsuite>\n';
  t.deepEqual(checkJunit(old).errors, ['root: expected testsuites, got testsuite']);
  const { errors } = checkJunit(`<testsuites><testsuite name="emu" tests="2" failures="0" errors="0" time="1" timestamp="2026-01-01T00:00:00Z" hostname="h" id="0" package="p" skipped="0"><properties/><testcase name="a" classname="c" time="x" file="f" line="3"><failure message="m">&lt;</failure></testcase><system-out/><system-err/></testsuite></testsuites>`);
  t.deepEqual(errors, [
    'testsuite emu: timestamp="2026-01-01T00:00:00Z" does not match /^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}$/',
    'testcase a: attribute line is not in the schemas',
    'testcase a: time="x" does not match /^\\d+(\\.\\d+)?$/',
    'failure: missing type',
    'testsuite 0: tests="2" but 1 counted',
    'testsuite 0: failures="0" but 1 counted',
  ]);
  t.true(checkJunit('<testsuites><testsuite></testsuites>').errors.some((e) => e.startsWith('xml ')));
});

test('emu test prints the same lines in file order with --jobs 1 and --jobs 2, the slow one first', (t) => {
  const dir = project({ 'a-slow.yaml': SLOW, 'b.yaml': scenario(100), 'c.yml': scenario(200), 'd.yaml': scenario(300) });
  const one = emu(['test', '-j', '1'], { cwd: dir });
  const two = emu(['test', '--jobs', '2'], { cwd: dir });
  t.is(two.status, 0, two.stderr);
  t.is(two.stdout, one.stdout);
  t.deepEqual(two.stdout.split('\n').map((l) => l.split(/ +/)[1]), ['a-slow', 'b', 'c', 'd', undefined, 'passed,', undefined]);
  // Progress counts are for a terminal: none in a pipe.
  t.is(two.stderr, '');
});

// Serial (ava runs these first, alone): the other tests' spawnSync would hold this process's event loop,
// and the chunks with it.
test.serial('emu test streams: the first scenario\'s line is out while a later one still runs', async (t) => {
  const dir = project({ 'a.yaml': scenario(100), 'b-slow.yaml': SLOW });
  const child = spawn(process.execPath, [CLI, 'test'], { cwd: dir, env: { ...process.env, CI: '' } });
  let stdout = '';
  let exited = false;
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // A child that ends without a line resolves it too, so that the test fails saying so instead of hanging.
  const firstChunk = new Promise<{ text: string; exited: boolean }>((resolve) => {
    child.stdout.once('data', (chunk: Buffer) => resolve({ text: chunk.toString(), exited }));
    child.once('close', () => resolve({ text: '', exited: true }));
  });
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const done = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  child.on('exit', () => (exited = true));
  const first = await firstChunk;
  t.false(first.exited, stderr);
  t.regex(first.text, /^ok +a /);
  t.notRegex(first.text, /b-slow|passed/);
  t.is(await done, 0);
  t.regex(stdout, /^ok +a .*\nok +b-slow .*\n\n2 passed, 0 failed\n$/);
});

test('on a terminal, a [done/total] count goes to stderr and is wiped; stdout, a file here, has none', (t) => {
  const dir = project({ 'a.yaml': scenario(100), 'b.yaml': scenario(200), 'c.yaml': scenario(300) });
  // script(1) (util-linux, in every Debian) gives the command a terminal: stderr is it, stdout a file.
  const r = spawnSync('script', ['-qec', `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} test > out.txt`, '/dev/null'], { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: '' } });
  t.is(r.status, 0, r.stdout + r.stderr);
  t.regex(r.stdout, /\r\x1b\[K\[1\/3\] scenarios done.*\r\x1b\[K\[2\/3\] scenarios done\r\x1b\[K$/s);
  t.regex(readFileSync(join(dir, 'out.txt'), 'utf8'), /^ok +a .*\nok +b .*\nok +c .*\n\n3 passed, 0 failed\n$/);
  // In CI, no count even on a terminal.
  const ci = spawnSync('script', ['-qec', `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} test > out.txt`, '/dev/null'], { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: 'true' } });
  t.is(ci.stdout, '');
});

test('emu test finds scenarios in subfolders (.yaml and .yml, not golden/), takes globs, and lists unused goldens of subfolders', (t) => {
  const dir = project({ 'top.yaml': scenario(100), 'sub/deep.yml': scenario(200), 'sub/deeper/deepest.yaml': scenario(300) });
  const all = emu(['test'], { cwd: dir });
  t.is(all.status, 0, all.stdout + all.stderr);
  t.deepEqual(all.stdout.split('\n').slice(0, 3).map((l) => l.split(/ +/)[1]), ['deep', 'deepest', 'top']);
  t.is(readFileSync(join(dir, 'scenarios', 'sub', 'golden', 'deep.md'), 'utf8').length > 0, true);
  const yml = emu(['test', 'scenarios/**/*.yml'], { cwd: dir });
  t.is(yml.status, 0);
  t.regex(yml.stdout, /^ok +deep .*\n\n1 passed, 0 failed\n$/);
  const braces = emu(['test', 'scenarios/{top,sub/deeper/*}.yaml'], { cwd: dir });
  t.regex(braces.stdout, /^ok +deepest .*\nok +top .*\n\n2 passed/);
  t.is(emu(['test', 'scenarios/**/*.toml'], { cwd: dir }).stderr, "emu: no file matches scenarios/**/*.toml\nRun 'emu --help' for usage.\n");
  writeFileSync(join(dir, 'scenarios', 'sub', 'golden', 'gone.trace'), '');
  const stray = emu(['test'], { cwd: dir });
  t.is(stray.status, 1);
  t.regex(stray.stdout, /unused golden: scenarios\/sub\/golden\/gone\.trace \(no scenario named gone\)/);
});

test('emu test writes several reports at once: text on stdout, JUnit and JSON to files', (t) => {
  const dir = project({ 'a.yaml': scenario(100) });
  const r = emu(['test', '--reporter', 'text', '--reporter', 'junit=report.xml', '--reporter', 'json=report.json', '--shard', '1/1'], { cwd: dir });
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /^ok +a .*\n\n1 passed, 0 failed\n$/);
  const junit = checkJunit(readFileSync(join(dir, 'report.xml'), 'utf8'));
  t.deepEqual(junit.errors, []);
  t.regex(readFileSync(join(dir, 'report.xml'), 'utf8'), /<property name="shard" value="1\/1"\/>/);
  const json = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
  t.like(json, { format: 'emu-test', version: 1, counts: { scenarios: 1, passed: 1, failed: 0, errors: 0, unused_goldens: 0 } });
  // The JSON report holds no times: two runs write the same bytes.
  const first = readFileSync(join(dir, 'report.json'), 'utf8');
  emu(['test', '--reporter', 'json=report.json'], { cwd: dir });
  t.is(readFileSync(join(dir, 'report.json'), 'utf8'), first);
  t.regex(emu(['test', '--reporter', 'text', '--reporter', 'json'], { cwd: dir }).stderr, /text and json would both go to stdout/);
  t.regex(emu(['test', '--reporter', 'junit=a.xml', '--reporter', 'json=./a.xml'], { cwd: dir }).stderr, /two reports would go to .*a\.xml/);
  t.regex(emu(['test', '--reporter', 'junit=nowhere/a.xml'], { cwd: dir }).stderr, /--reporter junit nowhere\/a\.xml: cannot write there/);
});
