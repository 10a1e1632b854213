/**
 * The fuzzer in `npm test` (see helpers/fuzz.ts): mutated scenarios and targets, in-process, for about
 * 20 seconds under a fixed seed (the same cases on every run); `npm run fuzz` runs it longer.
 */
import test from 'ava';
import fc from 'fast-check';
import { fuzzProperty, runCase } from './helpers/fuzz.js';

test('mutated scenarios and targets give a result or an input error, never an internal error', (t) => {
  const details = fc.check(fuzzProperty(), { seed: 14, numRuns: 1000, interruptAfterTimeLimit: 20_000, markInterruptAsFailure: false });
  t.false(details.failed, fc.defaultReportMessage(details) ?? '');
  t.true(details.numRuns >= 50, `only ${details.numRuns} cases ran`);
});

test('the fuzzer runs its seeds untouched, and a broken scenario or target is an input error', (t) => {
  // Untouched seeds run; a mutation that breaks the YAML is an input error.
  t.is(runCase({ seed: 0, inTarget: false, mutations: [{ kind: 'cut', at: 0, length: 0 }] }), 'ran');
  t.is(runCase({ seed: 0, inTarget: false, mutations: [{ kind: 'token', at: 0, token: 28 }] }), 'input-error');
  // clock_hz: 16G in the target file.
  t.is(runCase({ seed: 0, inTarget: true, mutations: [{ kind: 'number', at: 0, token: 8 }] }), 'input-error');
});
