import test from 'ava';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkScenario } from '../src/harness/check.js';
import { CLI, emu, REPO, tempDir } from './helpers/scenario.js';

const SCENARIOS = join(REPO, 'scenarios');
const shipped = readdirSync(SCENARIOS).filter((f) => f.endsWith('.yaml')).sort();

for (const name of shipped) {
  test(`determinism: ${name} gives byte-identical traces twice, and matches its golden`, (t) => {
    const dir = tempDir();
    const file = join(SCENARIOS, name);
    const first = checkScenario(file, { tracePath: join(dir, 'a.trace') });
    const second = checkScenario(file, { tracePath: join(dir, 'b.trace') });
    t.true(readFileSync(join(dir, 'a.trace')).equals(readFileSync(join(dir, 'b.trace'))));
    t.is(first.golden, 'match', `golden of ${name}`);
    t.deepEqual(first.expectationFailures, []);
    t.true(first.passed && second.passed);
  });
}

test('determinism: the same trace from another working directory and time zone, via the CLI', (t) => {
  const dir = tempDir();
  const file = join(SCENARIOS, 'psp-game.yaml');
  const here = emu(['run', file, '--trace', join(dir, 'here.trace')]);
  const there = emu(['run', file, '--trace', join(dir, 'there.trace')], { cwd: dir, env: { TZ: 'Pacific/Chatham', LANG: 'de_DE.UTF-8', LC_ALL: 'de_DE.UTF-8' } });
  t.is(here.status, 0, here.stderr);
  t.is(there.status, 0, there.stderr);
  t.true(readFileSync(join(dir, 'here.trace')).equals(readFileSync(join(dir, 'there.trace'))));
  t.regex(here.stdout, /golden: match/);
});

/** A scenarios/ + golden/ pair in a temp dir, with one scenario recorded as golden. */
function project(): { dir: string; scenario: string } {
  const dir = tempDir();
  mkdirSync(join(dir, 'scenarios'));
  const scenario = join(dir, 'scenarios', 'small.yaml');
  writeFileSync(
    scenario,
    `target: psp
heaps: [{name: h, allocator: first-fit, in: user, size: 64K}]
steps:
  - alloc: {id: a, heap: h, size: 100}
  - alloc: {id: b, heap: h, size: 200}
  - free: a
  - free: b
`,
  );
  const update = emu(['run', scenario, '--update']);
  if (update.status !== 0) throw new Error(update.stdout + update.stderr);
  return { dir, scenario };
}

