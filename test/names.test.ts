/**
 * One name, one golden: scenarios that would share a golden are refused before anything runs, and a
 * whole-folder `emu test` lists the goldens no scenario uses (never deleting them).
 */
import test from 'ava';
import { existsSync, mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { emu, tempDir } from './helpers/scenario.js';

const SMALL = `target: psp
heaps: [{name: h, allocator: first-fit, in: user, size: 64K}]
steps:
  - alloc: {id: a, heap: h, size: 100}
  - free: a
`;

/** A scenarios/ folder with small.yaml (named by its file) and the given other files; no goldens yet. */
function project(files: Record<string, string> = {}): string {
  const dir = tempDir();
  mkdirSync(join(dir, 'scenarios'));
  writeFileSync(join(dir, 'scenarios', 'small.yaml'), SMALL);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, 'scenarios', name), text);
  return dir;
}

test('names: emu test refuses two scenarios named alike before anything runs, naming both files', (t) => {
  const dir = project({ 'copy.yaml': `description: a copy\nname: small\n${SMALL}` });
  const r = emu(['test', 'scenarios', '--update'], { cwd: dir });
  t.is(r.status, 2);
  t.is(r.stdout, '');
  t.is(
    r.stderr,
    [
      "emu: 2 scenarios are named 'small', and a name has one golden (golden/small.trace):",
      '  scenarios/copy.yaml:2:7 (name: small)',
      '  scenarios/small.yaml (its file name)',
      'give each its own name (the name: key, or the file name where there is none); nothing was run',
      '',
    ].join('\n'),
  );
  t.false(existsSync(join(dir, 'golden')));
  // A shard holds only some of them, but the clash is the whole folder's: refused all the same.
  t.is(emu(['test', 'scenarios', '--shard', '2/2'], { cwd: dir }).status, 2);
});

test('names: emu run refuses them too, every clash listed with its name: lines', (t) => {
  const dir = project({
    'a.yaml': `name: twin\n${SMALL}`,
    'b.yaml': `# the second\n\nname:   twin\n${SMALL}`,
    'c.yaml': `name: small\n${SMALL}`,
  });
  const r = emu(['run', 'scenarios/a.yaml', 'scenarios/small.yaml', 'scenarios/b.yaml', 'scenarios/c.yaml'], { cwd: dir });
  t.is(r.status, 2);
  t.is(r.stdout, '');
  t.regex(r.stderr, /^emu: 2 scenarios are named 'twin', and a name has one golden \(golden\/twin\.trace\):\n  scenarios\/a\.yaml:1:7 \(name: twin\)\n  scenarios\/b\.yaml:3:9 \(name: twin\)\n/);
  t.regex(r.stderr, /\n2 scenarios are named 'small', and a name has one golden \(golden\/small\.trace\):\n  scenarios\/small\.yaml \(its file name\)\n  scenarios\/c\.yaml:1:7 \(name: small\)\n/);
  t.notRegex(r.stderr, /Run 'emu --help'/);
});

test('names: the same file twice is one scenario, and folders with their own goldens may share a name', (t) => {
  const dir = project();
  t.is(emu(['run', 'scenarios/small.yaml', 'scenarios/small.yaml', '--update'], { cwd: dir }).status, 0);
  // A folder not called scenarios/ keeps its goldens in its own golden/: no shared golden, no clash.
  mkdirSync(join(dir, 'extra'));
  writeFileSync(join(dir, 'extra', 'other.yaml'), `name: small\n${SMALL}`);
  const r = emu(['run', 'scenarios/small.yaml', 'extra/other.yaml', '--update'], { cwd: dir });
  t.is(r.status, 0, r.stderr);
  t.true(existsSync(join(dir, 'extra', 'golden', 'small.trace')));
  // A folder and a file in it: the file runs once.
  const both = emu(['test', 'scenarios', 'scenarios/small.yaml'], { cwd: dir });
  t.is(both.status, 0, both.stdout);
  t.regex(both.stdout, /^1 passed, 0 failed$/m);
});

