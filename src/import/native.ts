/**
 * emu's native field-log format: what a device-side hook records, in MessagePack.
 *
 * A native log is a stream of MessagePack maps (msgpackr, plain maps: no records or structures), one
 * map a record, written and read a chunk at a time. Record 1 is the header; every other record is one
 * operation; `FieldOp.line` is the 1-based record index (so the first operation is record 2).
 *
 *   { format: 'emu-field-log', version: 1, ...}     header; other keys (device, firmware, note, ...)
 *                                                   are free-form and ignored
 *   { op: 'alloc',   ptr, size, align?, time? }     an allocation at address ptr; align: the alignment
 *                                                   asked for (0 or absent: none stated); ptr 0: the
 *                                                   allocation failed
 *   { op: 'free',    ptr, time? }                   ptr 0 (free(NULL)) is ignored
 *   { op: 'realloc', ptr, old, size, time? }        realloc(old, size) returned ptr, with C's rules:
 *                                                   old 0 is an allocation; ptr 0 with size 0 frees
 *                                                   old; ptr 0 with size > 0 failed and old stays
 *   { op: 'fault',   kind, addr?, time? }           a fault the device saw: kind is emu's fault name
 *                                                   where one fits ('oom', 'guard-hit', 'heap-corrupt',
 *                                                   'use-after-free', ...) or the device's own; addr the
 *                                                   faulting address (null or absent: unknown)
 *   { op: 'end' }                                   the logger closed the log cleanly
 *
 * Field types: ptr, old, addr are non-negative integers (a number up to 2^53, or a bigint, which
 * msgpackr writes as uint64, for 64-bit addresses; fault addresses beyond 2^53 lose precision);
 * size and align are non-negative integers; time is an integer in the device's own clock unit (ns,
 * ticks or cycles: kept as given). Blocks are named by address and get ids as in every pointer log
 * (PointerIds: `p1`, `p2`, ... in allocation order).
 *
 * A file whose first record is not the header is not a native log (an InputError at record 1). A log
 * whose last record is not `end` (the device crashed or the log was cut) ends with a `truncated`
 * problem, as does one whose bytes stop mid-record or stop decoding; a record that decodes but does
 * not fit the shapes above is a `malformed` problem.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { decodeIter, Packr } from 'msgpackr';
import { fileChunks } from '../input/chunks.js';
import { InputError } from '../input/errors.js';
import { FREED_MEMORY, PointerIds } from './ops.js';
import type { PointerKey } from './pointers.js';
import { OpBuffer, OpStream, type OpSource } from './stream.js';

export const NATIVE_FORMAT = 'emu-field-log';
export const NATIVE_VERSION = 1;

type Address = number | bigint;

export type NativeRecord =
  | { op: 'alloc'; ptr: Address; size: number; align?: number; time?: number | null }
  | { op: 'free'; ptr: Address; time?: number | null }
  | { op: 'realloc'; ptr: Address; old: Address; size: number; time?: number | null }
  | { op: 'fault'; kind: string; addr?: Address | null; time?: number | null };

export interface NativeHeader {
  format: typeof NATIVE_FORMAT;
  version: number;
  [key: string]: unknown;
}

const OPTIONS = { useRecords: false, moreTypes: false, bundleStrings: false, structuredClone: false, useFloat32: 0, mapsAsObjects: true } as const;
const CHUNK = 1 << 16;

/**
 * Writes a native log: the header (with `meta`'s keys after format and version), the records, and an
 * `end` record unless `end` is false (to make the log of a device that crashed). Streams: records may
 * be a generator of any length.
 */
export function writeNativeLog(path: string, records: Iterable<NativeRecord>, options: { end?: boolean; meta?: Record<string, unknown> } = {}): void {
  const packr = new Packr(OPTIONS);
  const fd = openSync(path, 'w');
  try {
    let parts: Uint8Array[] = [];
    let size = 0;
    const put = (value: unknown) => {
      const bytes = packr.pack(value);
      parts.push(bytes);
      size += bytes.length;
      if (size >= CHUNK) {
        writeSync(fd, Buffer.concat(parts, size));
        parts = [];
        size = 0;
      }
    };
    put({ ...options.meta, format: NATIVE_FORMAT, version: NATIVE_VERSION });
    for (const record of records) put(record);
    if (options.end !== false) put({ op: 'end' });
    if (size > 0) writeSync(fd, Buffer.concat(parts, size));
  } finally {
    closeSync(fd);
  }
}


/** Reads a native log from a file, a chunk at a time. */
export function readNativeFile(path: string): OpStream {
  return readNative(fileChunks(path, CHUNK), path);
}

/** Reads a native log from a stream of byte chunks (a file's, or a test's); the stream returns the number of records read. */
export function readNative(source: Iterable<Uint8Array>, name = 'native log'): OpStream {
  const out = new OpBuffer();
  return new OpStream(out, new NativeSource(source, name, out));
}

/** A native log decoded into an OpBuffer a batch of records at a time. */
class NativeSource implements OpSource {
  /** The decoded records, from the first fill on (the input is opened then). */
  private values: Generator<unknown> | null = null;
  private readonly ids: PointerIds;
  /** Records read. */
  private index = 0;
  /** Whether the last record read was the end record. */
  private ended = false;

