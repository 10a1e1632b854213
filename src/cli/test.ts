/**
 * `emu test`: every scenario against its golden. The text report streams: each scenario's line is
 * printed as soon as it and every scenario before it (in file order) are done, so the output is the
 * same with any --jobs. Reports can go to several places at once (--reporter KIND[=FILE]).
 */
import { group } from '../util/text.js';
import { folderGoldenDirs, refuseNameClashes, scenarioName, unusedGoldens, unusedMessage } from '../harness/names.js';
import { discoverScenarios, entryName, runSuite, shard, type SuiteEntry } from '../harness/suite.js';
import { UsageError } from '../input/errors.js';
import { UPDATE_IN_CI } from '../harness/check.js';
import { describeVerdict, toJson } from './run.js';
import { EXIT } from './exit.js';
import { junitReport, type SuiteRun } from './junit.js';
import { isCI, writeOutput, type Reporter } from './options.js';

export interface TestArgs {
  update: boolean;
  jobs: number;
  shard?: string;
  reporters: Reporter[];
}

/** The version of `--reporter json`'s report (format `emu-test`); a change of its shape changes it. */
export const TEST_REPORT_VERSION = 1;

/**
 * Two scenarios that would share a golden are refused before anything runs (exit 2). When whole
 * folders run (no --shard), the goldens beside them that no scenario uses are listed and fail the
 * suite (exit 1): a stray golden is most likely a renamed scenario's, and emu never deletes one, not
 * even with --update. A list of files says nothing about the rest of their folder: no such check.
 */
export async function testCommand(paths: string[], args: TestArgs): Promise<number> {
  if (args.update && isCI()) throw new UsageError(UPDATE_IN_CI);
  // Wall-clock times go to the JUnit report only (tools show them); never to a trace or another report.
  const started = new Date();
  const startedAt = performance.now();
  const all = discoverScenarios(paths);
  const names = all.map(scenarioName);
  refuseNameClashes(names);
  const files = shard(all, args.shard);
  if (files.length === 0) throw new UsageError(`no scenarios found in ${paths.join(', ')}`);
  const shownNames = new Map(names.map((n) => [n.file, n.known ? n.name : n.file]));
  const width = Math.max(...files.map((f) => shownNames.get(f)!.length));
  const streamed = args.reporters.some((r) => r.kind === 'text' && r.file === null);
  const progress = progressLine(files.length);
  const printed = inOrder(files.length, (entry) => {
    if (streamed) {
      progress.clear();
      process.stdout.write(entryLines(entry, width).join('\n') + '\n');
    }
  });
  const entries = await runSuite(files, { update: args.update, ci: isCI() }, args.jobs, () => performance.now() / 1000, (index, entry) => {
    printed(index, entry);
    progress.show();
  });
  progress.clear();
  const unused = args.shard ? [] : unusedGoldens(folderGoldenDirs(paths, all), names);
  const run: SuiteRun = { entries, unused, started, seconds: (performance.now() - startedAt) / 1000, shard: args.shard };
  for (const reporter of args.reporters) {
    const report = reporter.kind === 'json' ? jsonReport(run) : reporter.kind === 'junit' ? junitReport(run) : textReport(run, width, reporter.file === null);
    if (reporter.file === null) process.stdout.write(report);
    else writeOutput(reporter.file, report);
  }
  if (entries.some((e) => 'inputError' in e)) return EXIT.input;
  return entries.every((e) => 'check' in e && e.check.passed) && unused.length === 0 ? EXIT.pass : EXIT.fail;
}

/**
 * Calls `print` for each entry in index order, as soon as it and all entries before it are there
 * (results come in the order they finish).
 */
function inOrder(count: number, print: (entry: SuiteEntry) => void): (index: number, entry: SuiteEntry) => void {
  const waiting = new Map<number, SuiteEntry>();
  let next = 0;
  return (index, entry) => {
    waiting.set(index, entry);
    while (next < count && waiting.has(next)) {
      print(waiting.get(next)!);
      waiting.delete(next++);
    }
  };
}

/** `[done/total]` on stderr, for a person at a terminal only: never in a pipe, a file or CI. */
function progressLine(total: number): { show(): void; clear(): void } {
  const shown = process.stderr.isTTY === true && !isCI();
  let done = 0;
  let visible = false;
  return {
    show() {
      done++;
      if (!shown || done >= total) return;
      process.stderr.write(`\r\x1b[K[${done}/${total}] scenarios done`);
      visible = true;
    },
    clear() {
      if (visible) process.stderr.write('\r\x1b[K');
      visible = false;
    },
  };
}

/** A scenario's line, and under a failure what failed. */
function entryLines(e: SuiteEntry, width: number): string[] {
  if ('inputError' in e) return [`ERROR ${entryName(e).padEnd(width)}  ${e.inputError}`];
  const c = e.check;
  const s = c.result.summary;
  const facts = `${group(s.ops).padStart(10)} ops ${group(c.result.faultCount).padStart(5)} faults  golden ${c.golden}`;
  const line = `${c.passed ? 'ok   ' : 'FAIL '} ${entryName(e).padEnd(width)}  ${facts}`;
  return c.passed ? [line] : [line, indent(describeVerdict(c))];
}

/** The text report; `streamed` when its scenario lines went out already, as they finished. */
function textReport({ entries, unused }: SuiteRun, width: number, streamed: boolean): string {
  const lines = streamed ? [] : entries.flatMap((e) => entryLines(e, width));
  if (unused.length > 0) {
    lines.push('');
    for (const u of unused) lines.push(unusedMessage(u));
    lines.push(indent('emu deletes no golden: if a scenario was renamed, remove or rename its old goldens with it'));
  }
  const passed = entries.filter((e) => 'check' in e && e.check.passed).length;
  const strays = unused.length > 0 ? `, ${unused.length} unused golden${unused.length === 1 ? '' : 's'}` : '';
  lines.push('', `${passed} passed, ${entries.length - passed} failed${strays}`);
  return lines.join('\n') + '\n';
}

function indent(s: string): string {
  return s.split('\n').map((l) => '      ' + l).join('\n');
}

/** The JSON report: deterministic (no times), snake_case throughout, with its format and version. */
function jsonReport({ entries, unused }: SuiteRun): string {
  const passed = entries.filter((e) => 'check' in e && e.check.passed).length;
  const errors = entries.filter((e) => 'inputError' in e).length;
  const report = {
    format: 'emu-test',
    version: TEST_REPORT_VERSION,
    counts: { scenarios: entries.length, passed, failed: entries.length - passed - errors, errors, unused_goldens: unused.length },
    scenarios: entries.map((e) => ('check' in e ? toJson(e.check) : { file: e.file, passed: false, input_error: e.inputError })),
    unused_goldens: unused.map((u) => ({ path: u.path, scenario: u.name, message: unusedMessage(u) })),
  };
  return JSON.stringify(report, null, 2) + '\n';
}
