/**
 * Checks of command-line values that yargs cannot make: whole numbers echoed as typed, output paths
 * that can be written, and whether this is a CI run.
 */
import { existsSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { settled, tempFileFor } from '../harness/temps.js';
import { UsageError } from '../input/errors.js';
import { closest } from '../util/text.js';

/**
 * A whole-number option from its text (yargs would turn `abc` into NaN and lose what was typed).
 * Undefined stays undefined; anything else must be digits within [min, max].
 */
export function wholeNumber(flag: string, typed: string | number | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (typed === undefined) return undefined;
  const text = String(typed).trim();
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  const range = max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`;
  if (!(value >= min && value <= max)) throw new UsageError(`${flag}: expected a whole number ${range}, got ${JSON.stringify(String(typed))}`);
  return value;
}

/** CI is on when CI is set to anything but '', 'false', '0', 'no' or 'off' (CI=false is a common way to turn it off). */
export function isCI(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env.CI?.trim().toLowerCase();
  return value !== undefined && !['', 'false', '0', 'no', 'off'].includes(value);
}

/** Refuses an output path that cannot become a file: an existing folder, or a folder that does not exist. */
export function checkOutputPath(flag: string, path: string): void {
  const full = resolve(path);
  if (existsSync(full) && statSync(full).isDirectory()) throw new UsageError(`${flag} ${path}: is a folder; give a file name`);
  const parent = dirname(full);
  if (!existsSync(parent)) throw new UsageError(`${flag} ${path}: cannot write there: folder ${parent} does not exist`);
  if (!statSync(parent).isDirectory()) throw new UsageError(`${flag} ${path}: cannot write there: ${parent} is not a folder`);
}

/** Writes an output file; a failure is reported as a failed write of that file (exit 2), not a read. */
export function writeOutput(path: string, content: string | Uint8Array): void {
  const tmp = tempFileFor(path);
  try {
    // Under a temporary name, renamed into place: an interrupt never leaves half a file.
    writeFileSync(tmp, content);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    const error = e as NodeJS.ErrnoException;
    if (typeof error?.code !== 'string') throw e;
    throw new UsageError(`cannot write ${path}: ${error.code === 'ENOENT' ? 'its folder does not exist' : error.message}`);
  } finally {
    settled(tmp);
  }
}

export const REPORTER_KINDS = ['text', 'json', 'junit'] as const;

/** One report of `emu test`: its kind, and the file it goes to (null: stdout). */
export interface Reporter {
  kind: (typeof REPORTER_KINDS)[number];
  file: string | null;
}

/**
 * `--reporter KIND[=FILE]`, given once or more. One report at most goes to stdout, each file takes one
 * report, and every file can be written: all of it checked before anything runs.
 */
export function parseReporters(specs: readonly string[]): Reporter[] {
  const reporters = specs.map((spec): Reporter => {
    const [kind, ...rest] = spec.split('=');
    const file = rest.length > 0 ? rest.join('=') : null;
    if (!(REPORTER_KINDS as readonly string[]).includes(kind)) {
      const nearest = closest(kind, REPORTER_KINDS);
      throw new UsageError(`--reporter ${spec}: unknown reporter ${JSON.stringify(kind)}${nearest ? `; did you mean ${nearest}?` : ''} (reporters: ${REPORTER_KINDS.join(', ')}, each optionally =FILE)`);
    }
    if (file === '') throw new UsageError(`--reporter ${spec}: give a file name after '='`);
    if (file !== null) checkOutputPath(`--reporter ${kind}`, file);
    return { kind: kind as Reporter['kind'], file };
  });
  const toStdout = reporters.filter((r) => r.file === null);
  if (toStdout.length > 1) throw new UsageError(`--reporter: ${toStdout.map((r) => r.kind).join(' and ')} would both go to stdout; give all but one a file (KIND=FILE)`);
  const files = reporters.filter((r) => r.file !== null).map((r) => resolve(r.file!));
  const twice = files.find((f, i) => files.indexOf(f) !== i);
  if (twice !== undefined) throw new UsageError(`--reporter: two reports would go to ${twice}; give each its own file`);
  return reporters;
}
