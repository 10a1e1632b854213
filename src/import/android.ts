/**
 * Android malloc_debug `record_allocs` logs (AOSP bionic libc/malloc_debug/README.md, RecordData.cpp).
 * One record a line, TID being the gettid() of the calling thread; pointers are `%p` (0x..., `0x0`
 * for NULL), numbers decimal:
 *
 *   TID: malloc PTR SIZE
 *   TID: free PTR
 *   TID: calloc PTR NMEMB SIZE          an allocation of NMEMB*SIZE bytes
 *   TID: realloc NEW OLD SIZE           realloc(NULL, n) is `realloc NEW 0x0 n` (an allocation);
 *                                       realloc(OLD, 0) is `realloc 0x0 OLD 0` (a free)
 *   TID: memalign PTR ALIGN SIZE        also aligned_alloc, posix_memalign, valloc (4096), pvalloc
 *   TID: thread_done 0x0                a thread ended (ignored)
 *
 * Newer Android versions append START_NS END_NS to every record (`186: malloc 0xb6038060 20 1000
 * 1250`) and an optional END_NS to thread_done; both forms are read, and START_NS becomes the op's
 * `time`. PTR 0x0 in malloc/calloc/memalign (and `realloc 0x0 0x0 n`) is a failed allocation; `free
 * 0x0` is ignored. The records of all threads are kept in log order (the order malloc_debug wrote
 * them, which it serialises), so a multi-threaded log replays as one interleaved stream.
 */
import { ascii, Scanner, Words } from './bytes.js';
import { lineSource, parseLines, type LineParser, type LineSource } from './lines.js';
import { FormatGate, PointerIds, type Emitted, type FieldOp, type OpBuffer } from './ops.js';

const EXAMPLE = '186: malloc 0xb6038060 20';

/** The record types, and how many arguments each has after TID, type and pointer (without timestamps). */
const TYPES = ['malloc', 'free', 'calloc', 'realloc', 'memalign', 'thread_done'] as const;
type RecordType = (typeof TYPES)[number];
const ARGS: Record<RecordType, number> = { malloc: 1, free: 0, calloc: 2, realloc: 2, memalign: 2, thread_done: 0 };
const TYPE_BYTES = TYPES.map(ascii);

/** The log's ops; returns the number of lines read. */
export function readAndroid(lines: LineSource | Iterable<string>, source = 'record_allocs log'): Generator<FieldOp, number> {
  return parseLines(lineSource(lines), new AndroidParser(source));
}

class AndroidParser implements LineParser {
  private readonly ids = new PointerIds();
  private readonly gate: FormatGate;
  private readonly words = new Words();

  constructor(source: string) {
    this.gate = new FormatGate('an Android malloc_debug record_allocs log', source, EXAMPLE);
  }

  line(lines: LineSource, out: OpBuffer): void {
    if (lines.end === lines.start) return;
    const words = this.words;
    // Fields are one space apart; a line spaced otherwise is split at any run of whitespace.
    if (!words.splitAtSpaces(lines.bytes, lines.start, lines.end)) words.splitAtWhitespace(lines.bytes, lines.start, lines.end);
    const r = parse(lines.bytes, words, lines.line, this.ids);
    if (typeof r === 'string') {
      this.gate.malformed(lines.line, lines.text(), r, out);
      return;
    }
    this.gate.admit(out);
    out.emit(r);
  }

  end(lines: number): void {
    this.gate.end(lines);
  }
}

/** Reads thread ids (reset for each one: nothing is kept between lines). */
const tidScanner = new Scanner();

/** `TID:` in bytes[from, to): a decimal thread id and a colon. */
function isThreadId(bytes: Buffer, from: number, to: number): boolean {
  if (bytes[to - 1] !== 58 /* : */) return false;
  const scan = tidScanner.reset(bytes, from, to - 1);
  return scan.decimal() >= 0 && scan.atEnd();
}

/** `tid N`, the caller of a thread's records; the last one is kept (records come in runs per thread). */
let lastTid = -1;
let lastTidName = '';
function threadName(tid: number): string {
  if (tid !== lastTid) [lastTid, lastTidName] = [tid, `tid ${tid}`];
  return lastTidName;
}

/** The record type word `t` names, or undefined. */
function recordType(t: Words, i: number): RecordType | undefined {
  for (let k = 0; k < TYPES.length; k++) if (t.is(i, TYPE_BYTES[k])) return TYPES[k];
  return undefined;
}

/** One record's ops, or why it is malformed. Words beyond the count are never read (it is checked first). */
function parse(bytes: Buffer, t: Words, n: number, ids: PointerIds): Emitted | string {
  if (t.count < 3 || !isThreadId(bytes, t.start(0), t.end(0))) return 'expected "TID: TYPE POINTER ..."';
  ids.caller = threadName(tidScanner.reset(bytes, t.start(0), t.end(0) - 1).decimal());
  const type = recordType(t, 1);
  if (type === undefined) return `unknown record type ${JSON.stringify(t.text(1))}`;
  const args = ARGS[type];
  const ptr = t.pointer(2);
  if (ptr === undefined) return `${JSON.stringify(t.text(2))} is not a pointer`;
  const extra = t.count - 3 - args;
  if (type === 'thread_done') {
    if (extra > 1 || (extra === 1 && t.decimal(3) < 0)) return 'expected "TID: thread_done 0x0 [END_NS]"';
    return [];
  }
  if (extra !== 0 && extra !== 2) return `a ${type} record has ${args} number(s) after the pointer, then optionally START_NS END_NS`;
  let time: number | null = null;
  if (extra === 2) {
    time = t.decimal(3 + args);
    if (time < 0 || t.decimal(4 + args) < 0) return 'the timestamps are not decimal integers';
  }
  switch (type) {
    case 'malloc': {
      const size = t.decimal(3);
      if (size < 0) return 'the size is not a decimal integer';
      return ids.alloc(ptr, size, 0, n, time);
    }
    case 'free':
      return ptr === 0 ? [] : ids.free(ptr, n, time);
    case 'calloc': {
      const count = t.decimal(3);
      const each = t.decimal(4);
      if (count < 0 || each < 0) return 'calloc needs NMEMB SIZE as decimal integers';
      const size = count * each;
      return ids.alloc(ptr, size, 0, n, time);
    }
    case 'memalign': {
      const align = t.decimal(3);
      const size = t.decimal(4);
      if (align < 0 || size < 0) return 'memalign needs ALIGN SIZE as decimal integers';
      return ids.alloc(ptr, size, align, n, time);
    }
    default: {
      // realloc NEW OLD SIZE
      const old = t.pointer(3);
      const size = t.decimal(4);
      if (old === undefined || size < 0) return 'realloc needs NEW OLD SIZE';
      if (old === 0) return ids.alloc(ptr, size, 0, n, time);
      if (ptr === 0) return size === 0 ? ids.free(old, n, time) : ids.failedRealloc(old, size, n, time);
      return ids.realloc(old, ptr, size, n, time);
    }
  }
}
