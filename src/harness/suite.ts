/** Runs a set of scenarios, in this thread or spread over worker threads. */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { Worker } from 'node:worker_threads';
import { InputError, UsageError } from '../input/errors.js';
import { checkScenario, type CheckOptions, type CheckResult } from './check.js';

/** A scenario's result, with the wall time its check took (for the JUnit report only: never in a trace). */
/** One scenario's outcome, as a worker thread hands it back. */
export type Checked = { file: string; check: CheckResult } | { file: string; inputError: string };
/** With the seconds it took, by the clock the command line gave the suite (JUnit's times). */
export type SuiteEntry = Checked & { seconds: number };
/** Seconds by the wall clock: the command line's to read, so it is passed in (no trace ever sees it). */
export type Clock = () => number;

/** The shown name of a scenario's result: its name, or its file when it could not be read. */
export function entryName(e: SuiteEntry): string {
  return 'check' in e ? e.check.name : e.file;
}

/** What a folder's walk takes as scenarios, and the folders it does not enter. */
const SCENARIO_FILE = /\.ya?ml$/;
const NOT_ENTERED = new Set(['golden', 'node_modules']);

/**
 * Scenario files under the given paths, in a fixed (byte-wise) order: a folder's .yaml and .yml files
 * and its subfolders' (not golden/, node_modules/ or hidden ones), a file as given, and the files a
 * glob matches (quoted, such as 'scenarios/**', so that emu expands it rather than the shell). A file reached
 * twice (a folder and a file in it) is run once: two runs of it in parallel would race for its golden.
 */
export function discoverScenarios(paths: string[]): string[] {
  const files: string[] = [];
  for (const path of paths) {
    if (isGlob(path) && !existsSync(path)) {
      const matched = expandGlob(path);
      if (matched.length === 0) throw new UsageError(`no file matches ${path}`);
      files.push(...matched);
    } else if (statSync(path).isDirectory()) {
      files.push(...walk(path).filter((f) => SCENARIO_FILE.test(f)));
    } else {
      files.push(path);
    }
  }
  return onceEach(files, (f) => f).sort(byteOrder);
}

function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Every file below a folder, skipping golden/, node_modules/ and hidden folders. */
function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    const stat = statSync(full);
    if (stat.isDirectory()) return NOT_ENTERED.has(name) || name.startsWith('.') ? [] : walk(full);
    return stat.isFile() ? [full] : [];
  });
}

function isGlob(path: string): boolean {
  return /[*?[{]/.test(path);
}

/** The files a glob matches: `**` any folders, `*` and `?` within a name, `{a,b}` either, `[...]` a class. */
export function expandGlob(pattern: string): string[] {
  const parts = pattern.split('/');
  const firstMagic = parts.findIndex(isGlob);
  const base = parts.slice(0, firstMagic).join('/');
  const root = base === '' ? (pattern.startsWith('/') ? '/' : '.') : base;
  if (!existsSync(root) || !statSync(root).isDirectory()) return [];
  const matcher = globRegExp(parts.slice(firstMagic).join('/'));
  return walk(root)
    .filter((file) => matcher.test(relative(root, file).split(sep).join('/')))
    .map((file) => (base === '' && !pattern.startsWith('/') ? relative('.', file) : file));
}

function globRegExp(glob: string): RegExp {
  let out = '';
  let braces = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (glob.startsWith('**/', i)) [out, i] = [out + '(?:.*/)?', i + 2];
    else if (glob.startsWith('**', i)) [out, i] = [out + '.*', i + 1];
    else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '{') [out, braces] = [out + '(?:', braces + 1];
    else if (c === '}' && braces > 0) [out, braces] = [out + ')', braces - 1];
    else if (c === ',' && braces > 0) out += '|';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) out += '\\[';
      else [out, i] = [out + '[' + glob.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\') + ']', end];
    } else out += c.replace(/[.+^$()|\\{}]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

/** The items whose file (as resolved) has not come before, in order. */
export function onceEach<T>(items: T[], file: (item: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const key = resolve(file(item));
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** `K/N`: every N-th scenario starting at the K-th (1-based). */
export function shard(files: string[], spec: string | undefined): string[] {
  if (!spec) return files;
  const m = /^(\d+)\/(\d+)$/.exec(spec);
  const [k, n] = m ? [Number(m[1]), Number(m[2])] : [0, 0];
  if (!m || n < 1 || k < 1 || k > n) throw new UsageError(`--shard ${spec}: expected K/N with 1 <= K <= N`);
  return files.filter((_, i) => i % n === k - 1);
}

/** Runs one scenario; a bad input file is a result of its own, not the end of the suite. */
export function checkEntry(file: string, options: CheckOptions): Checked {
  try {
    return { file, check: checkScenario(file, options) };
  } catch (e) {
    if (e instanceof InputError) return { file, inputError: e.diagnostic() };
    if (e instanceof UsageError) return { file, inputError: e.message };
    throw e;
  }
}

/**
 * Runs the scenarios, `jobs` at a time in worker threads. `onEntry` hears of each result as it comes
 * (in the order they finish with several jobs); the list returned is in the order of `files`.
 */
export async function runSuite(files: string[], options: CheckOptions, jobs: number, clock: Clock, onEntry: (index: number, entry: SuiteEntry) => void = () => {}): Promise<SuiteEntry[]> {
  const results: SuiteEntry[] = new Array(files.length);
  const settle = (index: number, checked: Checked, started: number) => {
    const entry = { ...checked, seconds: clock() - started };
    results[index] = entry;
    onEntry(index, entry);
  };
  if (jobs <= 1 || files.length <= 1) {
    for (const [index, file] of files.entries()) {
      const started = clock();
      settle(index, checkEntry(file, options), started);
      // A turn of the event loop: what `onEntry` printed leaves now (from a worker thread, stdout is
      // only passed on between tasks), not with the rest at the end.
      await new Promise((resolve) => setImmediate(resolve));
    }
    return results;
  }
  let next = 0;
  const workerUrl = new URL('./worker.js', import.meta.url);
  const lane = () =>
    new Promise<void>((resolve, reject) => {
      const worker = new Worker(workerUrl);
      const feed = () => {
        if (next >= files.length) {
          void worker.terminate().then(() => resolve());
          return;
        }
        const index = next++;
        const started = clock();
        worker.once('message', (entry: Checked | { internalError: string }) => {
          if ('internalError' in entry) {
            void worker.terminate();
            reject(new Error(entry.internalError));
            return;
          }
          settle(index, entry, started);
          feed();
        });
        worker.postMessage({ file: files[index], options });
      };
      worker.once('error', reject);
      feed();
    });
  await Promise.all(Array.from({ length: Math.min(jobs, files.length) }, lane));
  return results;
}
