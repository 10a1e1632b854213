/**
 * The common shape of imported field logs: every reader (mtrace, android, csapp, native) yields a
 * stream of `FieldOp`s, one per log operation, in log order, each with the 1-based log line it came
 * from (for the native format: the 1-based record index, the header being record 1). The stream is
 * an OpStream, which keeps the ops in columns until one is asked for (see stream.ts).
 *
 * Invariants every reader keeps, so that a replay never sees an impossible operation:
 * - an `alloc` names an id that is not live (ids are never reused: see PointerIds and NamedIds);
 * - a `free` or `realloc` names a live id, and a `failed` with an id names a live id;
 * - everything wrong in the log itself (a free of an unknown pointer, a double free, a cut-off log,
 *   a line that does not parse) is a `problem` op, never an exception. Only a file that is not the
 *   format at all throws (see FormatGate). A problem that is the program's (or the host heap's) bug
 *   carries the bad call, so that a replay reports it as the fault it is (see ProblemCall).
 */
import { InputError } from '../input/errors.js';
import { Scanner } from './bytes.js';
import { IntMap } from './intmap.js';
import { pointerHex, type PointerKey } from './pointers.js';
import { blockId, NO_BLOCK, OpBuffer } from './stream.js';

export type ProblemKind = 'unknown-free' | 'double-free' | 'unknown-realloc' | 'duplicate-alloc' | 'truncated' | 'malformed';

export const PROBLEM_KINDS: readonly ProblemKind[] = ['unknown-free', 'double-free', 'unknown-realloc', 'duplicate-alloc', 'truncated', 'malformed'];

export type FieldOp =
  /**
   * A block was allocated. `align` is the alignment the log states (memalign), 0 when it states none.
   * `caller`, on the program's calls where the log says who made them: mtrace's caller
   * (`./prog:[0x11f1]`, `[0x7f...]`), Android's thread (`tid 4200`).
   */
  | { kind: 'alloc'; id: string; size: number; align: number; time: number | null; line: number; caller?: string }
  | { kind: 'free'; id: string; time: number | null; line: number; caller?: string }
  /** A live block was resized; it keeps its id wherever the host moved it. */
  | { kind: 'realloc'; id: string; size: number; time: number | null; line: number; caller?: string }
  /**
   * A request the host refused (malloc returned NULL, a failed realloc). `id` is the live block a
   * failed realloc tried to resize (it stays live), null for a failed allocation.
   */
  | { kind: 'failed'; id: string | null; size: number; align: number; time: number | null; line: number; caller?: string }
  /** A fault the device itself recorded (native logs only): its kind, the faulting address, its time. */
  | { kind: 'fault'; fault: string; addr: number | null; time: number | null; line: number }
  /** Something wrong in the log; the stream goes on. */
  | { kind: 'problem'; what: ProblemKind; detail: string; line: number; call?: ProblemCall };

/**
 * The bad call behind a problem, for a replay to make: a `free` or `realloc` of `id`, a block the
 * log freed before (a double free, a use after free) or `0x<pointer>` for a pointer it never returned;
 * or an `overlap`, the host handing out memory that the live block `id` still holds (its heap was
 * already corrupt). The stream's own ops go on as the log does (the invariants above hold).
 */
export interface ProblemCall {
  kind: 'free' | 'realloc' | 'overlap';
  id: string;
  caller?: string;
}

export type Emitted = FieldOp | FieldOp[];

/** How many freed pointers PointerIds remembers to tell a double free from a free of garbage. */
export const FREED_MEMORY = 1 << 16;

function problem(what: ProblemKind, detail: string, line: number, call?: ProblemCall): FieldOp {
  return call ? { kind: 'problem', what, detail, line, call } : { kind: 'problem', what, detail, line };
}

