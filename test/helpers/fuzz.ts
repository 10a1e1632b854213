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

/** What a kind's cases came to: each outcome's count, and the slowest case (a long run's hot spot). */
export class Stats {
  readonly outcomes = new Map<string, number>();
  slowest: { ms: number; input: unknown } | null = null;
}

/** Records each case's outcome and time until a case fails (fast-check then shrinks it: those runs are no new cases). */
class Tally {
  private failed = false;

  constructor(private readonly stats?: Stats) {}

  of(input: unknown, run: () => string): void {
    const started = performance.now();
    try {
      this.add(input, run(), started);
    } catch (e) {
      this.failed = true;
      throw e;
    }
  }

  async ofAsync(input: unknown, run: () => Promise<string>): Promise<void> {
    const started = performance.now();
    try {
      this.add(input, await run(), started);
    } catch (e) {
      this.failed = true;
      throw e;
    }
  }

  private add(input: unknown, outcome: string, started: number): void {
    const stats = this.stats;
    if (this.failed || !stats) return;
    stats.outcomes.set(outcome, (stats.outcomes.get(outcome) ?? 0) + 1);
    const ms = performance.now() - started;
    if (ms > (stats.slowest?.ms ?? -1)) stats.slowest = { ms, input };
  }
}

/**
 * The property of one kind over its cases; the seeds it needs (shipped scenarios, recorded traces)
 * are made once. Each case is recorded in `stats` when given.
 */
export function fuzzProperty(kind: Kind, stats?: Stats): fc.IRawProperty<[unknown]> {
  const tally = new Tally(stats);
  switch (kind) {
    case 'scenario': {
      const seeds = scenarioSeeds();
      return fc.property(scenarioCase, (c) => tally.of(c, () => runScenarioCase(c, seeds))) as fc.IRawProperty<[unknown]>;
    }
    case 'trace': {
      const shipped = shippedTraces();
      return fc.property(traceCase, (c) => tally.of(c, () => runTraceCase(c, shipped))) as fc.IRawProperty<[unknown]>;
    }
    case 'log':
      return fc.property(logCase, (c) => tally.of(c, () => runLogCase(c))) as fc.IRawProperty<[unknown]>;
    case 'cli':
      return fc.asyncProperty(cliCase, (c) => tally.ofAsync(c, () => runCliCase(c))) as fc.IRawProperty<[unknown]>;
  }
}
