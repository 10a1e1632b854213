/** Where a run's events go: a trace file streamed in large chunks, or events kept in memory. */
import { createHash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { ByteReader, ByteWriter } from './bytes.js';
import { RecordDecoder, RecordEncoder, writeHeader } from './records.js';
import type { TraceEvent, TraceHeader } from './schema.js';

export interface TraceSink {
  header(header: TraceHeader): void;
  /** An event of `type` at operation `op` and `cycle`, with the fields schema.ts declares for it. */
  event(type: string, op: number, cycle: number, fields: Record<string, unknown>): void;
  close(): void;
}

/** Flushed when a chunk holds this much: memory stays flat however long the run. */
const CHUNK = 1 << 20;

export class TraceFileWriter implements TraceSink {
  private readonly fd: number;
  private readonly out = new ByteWriter(CHUNK + 4096);
  private readonly records = new RecordEncoder(this.out);
  /** sha256 of every byte after the header, which holds the inputs' hashes. */
  private readonly hash = createHash('sha256');
  private hashFrom = 0;
  bytes = 0;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w');
  }

  header(header: TraceHeader): void {
    writeHeader(this.out, header);
    this.hashFrom = this.out.pos;
  }

  event(type: string, op: number, cycle: number, fields: Record<string, unknown>): void {
    this.records.event(type, op, cycle, fields);
    if (this.out.pos >= CHUNK) this.flush();
  }

  /**
   * Two traces with the same events have the same digest, so a golden is matched without decoding
   * either (reader.ts's eventsDigestOf gives a file's). After close().
   */
  eventsDigest(): string {
    return this.hash.copy().digest('hex');
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }

  private flush(): void {
    const { buf, pos } = this.out;
    if (pos > 0) writeSync(this.fd, buf, 0, pos);
    this.hash.update(buf.subarray(this.hashFrom, pos));
    this.bytes += pos;
    this.hashFrom = 0;
    this.out.pos = 0;
  }
}

/**
 * Keeps the events as the trace holds them: each is encoded and decoded again at once, so what the
 * tests and in-process callers see is exactly what a trace file would give back.
 */
export class EventCollector implements TraceSink {
  readonly events: TraceEvent[] = [];
  private readonly out = new ByteWriter(4096);
  private readonly records = new RecordEncoder(this.out);
  private readonly input = new ByteReader();
  private readonly decoder = new RecordDecoder(this.input);

  header(): void {}

  event(type: string, op: number, cycle: number, fields: Record<string, unknown>): void {
    this.out.pos = 0;
    this.records.event(type, op, cycle, fields);
    this.input.buf = this.out.buf;
    this.input.pos = 0;
    this.input.end = this.out.pos;
    this.events.push(this.decoder.event());
  }

  close(): void {}
}