/**
 * Host pointers to blocks, for logs that name blocks by address (mtrace, android, native). The ops
 * go to `out`: in its columns, blocks by number (block n is `p<n>`, see blockId); problems as objects.
 *
 * - Every allocation gets a fresh block number n, counting allocations from 1 in log order, so ids
 *   are deterministic and never reused even when the host allocator hands the same address out again.
 * - realloc keeps the block and moves it to the new pointer; the old pointer counts as freed there.
 * - A free of a pointer that is not live is a `double-free` problem when the pointer was freed
 *   before (remembered for the last FREED_MEMORY frees, with the block it held), otherwise an
 *   `unknown-free` problem; each carries the call (a free of the freed id, or of `0x<pointer>`).
 * - A realloc of a pointer that is not live is an `unknown-realloc` problem carrying the call,
 *   followed by an `alloc` of the new block (the host did hand it out).
 * - An allocation at a pointer that is still live is memory handed out twice: the host heap was
 *   corrupt (a double free earlier let it give the same chunk again). A `duplicate-alloc` problem
 *   carrying the overlap, then a `free` of the old block (the stream's ids follow the pointer from
 *   here on), then the `alloc`.
 * Pointers are PointerKeys (numbers; hex strings beyond 2^53), so 64-bit addresses stay exact.
 * Memory: one entry per live block, plus freed pointers, which are swept (oldest first) once there
 * are more than FREED_MEMORY + max(FREED_MEMORY, live blocks).
 */
export class PointerIds {
  /**
   * Pointer -> its entry: the number of its live block (n >= 1), or once freed -1 - the sequence
   * number of its last free (<= -1). Number keys in `entries`, wider pointers (hex strings) in `wide`.
   */
  private readonly entries = new IntMap();
  private readonly wide = new Map<string, number>();
  /** The lines of the last `freedMemory` frees and the blocks they freed, rings indexed by free sequence number. */
  private readonly recentLines: Float64Array;
  private readonly recentBlocks: Float64Array;
  private frees = 0;
  private live = 0;
  private freed = 0;
  private next = 1;
  /**
   * Who makes the calls of the line being read, when the log says (set by the reader): its number
   * in out.callerNames, -1 for none. On every op and problem call made.
   */
  caller = -1;

  constructor(
    private readonly freedMemory = FREED_MEMORY,
    readonly out = new OpBuffer(),
  ) {
    this.recentLines = new Float64Array(freedMemory);
    this.recentBlocks = new Float64Array(freedMemory);
  }

  /** Blocks live now. */
  get liveCount(): number {
    return this.live;
  }

  /** An allocation that returned `ptr`; the null pointer (0): the host refused it. */
  recordAlloc(ptr: PointerKey, size: number, align: number, line: number, time: number | null): void {
    const out = this.out;
    if (ptr === 0) {
      out.failed(NO_BLOCK, size, align, time, line, this.caller);
      return;
    }
    const n = this.next++;
    // The message is made only for a block handed out twice: building it for every allocation cost more than the rest.
    const previous = this.takePointer(ptr, n);
    if (previous !== NO_BLOCK) this.handedOutTwice(previous, `the host handed out 0x${pointerHex(ptr)} (${blockId(n)}, ${size} bytes)`, line, time);
    out.alloc(n, size, align, time, line, this.caller);
  }

  /**
   * Block n now holds `ptr`. Returns the block the log still shows live there (NO_BLOCK when none):
   * the caller reports it as handed out twice (handedOutTwice) before its own op.
   */
  private takePointer(ptr: PointerKey, n: number): number {
    const previous = this.entry(ptr);
    this.setEntry(ptr, n);
    if (isLive(previous)) return previous;
    this.live++;
    if (previous !== undefined) this.freed--;
    return NO_BLOCK;
  }

  /**
   * The live block `previous` was handed out again (`handedOut` says how): an overlap problem naming
   * it, then its free, so the stream's ids follow the pointer.
   */
  private handedOutTwice(previous: number, handedOut: string, line: number, time: number | null): void {
    this.out.push(problem('duplicate-alloc', `${handedOut} while ${blockId(previous)} still holds it`, line, this.call('overlap', blockId(previous))));
    this.out.free(previous, time, line, -1);
  }

  recordFree(ptr: PointerKey, line: number, time: number | null): void {
    const n = this.entry(ptr);
    if (!isLive(n)) {
      this.out.push(this.missing('free', ptr, n, line));
      return;
    }
    this.release(ptr, n, line);
    this.out.free(n, time, line, this.caller);
  }

