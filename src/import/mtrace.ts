/**
 * glibc mtrace logs (MALLOC_TRACE; since glibc 2.34 with LD_PRELOAD=libc_malloc_debug.so and a call
 * to mtrace()). Line shapes, as glibc's malloc/mtrace-impl.c writes them:
 *
 *   = Start                              mtrace() opened the log
 *   @ CALLER + PTR SIZE                  malloc, calloc (SIZE = n*size), memalign, realloc(NULL, n)
 *   @ CALLER + (nil) SIZE                an allocation that failed
 *   @ CALLER - PTR                       free (free(NULL) is not logged), and realloc(PTR, 0)
 *   @ CALLER < OLD                       realloc that succeeded: the old block ...
 *   @ CALLER > NEW SIZE                  ... and the new one, on the next line
 *   @ CALLER ! OLD SIZE                  realloc that failed (OLD stays allocated)
 *   = End                                muntrace() or exit closed the log
 *
 * PTR is `%p` (0x..., `(nil)` for NULL), SIZE is `%#lx` (0x..., or `0`). The `@ CALLER ` prefix is
 * optional: `@ ./prog:[0x11b0] `, `@ ./prog:(main+0x17)[0x11b0] `, `@ [0x7f..] ` (no symbol
 * information) or absent when the caller is unknown; it always ends with `] `, and is skipped up to
 * the last `] ` of the line (a file name may contain spaces). mtrace records no alignment: `align`
 * is 0. A log without `= End` as its last line (a program that crashed or never called muntrace)
 * ends with a `truncated` problem; the blocks live then are the crashed program's heap. glibc buffers
 * the log 512 bytes at a time, so a crashed program's last records may be missing, and its last line
 * cut mid-write: when `lines` says its last line had no newline (LineSource.unterminated), that line,
 * unless it is `= End`, is a `malformed` problem rather than a record with cut numbers.
 */
import { ascii, lastIndexOfPair, matches, Scanner } from './bytes.js';
import { lineSource, parseLines, SavedLine, type LineParser, type LineSource } from './lines.js';
import { FormatGate, FREED_MEMORY, PointerIds } from './ops.js';
import { pointerHex, type PointerKey } from './pointers.js';
import type { OpBuffer, OpStream } from './stream.js';

const EXAMPLE = '@ ./prog:[0x11b0] + 0x55ebe8cfb2a0 0x10';
const START = ascii('Start');
const END = ascii('End');
const END_LINE = ascii('= End');

const ALLOC = 43; // +
const FREE = 45; // -
const OLD = 60; // <
const NEW = 62; // >
const FAILED = 33; // !
const MARK = 61; // =

/** A record type's tokens after its type byte: PTR, then SIZE when `size`; what a malformed one needs. */
interface Shape {
  size: boolean;
  /** Whether PTR may be the null pointer. */
  nil: boolean;
  needs: string;
}

/** The shapes of the records with a pointer, by type byte. */
const SHAPES: (Shape | undefined)[] = [];
SHAPES[ALLOC] = { size: true, nil: true, needs: 'an allocation record needs "+ PTR SIZE"' };
SHAPES[FREE] = { size: false, nil: true, needs: 'a free record needs "- PTR"' };
SHAPES[OLD] = { size: false, nil: false, needs: 'a realloc record needs "< OLD"' };
SHAPES[NEW] = { size: true, nil: false, needs: 'a realloc record needs "> NEW SIZE"' };
SHAPES[FAILED] = { size: true, nil: true, needs: 'a failed realloc record needs "! OLD SIZE"' };

/** One line's record, as parseRecord reads it. */
class MtraceRecord {
  type = 0;
  ptr: PointerKey = 0;
  /** SIZE, -1 for a record without one. */
  size = -1;
  /** For `=`: whether it is `= End`. */
  isEnd = false;
  /** The caller's bytes after `@ `, up to its `]`; callerEnd 0 without one. */
  callerStart = 0;
  callerEnd = 0;
}

/**
 * Reads the record on bytes[start, end) into `record`; returns '' when it is one, else why not. The
 * tokens after the type byte are one space apart (a token ends at the next space).
 */
function parseRecord(bytes: Buffer, start: number, end: number, scan: Scanner, record: MtraceRecord): string {
  // o: where the record starts, after an optional "@ CALLER " prefix.
  let o = start;
  record.callerEnd = 0;
  if (bytes[start] === 64 /* @ */) {
    const k = lastIndexOfPair(bytes, 93 /* ] */, 32, start, end);
    if (k < 0 || bytes[start + 1] !== 32) return 'a caller prefix "@ ..." without "] "';
    o = k + 2;
    record.callerStart = start + 2;
    record.callerEnd = k + 1;
  }
  // A type byte, one space, and a token.
  if (o + 2 >= end || bytes[o + 1] !== 32 || bytes[o + 2] === 32) return 'not an mtrace record';
  const type = bytes[o];
  record.type = type;
  if (type === MARK) {
    record.isEnd = matches(bytes, o + 2, end, END);
    return record.isEnd || matches(bytes, o + 2, end, START) ? '' : 'expected "= Start" or "= End"';
  }
  const shape = SHAPES[type];
  if (shape === undefined) return 'not an mtrace record';
  scan.reset(bytes, o + 2, end);
  const ptr = scan.pointer();
  if (ptr === undefined || (ptr === 0 && !shape.nil)) return shape.needs;
  let size = -1;
  if (shape.size) {
    size = scan.space() ? scan.hexSize() : -1;
    if (size < 0) return shape.needs;
  }
  if (!scan.atEnd()) return shape.needs;
  record.ptr = ptr;
  record.size = size;
  return '';
}

