/** Reads a text file as lines, lazily, a chunk at a time: a log of millions of lines is never loaded whole. */
import { closeSync, openSync, readSync } from 'node:fs';
import { InputError } from '../input/errors.js';

export const CHUNK = 1 << 16;

/** A line longer than this many bytes is no log line: the file is binary or not a log. */
export const MAX_LINE = 1 << 20;

/**
 * The lines of a file without their line ends (`\n` or `\r\n`), as UTF-8; a last line without a
 * newline is yielded too, an empty file yields nothing. Each line is decoded on its own from the
 * chunk buffer, so a line (or a pointer sliced from it and kept in a map) never holds a whole chunk
 * in memory. Iterating opens the file, and closes it when done or when the consumer stops early.
 */
export class LineFile implements Iterable<string> {
  /**
   * True while the line just yielded is the file's last and no newline follows it: a log written
   * line by line that ends so was cut mid-write (a crashed program's last, partly flushed buffer).
   */
  unterminated = false;

  constructor(
    readonly path: string,
    readonly chunkSize = CHUNK,
  ) {}

  *[Symbol.iterator](): Generator<string> {
    const path = this.path;
    const fd = openSync(path, 'r');
    let buffer = Buffer.allocUnsafe(this.chunkSize);
    let have = 0;
    let line = 0;
    this.unterminated = false;
    try {
      for (;;) {
        if (have === buffer.length) {
          // One line fills the whole buffer: grow it, up to MAX_LINE.
          if (have >= MAX_LINE) throw new InputError({ file: path, line: line + 1, col: 1 }, `line ${line + 1} is longer than ${MAX_LINE} bytes: not a text log (a native log needs --format native)`);
          const bigger = Buffer.allocUnsafe(Math.min(MAX_LINE, buffer.length * 2));
          buffer.copy(bigger, 0, 0, have);
          buffer = bigger;
        }
        const n = readSync(fd, buffer, have, buffer.length - have, null);
        if (n === 0) break;
        const view = buffer.subarray(0, have + n);
        let start = 0;
        for (let nl = view.indexOf(10, have); nl >= 0; nl = view.indexOf(10, start)) {
          line++;
          yield view.toString('utf8', start, nl > start && view[nl - 1] === 13 ? nl - 1 : nl);
          start = nl + 1;
        }
        have = view.length - start;
        if (start > 0 && have > 0) view.copy(buffer, 0, start);
      }
      if (have > 0) {
        this.unterminated = true;
        yield buffer.toString('utf8', 0, buffer[have - 1] === 13 ? have - 1 : have);
      }
    } finally {
      closeSync(fd);
    }
  }
}

/** The lines of a file, lazily (see LineFile). */
export function readLines(path: string, chunkSize = CHUNK): Generator<string> {
  return new LineFile(path, chunkSize)[Symbol.iterator]();
}