test('golden: a changed scenario is a mismatch naming the first differing event and the changed metrics', (t) => {
  const { dir, scenario } = project();
  t.true(existsSync(join(dir, 'golden', 'small.trace')));
  t.regex(readFileSync(join(dir, 'golden', 'small.md'), 'utf8'), /small on psp/);
  writeFileSync(scenario, readFileSync(scenario, 'utf8').replace('size: 200', 'size: 300'));
  const r = emu(['run', scenario]);
  t.is(r.status, 1);
  t.regex(r.stdout, /golden: MISMATCH/);
  t.regex(r.stdout, /first difference at event 5 \(op 2, scenario line 5\): size, block$/m);
  t.regex(r.stdout, /- golden: #5 op 2 @\S+ L5 alloc heap=h id=b size=200/);
  t.regex(r.stdout, /\+ this run: #5 op 2 @\S+ L5 alloc heap=h id=b size=300/);
  t.regex(r.stdout, /heaps\.h\.peak_requested: 300 -> 400 \(\+33\.3%\)/);
  t.regex(r.stdout, /note: the scenario file changed/);
});

test('golden: in CI a missing golden fails and nothing is written; --update is refused', (t) => {
  const { dir, scenario } = project();
  const other = join(dir, 'scenarios', 'other.yaml');
  copyFileSync(scenario, other);
  const missing = emu(['run', other], { env: { CI: 'true' } });
  t.is(missing.status, 1);
  t.regex(missing.stdout, /golden: MISSING .*never written in CI/);
  t.false(existsSync(join(dir, 'golden', 'other.trace')));
  const update = emu(['run', other, '--update'], { env: { CI: 'true' } });
  t.is(update.status, 2);
  t.regex(update.stderr, /never written in CI/);
  t.false(existsSync(join(dir, 'golden', 'other.trace')));  // emu test refuses it before anything runs, on stderr whatever the reporter (the fuzzer found a JSON report with no message).
  const suite = emu(['test', join(dir, 'scenarios'), '--reporter', 'json', '--update'], { env: { CI: 'true' } });
  t.is(suite.status, 2);
  t.regex(suite.stderr, /^emu: goldens are never written in CI/m);
  t.is(suite.stdout, '');
});

test('golden: a run that fails on bad input leaves the golden untouched', (t) => {
  const { dir, scenario } = project();
  const before = readFileSync(join(dir, 'golden', 'small.trace'));
  writeFileSync(scenario, readFileSync(scenario, 'utf8').replace('size: 200', 'size: 2Q'));
  const r = emu(['run', scenario, '--update']);
  t.is(r.status, 2);
  t.true(readFileSync(join(dir, 'golden', 'small.trace')).equals(before));
  t.deepEqual(readdirSync(join(dir, 'golden')).sort(), ['small.md', 'small.trace']);
});

test('expectations: a missed expectation exits 1 and says which, with the measured value', (t) => {
  const { scenario } = project();
  writeFileSync(scenario, readFileSync(scenario, 'utf8') + 'expect:\n  faults: [{kind: oom}]\n  metrics:\n    heaps.h.peak_requested: {max: 250}\n');
  const r = emu(['run', scenario]);
  t.is(r.status, 1);
  t.regex(r.stdout, /expected fault #1 \(line 9\): oom, but the run had only 0 fault/);
  t.regex(r.stdout, /metric heaps\.h\.peak_requested = 300, above the maximum 250 \(line 11\)/);
});

test('inspect --ndjson prints the header and one JSON event a line; diff compares traces', (t) => {
  const { dir } = project();
  const trace = join(dir, 'golden', 'small.trace');
  const r = emu(['inspect', '--ndjson', trace]);
  t.is(r.status, 0);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  t.is(lines[0].type, 'header');
  t.is(lines[0].format, 'emu-trace');
  t.deepEqual(Object.keys(lines[2]).slice(0, 4), ['seq', 'op', 'cycle', 'type']);
  t.is(lines.at(-1).type, 'end');
  t.is(lines.at(-1).events, lines.length - 1);
  const text = emu(['inspect', trace]);
  t.regex(text.stdout, /#4 op 1 @0 L4 alloc heap=h id=a size=100 align=0 addr=0x08D84008/);
  t.is(emu(['diff', trace, trace]).status, 0);
  const other = join(REPO, 'golden', 'crate-budget.trace');
  const d = emu(['diff', trace, other]);
  t.is(d.status, 1);
  t.regex(d.stdout, /traces differ/);
  const bad = emu(['inspect', join(REPO, 'package.json')]);
  t.is(bad.status, 2);
  t.regex(bad.stderr, /not an emu trace/);
});

test('emu test: text, json and junit reporters, sharding and parallel jobs', (t) => {
  const text = emu(['test', '--jobs', '2']);
  t.is(text.status, 0, text.stdout + text.stderr);
  t.regex(text.stdout, new RegExp(`${shipped.length} passed, 0 failed`));
  const json = JSON.parse(emu(['test', '--reporter', 'json', '--shard', '1/3']).stdout);
  t.is(json.scenarios.length, Math.ceil(shipped.length / 3));
  t.true(json.scenarios.every((r: { passed: boolean }) => r.passed));
  const junit = emu(['test', '--reporter', 'junit', 'scenarios/psx-default-sections.yaml']);
  t.regex(junit.stdout, /<testsuite name="emu" id="0" package="emu" hostname="[^"]+" tests="1" failures="0" errors="0" skipped="0" time="\d+\.\d{3}" timestamp="[-\dT:]{19}">/);
  t.is(emu(['test', '--shard', '4/3']).status, 2);
});

test('emu test: a failing scenario fails the suite and a bad one is an input error', (t) => {
  const { dir, scenario } = project();
  writeFileSync(join(dir, 'scenarios', 'broken.yaml'), 'target: nowhere\nsteps: []\n');
  const r = emu(['test', join(dir, 'scenarios')]);
  t.is(r.status, 2);
  t.regex(r.stdout, /ERROR .*broken\.yaml:1:9: error: unknown target 'nowhere'/);
  t.regex(r.stdout, /ok +small/);
  writeFileSync(scenario, readFileSync(scenario, 'utf8').replace('size: 100', 'size: 101'));
  const r2 = emu(['test', scenario]);
  t.is(r2.status, 1);
  t.regex(r2.stdout, /FAIL +small/);
  t.regex(r2.stdout, /0 passed, 1 failed/);
});

test('emu map prints a target map and a scenario layout', (t) => {
  const target = emu(['map', 'psx']);
  t.is(target.status, 0);
  t.regex(target.stdout, /ram +ram +0x00000000 +0x001FFFFF +2 MiB/);
  const layout = emu(['map', 'scenarios/psx-default-sections.yaml']);
  t.regex(layout.stdout, /layout fails: section-overflow \(line 5\)/);
  t.is(emu(['map', 'nowhere']).status, 2);
});

test('usage errors exit 2 without a stack trace', (t) => {
  for (const args of [[], ['frobnicate'], ['run'], ['run', 'a.yaml', 'b.yaml', '--trace', 'x']]) {
    const r = emu(args);
    t.is(r.status, 2, args.join(' '));
    t.notRegex(r.stderr, /\n\s+at /);
  }
});

test('the built CLI is executable, so the emu bin npm links runs on a fresh clone', (t) => {
  t.truthy(statSync(CLI).mode & 0o111);
});

test('a matching golden is recognised from its bytes, without decoding; a different one is decoded to find the difference', (t) => {
  const { dir } = project();
  const scenario = join(dir, 'scenarios', 'small.yaml');
  const same = checkScenario(scenario, {});
  t.is(same.golden, 'match');
  t.is(same.comparison, null); // matched by the events digest
  writeFileSync(scenario, readFileSync(scenario, 'utf8').replace('size: 100', 'size: 104'));
  const changed = checkScenario(scenario, {});
  t.is(changed.golden, 'mismatch');
  t.deepEqual(changed.comparison!.first!.fields, ['size']); // 104 bytes take the same 112-byte block
});

test('--trace writes the trace where asked and leaves no temporary file; without a golden or --trace no trace is written', (t) => {
  const { dir, scenario } = project();
  const out = join(dir, 'out.trace');
  t.is(emu(['run', scenario, '--trace', out]).status, 0);
  t.true(statSync(out).size > 0);
  t.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-')), []);
  const lone = join(dir, 'lone.yaml');
  writeFileSync(lone, readFileSync(scenario, 'utf8'));
  const r = checkScenario(lone, { goldenDir: join(dir, 'nowhere') });
  t.is(r.golden, 'missing');
  t.false(existsSync(join(dir, 'nowhere')));
});

test('emu --version prints the version from package.json and exits 0', (t) => {
  const r = emu(['--version']);
  t.is(r.status, 0);
  t.is(r.stdout, `emu ${(JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version}\n`);
});
