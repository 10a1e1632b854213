/**
 * Fuzz kind `log`: field logs of the four formats `emu import` reads (mtrace, android, csapp, native),
 * generated valid from a drawn list of allocations, frees and reallocs, then mutated (text edits for
 * the text formats, byte edits for all). Each goes through what `emu import` does (read, statistics,
 * the scenario it writes) and that scenario is run, as is a scenario with a `replay:` step on a
 * fixed heap. Every outcome must be a result or an InputError at file:line:col; the op stream must
 * keep the readers' invariants (ops.ts: no free of a block that is not live, ...).
 */
import fc from 'fast-check';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { FORMATS, readLog, type LogFormat } from '../../../src/import/read.js';
import { writeNativeLog, type NativeRecord } from '../../../src/import/native.js';
import { streamViolations } from '../../../src/import/ops.js';
import { importedScenarioText } from '../../../src/import/scenario.js';
import { computeStats, formatStats } from '../../../src/import/stats.js';
import { parseScenario } from '../../../src/scenario/parse.js';
import { loadTarget, resolveTarget } from '../../../src/target/load.js';
import { inputOutcome, runBounded, withScratch } from './common.js';
import { byteMutation, mutateBytes, mutateText, someOf, textMutation, type ByteMutation, type TextMutation } from './mutate.js';

/** What the program did, before it is written in a format. `pick` chooses a live block (modulo their number). */
export type LogOp =
  | { kind: 'alloc'; size: number; align: number }
  | { kind: 'free'; pick: number }
  | { kind: 'realloc'; pick: number; size: number }
  | { kind: 'refused'; size: number };

export interface LogCase {
  format: LogFormat;
  ops: LogOp[];
  /** How the log writes what it may vary: mtrace's caller prefix, android's timestamps, native's 64-bit addresses. */
  style: number;
  allocator: number;
  textMutations: TextMutation[];
  byteMutations: ByteMutation[];
}

const size = fc.oneof({ arbitrary: fc.integer({ min: 0, max: 4096 }), weight: 8 }, { arbitrary: fc.integer({ min: 0, max: 2 ** 24 }), weight: 1 });

const logOp: fc.Arbitrary<LogOp> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('alloc' as const), size, align: fc.constantFrom(0, 0, 0, 8, 16, 64, 4096) }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('free' as const), pick: fc.nat() }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('realloc' as const), pick: fc.nat(), size }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('refused' as const), size }), weight: 1 },
);

export const logCase: fc.Arbitrary<LogCase> = fc.record({
  format: fc.constantFrom(...FORMATS),
  ops: fc.array(logOp, { minLength: 0, maxLength: 40 }),
  style: fc.nat(),
  allocator: fc.nat(),
  // Some cases are the valid logs as written.
  textMutations: someOf(textMutation, 3, 1, 2),
  byteMutations: someOf(byteMutation, 3, 2, 1),
});

/** Values the log formats give meaning to, and values at their edges. */
const LOG_TOKENS = ['0x0', '(nil)', '0', '-1', '0x', '0xffffffffffffffff', '0x10000000000000000', '18446744073709551615', '9007199254740993', '4294967296', '@ ', '] ', '[', ']', '= End', '= Start', '+', '-', '<', '>', '!', 'malloc', 'free', 'calloc', 'realloc', 'memalign', 'thread_done', 'a', 'f', 'r', ':', ' ', '  ', '\t', '\r', '\n', '\0', 'é', '\uFFFD', '1e3', 'abc'];

const ALLOCATORS = ['first-fit', 'tlsf', 'dlmalloc', 'buddy', 'half-fit', 'best-fit'];

const EXTENSION: Record<LogFormat, string> = { mtrace: 'mtrace', android: 'txt', csapp: 'rep', native: 'emulog' };

/** A live block while a log is written: its address, and its slot for CS:APP (whose ids are slots). */
interface Block {
  addr: number;
  slot: number;
}

