/** Input files read whole, or as a stream of buffers so that traces and logs of any length stay flat in memory. */
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { UsageError } from './errors.js';

/** A file's bytes; a folder is a usage error that names it (reading one fails with EISDIR, which names no path). */
export function readInput(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException)?.code === 'EISDIR') throw new UsageError(`${path}: is a folder, not a file`);
    throw e;
  }
}

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
