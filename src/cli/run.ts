/** `emu run`: run scenarios, print summaries, compare with goldens. */
import { group } from '../util/text.js';
import { checkScenario, UPDATE_IN_CI, type CheckResult } from '../harness/check.js';
import { refuseNameClashes, scenarioName, shownPath } from '../harness/names.js';
import { run } from '../engine/engine.js';
import { UsageError } from '../input/errors.js';
import { loadScenario } from '../scenario/parse.js';
import { MAX_SEED } from '../scenario/types.js';
import { formatComparison } from '../report/diff.js';
import { formatSummary } from '../report/summary.js';
import { clearProgress, EXIT, progressPrinter } from './exit.js';
import { checkOutputPath, isCI, wholeNumber } from './options.js';

export interface RunArgs {
  update: boolean;
  seed?: number;
  seeds?: string;
  untilFault: boolean;
  json: boolean;
  trace?: string;
  chrome?: string;
}

export async function runCommand(files: string[], args: RunArgs): Promise<number> {
  if (args.update && isCI()) throw new UsageError(UPDATE_IN_CI);
  if (args.trace && files.length > 1) throw new UsageError('--trace takes one scenario');
  if (args.trace !== undefined) checkOutputPath('--trace', args.trace);
  if (args.seeds !== undefined || args.untilFault) return seedSearch(files, args);
  refuseNameClashes(files.map(scenarioName));
  if (args.chrome !== undefined) return runWithChrome(files, args, args.chrome);
  const results: CheckResult[] = [];
  for (const file of files) {
    const result = checkScenario(file, { update: args.update, ci: isCI(), seed: args.seed, tracePath: args.trace, onProgress: progressPrinter(file) });
    clearProgress();
    results.push(result);
    if (!args.json) process.stdout.write(formatSummary(result.result) + describeVerdict(result) + '\n' + (files.length > 1 ? '\n' : ''));
  }
  if (args.json) process.stdout.write(JSON.stringify({ format: 'emu-run', version: RUN_REPORT_VERSION, scenarios: results.map(toJson) }, null, 2) + '\n');
  return results.every((r) => r.passed) ? EXIT.pass : EXIT.fail;
}

/** `--chrome FILE`: the run as usual, its trace (kept with --trace, else a scratch file) converted after it. */
async function runWithChrome(files: string[], args: RunArgs, chrome: string): Promise<number> {
  if (files.length > 1) throw new UsageError('--chrome takes one scenario');
  checkOutputPath('--chrome', chrome);
  // The pictures' modules load only for a run that draws one.
  const { withScratchTrace, writeChrome } = await import('./report.js');
  const convert = async (trace: string) => {
    const code = await runCommand(files, { ...args, trace, chrome: undefined });
    writeChrome(files[0], trace, chrome, !args.json);
    return code;
  };
  return args.trace !== undefined ? convert(args.trace) : withScratchTrace(convert);
}

/**
 * `--seeds A..B [--until-fault]`: the scenario under each seed in turn (no golden, no trace); with
 * --until-fault it stops at the first seed that faults and prints the command that replays it.
 * Exit 1 when a seed faulted, 0 when none did.
 */
function seedSearch(files: string[], args: RunArgs): number {
  if (files.length !== 1) throw new UsageError('--seeds takes one scenario');
  if (args.seeds === undefined) throw new UsageError('--until-fault needs --seeds A..B');
  if (args.update || args.seed !== undefined || args.trace || args.chrome) throw new UsageError('--seeds does not combine with --update, --seed, --trace or --chrome');
  const range = /^(\d+)\.\.(\d+)$/.exec(args.seeds);
  // Seeds beyond 2^53 would not even count up: the loop below would never end.
  const [first, last] = range ? [wholeNumber('--seeds', range[1], 0, MAX_SEED)!, wholeNumber('--seeds', range[2], 0, MAX_SEED)!] : [1, 0];
  if (!range || first > last) throw new UsageError(`--seeds: expected A..B with A <= B, got ${JSON.stringify(args.seeds)}`);
  const scenario = loadScenario(files[0]);
  let faulted = 0;
  for (let seed = first; seed <= last; seed++) {
    const result = run({ ...scenario, seed }, { sinks: [] });
    if (result.faultCount === 0) {
      if (!args.untilFault) process.stdout.write(`seed ${seed}: no faults\n`);
      continue;
    }
    faulted++;
    const f = result.faults[0];
    const counts = Object.entries(result.summary.faults).map(([k, n]) => `${k} ${n}`).join(', ');
    process.stdout.write(`seed ${seed}: ${counts}; first at line ${f.line}, op ${f.op}: ${f.kind} (${f.detected}): ${f.detail}\n`);
    if (args.untilFault) {
      process.stdout.write(`replay it with: emu run ${files[0]} --seed ${seed}\n`);
      return EXIT.fail;
    }
  }
  process.stdout.write(args.untilFault ? `no fault in seeds ${first}..${last}\n` : `${faulted} of ${last - first + 1} seeds faulted\n`);
  return faulted > 0 ? EXIT.fail : EXIT.pass;
}

/** The lines after a summary: the golden verdict and any failed expectation. */
export function describeVerdict(r: CheckResult): string {
  const lines: string[] = [];
  const path = shownPath(r.goldenPath);
  switch (r.golden) {
    case 'match':
      lines.push(`golden: match (${path}, ${group(r.result.events)} events)`);
      break;
    case 'unchanged':
      lines.push(`golden: unchanged (${path})`);
      break;
    case 'updated':
      lines.push(`golden: updated (${path} and its .md summary)`);
      break;
    case 'skipped':
      lines.push('golden: not compared (seed overridden)');
      break;
    case 'missing':
      lines.push(`golden: MISSING (${path})${isCI() ? ': goldens are never written in CI; commit one made with --update' : ': run with --update to record it'}`);
      break;
    case 'unpaired':
      lines.push(`golden: UNPAIRED (${path}): ${shownPath(r.goldenPath.replace(/\.trace$/, '.md'))} is missing or names another events digest than the trace has (the trace was damaged, or replacing the pair was cut short); run with --update to record both again`);
      break;
    case 'mismatch':
      lines.push(`golden: MISMATCH (${path})`, formatComparison(r.comparison!, 'golden', 'this run'));
      break;
  }
  if (r.expectationFailures.length > 0) {
    lines.push(`expectations: ${r.expectationFailures.length} FAILED`);
    for (const f of r.expectationFailures) lines.push(`  ${f}`);
  }
  return lines.join('\n');
}

/** The version of `emu run --json`'s report (format `emu-run`); a change of its shape changes it. */
export const RUN_REPORT_VERSION = 1;

/** A scenario's result in the JSON reports (emu run --json, emu test --reporter json): snake_case keys. */
export function toJson(r: CheckResult): object {
  return {
    scenario: r.name,
    file: r.file,
    passed: r.passed,
    golden: r.golden,
    golden_path: r.goldenPath,
    first_difference: r.comparison?.first ?? null,
    changed_metrics: r.comparison?.metrics ?? [],
    expectation_failures: r.expectationFailures,
    summary: r.result.summary,
    faults: r.result.faults.map(({ logLine, ...fault }) => ({ ...fault, log_line: logLine })),
  };
}
