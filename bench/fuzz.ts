/**
 * `npm run fuzz -- --cases N --seed S`: the fuzzer of test/helpers/fuzz.ts for as many cases as asked
 * (default 10,000, seed 1). Prints the outcome counts; a case that ends in an internal error is
 * printed with its shrunk counterexample, and the exit code is 1.
 */
import fc from 'fast-check';
import { fuzzCase, runCase, seeds, type Outcome } from '../test/helpers/fuzz.js';

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isSafeInteger(value) || value < 0) {
    process.stderr.write(`fuzz: --${name}: expected a whole number, got ${JSON.stringify(process.argv[at + 1] ?? '')}\n`);
    process.exit(2);
  }
  return value;
}

const cases = option('cases', 10_000);
const seed = option('seed', 1);
const all = seeds();
const counts: Record<Outcome, number> = { ran: 0, cut: 0, 'input-error': 0, 'usage-error': 0 };
const details = fc.check(
  fc.property(fuzzCase, (c) => {
    counts[runCase(c, all)]++;
  }),
  { seed, numRuns: cases },
);
process.stdout.write(`${details.numRuns} cases (seed ${seed}): ${Object.entries(counts).map(([k, n]) => `${k} ${n}`).join(', ')}\n`);
if (details.failed) {
  process.stdout.write(fc.defaultReportMessage(details) + '\n');
  process.exitCode = 1;
}
