/** Reads a text file as lines, lazily, a chunk at a time: a log of millions of lines is never loaded whole. */
import { closeSync, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { InputError } from '../input/errors.js';

export const CHUNK = 1 << 16;

/** A line longer than this is no log line: the file is binary or not a log. */
export const MAX_LINE = 1 << 20;

/**
 * Yields the lines of a file without their line ends (`\n` or `\r\n`), decoding UTF-8 across chunk
 * boundaries; a last line without a newline is yielded too, an empty file yields nothing. Closes the
 * file when done or when the consumer stops early.
 */
export function* readLines(path: string, chunkSize = CHUNK): Generator<string> {
  const fd = openSync(path, 'r');
  const decoder = new StringDecoder('utf8');
  const buffer = Buffer.allocUnsafe(chunkSize);
  let carry = '';
  let line = 0;
  try {
    for (;;) {
      const n = readSync(fd, buffer, 0, chunkSize, null);
      if (n === 0) break;
      const text = carry.length === 0 ? decoder.write(buffer.subarray(0, n)) : carry + decoder.write(buffer.subarray(0, n));
      let start = 0;
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
        line++;
        yield nl > start && text.charCodeAt(nl - 1) === 13 ? text.slice(start, nl - 1) : text.slice(start, nl);
        start = nl + 1;
      }
      carry = start === 0 ? text : text.slice(start);
      if (carry.length > MAX_LINE) throw new InputError({ file: path, line: line + 1, col: 1 }, `line ${line + 1} is longer than ${MAX_LINE} characters: not a text log (a native log needs --format native)`);
    }
    carry += decoder.end();
    if (carry.length > 0) yield carry.charCodeAt(carry.length - 1) === 13 ? carry.slice(0, -1) : carry;
  } finally {
    closeSync(fd);
  }
}