test('unused goldens: a whole-folder emu test lists them in every reporter and exits 1; nothing is deleted', (t) => {
  const dir = project({ 'old.yaml': SMALL });
  t.is(emu(['test', 'scenarios', '--update'], { cwd: dir }).status, 0);
  // The scenario is renamed and recorded again: its old goldens stay behind.
  renameSync(join(dir, 'scenarios', 'old.yaml'), join(dir, 'scenarios', 'new.yaml'));
  t.is(emu(['run', 'scenarios/new.yaml', '--update'], { cwd: dir }).status, 0);
  const text = emu(['test'], { cwd: dir });
  t.is(text.status, 1);
  t.regex(text.stdout, /^ok +new .*\nok +small .*\n\nunused golden: golden\/old\.md \(no scenario named old\)\nunused golden: golden\/old\.trace \(no scenario named old\)\n +emu deletes no golden/m);
  t.regex(text.stdout, /^2 passed, 0 failed, 2 unused goldens$/m);
  const json = JSON.parse(emu(['test', '--reporter', 'json'], { cwd: dir }).stdout);
  t.deepEqual(json.unused_goldens, [
    { path: 'golden/old.md', scenario: 'old', message: 'unused golden: golden/old.md (no scenario named old)' },
    { path: 'golden/old.trace', scenario: 'old', message: 'unused golden: golden/old.trace (no scenario named old)' },
  ]);
  t.deepEqual(json.counts, { scenarios: 2, passed: 2, failed: 0, errors: 0, unused_goldens: 2 });
  const junit = emu(['test', '--reporter', 'junit'], { cwd: dir });
  t.is(junit.status, 1);
  t.regex(junit.stdout, /<testsuite name="emu" id="0" package="emu" hostname="[^"]+" tests="4" failures="2" errors="0" skipped="0" /);
  t.regex(junit.stdout, /<testcase classname="golden" name="golden\/old\.trace" file="golden\/old\.trace" time="0\.000">\n +<failure message="unused golden: golden\/old\.trace \(no scenario named old\)" type="unused-golden">emu deletes no golden/);
  // --update records what differs and deletes nothing; the stray goldens still fail the suite.
  const update = emu(['test', '--update'], { cwd: dir });
  t.is(update.status, 1);
  t.regex(update.stdout, /unused golden: golden\/old\.trace/);
  t.deepEqual(readdirSync(join(dir, 'golden')).sort(), ['new.md', 'new.trace', 'old.md', 'old.trace', 'small.md', 'small.trace']);
});

test('unused goldens: not looked for with --shard or a list of files; a bad input still exits 2', (t) => {
  const dir = project();
  t.is(emu(['test', '--update'], { cwd: dir }).status, 0);
  writeFileSync(join(dir, 'golden', 'gone.trace'), '');
  t.is(emu(['test', 'scenarios/small.yaml'], { cwd: dir }).status, 0);
  const shard = emu(['test', '--shard', '1/1'], { cwd: dir });
  t.is(shard.status, 0);
  t.notRegex(shard.stdout, /unused/);
  t.is(emu(['test'], { cwd: dir }).status, 1);
  // A named golden in a sub-folder (a name with a slash) belongs to that name.
  mkdirSync(join(dir, 'golden', 'suite'));
  writeFileSync(join(dir, 'golden', 'suite', 'deep.md'), '');
  t.regex(emu(['test'], { cwd: dir }).stdout, /unused golden: golden\/suite\/deep\.md \(no scenario named suite\/deep\)/);
  writeFileSync(join(dir, 'scenarios', 'broken.yaml'), 'target: nowhere\nsteps: []\n');
  const broken = emu(['test'], { cwd: dir });
  t.is(broken.status, 2);
  t.regex(broken.stdout, /unused golden: golden\/gone\.trace/);
});