  constructor(
    private readonly source: Iterable<Uint8Array>,
    private readonly name: string,
    private readonly out: OpBuffer,
  ) {
    this.ids = new PointerIds(FREED_MEMORY, out);
  }

  get count(): number {
    return this.index;
  }

  fill(want: number): boolean {
    const values = this.values ?? this.open();
    const { out, ids } = this;
    while (out.length < want) {
      let next: IteratorResult<unknown>;
      try {
        next = values.next();
      } catch (e) {
        out.push({ kind: 'problem', what: 'truncated', detail: `the log is cut off or damaged after record ${this.index} (${(e as Error).message}); ${ids.liveCount} block(s) were live then`, line: this.index + 1 });
        this.close();
        return false;
      }
      if (next.done) {
        if (!this.ended) out.push({ kind: 'problem', what: 'truncated', detail: `the log ends without an { op: 'end' } record (the device stopped logging: a crash?); ${ids.liveCount} block(s) were live then`, line: this.index });
        this.close();
        return false;
      }
      this.index++;
      const why = record(next.value, this.index, ids);
      this.ended = why === END;
      if (why !== '' && why !== END) out.push({ kind: 'problem', what: 'malformed', detail: why, line: this.index });
    }
    return true;
  }

  close(): void {
    this.values?.return(undefined);
  }

  /** Starts decoding, and reads the header (record 1): throws when the input is no native log. */
  private open(): Generator<unknown> {
    const values = decodeIter(this.source, { ...OPTIONS }) as unknown as Generator<unknown>;
    this.values = values;
    const name = this.name;
    let first: IteratorResult<unknown>;
    try {
      first = values.next();
    } catch (e) {
      throw new InputError({ file: name, line: 1, col: 1 }, `not an emu native field log: it does not decode as MessagePack (${(e as Error).message}); check --format`);
    }
    const header = first.value as Partial<NativeHeader> | undefined;
    if (first.done) throw new InputError({ file: name, line: 1, col: 1 }, 'not an emu native field log: the file is empty');
    if (!header || typeof header !== 'object' || header.format !== NATIVE_FORMAT) {
      throw new InputError({ file: name, line: 1, col: 1 }, `not an emu native field log: record 1 is not a { format: '${NATIVE_FORMAT}' } header; check --format`);
    }
    if (header.version !== NATIVE_VERSION) {
      throw new InputError({ file: name, line: 1, col: 1 }, `native field log version ${String(header.version)}; this emu reads version ${NATIVE_VERSION}`);
    }
    this.index = 1;
    return values;
  }
}

/** An address field as a pointer key (0: null), undefined when it is no non-negative integer. */
function address(v: unknown): PointerKey | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : undefined;
  if (typeof v === 'bigint') return v < 0n ? undefined : v <= MAX_SAFE ? Number(v) : v.toString(16);
  return undefined;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function count(v: unknown): number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : -1;
}

/** `time`: absent or null is null; an integer (number or bigint) is kept; anything else is undefined. */
function timeOf(v: unknown): number | null | undefined {
  if (v === undefined || v === null) return null;
  if (typeof v === 'bigint') return Number(v);
  return typeof v === 'number' && Number.isInteger(v) ? v : undefined;
}

/** What record() returns for the end record. */
const END = 'end';

/** Adds one record's ops to `ids.out`; returns '' when it did, END for the end record, else why the record is malformed. */
function record(value: unknown, line: number, ids: PointerIds): string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return `record ${line} is not a map`;
  const r = value as Record<string, unknown>;
  const time = timeOf(r.time);
  if (time === undefined) return `record ${line}: time is not an integer`;
  switch (r.op) {
    case 'end':
      return END;
    case 'alloc': {
      const ptr = address(r.ptr);
      const size = count(r.size);
      const align = r.align === undefined || r.align === null ? 0 : count(r.align);
      if (ptr === undefined || size < 0 || align < 0) return `record ${line}: alloc needs ptr and size (non-negative integers) and an optional align`;
      ids.recordAlloc(ptr, size, align, line, time);
      return '';
    }
    case 'free': {
      const ptr = address(r.ptr);
      if (ptr === undefined) return `record ${line}: free needs ptr (a non-negative integer)`;
      if (ptr !== 0) ids.recordFree(ptr, line, time);
      return '';
    }
    case 'realloc': {
      const ptr = address(r.ptr);
      const old = address(r.old);
      const size = count(r.size);
      if (ptr === undefined || old === undefined || size < 0) return `record ${line}: realloc needs ptr, old and size (non-negative integers)`;
      if (old === 0) ids.recordAlloc(ptr, size, 0, line, time);
      else if (ptr !== 0) ids.recordRealloc(old, ptr, size, line, time);
      else if (size === 0) ids.recordFree(old, line, time);
      else ids.recordFailedRealloc(old, size, line, time);
      return '';
    }
    case 'fault': {
      if (typeof r.kind !== 'string' || r.kind.length === 0) return `record ${line}: fault needs kind (a string)`;
      let addr: number | null = null;
      if (r.addr !== undefined && r.addr !== null) {
        if (address(r.addr) === undefined) return `record ${line}: fault addr is not a non-negative integer`;
        addr = Number(r.addr);
      }
      ids.out.push({ kind: 'fault', fault: r.kind, addr, time, line });
      return '';
    }
    default:
      return `record ${line}: unknown op ${JSON.stringify(r.op, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))} (expected alloc, free, realloc, fault or end)`;
  }
}
