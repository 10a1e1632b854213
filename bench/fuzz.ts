/**
 * `npm run fuzz -- --cases N --seed S [--kinds scenario,trace,log,cli] [--minutes M]`: the fuzzer of
 * test/helpers/fuzz.ts for N cases of each kind asked for (default 10,000, seed 1, every kind), each
 * kind stopped after M minutes if given. Prints the cases run, the outcome counts and the slowest case
 * of each kind; a case that ends in an internal error is printed with its shrunk counterexample, and
 * the exit code is 1.
 */
import fc from 'fast-check';
import { fuzzProperty, KINDS, Stats, type Kind } from '../test/helpers/fuzz.js';

function fail(message: string): never {
  process.stderr.write(`fuzz: ${message}\n`);
  process.exit(2);
}

function option(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? undefined : (process.argv[at + 1] ?? '');
}

function wholeNumber(name: string, fallback: number): number {
  const typed = option(name);
  if (typed === undefined) return fallback;
  const value = Number(typed);
  if (!/^\d+$/.test(typed) || !Number.isSafeInteger(value)) fail(`--${name}: expected a whole number, got ${JSON.stringify(typed)}`);
  return value;
}

const cases = wholeNumber('cases', 10_000);
const seed = wholeNumber('seed', 1);
const minutes = wholeNumber('minutes', 0);
const kinds = (option('kinds') ?? KINDS.join(',')).split(',') as Kind[];
for (const kind of kinds) if (!KINDS.includes(kind)) fail(`--kinds: no kind '${kind}' (kinds: ${KINDS.join(', ')})`);

let failed = false;
for (const kind of kinds) {
  const stats = new Stats();
  const started = performance.now();
  const details = await fc.check(fuzzProperty(kind, stats), { seed, numRuns: cases, ...(minutes > 0 ? { interruptAfterTimeLimit: minutes * 60_000, markInterruptAsFailure: false } : {}) });
  const seconds = ((performance.now() - started) / 1000).toFixed(0);
  const outcomes = [...stats.outcomes].sort(([a], [b]) => (a < b ? -1 : 1)).map(([outcome, n]) => `  ${outcome}: ${n}`);
  // A time limit is checked between cases: one slow case runs past it, and shows here.
  const slowest = stats.slowest ? `  slowest case: ${stats.slowest.ms.toFixed(0)} ms, ${JSON.stringify(stats.slowest.input)}\n` : '';
  process.stdout.write(`${kind}: ${details.numRuns} cases (seed ${seed}, ${seconds} s)${details.interrupted ? ', stopped at the time limit' : ''}\n${outcomes.join('\n')}\n${slowest}`);
  if (details.failed) {
    process.stdout.write(`${fc.defaultReportMessage(details)}\n${(details.errorInstance as Error)?.stack ?? String(details.errorInstance)}\n`);
    failed = true;
  }
}
process.exitCode = failed ? 1 : 0;