/** Walks the ops as the program made them, handing each to the format's writer with the blocks it concerns. */
function walk(ops: LogOp[], visit: (op: LogOp, block: Block | null, moved: Block | null) => void): void {
  const live: Block[] = [];
  let next = 0;
  const slots = new Set<number>();
  /** A new block; a realloc's keeps the slot of the block it replaces. */
  const fresh = (slot = -1): Block => {
    if (slot < 0) {
      slot = 0;
      while (slots.has(slot)) slot++;
      slots.add(slot);
    }
    // 48-bit addresses, as a 64-bit host's heap has them, never reused (the log is valid).
    return { addr: 0x55d0_a000_0000 + 0x10000 * next++, slot };
  };
  for (const op of ops) {
    if (op.kind === 'alloc') {
      const block = fresh();
      live.push(block);
      visit(op, block, null);
    } else if (op.kind === 'refused') {
      visit(op, null, null);
    } else if (live.length > 0) {
      const i = op.pick % live.length;
      const block = live[i];
      if (op.kind === 'free') {
        live.splice(i, 1);
        slots.delete(block.slot);
        visit(op, block, null);
      } else {
        const moved = fresh(block.slot);
        live[i] = moved;
        visit(op, block, moved);
      }
    }
  }
}

const hex = (n: number) => `0x${n.toString(16)}`;

/** glibc's `%#lx`: 0 is `0`. */
const mtraceSize = (n: number) => (n === 0 ? '0' : hex(n));

const MTRACE_CALLERS = ['@ ./prog:[0x4011b0] ', '@ ./prog:(main+0x17)[0x4011c7] ', '@ [0x7f3a1c2d4e5f] ', '', '@ ./my prog:[0x11f1] '];

function mtraceLog(ops: LogOp[], style: number): string {
  const caller = MTRACE_CALLERS[style % MTRACE_CALLERS.length];
  const lines = ['= Start'];
  walk(ops, (op, block, moved) => {
    if (op.kind === 'alloc') lines.push(`${caller}+ ${hex(block!.addr)} ${mtraceSize(op.size)}`);
    else if (op.kind === 'refused') lines.push(`${caller}+ (nil) ${mtraceSize(op.size)}`);
    else if (op.kind === 'free') lines.push(`${caller}- ${hex(block!.addr)}`);
    else lines.push(`${caller}< ${hex(block!.addr)}`, `${caller}> ${hex(moved!.addr)} ${mtraceSize(op.size)}`);
  });
  lines.push('= End');
  return lines.join('\n') + '\n';
}

function androidLog(ops: LogOp[], style: number): string {
  const lines: string[] = [];
  const timed = style % 2 === 1;
  let time = 1000;
  const tid = (n: number) => `${4200 + (n % 3)}: `;
  const stamp = () => (timed ? ` ${(time += 250)} ${(time += 100)}` : '');
  let n = 0;
  walk(ops, (op, block, moved) => {
    n++;
    if (op.kind === 'alloc') {
      if (op.align > 0) lines.push(`${tid(n)}memalign ${hex(block!.addr)} ${op.align} ${op.size}${stamp()}`);
      else if (n % 5 === 0) lines.push(`${tid(n)}calloc ${hex(block!.addr)} 1 ${op.size}${stamp()}`);
      else lines.push(`${tid(n)}malloc ${hex(block!.addr)} ${op.size}${stamp()}`);
    } else if (op.kind === 'refused') lines.push(`${tid(n)}malloc 0x0 ${op.size}${stamp()}`);
    else if (op.kind === 'free') lines.push(`${tid(n)}free ${hex(block!.addr)}${stamp()}`);
    else lines.push(`${tid(n)}realloc ${hex(moved!.addr)} ${hex(block!.addr)} ${op.size}${stamp()}`);
  });
  lines.push(`4201: thread_done 0x0${timed ? ` ${time + 1}` : ''}`);
  return lines.join('\n') + '\n';
}

function csappLog(ops: LogOp[]): string {
  const body: string[] = [];
  let ids = 0;
  walk(ops, (op, block) => {
    if (block) ids = Math.max(ids, block.slot + 1);
    // A CS:APP trace has no refused requests: its driver's malloc does not fail.
    if (op.kind === 'alloc') body.push(`a ${block!.slot} ${op.size}`);
    else if (op.kind === 'free') body.push(`f ${block!.slot}`);
    else if (op.kind === 'realloc') body.push(`r ${block!.slot} ${op.size}`);
  });
  return [String(20_000_000), String(ids), String(body.length), '1', ...body].join('\n') + '\n';
}

