/** What every fuzz kind shares: scratch folders, bounded runs, captured output, the allowed errors. */
import { existsSync, mkdtempSync, readdirSync, readlinkSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../../src/engine/engine.js';
import { InputError, UsageError } from '../../../src/input/errors.js';
import type { Scenario } from '../../../src/scenario/types.js';
import { readTrace } from '../../../src/trace/reader.js';
import { TraceFileWriter } from '../../../src/trace/writer.js';

// As helpers/scenario.ts has them; that file registers ava hooks, and `npm run fuzz` runs without ava.
export const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
export const CLI = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));

/** Operations a fuzzed run may take before it is cut: a mutation may well ask for 10^9. */
export const OP_BUDGET = 20_000;

/** Where this process's open descriptors are listed (Linux); elsewhere leaks go unseen. */
const FDS = '/proc/self/fd';

/** The files under `dir` this process still has open. */
function openUnder(dir: string): string[] {
  if (!existsSync(FDS)) return [];
  const prefix = realpathSync(dir) + sep;
  const open: string[] = [];
  for (const fd of readdirSync(FDS)) {
    try {
      const target = readlinkSync(join(FDS, fd));
      if (target.startsWith(prefix)) open.push(target);
    } catch {
      // The descriptor readdirSync listed its folder with, closed since.
    }
  }
  return open;
}

/**
 * Runs `body` in a fresh scratch folder, removed when it is done (a promise: once it settles) whatever
 * happens. A case that leaves one of its files open fails: in a long run, leaked descriptors end in
 * EMFILE, and emu runs many scenarios in one process (emu test, emu size).
 */
export function withScratch<T>(body: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'emu-fuzz-'));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  const done = (result: T) => {
    const open = openUnder(dir);
    remove();
    if (open.length > 0) throw new Error(`files left open: ${open.join(', ')}`);
    return result;
  };
  let result: T;
  try {
    result = body(dir);
  } catch (e) {
    remove();
    throw e;
  }
  if (result instanceof Promise) return result.then(done, (e: unknown) => (remove(), Promise.reject(e))) as T;
  return done(result);
}

class OpBudget extends Error {}

/** Runs a scenario to its end or to OP_BUDGET operations, its trace written to `tracePath` and, when whole, read back. */
export function runBounded(scenario: Scenario, tracePath: string): 'ran' | 'cut' {
  const writer = new TraceFileWriter(tracePath);
  try {
    run(scenario, { sinks: [writer], progressEvery: 1000, onProgress: (ops) => { if (ops >= OP_BUDGET) throw new OpBudget(); } });
  } catch (e) {
    if (!(e instanceof OpBudget)) throw e;
    return 'cut';
  } finally {
    writer.close();
  }
  for (const event of readTrace(tracePath).events) void event;
  return 'ran';
}

/**
 * `body`'s outcome, or 'input-error' for an InputError with a position in a file and 'usage-error'
 * for a UsageError; any other error is thrown on (an internal error: a fuzz failure).
 */
export function inputOutcome<T>(body: () => T): T | 'input-error' | 'usage-error' {
  try {
    return body();
  } catch (e) {
    if (e instanceof InputError) {
      if (!(e.pos.line >= 1 && e.pos.col >= 1 && e.pos.file)) throw new Error(`InputError without a position: ${e.toString()}`);
      return 'input-error';
    }
    if (e instanceof UsageError) return 'usage-error';
    throw e;
  }
}

export interface Captured<T> {
  value: T;
  stdout: string;
  stderr: string;
}

type Write = typeof process.stdout.write;

/** Keeps what is written to stdout and stderr (commands write there) instead of printing it, until restore(). */
function intercept(): { out: { stdout: string; stderr: string }; restore: () => void } {
  const out = { stdout: '', stderr: '' };
  const saved: [Write, Write] = [process.stdout.write, process.stderr.write];
  const keep = (stream: 'stdout' | 'stderr') =>
    ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      out[stream] += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      // A caller waiting for the write's callback gets it.
      (rest.find((r) => typeof r === 'function') as (() => void) | undefined)?.();
      return true;
    }) as Write;
  process.stdout.write = keep('stdout');
  process.stderr.write = keep('stderr');
  return { out, restore: () => ([process.stdout.write, process.stderr.write] = saved) };
}

/** `body`'s value and what it printed. */
export function capturedSync<T>(body: () => T): Captured<T> {
  const { out, restore } = intercept();
  try {
    return { value: body(), ...out };
  } finally {
    restore();
  }
}

export async function captured<T>(body: () => Promise<T>): Promise<Captured<T>> {
  const { out, restore } = intercept();
  try {
    const value = await body();
    return { value, ...out };
  } finally {
    restore();
  }
}
