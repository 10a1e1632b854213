/**
 * The fuzzer in `npm test` (see helpers/fuzz.ts): each kind for a few seconds under a fixed seed (the
 * same cases, in the same order, on every run; a slow or busy machine runs fewer of them), 22 seconds
 * in all; `npm run fuzz` runs them longer. Then a few cases of each kind whose outcome is known.
 */
import test from 'ava';
import fc from 'fast-check';
import { fuzzProperty, KINDS, type Kind } from './helpers/fuzz.js';
import { runCliCase } from './helpers/fuzz/cli.js';
import { runLogCase } from './helpers/fuzz/logs.js';
import { runScenarioCase, scenarioSeeds } from './helpers/fuzz/scenarios.js';
import { runTraceCase, shippedTraces } from './helpers/fuzz/traces.js';

/** Each kind's share of the time, in milliseconds; cli cases are the slowest (a scratch project each, some a child process). */
const BUDGET: Record<Kind, number> = { scenario: 6_000, trace: 5_000, log: 5_000, cli: 6_000 };

for (const kind of KINDS) {
  test.serial(`fuzz ${kind}: every case gives a result or an input error that says where, never an internal error`, async (t) => {
    const details = await fc.check(fuzzProperty(kind), { seed: 14, numRuns: 2000, interruptAfterTimeLimit: BUDGET[kind], markInterruptAsFailure: false });
    t.false(details.failed, fc.defaultReportMessage(details) ?? '');
    t.true(details.numRuns >= 10, `only ${details.numRuns} cases ran`);
  });
}

test('scenario: the seeds run untouched, and a broken scenario or target is an input error', (t) => {
  const seeds = scenarioSeeds();
  t.is(runScenarioCase({ seed: 0, inTarget: false, mutations: [{ kind: 'cut', at: 0, length: 0 }] }, seeds), 'ran');
  // A '{' at the start breaks the YAML.
  t.is(runScenarioCase({ seed: 0, inTarget: false, mutations: [{ kind: 'token', at: 0, token: 28 }] }, seeds), 'input-error');
  // clock_hz: 16G in the target file.
  t.is(runScenarioCase({ seed: 0, inTarget: true, mutations: [{ kind: 'number', at: 0, token: 8 }] }, seeds), 'input-error');
});

test('trace: a valid trace reads, a cut one is cut off, one that does not begin with EMUTRACE is not a trace', (t) => {
  const shipped = shippedTraces();
  const small = { small: { allocator: 0, seed: 7 } };
  t.is(runTraceCase({ base: small, against: 'base', mutations: [] }, shipped), 'read');
  t.is(runTraceCase({ base: { shipped: 0 }, against: small, mutations: [] }, shipped), 'differ');
  t.is(runTraceCase({ base: small, against: 'base', mutations: [{ kind: 'truncate', at: 2000 }] }, shipped), 'cut-off');
  t.is(runTraceCase({ base: small, against: 'base', mutations: [{ kind: 'flip', at: 0, bits: 1 }] }, shipped), 'not-a-trace');
});

test('log: a valid log of each format imports clean and replays', (t) => {
  const ops = [{ kind: 'alloc', size: 64, align: 0 }, { kind: 'alloc', size: 200, align: 16 }, { kind: 'realloc', pick: 0, size: 300 }, { kind: 'free', pick: 1 }, { kind: 'refused', size: 1 << 20 }] as const;
  for (const format of ['mtrace', 'android', 'csapp', 'native'] as const) {
    t.is(runLogCase({ format, ops: [...ops], style: 1, allocator: 0, textMutations: [], byteMutations: [] }), 'import:clean imported:ran replay:ran', format);
  }
});

test('cli: a good command line passes, a bad option value is a usage error', async (t) => {
  // emu run scenarios/small.yaml: it has its golden.
  t.is(await runCliCase({ command: 0, positionals: [0, 0, 0], positionalCount: -1, complete: false, options: [], strays: [], child: false }), 'exit 0');
  // --seed -1.
  t.is(await runCliCase({ command: 0, positionals: [0, 0, 0], positionalCount: -1, complete: false, options: [{ option: 1, value: 5, form: 0 }], strays: [], child: false }), 'exit 2');
  // emu rebase wasm/overflow.wasm --scenario wasm/layout.yaml --component ui -o out.wasm; then the module that decodes but does not validate.
  t.is(await runCliCase({ command: 8, positionals: [0, 0, 0], positionalCount: -1, complete: true, options: [], strays: [], child: false }), 'exit 0');
  t.is(await runCliCase({ command: 8, positionals: [3, 0, 0], positionalCount: -1, complete: true, options: [], strays: [], child: true }), 'child exit 2');
});
