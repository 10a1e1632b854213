/**
 * Fuzz kind `trace`: valid traces (a small scenario recorded through TraceFileWriter with a drawn
 * allocator and seed, or a shipped scenario's golden) with their bytes mutated, read as `emu inspect`,
 * `emu inspect --ndjson` and `emu diff` read them (the commands themselves, their output kept), and
 * as a golden's digest is taken. Each must give its result, or the FileError of a damaged trace that
 * says where: at which byte, or after how many events. The three commands read the same bytes, so
 * they must agree.
 */
import fc from 'fast-check';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { diffCommand, inspectCommand } from '../../../src/cli/trace-commands.js';
import { FileError } from '../../../src/input/errors.js';
import { parseScenario } from '../../../src/scenario/parse.js';
import { eventsDigestOf } from '../../../src/trace/reader.js';
import { capturedSync, REPO, runBounded, withScratch } from './common.js';
import { byteMutation, mutateBytes, someOf, type ByteMutation } from './mutate.js';
import { SMALL_TARGET, smallScenario } from './scenarios.js';

/** Allocators the small scenario runs with (its `main` heap). */
const ALLOCATORS = ['tlsf', 'first-fit', 'best-fit', 'dlmalloc', 'half-fit', 'buddy'];

/** Goldens at most this long are trace seeds (short traces, many cases). */
const MAX_SHIPPED_TRACE = 32 * 1024;

export type TraceBase = { shipped: number } | { small: { allocator: number; seed: number } };

export interface TraceCase {
  base: TraceBase;
  /** The trace `emu diff` compares the mutated one with: its own base, or another. */
  against: TraceBase | 'base';
  mutations: ByteMutation[];
}

const traceBase: fc.Arbitrary<TraceBase> = fc.oneof(
  fc.record({ shipped: fc.nat() }),
  fc.record({ small: fc.record({ allocator: fc.nat(), seed: fc.nat({ max: 2 ** 32 - 1 }) }) }),
);

export const traceCase: fc.Arbitrary<TraceCase> = fc.record({
  base: traceBase,
  against: fc.oneof({ arbitrary: fc.constant('base' as const), weight: 3 }, { arbitrary: traceBase, weight: 1 }),
  // Some cases are the valid traces as written.
  mutations: someOf(byteMutation, 4, 1, 6),
});

/** The shipped scenarios' golden traces, the short ones: written by the same writer, read once. */
export function shippedTraces(): Buffer[] {
  const dir = join(REPO, 'golden');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.trace'))
    .sort()
    .map((f) => readFileSync(join(dir, f)))
    .filter((bytes) => bytes.length <= MAX_SHIPPED_TRACE);
}

function traceBytes(base: TraceBase, shipped: Buffer[], dir: string): Buffer {
  if ('shipped' in base) return shipped[base.shipped % shipped.length];
  const { allocator, seed } = base.small;
  writeFileSync(join(dir, 'fuzz-target.yaml'), SMALL_TARGET);
  const file = join(dir, 'small.yaml');
  const path = join(dir, 'small.trace');
  runBounded(parseScenario(file, smallScenario(ALLOCATORS[allocator % ALLOCATORS.length], seed), 'fuzz'), path);
  return readFileSync(path);
}

export type TraceOutcome = 'read' | 'differ' | 'damaged' | 'cut-off' | 'not-a-trace' | 'damaged-header';

/** The FileErrors a damaged trace may give, each saying where; a trace's path begins each message. */
const DAMAGE: [RegExp, TraceOutcome][] = [
  [/^: damaged at byte (\d+): .+ \(\d+ events read before it\)$/s, 'damaged'],
  [/^: the trace is cut off (?:after \d+ events, with no end event|at byte (\d+), inside event \d+)$/, 'cut-off'],
  [/^: not an emu trace \((?:too short|it does not begin with EMUTRACE)\)$/, 'not-a-trace'],
  [/^: (?:damaged header \(.+\)|the trace header is damaged|a version 1 trace .+|trace format version \d+; .+)$/s, 'damaged-header'],
];

/** What a damaged trace's error says, checked: its kind, with a byte position inside the file. */
function damageOf(e: unknown, path: string, length: number): TraceOutcome {
  if (!(e instanceof FileError) || !e.message.startsWith(path)) throw e;
  for (const [shape, outcome] of DAMAGE) {
    const m = shape.exec(e.message.slice(path.length));
    if (!m) continue;
    if (m[1] !== undefined && !(Number(m[1]) < length)) throw new Error(`a damage position past the trace's ${length} bytes: ${e.message}`);
    return outcome;
  }
  throw new Error(`a trace error that says no position: ${e.message}`);
}

/** One reading of the trace: the command's exit code, or the error it stopped with. */
type Reading = { code: number } | { error: string; outcome: TraceOutcome };

function reading(command: () => number, path: string, length: number): Reading {
  try {
    return { code: capturedSync(command).value };
  } catch (e) {
    return { error: (e as Error).message, outcome: damageOf(e, path, length) };
  }
}

export function runTraceCase(c: TraceCase, shipped: Buffer[]): TraceOutcome {
  return withScratch((dir) => {
    const base = traceBytes(c.base, shipped, dir);
    const against = c.against === 'base' ? base : traceBytes(c.against, shipped, dir);
    const damaged = c.mutations.reduce(mutateBytes, base);
    const [a, b] = [join(dir, 'a.trace'), join(dir, 'b.trace')];
    writeFileSync(a, against);
    writeFileSync(b, damaged);
    const readings = [reading(() => inspectCommand(b, false), b, damaged.length), reading(() => inspectCommand(b, true), b, damaged.length), reading(() => diffCommand(a, b), b, damaged.length)];
    const [text, ndjson, diff] = readings;
    if (JSON.stringify(text) !== JSON.stringify(ndjson) || ('error' in text) !== ('error' in diff) || ('error' in text && 'error' in diff && text.error !== diff.error)) {
      throw new Error(`inspect, inspect --ndjson and diff disagree: ${JSON.stringify(readings)}`);
    }
    // A golden's digest reads the header only: it fails where the header does, as inspect did.
    try {
      eventsDigestOf(b);
    } catch (e) {
      const damage = damageOf(e, b, damaged.length);
      if ((damage !== 'not-a-trace' && damage !== 'damaged-header') || !('error' in text) || text.error !== (e as Error).message) throw e;
    }
    if ('error' in diff) return diff.outcome;
    if (base.equals(damaged) && against === base && diff.code !== 0) throw new Error('a trace differs from itself');
    return diff.code === 0 ? 'read' : 'differ';
  });
}
