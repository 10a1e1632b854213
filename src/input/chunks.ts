/** A file read as a stream of buffers, so that traces and logs of any length stay flat in memory. */
import { closeSync, openSync, readSync } from 'node:fs';

export function* fileChunks(path: string, size: number): Generator<Buffer> {
  const fd = openSync(path, 'r');
  try {
    for (;;) {
      const buffer = Buffer.allocUnsafe(size);
      const n = readSync(fd, buffer, 0, size, null);
      if (n === 0) return;
      yield buffer.subarray(0, n);
    }
  } finally {
    closeSync(fd);
  }
}
