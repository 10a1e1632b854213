/**
 * The in-project fuzzer (issue 14). fast-check draws inputs of four kinds, valid ones and mutated
 * ones, and runs them in-process as emu would:
 *
 * - `scenario`: shipped scenarios and a small scenario on a small target file, text-mutated, run;
 * - `trace`: recorded traces, byte-mutated, read by `emu inspect` (text and --ndjson) and `emu diff`;
 * - `log`: field logs of the four formats `emu import` reads, mutated, imported and replayed;
 * - `cli`: command lines for every command, with good, bad and missing option values.
 *
 * Every outcome must be a result or an input error that says where (file:line:col, a trace's byte);
 * anything else is an internal error, and a fuzz failure. See fuzz/*.ts for each kind.
 */
import fc from 'fast-check';
import { cliCase, runCliCase } from './fuzz/cli.js';
import { logCase, runLogCase } from './fuzz/logs.js';
import { runScenarioCase, scenarioCase, scenarioSeeds } from './fuzz/scenarios.js';
import { runTraceCase, shippedTraces, traceCase } from './fuzz/traces.js';

export const KINDS = ['scenario', 'trace', 'log', 'cli'] as const;
export type Kind = (typeof KINDS)[number];

/** Outcome counts, by outcome, as a kind's cases end. */
export type Counts = Map<string, number>;

/** Counts each case's outcome until a case fails (fast-check then shrinks it: those runs are no new cases). */
class Tally {
  private failed = false;

  constructor(private readonly counts?: Counts) {}

  of(run: () => string): void {
    try {
      this.add(run());
    } catch (e) {
      this.failed = true;
      throw e;
    }
  }

  async ofAsync(run: () => Promise<string>): Promise<void> {
    try {
      this.add(await run());
    } catch (e) {
      this.failed = true;
      throw e;
    }
  }

  private add(outcome: string): void {
    if (!this.failed) this.counts?.set(outcome, (this.counts.get(outcome) ?? 0) + 1);
  }
}

/**
 * The property of one kind over its cases; the seeds it needs (shipped scenarios, recorded traces)
 * are made once. Each case's outcome is counted in `counts` when given.
 */
export function fuzzProperty(kind: Kind, counts?: Counts): fc.IRawProperty<[unknown]> {
  const tally = new Tally(counts);
  switch (kind) {
    case 'scenario': {
      const seeds = scenarioSeeds();
      return fc.property(scenarioCase, (c) => tally.of(() => runScenarioCase(c, seeds))) as fc.IRawProperty<[unknown]>;
    }
    case 'trace': {
      const shipped = shippedTraces();
      return fc.property(traceCase, (c) => tally.of(() => runTraceCase(c, shipped))) as fc.IRawProperty<[unknown]>;
    }
    case 'log':
      return fc.property(logCase, (c) => tally.of(() => runLogCase(c))) as fc.IRawProperty<[unknown]>;
    case 'cli':
      return fc.asyncProperty(cliCase, (c) => tally.ofAsync(() => runCliCase(c))) as fc.IRawProperty<[unknown]>;
  }
}