  /** realloc(old) returned `ptr` with `size` bytes. */
  recordRealloc(old: PointerKey, ptr: PointerKey, size: number, line: number, time: number | null): void {
    const out = this.out;
    const n = this.entry(old);
    if (!isLive(n)) {
      out.push(this.missing('realloc', old, n, line));
      this.recordAlloc(ptr, size, 0, line, time);
      return;
    }
    if (ptr !== old) {
      this.release(old, n, line);
      const previous = this.takePointer(ptr, n);
      if (previous !== NO_BLOCK) this.handedOutTwice(previous, `the host's realloc moved ${blockId(n)} to 0x${pointerHex(ptr)} (${size} bytes)`, line, time);
    }
    out.realloc(n, size, time, line, this.caller);
  }

  /** A realloc of `old` that failed: the block stays where it was (realloc(NULL) is a refused allocation). */
  recordFailedRealloc(old: PointerKey, size: number, line: number, time: number | null): void {
    const out = this.out;
    const n = old === 0 ? undefined : this.entry(old);
    if (isLive(n)) {
      out.failed(n, size, 0, time, line, this.caller);
      return;
    }
    if (old !== 0) out.push(this.missing('realloc', old, n, line));
    out.failed(NO_BLOCK, size, 0, time, line, this.caller);
  }

  /** recordAlloc's ops as objects, taken from `out` (for a PointerIds with a buffer of its own). */
  alloc(ptr: PointerKey, size: number, align: number, line: number, time: number | null): Emitted {
    this.recordAlloc(ptr, size, align, line, time);
    const ops = this.takeOps();
    return ops.length === 1 ? ops[0] : ops;
  }

  /** recordFree's op as an object (see alloc). */
  free(ptr: PointerKey, line: number, time: number | null): FieldOp {
    this.recordFree(ptr, line, time);
    return this.takeOps()[0];
  }

  private takeOps(): FieldOp[] {
    const ops = Array.from({ length: this.out.length }, (_, i) => this.out.at(i));
    this.out.clear();
    return ops;
  }

  /** The bad call behind a problem, by the line's caller. */
  private call(kind: ProblemCall['kind'], id: string): ProblemCall {
    const call: ProblemCall = { kind, id };
    if (this.caller >= 0) call.caller = this.out.callerNames[this.caller];
    return call;
  }

  /** A free or realloc of a pointer that is not live: its entry holds its last free, or it has none (never returned). */
  private missing(what: 'free' | 'realloc', key: PointerKey, entry: number | undefined, line: number): FieldOp {
    const ptr = `0x${pointerHex(key)}`;
    const seq = entry === undefined ? undefined : -1 - entry;
    // The free is still remembered when fewer than freedMemory frees came after it.
    const remembered = seq !== undefined && this.frees - seq <= this.freedMemory;
    const freedAt = remembered ? ` line ${this.recentLines[seq % this.freedMemory]}` : '';
    const call = this.call(what, remembered ? blockId(this.recentBlocks[seq % this.freedMemory]) : ptr);
    if (what === 'free') {
      return seq === undefined
        ? problem('unknown-free', `free of ${ptr}, which was never allocated in this log`, line, call)
        : problem('double-free', `free of ${ptr} (${call.id}), already freed at${freedAt || ' an earlier line'}`, line, call);
    }
    return problem('unknown-realloc', seq === undefined ? `realloc of ${ptr}, which was never allocated in this log` : `realloc of ${ptr} (${call.id}), already freed at${freedAt || ' an earlier line'}`, line, call);
  }

  /** Block n at a live pointer is freed at `line`: remembered as freed, for a while. */
  private release(ptr: PointerKey, n: number, line: number): void {
    const ring = this.frees % this.freedMemory;
    this.setEntry(ptr, -1 - this.frees);
    this.recentLines[ring] = line;
    this.recentBlocks[ring] = n;
    this.live--;
    this.freed++;
    this.frees++;
    if (this.freed >= this.freedMemory + Math.max(this.freedMemory, this.live)) this.sweep();
  }

