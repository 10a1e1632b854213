/** Decodes a trace file as a stream of events, a chunk at a time. */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { decodeIter } from 'msgpackr';
import { EventEncoder } from './encode.js';
import { fileChunks } from '../input/chunks.js';
import { UsageError } from '../input/errors.js';
import { TRACE_FORMAT, TRACE_VERSION, type TraceEvent, type TraceHeader } from './codec.js';

const CHUNK = 1 << 18;


export interface TraceStream {
  header: TraceHeader;
  events: Generator<TraceEvent>;
}

/** Opens a trace: checks its header, then yields its events (the `end` event last). */
export function readTrace(path: string): TraceStream {
  const values = decodeIter(fileChunks(path, CHUNK), { useRecords: false, mapsAsObjects: true }) as unknown as Generator<unknown>;
  let first: IteratorResult<unknown>;
  try {
    first = values.next();
  } catch {
    throw new UsageError(`${path}: not an emu trace (it does not decode as MessagePack)`);
  }
  const header = first.value as TraceHeader | undefined;
  if (first.done || !header || header.type !== 'header' || header.format !== TRACE_FORMAT) {
    throw new UsageError(`${path}: not an emu trace (no emu-trace header)`);
  }
  if (header.version !== TRACE_VERSION) {
    throw new UsageError(`${path}: trace format version ${header.version}, this emu reads version ${TRACE_VERSION}; re-run with --update`);
  }
  return { header, events: events(path, values) };
}

function* events(path: string, values: Generator<unknown>): Generator<TraceEvent> {
  try {
    for (const v of { [Symbol.iterator]: () => values }) yield v as TraceEvent;
  } catch (e) {
    throw new UsageError(`${path}: the trace is cut off or damaged (${(e as Error).message})`);
  }
}

/**
 * sha256 of a trace's bytes after its header, as TraceFileWriter.eventsDigest gives it while writing:
 * the header is decoded (it is small) and encoded again to find where it ends; the rest is hashed
 * as bytes, never decoded.
 */
export function eventsDigestOf(path: string): string {
  const { header } = readTrace(path);
  const scratch = Buffer.allocUnsafe(1 << 16);
  const headerLength = new EventEncoder(scratch).encode(header, 0, scratch.length);
  const hash = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const chunk = Buffer.allocUnsafe(CHUNK * 4);
    for (let at = headerLength; ; ) {
      const n = readSync(fd, chunk, 0, chunk.length, at);
      if (n === 0) break;
      hash.update(chunk.subarray(0, n));
      at += n;
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}