/** CallerNames' cache of recent callers has 2^RECENT_BITS slots. */
const RECENT_BITS = 8;

/**
 * Caller names decoded once each: a log has few distinct callers (its call sites) and millions of
 * lines, so a line's caller is looked up by its bytes and decoded only when new (numbered then in the
 * buffer's callerNames). Two levels:
 * - recent: the caller last seen with the same length and last two address digits (what tells call
 *   sites apart), checked by comparing bytes, from the end where call sites differ;
 * - else the table of all callers, open addressing by the FNV-1a hash of every byte (hashing only the
 *   address would be cheaper, but a log of callers alike there would make every lookup a walk).
 * Bytes are compared four at a time (through DataViews), which halves the cost of a comparison.
 */
class CallerNames {
  /** The known callers' bytes, back to back: caller n is pool[starts[n], starts[n] + lengths[n]). */
  private pool: Buffer = Buffer.alloc(1 << 12);
  private poolView = viewOf(this.pool);
  private used = 0;
  private starts: Int32Array = new Int32Array(64);
  private lengths: Int32Array = new Int32Array(64);
  /** The line bytes last compared, and a view of them. */
  private lineBytes: Buffer = this.pool;
  private lineView = this.poolView;
  /** The caller last found at each cheap key (see recentSlot), -1: none. */
  private readonly recent = new Int32Array(1 << RECENT_BITS).fill(-1);
  /** The table: each slot's caller number (-1: empty) and that caller's hash. */
  private slots = new Int32Array(128).fill(-1);
  private hashes = new Int32Array(128);

  constructor(private readonly out: OpBuffer) {}

  /** The number of the caller bytes[start, end). */
  number(bytes: Buffer, start: number, end: number): number {
    const r = recentSlot(bytes, start, end);
    const guess = this.recent[r];
    if (guess >= 0 && this.holds(guess, bytes, start, end)) return guess;
    return (this.recent[r] = this.lookup(bytes, start, end));
  }

  private lookup(bytes: Buffer, start: number, end: number): number {
    const hash = callerHash(bytes, start, end);
    const { slots, hashes } = this;
    const mask = slots.length - 1;
    let s = hash & mask;
    for (let n = slots[s]; n >= 0; n = slots[(s = (s + 1) & mask)]) {
      if (hashes[s] === hash && this.holds(n, bytes, start, end)) return n;
    }
    return this.add(bytes, start, end, hash, s);
  }

  /**
   * Whether caller n is bytes[start, end), compared from the end: four bytes at a time, then the
   * ones before them. (A loop: Buffer.compare costs more on a few bytes.)
   */
  private holds(n: number, bytes: Buffer, start: number, end: number): boolean {
    const length = end - start;
    if (this.lengths[n] !== length) return false;
    if (bytes !== this.lineBytes) {
      this.lineBytes = bytes;
      this.lineView = viewOf(bytes);
    }
    const { pool, poolView, lineView } = this;
    const from = this.starts[n];
    let i = length - 4;
    for (; i >= 0; i -= 4) if (poolView.getInt32(from + i, true) !== lineView.getInt32(start + i, true)) return false;
    for (i += 3; i >= 0; i--) if (pool[from + i] !== bytes[start + i]) return false;
    return true;
  }

  /** A new caller, at empty slot `s`. */
  private add(bytes: Buffer, start: number, end: number, hash: number, s: number): number {
    const n = this.out.addCaller(bytes.toString('utf8', start, end));
    const length = end - start;
    if (this.used + length > this.pool.length) {
      const bigger = Buffer.alloc(2 * (this.used + length));
      this.pool.copy(bigger, 0, 0, this.used);
      this.pool = bigger;
      this.poolView = viewOf(bigger);
    }
    if (n === this.starts.length) {
      this.starts = grown(this.starts);
      this.lengths = grown(this.lengths);
    }
    bytes.copy(this.pool, this.used, start, end);
    this.starts[n] = this.used;
    this.lengths[n] = length;
    this.used += length;
    this.slots[s] = n;
    this.hashes[s] = hash;
    // At most half full, for short probe runs.
    if (n + 1 > this.slots.length >>> 1) this.rehash();
    return n;
  }

  private rehash(): void {
    const { slots, hashes } = this;
    this.slots = new Int32Array(2 * slots.length).fill(-1);
    this.hashes = new Int32Array(2 * slots.length);
    const mask = this.slots.length - 1;
    for (let k = 0; k < slots.length; k++) {
      if (slots[k] < 0) continue;
      let s = hashes[k] & mask;
      while (this.slots[s] >= 0) s = (s + 1) & mask;
      this.slots[s] = slots[k];
      this.hashes[s] = hashes[k];
    }
  }
}