  /** Forgets freed pointers older than the last `freedMemory` frees. */
  private sweep(): void {
    const cutoff = this.frees - this.freedMemory;
    const stale = (entry: number) => !isLive(entry) && -1 - entry < cutoff;
    const old: number[] = [];
    this.entries.forEach((entry, ptr) => {
      if (stale(entry)) old.push(ptr);
    });
    for (const ptr of old) this.entries.delete(ptr);
    this.freed -= old.length;
    for (const [ptr, entry] of this.wide) {
      if (stale(entry)) {
        this.wide.delete(ptr);
        this.freed--;
      }
    }
  }

  /** The entry of `ptr` (see entries), undefined if it has none. */
  private entry(ptr: PointerKey): number | undefined {
    return typeof ptr === 'number' ? this.entries.get(ptr) : this.wide.get(ptr);
  }

  private setEntry(ptr: PointerKey, entry: number): void {
    if (typeof ptr === 'number') this.entries.set(ptr, entry);
    else this.wide.set(ptr, entry);
  }
}

/** Whether a PointerIds entry is a live block's number (not a free, not absent). */
function isLive(entry: number | undefined): entry is number {
  return entry !== undefined && entry > 0;
}

/**
 * Program-level names to block ids, for logs whose ids are the program's own slots (CS:APP .rep:
 * `a 3 100` is "slot 3 = malloc(100)"). The first block of a name keeps the name as its id (`3`);
 * each later allocation of the same name gets `<name>#<k>`, k = 2, 3, ... (its k-th allocation), so
 * ids stay unique across the whole stream and an engine never sees an id allocated while live.
 * Allocating a name that is still live overwrites the slot: the old block is leaked, as it would be
 * in the program; that is a `duplicate-alloc` problem and the old id stays live (no free).
 * Frees and reallocs of names that are not live are problems as in PointerIds (a name's state is
 * kept for every name, so memory grows with the number of distinct names, not with the log).
 */
export class NamedIds {
  private readonly live = new Map<string, string>();
  private readonly count = new Map<string, number>();
  /** Each freed name's last free: its line and the id it freed. */
  private readonly freedAt = new Map<string, { line: number; id: string }>();

  get liveCount(): number {
    return this.live.size;
  }

  alloc(name: string, size: number, align: number, line: number, time: number | null): Emitted {
    const k = (this.count.get(name) ?? 0) + 1;
    this.count.set(name, k);
    const id = k === 1 ? name : `${name}#${k}`;
    const op: FieldOp = { kind: 'alloc', id, size, align, time, line };
    const previous = this.live.get(name);
    this.live.set(name, id);
    this.freedAt.delete(name);
    if (previous === undefined) return op;
    return [problem('duplicate-alloc', `id ${name} is allocated again while its block ${previous} is live: that block is leaked`, line), op];
  }

  free(name: string, line: number, time: number | null): FieldOp {
    const id = this.live.get(name);
    if (id === undefined) {
      const freed = this.freedAt.get(name);
      return freed === undefined
        ? problem('unknown-free', `free of id ${name}, which was never allocated`, line, { kind: 'free', id: name })
        : problem('double-free', `free of id ${name} (${freed.id}), already freed at line ${freed.line}`, line, { kind: 'free', id: freed.id });
    }
    this.live.delete(name);
    this.freedAt.set(name, { line, id });
    return { kind: 'free', id, time, line };
  }

  realloc(name: string, size: number, line: number, time: number | null): Emitted {
    const id = this.live.get(name);
    if (id !== undefined) return { kind: 'realloc', id, size, time, line };
    const freed = this.freedAt.get(name);
    const call: ProblemCall = { kind: 'realloc', id: freed?.id ?? name };
    const miss = problem('unknown-realloc', freed === undefined ? `realloc of id ${name}, which was never allocated` : `realloc of id ${name} (${freed.id}), already freed at line ${freed.line}`, line, call);
    const alloc = this.alloc(name, size, 0, line, time);
    return Array.isArray(alloc) ? [miss, ...alloc] : [miss, alloc];
  }
}

/**
 * Checks a stream against the invariants at the top of this file: returns one message per op that
 * breaks them (an alloc of an id seen before, a free, realloc or failed realloc of an id not live,
 * lines going backwards). Readers never produce any; tests and a replay's debug mode use it.
 */
