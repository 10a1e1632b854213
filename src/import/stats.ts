/** `emu import --stats`: what a field log did, computed exactly from its op stream in one pass. */
import { group } from '../util/text.js';
import { PROBLEM_KINDS, type FieldOp, type ProblemKind } from './ops.js';
import { IntMap } from './intmap.js';
import { ALLOC_OP, blockId, FAILED_OP, FREE_OP, OpStream, REALLOC_OP } from './stream.js';

export interface LiveBlock {
  id: string;
  size: number;
  /** The line that allocated (or last reallocated) it. */
  line: number;
}

export interface ImportStats {
  /**
   * Lines (native: records) in the log: the op stream's return value when it gives one (every
   * reader's generator returns its line count), else the highest line an op came from.
   */
  lines: number;
  allocs: number;
  frees: number;
  reallocs: number;
  /** Requests the host refused (malloc returned NULL, a failed realloc). */
  failed: number;
  /** Faults the device recorded (native logs), by kind, kinds sorted. */
  faults: Record<string, number>;
  /** Problems in the log, by kind (every kind, 0 when absent). */
  problems: Record<ProblemKind, number>;
  /** The line of each kind's first problem (only kinds that occurred). */
  problem_lines: Partial<Record<ProblemKind, number>>;
  /** Most bytes live at once (the sizes requested; a realloc replaces its block's old size). */
  peak_live_bytes: number;
  peak_live_bytes_line: number;
  peak_live_blocks: number;
  peak_live_blocks_line: number;
  /** The largest size asked for by an allocation, a realloc or a refused request. */
  largest_request: number;
  largest_request_line: number;
  live_at_end: { blocks: number; bytes: number; largest: LiveBlock[] };
  /** Where the log names callers (mtrace, Android threads): the top TOP_CALLERS by allocations and by peak live bytes. */
  top_callers: { by_allocations: CallerTotal[]; by_peak_live_bytes: CallerTotal[] };
}

export interface CallerTotal {
  caller: string;
  allocations: number;
  /** The most bytes the caller's blocks held at once (a realloc's bytes count for its caller). */
  peak_live_bytes: number;
}

/** How many callers each of the top lists names. */
export const TOP_CALLERS = 5;

/** How many of the largest blocks live at the end the stats name. */
export const LARGEST_LIVE = 5;

export function computeStats(ops: Iterable<FieldOp>): ImportStats {
  const tally = new Tally();
  const lines = ops instanceof OpStream ? tally.stream(ops) : tally.objects(ops);
  return tally.result(lines);
}

/**
 * The stats as the ops go by. A log's stream is read in its columns (blocks keyed by number), any
 * other list of ops one object at a time (blocks keyed by id); both come to the same counting.
 */
class Tally {
  private readonly live = new LiveBlocks();
  private readonly callers = new CallerTotals();
  private readonly faults = new Map<string, number>();
  private readonly problems = Object.fromEntries(PROBLEM_KINDS.map((k) => [k, 0])) as Record<ProblemKind, number>;
  private readonly problemLines: Partial<Record<ProblemKind, number>> = {};
  /** The highest line an op came from. */
  private lines = 0;
  private allocs = 0;
  private frees = 0;
  private reallocs = 0;
  private failed = 0;
  private liveBytes = 0;
  private peakBytes = 0;
  private peakBytesLine = 0;
  private peakBlocks = 0;
  private peakBlocksLine = 0;
  private largest = 0;
  private largestLine = 0;

  /** Counts a log's stream; returns the number of lines it read. */
  stream(stream: OpStream): number {
    const ops = stream.ops;
    const names = ops.callerNames;
    for (let from = stream.take(); from >= 0; from = stream.take()) {
      // The columns are read after each take: a batch may have grown them.
      const { kinds, blocks, sizes, lines, callers } = ops;
      for (let i = from; i < ops.length; i++) {
        const line = lines[i];
        switch (kinds[i]) {
          case ALLOC_OP:
            this.hold(blocks[i], sizes[i], line, this.callers.ofStream(names, callers[i]), true);
            break;
          case REALLOC_OP:
            this.hold(blocks[i], sizes[i], line, this.callers.ofStream(names, callers[i]), false);
            break;
          case FREE_OP:
            this.free(blocks[i]);
            break;
          case FAILED_OP:
            this.refused(sizes[i], line);
            break;
          default:
            this.object(ops.object(i));
        }
        this.after(line);
      }
    }
    return stream.count;
  }

