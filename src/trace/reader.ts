/** Reads a trace file as a stream of events, a chunk at a time; memory stays bounded. */
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { FileError } from '../input/errors.js';
import { ByteReader, NEED_MORE } from './bytes.js';
import { readHeader, RecordDecoder, TraceFormatError } from './records.js';
import type { TraceEvent, TraceHeader } from './schema.js';

const CHUNK = 1 << 18;

export interface TraceStream {
  header: TraceHeader;
  events: Generator<TraceEvent>;
  /** Stops reading: closes the file, which reading to the end (or to damage) does by itself. */
  close(): void;
}

/** A file's bytes in a ByteReader, refilled on demand, keeping what is not yet decoded. */
class FileBytes {
  readonly input = new ByteReader();
  /** File offset of input.buf[0]. */
  offset = 0;
  private fd: number;
  private atEnd = false;

  constructor(path: string) {
    this.fd = openSync(path, 'r');
    // A folder opens, and only its first read fails (EISDIR, naming no path).
    if (fstatSync(this.fd).isDirectory()) {
      this.close();
      throw new FileError(`${path}: is a folder, not a trace`);
    }
    this.input.buf = Buffer.allocUnsafe(CHUNK);
  }

  /** Keeps the bytes from `keep` on and reads more after them; false at the end of the file. */
  more(keep: number): boolean {
    if (this.atEnd) return false;
    const r = this.input;
    const kept = r.end - keep;
    if (kept * 2 > r.buf.length) {
      const bigger = Buffer.allocUnsafe(r.buf.length * 2);
      r.buf.copy(bigger, 0, keep, r.end);
      r.buf = bigger;
    } else {
      r.buf.copy(r.buf, 0, keep, r.end);
    }
    this.offset += keep;
    r.pos -= keep;
    r.end = kept;
    const n = readSync(this.fd, r.buf, kept, r.buf.length - kept, this.offset + kept);
    r.end += n;
    if (n === 0) {
      this.atEnd = true;
      this.close();
    }
    return n > 0;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/** Opens a trace: checks its header, then yields its events (the `end` event last). */
export function readTrace(path: string): TraceStream {
  const file = new FileBytes(path);
  const header = headerOf(path, file);
  return { header, events: events(path, file), close: () => file.close() };
}

function headerOf(path: string, file: FileBytes): TraceHeader {
  for (;;) {
    try {
      file.input.pos = 0;
      return readHeader(file.input);
    } catch (e) {
      if (e === NEED_MORE && file.more(0)) continue;
      file.close();
      if (e === NEED_MORE) throw new FileError(`${path}: not an emu trace (too short)`);
      throw new FileError(`${path}: ${e instanceof TraceFormatError ? e.message : `damaged header (${(e as Error).message})`}`);
    }
  }
}

function* events(path: string, file: FileBytes): Generator<TraceEvent> {
  const r = file.input;
  const decoder = new RecordDecoder(r);
  let count = 0;
  try {
    for (;;) {
      const start = r.pos;
      let event: TraceEvent;
      try {
        event = decoder.event();
      } catch (e) {
        if (e !== NEED_MORE) throw new FileError(`${path}: damaged at byte ${file.offset + start}: ${(e as Error).message} (${count} events read before it)`);
        decoder.rewind();
        r.pos = start;
        if (!file.more(start)) {
          const where = r.pos === r.end ? `after ${count} events, with no end event` : `at byte ${file.offset + r.pos}, inside event ${count}`;
          throw new FileError(`${path}: the trace is cut off ${where}`);
        }
        continue;
      }
      count++;
      yield event;
      if (event.type === 'end') return;
    }
  } finally {
    file.close();
  }
}

/**
 * sha256 of a trace's bytes after its header, as TraceFileWriter.eventsDigest gives it while writing;
 * nothing after the header is decoded.
 */
export function eventsDigestOf(path: string): string {
  const file = new FileBytes(path);
  headerOf(path, file);
  const hash = createHash('sha256');
  const r = file.input;
  do {
    hash.update(r.buf.subarray(r.pos, r.end));
    r.pos = r.end;
  } while (file.more(r.end));
  file.close();
  return hash.digest('hex');
}