export function streamViolations(ops: Iterable<FieldOp>): string[] {
  const live = new Set<string>();
  const seen = new Set<string>();
  const out: string[] = [];
  let line = 0;
  for (const op of ops) {
    if (op.line < line) out.push(`line ${op.line}: comes after line ${line}`);
    line = Math.max(line, op.line);
    if (op.kind === 'alloc') {
      if (seen.has(op.id)) out.push(`line ${op.line}: alloc of ${op.id}, an id used before`);
      seen.add(op.id);
      live.add(op.id);
    } else if (op.kind === 'free') {
      if (!live.delete(op.id)) out.push(`line ${op.line}: free of ${op.id}, which is not live`);
    } else if ((op.kind === 'realloc' || (op.kind === 'failed' && op.id !== null)) && !live.has(op.id!)) {
      out.push(`line ${op.line}: ${op.kind} of ${op.id}, which is not live`);
    }
  }
  return out;
}

/** How many non-blank lines FormatGate looks at before deciding a file is not the format. */
export const SNIFF_LINES = 20;

/**
 * The rule that tells a damaged log from a file that is not the format at all:
 * a file is taken as the format once one of its first SNIFF_LINES non-blank lines parses as a line
 * of it. Until then, malformed lines are held back (nothing is yielded); if SNIFF_LINES non-blank
 * lines go by, or the file ends, without one good line, the reader throws an InputError at the
 * first non-blank line (`file:line:1: not a ... log: ...`), which the CLI reports with exit 2.
 * After that, every malformed line is a `malformed` problem and the stream goes on.
 */
export class FormatGate {
  private open = false;
  private held: FieldOp[] = [];
  private first = 0;
  private firstText = '';

  constructor(
    private readonly what: string,
    private readonly source: string,
    private readonly example: string,
  ) {}

  /** A malformed line: its problem goes to `out`, or is held back while the gate is closed. */
  malformed(line: number, text: string, detail: string, out: OpBuffer): void {
    const op = problem('malformed', `${detail}: ${quote(text)}`, line);
    if (this.open) {
      out.push(op);
      return;
    }
    if (this.held.length === 0) {
      this.first = line;
      this.firstText = text;
    }
    this.held.push(op);
    if (this.held.length >= SNIFF_LINES) this.reject(`none of its first ${SNIFF_LINES} lines is one`);
  }

  /** A good line: opens the gate if it is closed, the held problems going to `out` first. */
  admit(out: OpBuffer): void {
    if (this.open) return;
    this.open = true;
    out.emit(this.held);
    this.held = [];
  }

  /** End of input: throws if no line of the format was ever seen. */
  end(lines: number): void {
    if (this.open) return;
    if (this.held.length === 0) throw new InputError({ file: this.source, line: Math.max(1, lines), col: 1 }, `not ${this.what}: the file has no lines (expected lines like ${quote(this.example)})`);
    this.reject(`none of its ${this.held.length} line(s) is one`);
  }

  private reject(why: string): never {
    throw new InputError(
      { file: this.source, line: this.first, col: 1 },
      `not ${this.what}: ${why} (line ${this.first} reads ${quote(this.firstText)}; expected lines like ${quote(this.example)}); check --format`,
    );
  }
}

/** A log line for a message: JSON-quoted, cut at 80 characters. */
export function quote(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 77)}...` : text);
}

// The scanners for a token held as a string (the readers scan bytes; tests check tokens this way).

function scanToken(token: string): Scanner {
  const bytes = Buffer.from(token);
  return new Scanner().reset(bytes, 0, bytes.length);
}

/** The pointer in a token as hex digits, as messages show it ('' for a null pointer); undefined for no pointer. */
export function pointerKey(token: string): string | undefined {
  const scan = scanToken(token);
  const key = scan.pointer();
  return key === undefined || !scan.atEnd() ? undefined : pointerHex(key);
}

/** `0x1f` or `0` (glibc's `%#lx`) to a number; -1 if it is neither. */
export function hexSize(token: string): number {
  const scan = scanToken(token);
  const size = scan.hexSize();
  return scan.atEnd() ? size : -1;
}