  /** Counts ops given one by one; returns what their iterator returns when it returns a number (a reader's line count), else 0. */
  objects(ops: Iterable<FieldOp>): number {
    const iterator = ops[Symbol.iterator]() as Iterator<FieldOp, unknown>;
    for (;;) {
      const step = iterator.next();
      if (step.done) return typeof step.value === 'number' ? step.value : 0;
      this.object(step.value);
      this.after(step.value.line);
    }
  }

  /** The stats, `lines` being the number of lines the log had when it says (else the highest line seen). */
  result(lines: number): ImportStats {
    const live = this.live;
    return {
      lines: Math.max(lines, this.lines),
      allocs: this.allocs, frees: this.frees, reallocs: this.reallocs, failed: this.failed,
      faults: Object.fromEntries([...this.faults].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
      problems: this.problems,
      problem_lines: this.problemLines,
      peak_live_bytes: this.peakBytes,
      peak_live_bytes_line: this.peakBytesLine,
      peak_live_blocks: this.peakBlocks,
      peak_live_blocks_line: this.peakBlocksLine,
      largest_request: this.largest,
      largest_request_line: this.largestLine,
      live_at_end: { blocks: live.count, bytes: this.liveBytes, largest: live.largest(LARGEST_LIVE) },
      top_callers: { by_allocations: this.callers.top((c) => c.allocations), by_peak_live_bytes: this.callers.top((c) => c.peak_live_bytes) },
    };
  }

  /** An allocation (`allocation`) or a realloc of block `key`: a realloc replaces its block's old size. */
  private hold(key: BlockKey, size: number, line: number, caller: number, allocation: boolean): void {
    if (allocation) this.allocs++;
    else this.reallocs++;
    const old = this.live.set(key, size, line, caller);
    if (old !== undefined) {
      this.liveBytes -= old;
      this.callers.release(this.live.oldCaller, old);
    }
    this.liveBytes += size;
    this.callers.hold(caller, size, allocation);
    this.request(size, line);
  }

  private free(key: BlockKey): void {
    this.frees++;
    const old = this.live.remove(key);
    if (old !== undefined) {
      this.liveBytes -= old;
      this.callers.release(this.live.oldCaller, old);
    }
  }

  private refused(size: number, line: number): void {
    this.failed++;
    this.request(size, line);
  }

  private request(size: number, line: number): void {
    if (size > this.largest) {
      this.largest = size;
      this.largestLine = line;
    }
  }

  /** An op as an object: its block, if it has one, keyed by id. */
  private object(op: FieldOp): void {
    switch (op.kind) {
      case 'alloc':
      case 'realloc':
        this.hold(op.id, op.size, op.line, op.caller === undefined ? -1 : this.callers.of(op.caller), op.kind === 'alloc');
        break;
      case 'free':
        this.free(op.id);
        break;
      case 'failed':
        this.refused(op.size, op.line);
        break;
      case 'fault':
        this.faults.set(op.fault, (this.faults.get(op.fault) ?? 0) + 1);
        break;
      case 'problem':
        this.problems[op.what]++;
        this.problemLines[op.what] ??= op.line;
        break;
    }
  }

  /** After every op: the highest line, and the peaks. */
  private after(line: number): void {
    if (line > this.lines) this.lines = line;
    if (this.liveBytes > this.peakBytes) {
      this.peakBytes = this.liveBytes;
      this.peakBytesLine = line;
    }
    if (this.live.count > this.peakBlocks) {
      this.peakBlocks = this.live.count;
      this.peakBlocksLine = line;
    }
  }
}

/** Per caller: allocations made, bytes held now and at most. Callers are numbered as first seen. */
class CallerTotals {
  private readonly index = new Map<string, number>();
  private readonly totals: (CallerTotal & { live: number })[] = [];

