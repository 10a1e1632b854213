/** Streams encoded events to a file in large chunks; memory stays flat however long the run. */
import { closeSync, openSync, writeSync } from 'node:fs';
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
    const packed = packr.pack(event);
    if (this.used + packed.length > CHUNK) this.flush();
    if (packed.length > CHUNK) {
      writeSync(this.fd, packed);
    } else {
      packed.copy(this.buffer, this.used);
      this.used += packed.length;
    }
    this.bytes += packed.length;
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
