/** Streams encoded events to a file in large chunks; memory stays flat however long the run. */
import { closeSync, openSync, writeSync } from 'node:fs';
import { REUSE_BUFFER_MODE, RESET_BUFFER_MODE } from 'msgpackr';
import { packr } from './codec.js';

export interface TraceSink {
  write(event: object): void;
  close(): void;
}

const CHUNK = 1 << 20;

export class TraceFileWriter implements TraceSink {
  private readonly fd: number;
  private readonly buffer = Buffer.allocUnsafe(CHUNK);
  private used = 0;
  bytes = 0;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w');
  }

  write(event: object): void {
    // Packs into msgpackr's own buffer, reused for every event (no per-event Buffer), then copies.
    const target = packr.pack(event, REUSE_BUFFER_MODE | RESET_BUFFER_MODE) as Buffer & { start: number; end: number };
    const length = target.end - target.start;
    if (this.used + length > CHUNK) this.flush();
    if (length > CHUNK) {
      writeSync(this.fd, target, target.start, length);
    } else {
      target.copy(this.buffer, this.used, target.start, target.end);
      this.used += length;
    }
    this.bytes += length;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }

  private flush(): void {
    if (this.used > 0) writeSync(this.fd, this.buffer, 0, this.used);
    this.used = 0;
  }
}
