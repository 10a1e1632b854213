/** `emu test`: every scenario against its golden, with text, JSON or JUnit output. */
import { group } from '../util/text.js';
import { folderGoldenDirs, refuseNameClashes, scenarioName, unusedGoldens, type UnusedGolden } from '../harness/names.js';
import { discoverScenarios, runSuite, shard, type SuiteEntry } from '../harness/suite.js';
import { UsageError } from '../input/errors.js';
import { UPDATE_IN_CI } from '../harness/check.js';
import { describeVerdict, toJson } from './run.js';
import { EXIT } from './exit.js';
import { isCI } from './options.js';

export interface TestArgs {
  update: boolean;
  jobs: number;
  shard?: string;
  reporter: 'text' | 'json' | 'junit';
}

/**
 * Two scenarios that would share a golden are refused before anything runs (exit 2). When whole
 * folders run (no --shard), the goldens beside them that no scenario uses are listed and fail the
 * suite (exit 1): a stray golden is most likely a renamed scenario's, and emu never deletes one, not
 * even with --update. A list of files says nothing about the rest of their folder: no such check.
 */
export async function testCommand(paths: string[], args: TestArgs): Promise<number> {
  if (args.update && isCI()) throw new UsageError(UPDATE_IN_CI);
  const all = discoverScenarios(paths);
  const names = all.map(scenarioName);
  refuseNameClashes(names);
  const files = shard(all, args.shard);
  if (files.length === 0) throw new UsageError(`no scenarios found in ${paths.join(', ')}`);
  const entries = await runSuite(files, { update: args.update, ci: isCI() }, args.jobs);
  const unused = args.shard ? [] : unusedGoldens(folderGoldenDirs(paths), names);
  const json = () => JSON.stringify([...entries.map(entryJson), ...unused.map(unusedJson)], null, 2) + '\n';
  process.stdout.write(args.reporter === 'json' ? json() : args.reporter === 'junit' ? junit(entries, unused) : text(entries, unused));
  if (entries.some((e) => 'inputError' in e)) return EXIT.input;
  return entries.every((e) => 'check' in e && e.check.passed) && unused.length === 0 ? EXIT.pass : EXIT.fail;
}

function text(entries: SuiteEntry[], unused: UnusedGolden[]): string {
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
  if (unused.length > 0) {
    lines.push('');
    for (const u of unused) lines.push(unusedMessage(u));
    lines.push(indent('emu deletes no golden: if a scenario was renamed, remove or rename its old goldens with it'));
  }
  const strays = unused.length > 0 ? `, ${unused.length} unused golden${unused.length === 1 ? '' : 's'}` : '';
  lines.push('', `${passed} passed, ${entries.length - passed} failed${strays}`);
  return lines.join('\n') + '\n';
}

export function unusedMessage(u: UnusedGolden): string {
  return `unused golden: ${u.path} (no scenario named ${u.name})`;
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

/** An unused golden in the JSON list: not a scenario, but a failed entry all the same. */
function unusedJson(u: UnusedGolden): object {
  return { unused_golden: u.path, scenario: u.name, passed: false, message: unusedMessage(u) };
}

function junit(entries: SuiteEntry[], unused: UnusedGolden[]): string {
  const failures = entries.filter((e) => !('check' in e) || !e.check.passed).length + unused.length;
  const cases = entries.map((e) => {
    const open = `  <testcase classname="emu.scenarios" name="${xml(name(e))}" file="${xml(e.file)}">`;
    if ('inputError' in e) return `${open}\n    <error message="bad input">${xml(e.inputError)}</error>\n  </testcase>`;
    if (e.check.passed) return `${open}</testcase>`;
    return `${open}\n    <failure message="golden ${e.check.golden}">${xml(describeVerdict(e.check))}</failure>\n  </testcase>`;
  });
  for (const u of unused) {
    cases.push(`  <testcase classname="emu.goldens" name="${xml(u.path)}" file="${xml(u.path)}">\n    <failure message="unused golden">${xml(unusedMessage(u))}</failure>\n  </testcase>`);
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="emu" tests="${entries.length + unused.length}" failures="${failures}">\n${cases.join('\n')}\n</testsuite>\n`;
}

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
