/**
 * The npm package as a user gets it: the packed file list holds only what runs (and the docs the
 * README names), the tarball installs into an empty folder from the npm cache, `npx emu` runs a
 * scenario there on a built-in target, and the public API type-checks and runs from TypeScript
 * against the installed declarations. The package is packed from this checkout's dist/ (the tests
 * run after the build), with --ignore-scripts so that packing does not rebuild it under the tests.
 */
import test from 'ava';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from './helpers/fuzz/common.js';
import * as api from '../src/index.js';
import { run } from '../src/engine/engine.js';
import { checkScenario } from '../src/harness/check.js';
import { loadScenario } from '../src/scenario/parse.js';
import { readTrace } from '../src/trace/reader.js';
import { readLog } from '../src/import/read.js';

const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { name: string; version: string; bin: Record<string, string> };

interface Packed {
  filename: string;
  size: number;
  files: { path: string }[];
}

/**
 * The environment of the commands: without c8's NODE_V8_COVERAGE, which would have npm and tsc dump
 * their own coverage (of code outside this repository) for c8 to read and throw away.
 */
const { NODE_V8_COVERAGE: _coverage, ...quiet } = process.env;

function sh(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = quiet): SpawnSyncReturns<string> {
  return spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout: 240_000 });
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  if (r.status !== 0) throw new Error(`${what}: exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const work = mkdtempSync(join(tmpdir(), 'emu-package-'));
const app = join(work, 'app');
let packed: Packed;

test.before(() => {
  packed = (JSON.parse(ok(sh('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], REPO), 'npm pack')) as Packed[])[0];
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  // The dependencies come from the npm cache `npm ci` filled; the network only for what it lacks.
  ok(sh('npm', ['install', join(work, packed.filename), '--prefer-offline', '--no-audit', '--no-fund'], app), 'npm install');
});

test.after.always(() => rmSync(work, { recursive: true, force: true }));

/** What runs: compiled code and its declarations, the built-in targets, the schemas; and the docs. */
const SHIPPED = [/^dist\/src\/.+\.(js|d\.ts)$/, /^targets\/[a-z-]+\.yaml$/, /^schemas\/(scenario|target)\.schema\.json$/, /^docs\/[a-z-]+\.md$/, /^(package\.json|README\.md|LICENSE)$/];

test('the tarball holds only what runs, under 500 kB', (t) => {
  const paths = packed.files.map((f) => f.path);
  t.deepEqual(paths.filter((p) => !SHIPPED.some((re) => re.test(p))), []);
  for (const p of [pkg.bin.emu, 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/harness/worker.js', 'targets/psp.yaml', 'targets/qnx.yaml', 'schemas/scenario.schema.json', 'schemas/target.schema.json', 'LICENSE']) {
    t.true(paths.includes(p), p);
  }
  t.false(paths.some((p) => p.startsWith('dist/test/') || p.startsWith('golden/') || p.startsWith('src/') || p.endsWith('.map')));
  t.true(packed.size < 500_000, `${packed.size} bytes packed`);
});

const SCENARIO = `target: psp
heaps:
  - {name: main, allocator: tlsf, in: user, size: 64K}
steps:
  - alloc: {id: a, heap: main, size: 4K}
  - free: a
  - free: a
expect:
  faults: [{kind: double-free, id: a, line: 7}]
`;

test.serial('npx emu runs a scenario on a built-in target in the installed package', (t) => {
  t.is(ok(sh('npx', ['--no', '--', 'emu', '--version'], app), 'emu --version'), `emu ${pkg.version}\n`);
  mkdirSync(join(app, 'demo'), { recursive: true });
  writeFileSync(join(app, 'demo', 'double-free.yaml'), SCENARIO);
  const notCI = { ...quiet, CI: '' };
  const first = ok(sh('npx', ['--no', '--', 'emu', 'run', 'demo/double-free.yaml', '--update'], app, notCI), 'emu run --update');
  t.regex(first, /line 7, op 3: double-free \(silent\) heap main id a/);
  t.regex(first, /golden: updated/);
  t.true(existsSync(join(app, 'demo', 'golden', 'double-free.trace')));
  const again = ok(sh('npx', ['--no', '--', 'emu', 'run', 'demo/double-free.yaml'], app, notCI), 'emu run');
  t.regex(again, /golden: match \(demo\/golden\/double-free\.trace, 8 events\)/);
});

/**
 * A user's TypeScript: every API function used as documented, each result typed. The
 * `@ts-expect-error` lines fail the compile if the declarations were missing or `any`. It runs after
 * the test above, whose golden checkScenario matches.
 */
const CONSUMER = `import { checkScenario, computeStats, EventCollector, FAULT_KINDS, InputError, loadScenario, readLog, readTrace, runScenario, TraceFileWriter, type CheckResult, type FaultKind, type RunResult, type TraceEvent } from '${pkg.name}';

const scenario = loadScenario('demo/double-free.yaml');
const collector = new EventCollector();
const writer = new TraceFileWriter('demo/api.trace');
const result: RunResult = runScenario(scenario, { sinks: [collector, writer] });
writer.close();
const kinds: FaultKind[] = result.faults.map((f) => f.kind);
const read: TraceEvent[] = [...readTrace('demo/api.trace').events];
const check: CheckResult = checkScenario('demo/double-free.yaml');
const stats = computeStats(readLog('double-free.mtrace', 'mtrace'));
// @ts-expect-error: a run's event count is a number
const wrong: string = result.events;
// @ts-expect-error: a scenario is loaded from a file name (never called)
const typeOnly = () => loadScenario(42);
let refused = '';
try {
  loadScenario('demo/broken.yaml');
} catch (e) {
  if (e instanceof InputError) refused = [e.pos.file, e.pos.line, e.pos.col, ' ' + e.message].join(':');
}
console.log(JSON.stringify({ target: scenario.target.name, events: result.events, collected: collector.events.length, read: read.length, kinds, golden: check.golden, allocs: stats.allocs, frees: stats.frees, known: FAULT_KINDS.includes('double-free'), refused, wrong: typeof wrong, typeOnly: typeof typeOnly }));
`;

test.serial('the public API type-checks against the installed declarations and runs', (t) => {
  writeFileSync(join(app, 'consumer.ts'), CONSUMER);
  writeFileSync(join(app, 'demo', 'broken.yaml'), 'target: psp\nheaps: []\nstepz: []\n');
  copyFileSync(join(REPO, 'test', 'fixtures', 'double-free.mtrace'), join(app, 'double-free.mtrace'));
  const tsconfig = { compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: false, types: ['node'], typeRoots: [join(REPO, 'node_modules', '@types')] }, files: ['consumer.ts'] };
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(tsconfig));
  ok(sh(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], app), 'tsc');
  const out = JSON.parse(ok(sh(process.execPath, ['consumer.js'], app), 'node consumer.js')) as Record<string, unknown>;
  t.deepEqual(out, {
    target: 'psp',
    events: 8,
    collected: 8,
    read: 8,
    kinds: ['double-free'],
    golden: 'match',
    // double-free.mtrace: 5 mallocs and 5 frees, one of them a second free of 0x55c8eb96e4a0.
    allocs: 5,
    frees: 5,
    known: true,
    refused: "demo/broken.yaml:3:1: document: unknown key 'stepz' (did you mean 'steps'?)",
    wrong: 'number',
    typeOnly: 'function',
  });
});

test('the API re-exports the functions the command line uses, not copies', (t) => {
  t.is(api.runScenario, run);
  t.is(api.checkScenario, checkScenario);
  t.is(api.loadScenario, loadScenario);
  t.is(api.readTrace, readTrace);
  t.is(api.readLog, readLog);
});

test.serial('only the API module and the schemas are exported', (t) => {
  const probe = `import('${pkg.name}/dist/src/engine/engine.js').then(() => 'imported', (e) => e.code).then((deep) => console.log(deep, import.meta.resolve('${pkg.name}/schemas/scenario.schema.json').endsWith('/schemas/scenario.schema.json')))`;
  t.is(ok(sh(process.execPath, ['--input-type=module', '-e', probe], app), 'node -e').trim(), 'ERR_PACKAGE_PATH_NOT_EXPORTED true');
});
