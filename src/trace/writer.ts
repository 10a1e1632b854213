/** Streams encoded events to a file in large chunks; memory stays flat however long the run. */
import { createHash, type Hash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { packr } from './codec.js';
import { EventEncoder } from './encode.js';

export interface TraceSink {
  write(event: object): void;
  close(): void;
}

const CHUNK = 1 << 20;

export class TraceFileWriter implements TraceSink {
  private readonly fd: number;
  private readonly buffer = Buffer.allocUnsafe(CHUNK);
  private readonly encoder = new EventEncoder(this.buffer);
  private used = 0;
  /** Where the header ends in the chunk, until the first flush hashes past it. */
  private headerEnd = -1;
  private readonly events: Hash = createHash('sha256');
  bytes = 0;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w');
  }

  write(event: object): void {
    // Encoded straight into the chunk; when the chunk is full, it is flushed and the event tried again.
    let end = this.encoder.encode(event, this.used, CHUNK);
    if (end < 0) {
      this.flush();
      end = this.encoder.encode(event, 0, CHUNK);
    }
    if (end < 0) {
      // An event larger than a chunk (never seen in practice): written on its own.
      const bytes = packr.pack(event);
      writeSync(this.fd, bytes);
      this.events.update(bytes);
      this.bytes += bytes.length;
      return;
    }
    this.bytes += end - this.used;
    this.used = end;
    if (this.headerEnd < 0) this.headerEnd = end;
  }

  /**
   * sha256 of every byte after the header (which holds the input files' hashes): two traces with the
   * same events have the same digest, so a golden is matched without decoding either. After close().
   */
  eventsDigest(): string {
    return this.events.digest('hex');
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }

  private flush(): void {
    if (this.used > 0) writeSync(this.fd, this.buffer, 0, this.used);
    const from = Math.max(this.headerEnd, 0);
    if (this.used > from) this.events.update(this.buffer.subarray(from, this.used));
    this.headerEnd = 0;
    this.used = 0;
  }
}
