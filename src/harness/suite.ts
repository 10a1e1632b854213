/** Runs a set of scenarios, in this thread or spread over worker threads. */
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { InputError, UsageError } from '../input/errors.js';
import { checkScenario, type CheckOptions, type CheckResult } from './check.js';

export type SuiteEntry = { file: string; check: CheckResult } | { file: string; inputError: string };

/**
 * Scenario files under the given paths, in a fixed (byte-wise) order. A file reached twice (a folder
 * and a file in it) is run once: two runs of it in parallel would race for its golden.
 */
export function discoverScenarios(paths: string[]): string[] {
  const files: string[] = [];
  for (const path of paths) {
    if (statSync(path).isDirectory()) {
      for (const name of readdirSync(path)) {
        const full = join(path, name);
        if (name.endsWith('.yaml') && statSync(full).isFile()) files.push(full);
      }
    } else {
      files.push(path);
    }
  }
  return onceEach(files, (f) => f).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
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
export function checkEntry(file: string, options: CheckOptions): SuiteEntry {
  try {
    return { file, check: checkScenario(file, options) };
  } catch (e) {
    if (e instanceof InputError) return { file, inputError: e.toString() };
    if (e instanceof UsageError) return { file, inputError: e.message };
    throw e;
  }
}

export async function runSuite(files: string[], options: CheckOptions, jobs: number): Promise<SuiteEntry[]> {
  if (jobs <= 1 || files.length <= 1) return files.map((f) => checkEntry(f, options));
  const results: SuiteEntry[] = new Array(files.length);
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
        worker.once('message', (entry: SuiteEntry | { internalError: string }) => {
          if ('internalError' in entry) {
            void worker.terminate();
            reject(new Error(entry.internalError));
            return;
          }
          results[index] = entry;
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