function nativeRecords(ops: LogOp[], style: number): NativeRecord[] {
  // Some logs give addresses as bigints beyond 2^53, as a 64-bit device's hook does.
  const wide = style % 3 === 2;
  const address = (n: number) => (wide ? 0xb400_0070_0000_0000n + BigInt(n) : n);
  const records: NativeRecord[] = [];
  let time = 0;
  walk(ops, (op, block, moved) => {
    time += 10;
    if (op.kind === 'alloc') records.push({ op: 'alloc', ptr: address(block!.addr), size: op.size, ...(op.align > 0 ? { align: op.align } : {}), time });
    else if (op.kind === 'refused') records.push({ op: 'alloc', ptr: 0, size: op.size, time });
    else if (op.kind === 'free') records.push({ op: 'free', ptr: address(block!.addr), time });
    else records.push({ op: 'realloc', ptr: address(moved!.addr), old: address(block!.addr), size: op.size, time });
  });
  if (style % 4 === 1) records.push({ op: 'fault', kind: 'guard-hit', addr: address(0x55d0_a000_0040), time: time + 1 });
  return records;
}

/** Writes the case's valid log to `path`. */
function writeLog(path: string, c: LogCase): void {
  switch (c.format) {
    case 'mtrace':
      return writeFileSync(path, mtraceLog(c.ops, c.style));
    case 'android':
      return writeFileSync(path, androidLog(c.ops, c.style));
    case 'csapp':
      return writeFileSync(path, csappLog(c.ops));
    case 'native':
      return writeNativeLog(path, nativeRecords(c.ops, c.style), { meta: { device: 'fuzz' } });
  }
}

/** The scenario with a replay step on a fixed heap, beside the log. */
const replayScenario = (log: string, format: LogFormat, allocator: string) => `target: bare-metal
leak_check: false
heaps: [{name: main, allocator: ${allocator}, in: {in: sram, size: 64K}}]
steps:
  - replay: {file: ${JSON.stringify(log)}, format: ${format}, heap: main}
  - check
`;

export type LogOutcome = string;

/**
 * Runs one case. The outcome names each stage's result: the import (`import:<problems>` or its error),
 * then the imported scenario's run and the fixed replay's (ran, cut, input-error).
 */
export function runLogCase(c: LogCase): LogOutcome {
  return withScratch((dir) => {
    const log = join(dir, `field.${EXTENSION[c.format]}`);
    writeLog(log, c);
    if (c.format !== 'native') writeFileSync(log, c.textMutations.reduce((text, m) => mutateText(text, m, LOG_TOKENS), readFileSync(log, 'utf8')));
    writeFileSync(log, c.byteMutations.reduce(mutateBytes, readFileSync(log)));
    const valid = c.textMutations.length === 0 && c.byteMutations.length === 0;

    const imported = inputOutcome(() => {
      // Lines out of order are left out: the mtrace reader reports a `<` line left without its `>` after
      // a malformed line that follows it (a known fault of the reader's, harmless to a replay).
      const violations = streamViolations(readLog(log, c.format)).filter((v) => !/comes after line/.test(v));
      if (violations.length > 0) throw new Error(`the ${c.format} reader broke its invariants: ${violations.slice(0, 3).join('; ')}`);
      return computeStats(readLog(log, c.format));
    });
    if (typeof imported === 'string') {
      if (valid) throw new Error(`a valid ${c.format} log was refused (${imported})`);
      return `import:${imported}`;
    }
    formatStats(imported, c.format === 'native' ? 'record' : 'line');
    const problems = Object.values(imported.problems).reduce((a, b) => a + b, 0);
    if (valid && problems > 0) throw new Error(`a valid ${c.format} log has problems: ${JSON.stringify(imported.problems)}`);

    const allocator = ALLOCATORS[c.allocator % ALLOCATORS.length];
    const target = loadTarget(resolveTarget('bare-metal', dir)!);
    const text = importedScenarioText({ log, format: c.format, allocator, target, logPath: basename(log), stats: imported });
    const importedRun = inputOutcome(() => runBounded(parseScenario(join(dir, 'field.yaml'), text, 'fuzz'), join(dir, 'imported.trace')));
    const replayRun = inputOutcome(() => runBounded(parseScenario(join(dir, 'replay.yaml'), replayScenario(basename(log), c.format, allocator), 'fuzz'), join(dir, 'replay.trace')));
    return `import:${problems > 0 ? 'problems' : 'clean'} imported:${importedRun} replay:${replayRun}`;
  });
}