/** A DataView of a Buffer's bytes. */
function viewOf(bytes: Buffer): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
}

/** A copy of `old` twice its length. */
function grown(old: Int32Array): Int32Array {
  const bigger = new Int32Array(2 * old.length);
  bigger.set(old);
  return bigger;
}

/**
 * The recent-callers slot of the caller bytes[start, end): its length and the two bytes before its
 * closing `]`, the last digits of its return address. (A caller is at least one byte, `]`, after
 * `@ `: the bytes read are the line's.)
 */
function recentSlot(bytes: Buffer, start: number, end: number): number {
  const key = (end - start) ^ (bytes[end - 3] << 16) ^ (bytes[end - 2] << 24);
  return Math.imul(key, 0x9e3779b1) >>> (32 - RECENT_BITS);
}

/** FNV-1a of bytes[start, end), its high bits folded into the low ones that pick a slot. */
function callerHash(bytes: Buffer, start: number, end: number): number {
  let hash = 0x811c9dc5;
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ bytes[i], 0x01000193);
  return hash ^ (hash >>> 16);
}

/** The log's ops; returns the number of lines read. */
export function readMtrace(lines: LineSource | Iterable<string>, source = 'mtrace log'): OpStream {
  return parseLines(lineSource(lines), (out) => new MtraceParser(source, out));
}

class MtraceParser implements LineParser {
  private readonly ids: PointerIds;
  private readonly gate: FormatGate;
  private readonly scan = new Scanner();
  private readonly record = new MtraceRecord();
  private readonly callers: CallerNames;
  /** The last non-blank line. */
  private last = 0;
  /** Whether that line was `= End`. */
  private ended = false;
  // The `<` line of a realloc, waiting for its `>`.
  private pendingOld: PointerKey | null = null;
  private pendingLine = 0;
  private readonly pendingText = new SavedLine();

  constructor(
    source: string,
    private readonly out: OpBuffer,
  ) {
    this.gate = new FormatGate('a glibc mtrace log', source, EXAMPLE);
    this.ids = new PointerIds(FREED_MEMORY, out);
    this.callers = new CallerNames(out);
  }

  line(lines: LineSource): void {
    const out = this.out;
    if (lines.end === lines.start) return;
    const n = lines.line;
    this.last = n;
    this.ended = false;
    // The file's last line, with no newline after it: glibc writes whole lines, so this one was
    // cut when the program died with part of its buffer flushed. Its numbers cannot be trusted.
    const detail =
      lines.unterminated && !matches(lines.bytes, lines.start, lines.end, END_LINE)
        ? 'the last line has no newline: cut mid-write'
        : parseRecord(lines.bytes, lines.start, lines.end, this.scan, this.record);
    if (detail !== '') {
      this.gate.malformed(n, lines.text(), detail, out);
      return;
    }
    this.gate.admit(out);
    const { type, ptr, size, callerStart, callerEnd } = this.record;
    const ids = this.ids;
    ids.caller = callerEnd > 0 ? this.callers.number(lines.bytes, callerStart, callerEnd) : -1;
    if (this.pendingOld !== null && type !== NEW) {
      out.push({ kind: 'problem', what: 'malformed', detail: `"< 0x${pointerHex(this.pendingOld)}" is not followed by its "> NEW SIZE" line; the block is left as it was`, line: this.pendingLine });
      this.pendingOld = null;
    }
    switch (type) {
      case ALLOC:
        ids.recordAlloc(ptr, size, 0, n, null);
        break;
      case FAILED:
        ids.recordFailedRealloc(ptr, size, n, null);
        break;
      case FREE:
        if (ptr !== 0) ids.recordFree(ptr, n, null);
        break;
      case OLD:
        this.pendingOld = ptr;
        this.pendingLine = n;
        // Kept as bytes: only a log that ends here shows it.
        this.pendingText.save(lines);
        break;
      case NEW:
        if (this.pendingOld === null) {
          out.push({ kind: 'problem', what: 'malformed', detail: '"> NEW SIZE" without the "< OLD" line before it; taken as an allocation', line: n });
          ids.recordAlloc(ptr, size, 0, n, null);
        } else {
          ids.recordRealloc(this.pendingOld, ptr, size, n, null);
          this.pendingOld = null;
        }
        break;
      default: // MARK
        this.ended = this.record.isEnd;
    }
  }

  end(lines: number): void {
    const out = this.out;
    this.gate.end(lines);
    if (this.pendingOld !== null) {
      out.push({ kind: 'problem', what: 'malformed', detail: `the log ends after ${JSON.stringify(this.pendingText.text())}, before its "> NEW SIZE" line`, line: this.pendingLine });
    }
    if (!this.ended) {
      out.push({
        kind: 'problem', what: 'truncated', line: this.last,
        detail: `the log ends without "= End": the program stopped before muntrace() or exit (a crash?); ${this.ids.liveCount} block(s) were live then`,
      });
    }
  }
}
