/**
 * Runs one scenario and judges it: the trace is written to a temporary file, compared with the
 * golden, and checked against the scenario's expectations. Goldens are replaced only with --update,
 * by rename (atomic), never in CI; a failed run leaves every existing file as it was.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { run, type RunResult } from '../engine/engine.js';
import { UsageError } from '../input/errors.js';
import { checkExpectations } from '../report/expect.js';
import { goldenMarkdown, markdownDigest } from '../report/summary.js';
import { loadScenario } from '../scenario/parse.js';
import { compareTraces, type Comparison } from '../trace/compare.js';
import { eventsDigestOf } from '../trace/reader.js';
import { TraceFileWriter } from '../trace/writer.js';
import { scratchDir, settled, tempFileFor } from './temps.js';

/** Why --update is refused when CI is set (before anything runs, and for each scenario checked). */
export const UPDATE_IN_CI = 'goldens are never written in CI (CI is set); run --update on your machine and commit the result';

/** `unpaired`: the golden's .md summary does not describe its .trace (missing, or another trace's digest). */
export type GoldenStatus = 'match' | 'mismatch' | 'unpaired' | 'missing' | 'updated' | 'unchanged' | 'skipped';

export interface CheckOptions {
  update?: boolean;
  /** CI mode: goldens are never written and a missing golden fails. */
  ci?: boolean;
  /** Overrides the scenario's seed (the golden is then not compared). */
  seed?: number;
  /** Also keep the trace at this path. */
  tracePath?: string;
  /** Where NAME.trace and NAME.md live; default: golden/ beside the scenarios/ folder. */
  goldenDir?: string;
  onProgress?: (ops: number) => void;
}

export interface CheckResult {
  file: string;
  name: string;
  golden: GoldenStatus;
  goldenPath: string;
  comparison: Comparison | null;
  expectationFailures: string[];
  result: RunResult;
  passed: boolean;
}

export function goldenDirFor(scenarioFile: string): string {
  const dir = dirname(resolve(scenarioFile));
  return basename(dir) === 'scenarios' ? join(dirname(dir), 'golden') : join(dir, 'golden');
}

export function checkScenario(file: string, options: CheckOptions = {}): CheckResult {
  if (options.update && options.ci) throw new UsageError(UPDATE_IN_CI);
  const scenario = loadScenario(file);
  const seedOverridden = options.seed !== undefined && options.seed !== scenario.seed;
  if (options.seed !== undefined) scenario.seed = options.seed;
  const goldenDir = options.goldenDir ?? goldenDirFor(file);
  const goldenPath = join(goldenDir, `${scenario.name}.trace`);
  const summaryPath = join(goldenDir, `${scenario.name}.md`);
  const compare = !seedOverridden && existsSync(goldenPath);
  const update = options.update === true && !seedOverridden;
  // The trace goes where it is wanted, under a temporary name renamed into place at the end (so a
  // failed run leaves the old file): to --trace's file, else beside the golden it will replace, else
  // to a scratch file when a golden needs it; with none of these, nowhere.
  const scratch = compare && !update && !options.tracePath ? scratchDir() : null;
  const destination = options.tracePath ?? (update ? goldenPath : null);
  const tracePath = destination !== null ? tempFileFor(destination) : scratch !== null ? join(scratch, `${scenario.name}.trace`) : null;
  if (update) mkdirSync(goldenDir, { recursive: true });
  try {
    const writer = tracePath === null ? null : new TraceFileWriter(tracePath);
    let result: RunResult;
    try {
      result = run(scenario, { sinks: writer ? [writer] : [], onProgress: options.onProgress });
    } finally {
      writer?.close();
    }
    const expectationFailures = checkExpectations(scenario.expect, result);
    let golden: GoldenStatus;
    let comparison: Comparison | null = null;
    if (seedOverridden) {
      golden = 'skipped';
    } else if (!compare) {
      golden = 'missing';
    } else {
      const digest = unlessReplaced(() => eventsDigestOf(goldenPath), update);
      // The same event bytes: nothing to decode. A trace its summary does not describe (damaged, or
      // half replaced) is not decoded either: it is reported as unpaired.
      const same = digest === writer!.eventsDigest();
      const paired = pairedWith(summaryPath, digest);
      comparison = same || digest === null || !paired ? null : unlessReplaced(() => compareTraces(goldenPath, tracePath!), update);
      golden = !paired ? 'unpaired' : same || comparison?.same ? 'match' : 'mismatch';
    }
    if (update) {
      golden = golden === 'match' ? 'unchanged' : 'updated';
      const traceTemp = options.tracePath ? tempFileFor(goldenPath) : tracePath!;
      if (options.tracePath) copyFileSync(tracePath!, traceTemp);
      replacePair(traceTemp, goldenPath, summaryPath, goldenMarkdown(result, relativeName(file), writer!.eventsDigest()));
    }
    if (options.tracePath) renameSync(tracePath!, options.tracePath);
    const goldenOk = golden === 'match' || golden === 'updated' || golden === 'unchanged' || golden === 'skipped';
    return { file, name: scenario.name, golden, goldenPath, comparison, expectationFailures, result, passed: goldenOk && expectationFailures.length === 0 };
  } finally {
    if (scratch !== null) removeTemp(scratch);
    if (tracePath !== null) removeTemp(tracePath);
    if (update) removeTemp(`${goldenPath}.tmp-${process.pid}`);
    if (update) removeTemp(`${summaryPath}.tmp-${process.pid}`);
  }
}

/** What `read` gives from the golden; null when this emu cannot read it (an older format) and it is about to be replaced. */
function unlessReplaced<T>(read: () => T, update: boolean): T | null {
  try {
    return read();
  } catch (e) {
    if (update && e instanceof UsageError) return null;
    throw e;
  }
}

/**
 * Whether a golden's summary describes its trace: it names the trace's events digest. A summary from
 * before the digest line names none and is taken as paired; a missing summary is not. An unreadable
 * golden trace (digest null, about to be replaced) is not judged.
 */
function pairedWith(summaryPath: string, traceDigest: string | null): boolean {
  if (traceDigest === null) return true;
  if (!existsSync(summaryPath)) return false;
  const named = markdownDigest(readFileSync(summaryPath, 'utf8'));
  return named === null || named === traceDigest;
}

/**
 * Replaces a golden's trace and summary as a pair: both are written under temporary names first, then
 * renamed, the trace before the summary. An interrupt between the two renames leaves a summary naming
 * another trace's digest, which the next run reports as unpaired (and --update repairs).
 */
function replacePair(traceTemp: string, tracePath: string, summaryPath: string, summary: string): void {
  const summaryTemp = tempFileFor(summaryPath);
  writeFileSync(summaryTemp, summary);
  renameSync(traceTemp, tracePath);
  renameSync(summaryTemp, summaryPath);
  settled(summaryTemp);
}

function removeTemp(path: string): void {
  rmSync(path, { recursive: true, force: true });
  settled(path);
}

function relativeName(file: string): string {
  const abs = resolve(file);
  return basename(dirname(abs)) === 'scenarios' ? `scenarios/${basename(abs)}` : basename(abs);
}