  /** Each stream caller number's index here (see ofStream). */
  private readonly streamIndex: number[] = [];

  of(caller: string): number {
    let i = this.index.get(caller);
    if (i === undefined) {
      i = this.totals.length;
      this.index.set(caller, i);
      this.totals.push({ caller, allocations: 0, peak_live_bytes: 0, live: 0 });
    }
    return i;
  }

  /** The index of caller number `n` of a stream whose callers are `names` (-1: none), found by name once. */
  ofStream(names: readonly string[], n: number): number {
    if (n < 0) return -1;
    return (this.streamIndex[n] ??= this.of(names[n]));
  }

  hold(i: number, bytes: number, allocation: boolean): void {
    if (i < 0) return;
    const t = this.totals[i];
    if (allocation) t.allocations++;
    t.live += bytes;
    if (t.live > t.peak_live_bytes) t.peak_live_bytes = t.live;
  }

  release(i: number, bytes: number): void {
    if (i >= 0) this.totals[i].live -= bytes;
  }

  /** The TOP_CALLERS callers with the most `by`; ties by caller name, so the order is the log's, not the map's. */
  top(by: (t: CallerTotal) => number): CallerTotal[] {
    return [...this.totals]
      .sort((a, b) => by(b) - by(a) || (a.caller < b.caller ? -1 : a.caller > b.caller ? 1 : 0))
      .slice(0, TOP_CALLERS)
      .map(({ caller, allocations, peak_live_bytes }) => ({ caller, allocations, peak_live_bytes }));
  }
}

/** A block as a stream's columns name it (its number: see blockId), or as an op object does (its id). */
type BlockKey = number | string;

/**
 * The blocks live at a point of the stream, by key. Sizes and lines sit in typed arrays at a slot
 * each (freed slots are reused), so that a block costs the garbage collector no object.
 */
class LiveBlocks {
  /** Block -> its slot: numbered blocks in `numbered`, others in `named`. */
  private readonly numbered = new IntMap();
  private readonly named = new Map<string, number>();
  private sizes = new Float64Array(256);
  private lines = new Float64Array(256);
  /** Each block's caller number (-1: none). */
  private callers = new Int32Array(256);
  private readonly unused: number[] = [];
  /** The caller of the block the last set() resized or remove() freed. */
  oldCaller = -1;

  get count(): number {
    return this.numbered.size + this.named.size;
  }

  /** Allocates or resizes a block; returns its old size, undefined if it was not live. */
  set(key: BlockKey, size: number, line: number, caller: number): number | undefined {
    let slot = typeof key === 'number' ? this.numbered.get(key) : this.named.get(key);
    const old = slot === undefined ? undefined : this.sizes[slot];
    if (slot !== undefined) this.oldCaller = this.callers[slot];
    if (slot === undefined) {
      slot = this.unused.pop() ?? this.count;
      if (slot === this.sizes.length) this.grow();
      if (typeof key === 'number') this.numbered.set(key, slot);
      else this.named.set(key, slot);
    }
    this.sizes[slot] = size;
    this.lines[slot] = line;
    this.callers[slot] = caller;
    return old;
  }

  /** Frees a block; returns its size, undefined if it was not live. */
  remove(key: BlockKey): number | undefined {
    const slot = typeof key === 'number' ? this.numbered.get(key) : this.named.get(key);
    if (slot === undefined) return undefined;
    if (typeof key === 'number') this.numbered.delete(key);
    else this.named.delete(key);
    this.unused.push(slot);
    this.oldCaller = this.callers[slot];
    return this.sizes[slot];
  }

