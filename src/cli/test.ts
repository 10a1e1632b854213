/** `emu test`: every scenario against its golden, with text, JSON or JUnit output. */
import { group } from '../util/text.js';
import { refuseNameClashes, scenarioName } from '../harness/names.js';
import { discoverScenarios, runSuite, shard, type SuiteEntry } from '../harness/suite.js';
import { UsageError } from '../input/errors.js';
import { describeVerdict, toJson } from './run.js';
import { EXIT } from './exit.js';

export interface TestArgs {
  update: boolean;
  jobs: number;
  shard?: string;
  reporter: 'text' | 'json' | 'junit';
}

/** Two scenarios that would share a golden are refused before anything runs (exit 2). */
export async function testCommand(paths: string[], args: TestArgs): Promise<number> {
  if (!Number.isInteger(args.jobs) || args.jobs < 1) throw new UsageError(`--jobs ${args.jobs}: expected a whole number of at least 1`);
  const all = discoverScenarios(paths);
  refuseNameClashes(all.map(scenarioName));
  const files = shard(all, args.shard);
  if (files.length === 0) throw new UsageError(`no scenarios found in ${paths.join(', ')}`);
  const entries = await runSuite(files, { update: args.update, ci: Boolean(process.env.CI) }, args.jobs);
  const out = args.reporter === 'json' ? JSON.stringify(entries.map(entryJson), null, 2) + '\n' : args.reporter === 'junit' ? junit(entries) : text(entries);
  process.stdout.write(out);
  if (entries.some((e) => 'inputError' in e)) return EXIT.input;
  return entries.every((e) => 'check' in e && e.check.passed) ? EXIT.pass : EXIT.fail;
}

function text(entries: SuiteEntry[]): string {
  const lines: string[] = [];
  const width = Math.max(...entries.map((e) => name(e).length));
  let passed = 0;
  for (const e of entries) {
    if ('inputError' in e) {
      lines.push(`ERROR ${name(e).padEnd(width)}  ${e.inputError}`);
      continue;
    }
    const c = e.check;
    const s = c.result.summary;
    const facts = `${group(s.ops).padStart(10)} ops ${group(c.result.faultCount).padStart(5)} faults  golden ${c.golden}`;
    lines.push(`${c.passed ? 'ok   ' : 'FAIL '} ${name(e).padEnd(width)}  ${facts}`);
    if (c.passed) passed++;
    else lines.push(indent(describeVerdict(c)));
  }
  lines.push('', `${passed} passed, ${entries.length - passed} failed`);
  return lines.join('\n') + '\n';
}

function name(e: SuiteEntry): string {
  return 'check' in e ? e.check.name : e.file;
}

function indent(s: string): string {
  return s.split('\n').map((l) => '      ' + l).join('\n');
}

function entryJson(e: SuiteEntry): object {
  return 'check' in e ? toJson(e.check) : { file: e.file, passed: false, input_error: e.inputError };
}

function junit(entries: SuiteEntry[]): string {
  const failures = entries.filter((e) => !('check' in e) || !e.check.passed).length;
  const cases = entries.map((e) => {
    const open = `  <testcase classname="emu.scenarios" name="${xml(name(e))}" file="${xml(e.file)}">`;
    if ('inputError' in e) return `${open}\n    <error message="bad input">${xml(e.inputError)}</error>\n  </testcase>`;
    if (e.check.passed) return `${open}</testcase>`;
    return `${open}\n    <failure message="golden ${e.check.golden}">${xml(describeVerdict(e.check))}</failure>\n  </testcase>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="emu" tests="${entries.length}" failures="${failures}">\n${cases.join('\n')}\n</testsuite>\n`;
}

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
