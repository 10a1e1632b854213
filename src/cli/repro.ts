/** `emu repro LOG|SCENARIO`: replay to the first fault, and with --shrink write the smallest scenario that still gives it. */
import { group } from '../util/text.js';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readInput } from '../input/chunks.js';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { checkScenario } from '../harness/check.js';
import { UsageError } from '../input/errors.js';
import { readLog } from '../import/read.js';
import { importedScenarioText } from '../import/scenario.js';
import { computeStats } from '../import/stats.js';
import { reproduce, shrink, shrunkScenarioText } from '../repro/repro.js';
import { parseScenario } from '../scenario/parse.js';
import { replayTarget } from './import.js';
import { describeVerdict } from './run.js';
import { clearProgress, EXIT } from './exit.js';
import { checkOutputPath, isCI, writeOutput } from './options.js';

export interface ReproOptions {
  input: string;
  format?: string;
  target?: string;
  heap?: string;
  shrink: boolean;
  /** Runs a scenario under this seed instead of its own (as `emu run --seed`). */
  seed?: number;
  out?: string;
  force: boolean;
}

export function reproCommand(o: ReproOptions): number {
  const { text, file } = scenarioOf(o);
  const scenario = parseScenario(file, text, createHash('sha256').update(text).digest('hex'));
  if (o.seed !== undefined) scenario.seed = o.seed;
  const seeded = o.seed !== undefined ? ` --seed ${o.seed}` : '';
  const r = reproduce(scenario);
  if (!r.fault) {
    process.stdout.write(`${o.seed !== undefined ? `under seed ${o.seed}: ` : ''}no fault: ${group(r.ops)} operations ran clean${r.deviceFault ? `, but the device recorded ${r.deviceFault}` : ''}\n`);
    return EXIT.fail;
  }
  const f = r.fault;
  const where = f.logLine !== null ? `log line ${f.logLine}` : `scenario line ${f.line}`;
  process.stdout.write(`${o.seed !== undefined ? `under seed ${o.seed}: ` : ''}first fault at operation ${group(f.op)} (${where}): ${f.kind} (${f.detected})${f.heap ? ` heap ${f.heap}` : ''}${f.id ? ` id ${f.id}` : ''}${f.caller ? ` caller ${f.caller}` : ''}\n  ${f.detail}\n`);
  let code: number = EXIT.pass;
  if (r.deviceFault) {
    const same = r.deviceFault === f.kind;
    process.stdout.write(same ? `the device recorded the same fault: ${r.deviceFault}\n` : `the device recorded ${r.deviceFault}, not ${f.kind}\n`);
    if (!same) code = EXIT.fail;
  }
  if (!o.shrink) return code;

  const out = resolve(o.out ?? join(dirname(o.input), `${basename(o.input, extname(o.input))}-repro.yaml`));
  if (existsSync(out) && !o.force) throw new UsageError(`${out} exists; pass --force to replace it, or --out for another file`);
  checkOutputPath('--out', out);
  const progress = process.stderr.isTTY && !isCI() ? (size: number, tests: number) => process.stderr.write(`\rshrinking: ${group(size)} operations after ${group(tests)} runs`) : undefined;
  const shrunk = shrink(scenario, f, progress);
  clearProgress();
  const header = ` Shrunk by: emu repro ${basename(o.input)}${seeded} --shrink\n ${group(shrunk.before)} operations down to ${group(shrunk.steps.length)} in ${group(shrunk.tests)} runs${shrunk.exhausted ? ' (run budget spent: not 1-minimal)' : ''};\n they still give ${f.kind} on heap ${f.heap ?? '-'} (first seen at operation ${f.op}, ${where}).`;
  writeOutput(out, shrunkScenarioText(text, shrunk.steps, f, header, o.seed));
  // Goldens are never written in CI: there the shrunk scenario is checked against nothing.
  const ci = isCI();
  const check = checkScenario(out, { update: !ci, ci });
  if (ci) {
    process.stdout.write(`wrote ${relative(process.cwd(), out) || out}: ${group(shrunk.steps.length)} operations (from ${group(shrunk.before)}, ${group(shrunk.tests)} runs)\ngolden: not written (goldens are never written in CI)\n`);
    return check.expectationFailures.length === 0 ? code : EXIT.fail;
  }
  process.stdout.write(`wrote ${relative(process.cwd(), out) || out}: ${group(shrunk.steps.length)} operations (from ${group(shrunk.before)}, ${group(shrunk.tests)} runs)\n${describeVerdict(check)}\n`);
  return check.passed ? code : EXIT.fail;
}

/** The scenario text to reproduce with: the file itself, or a replay of the log on a target. */
function scenarioOf(o: ReproOptions): { text: string; file: string } {
  const input = resolve(o.input);
  if (!existsSync(input)) throw new UsageError(`${o.input}: no such file`);
  if (/\.ya?ml$/.test(input)) return { text: readInput(input).toString('utf8'), file: input };
  if (!o.format || !o.target || !o.heap) throw new UsageError('emu repro LOG needs --format, --target and --heap (an allocator); or give a scenario file');
  if (o.seed !== undefined) throw new UsageError('--seed is for scenarios: a replayed log draws no random numbers');
  const target = replayTarget(o.target, o.heap);
  const stats = computeStats(readLog(input, o.format));
  // The scenario lives beside the log, so the replay names the log by its file name.
  const file = join(dirname(input), `${basename(input, extname(input))}.yaml`);
  return { text: importedScenarioText({ log: input, format: o.format, allocator: o.heap, target, logPath: basename(input), stats }), file };
}