  /** The `count` largest live blocks, in the order of `before`. */
  largest(count: number): LiveBlock[] {
    const top: LiveBlock[] = [];
    const consider = (block: LiveBlock) => {
      if (top.length < count || before(block, top[top.length - 1])) {
        top.push(block);
        top.sort((a, b) => (before(a, b) ? -1 : 1));
        if (top.length > count) top.pop();
      }
    };
    this.numbered.forEach((slot, n) => consider(this.block(blockId(n), slot)));
    for (const [id, slot] of this.named) consider(this.block(id, slot));
    return top;
  }

  private block(id: string, slot: number): LiveBlock {
    return { id, size: this.sizes[slot], line: this.lines[slot] };
  }

  private grow(): void {
    const sizes = new Float64Array(2 * this.sizes.length);
    const lines = new Float64Array(2 * this.lines.length);
    const callers = new Int32Array(2 * this.callers.length);
    sizes.set(this.sizes);
    lines.set(this.lines);
    callers.set(this.callers);
    this.sizes = sizes;
    this.lines = lines;
    this.callers = callers;
  }
}

/** Larger first; equal sizes by line, then id: an order that does not depend on map internals. */
function before(a: LiveBlock, b: LiveBlock): boolean {
  if (a.size !== b.size) return a.size > b.size;
  if (a.line !== b.line) return a.line < b.line;
  return a.id < b.id;
}

/** The stats for a terminal: aligned columns, thousands separators, where to look in the log. */
export function formatStats(s: ImportStats, unit: 'line' | 'record' = 'line'): string {
  const at = (line: number) => (line > 0 ? `at ${unit} ${group(line)}` : '');
  const rows: string[][] = [
    [`${unit}s`, group(s.lines), ''],
    ['allocations', group(s.allocs), ''],
    ['frees', group(s.frees), ''],
    ['reallocations', group(s.reallocs), ''],
    ['refused requests', group(s.failed), ''],
    ['peak live bytes', group(s.peak_live_bytes), at(s.peak_live_bytes_line)],
    ['peak live blocks', group(s.peak_live_blocks), at(s.peak_live_blocks_line)],
    ['largest request', group(s.largest_request), at(s.largest_request_line)],
    ['live at end, bytes', group(s.live_at_end.bytes), ''],
    ['live at end, blocks', group(s.live_at_end.blocks), ''],
  ];
  for (const kind of PROBLEM_KINDS) {
    if (s.problems[kind] > 0) rows.push([`problem: ${kind}`, group(s.problems[kind]), `first ${at(s.problem_lines[kind] ?? 0)}`]);
  }
  for (const [kind, n] of Object.entries(s.faults)) rows.push([`device fault: ${kind}`, group(n), '']);
  const out = [columns(rows, '')];
  const largest = s.live_at_end.largest;
  if (largest.length > 0) {
    const more = s.live_at_end.blocks > largest.length ? ` (the ${largest.length} largest of ${group(s.live_at_end.blocks)})` : '';
    out.push('', `still live at the end${more}:`);
    out.push(columns([['id', 'bytes', 'allocated'], ...largest.map((b) => [b.id, group(b.size), at(b.line)])], '  '));
  } else {
    out.push('', 'nothing is live at the end');
  }
  const { by_allocations: byCount, by_peak_live_bytes: byBytes } = s.top_callers;
  if (byCount.length > 0) {
    out.push('', 'top callers by allocations:', callerTable(byCount), '', 'top callers by peak live bytes:', callerTable(byBytes));
  }
  return out.join('\n') + '\n';
}

/** Callers left-aligned, their two numbers right-aligned. */
function callerTable(list: CallerTotal[]): string {
  const rows = [['caller', 'allocations', 'peak live bytes'], ...list.map((c) => [c.caller, group(c.allocations), group(c.peak_live_bytes)])];
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => `  ${r[0].padEnd(widths[0])}  ${r[1].padStart(widths[1])}  ${r[2].padStart(widths[2])}`).join('\n');
}

/** Rows of [label, number, note]: labels left-aligned, numbers right-aligned. */
function columns(rows: string[][], indent: string): string {
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  return rows.map((r) => `${indent}${r[0].padEnd(w0)}  ${r[1].padStart(w1)}  ${r[2]}`.trimEnd()).join('\n');
}
