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
import { FormatGate, FREED_MEMORY, PointerIds } from './ops.js';
import type { PointerKey } from './pointers.js';
import type { OpBuffer, OpStream } from './stream.js';

const EXAMPLE = '186: malloc 0xb6038060 20';

/** The record types, and how many arguments each has after TID, type and pointer (without timestamps). */
const TYPES = ['malloc', 'free', 'calloc', 'realloc', 'memalign', 'thread_done'] as const;
type RecordType = (typeof TYPES)[number];
const ARGS: Record<RecordType, number> = { malloc: 1, free: 0, calloc: 2, realloc: 2, memalign: 2, thread_done: 0 };
const TYPE_BYTES = TYPES.map(ascii);

/** The log's ops; returns the number of lines read. */
export function readAndroid(lines: LineSource | Iterable<string>, source = 'record_allocs log'): OpStream {
  return parseLines(lineSource(lines), (out) => new AndroidParser(source, out));
}

class AndroidParser implements LineParser {
  private readonly ids: PointerIds;
  private readonly gate: FormatGate;
  private readonly words = new Words();
  private readonly threads: ThreadNames;
  private readonly record = new AndroidRecord();

  constructor(
    source: string,
    private readonly out: OpBuffer,
  ) {
    this.gate = new FormatGate('an Android malloc_debug record_allocs log', source, EXAMPLE);
    this.ids = new PointerIds(FREED_MEMORY, out);
    this.threads = new ThreadNames(out);
  }

  line(lines: LineSource): void {
    if (lines.end === lines.start) return;
    const words = this.words;
    const record = this.record;
    // Fields are one space apart; a line spaced otherwise is split at any run of whitespace.
    if (!words.splitAtSpaces(lines.bytes, lines.start, lines.end)) words.splitAtWhitespace(lines.bytes, lines.start, lines.end);
    const why = readRecord(lines.bytes, words, record);
    if (why !== '') {
      this.gate.malformed(lines.line, lines.text(), why, this.out);
      return;
    }
    this.gate.admit(this.out);
    const ids = this.ids;
    ids.caller = this.threads.number(record.tid);
    const { ptr, old, size, time } = record;
    const n = lines.line;
    switch (record.type) {
      case 'malloc':
      case 'calloc':
      case 'memalign':
        ids.recordAlloc(ptr, size, record.align, n, time);
        break;
      case 'free':
        if (ptr !== 0) ids.recordFree(ptr, n, time);
        break;
      case 'realloc':
        if (old === 0) ids.recordAlloc(ptr, size, 0, n, time);
        else if (ptr !== 0) ids.recordRealloc(old, ptr, size, n, time);
        else if (size === 0) ids.recordFree(old, n, time);
        else ids.recordFailedRealloc(old, size, n, time);
        break;
      default: // thread_done
    }
  }

  end(lines: number): void {
    this.gate.end(lines);
  }
}

/** `tid N`, the caller of a thread's records, numbered once per thread. */
class ThreadNames {
  private readonly numbers = new Map<number, number>();
  /** The last thread and its number: records come in runs per thread. */
  private lastTid = -1;
  private last = -1;

  constructor(private readonly out: OpBuffer) {}

  number(tid: number): number {
    if (tid === this.lastTid) return this.last;
    let n = this.numbers.get(tid);
    if (n === undefined) this.numbers.set(tid, (n = this.out.addCaller(`tid ${tid}`)));
    this.lastTid = tid;
    this.last = n;
    return n;
  }
}

/** One line's record, as readRecord reads it. */
class AndroidRecord {
  type: RecordType = 'thread_done';
  tid = 0;
  ptr: PointerKey = 0;
  /** realloc's OLD. */
  old: PointerKey = 0;
  /** The bytes asked for (calloc: NMEMB * SIZE). */
  size = 0;
  align = 0;
  time: number | null = null;
}

/** Reads thread ids (reset for each one: nothing is kept between lines). */
const tidScanner = new Scanner();

/** `TID:` in bytes[from, to): a decimal thread id and a colon; -1 if it is not one. */
function threadId(bytes: Buffer, from: number, to: number): number {
  if (bytes[to - 1] !== 58 /* : */) return -1;
  const scan = tidScanner.reset(bytes, from, to - 1);
  const tid = scan.decimal();
  return scan.atEnd() ? tid : -1;
}

/** The record type word `t` names, or undefined. */
function recordType(t: Words, i: number): RecordType | undefined {
  for (let k = 0; k < TYPES.length; k++) if (t.is(i, TYPE_BYTES[k])) return TYPES[k];
  return undefined;
}

/**
 * Reads the record in `t` into `r`; returns '' when it is one, else why it is malformed. Words
 * beyond the count are never read (it is checked first).
 */
function readRecord(bytes: Buffer, t: Words, r: AndroidRecord): string {
  const tid = t.count < 3 ? -1 : threadId(bytes, t.start(0), t.end(0));
  if (tid < 0) return 'expected "TID: TYPE POINTER ..."';
  r.tid = tid;
  const type = recordType(t, 1);
  if (type === undefined) return `unknown record type ${JSON.stringify(t.text(1))}`;
  r.type = type;
  const args = ARGS[type];
  const ptr = t.pointer(2);
  if (ptr === undefined) return `${JSON.stringify(t.text(2))} is not a pointer`;
  r.ptr = ptr;
  const extra = t.count - 3 - args;
  if (type === 'thread_done') {
    return extra > 1 || (extra === 1 && t.decimal(3) < 0) ? 'expected "TID: thread_done 0x0 [END_NS]"' : '';
  }
  if (extra !== 0 && extra !== 2) return `a ${type} record has ${args} number(s) after the pointer, then optionally START_NS END_NS`;
  r.time = null;
  if (extra === 2) {
    const time = t.decimal(3 + args);
    if (time < 0 || t.decimal(4 + args) < 0) return 'the timestamps are not decimal integers';
    r.time = time;
  }
  r.align = 0;
  switch (type) {
    case 'malloc':
      r.size = t.decimal(3);
      return r.size < 0 ? 'the size is not a decimal integer' : '';
    case 'free':
      return '';
    case 'calloc': {
      const count = t.decimal(3);
      const each = t.decimal(4);
      if (count < 0 || each < 0) return 'calloc needs NMEMB SIZE as decimal integers';
      r.size = count * each;
      return '';
    }
    case 'memalign':
      r.align = t.decimal(3);
      r.size = t.decimal(4);
      return r.align < 0 || r.size < 0 ? 'memalign needs ALIGN SIZE as decimal integers' : '';
    default: {
      // realloc NEW OLD SIZE
      const old = t.pointer(3);
      r.size = t.decimal(4);
      if (old === undefined || r.size < 0) return 'realloc needs NEW OLD SIZE';
      r.old = old;
      return '';
    }
  }
}
