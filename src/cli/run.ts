/** `emu run`: run scenarios, print summaries, compare with goldens. */
import { relative } from 'node:path';
import { checkScenario, type CheckResult } from '../harness/check.js';
import { UsageError } from '../input/errors.js';
import { formatComparison } from '../report/diff.js';
import { group } from '../report/format.js';
import { formatSummary } from '../report/summary.js';
import { clearProgress, EXIT, progressPrinter } from './exit.js';

export interface RunArgs {
  update: boolean;
  seed?: number;
  json: boolean;
  trace?: string;
}

export async function runCommand(files: string[], args: RunArgs): Promise<number> {
  if (args.trace && files.length > 1) throw new UsageError('--trace takes one scenario');
  const results: CheckResult[] = [];
  for (const file of files) {
    const result = checkScenario(file, { update: args.update, ci: Boolean(process.env.CI), seed: args.seed, tracePath: args.trace, onProgress: progressPrinter(file) });
    clearProgress();
    results.push(result);
    if (!args.json) process.stdout.write(formatSummary(result.result) + describeVerdict(result) + '\n' + (files.length > 1 ? '\n' : ''));
  }
  if (args.json) process.stdout.write(JSON.stringify(results.map(toJson), null, 2) + '\n');
  return results.every((r) => r.passed) ? EXIT.pass : EXIT.fail;
}

/** The lines after a summary: the golden verdict and any failed expectation. */
export function describeVerdict(r: CheckResult): string {
  const lines: string[] = [];
  const near = relative(process.cwd(), r.goldenPath);
  const path = near && !near.startsWith('..') ? near : r.goldenPath;
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
      lines.push(`golden: MISSING (${path})${process.env.CI ? ': goldens are never written in CI; commit one made with --update' : ': run with --update to record it'}`);
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
    faults: r.result.faults,
  };
}
