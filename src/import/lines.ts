/**
 * The lines of a log as bytes: a file is read a chunk at a time (a log of millions of lines is never
 * loaded whole) and each line is handed over where it sits in the chunk, undecoded, for the format's
 * parser to scan (see bytes.ts).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { InputError } from '../input/errors.js';
import { OpBuffer, OpStream, type OpSource } from './stream.js';

export const CHUNK = 1 << 16;

/** A line longer than this many bytes is no log line: the file is binary or not a log. */
export const MAX_LINE = 1 << 20;

const NO_BYTES = Buffer.alloc(0);

/**
 * A cursor over lines: each next() moves to the next line, which is then bytes[start, end), without
 * its line end (`\n` or `\r\n`). The bytes stay valid only until the next call to next().
 */
export abstract class LineSource {
  bytes: Buffer = NO_BYTES;
  start = 0;
  end = 0;
  /** The current line's 1-based number. */
  line = 0;
  /**
   * True when the current line is the file's last and no newline follows it: a log written line by
   * line that ends so was cut mid-write (a crashed program's last, partly flushed buffer).
   */
  unterminated = false;

  /** Moves to the next line; false at the end of the input. */
  abstract next(): boolean;

  /** Stops early: releases the input (the end of the input does so by itself). */
  close(): void {}

  /** The current line decoded as UTF-8, for a message that shows it. */
  text(): string {
    return this.bytes.toString('utf8', this.start, this.end);
  }
}

/**
 * The lines of a file; a last line without a newline is a line too, an empty file has none. The file
 * is opened by the first next() and closed at its end or by close().
 */
export class FileLines extends LineSource {
  private fd = -1;
  /** The chunk buffer; bytes is its filled part, and the next line starts at `pos`. */
  private buffer: Buffer;
  private pos = 0;
  /** The file is read to its end (or closed). */
  private eof = false;

  constructor(
    readonly path: string,
    chunkSize = CHUNK,
  ) {
    super();
    this.buffer = Buffer.allocUnsafe(chunkSize);
  }

  next(): boolean {
    for (;;) {
      const bytes = this.bytes;
      const nl = bytes.indexOf(10, this.pos);
      if (nl >= 0) {
        this.take(nl);
        this.pos = nl + 1;
        return true;
      }
      if (this.eof) {
        if (this.pos === bytes.length) {
          this.close();
          return false;
        }
        this.unterminated = true;
        this.take(bytes.length);
        this.pos = bytes.length;
        return true;
      }
      this.fill();
    }
  }

  override close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    this.eof = true;
    this.bytes = NO_BYTES;
    this.pos = 0;
  }

  /** The line that ends at `nl` (a newline, or the end of the file) becomes the current one. */
  private take(nl: number): void {
    const bytes = this.bytes;
    this.line++;
    this.start = this.pos;
    this.end = nl > this.pos && bytes[nl - 1] === 13 ? nl - 1 : nl;
  }

  /** Keeps the unfinished line at the front of the buffer and reads more after it. */
  private fill(): void {
    if (this.fd < 0) this.fd = openSync(this.path, 'r');
    const rest = this.bytes.length - this.pos;
    if (rest === this.buffer.length) {
      // One line fills the whole buffer: grow it, up to MAX_LINE.
      if (rest >= MAX_LINE) throw new InputError({ file: this.path, line: this.line + 1, col: 1 }, `line ${this.line + 1} is longer than ${MAX_LINE} bytes: not a text log (a native log needs --format native)`);
      const bigger = Buffer.allocUnsafe(Math.min(MAX_LINE, this.buffer.length * 2));
      this.buffer.copy(bigger, 0, this.pos, this.bytes.length);
      this.buffer = bigger;
    } else if (this.pos > 0 && rest > 0) {
      this.buffer.copy(this.buffer, 0, this.pos, this.bytes.length);
    }
    const n = readSync(this.fd, this.buffer, rest, this.buffer.length - rest, null);
    if (n === 0) this.eof = true;
    this.bytes = this.buffer.subarray(0, rest + n);
    this.pos = 0;
  }
}

/** Lines given as strings (a test's), one a line as they are, through the same cursor. */
export class StringLines extends LineSource {
  private readonly lines: Iterator<string>;

  constructor(lines: Iterable<string>) {
    super();
    this.lines = lines[Symbol.iterator]();
  }

  next(): boolean {
    const step = this.lines.next();
    if (step.done) return false;
    this.bytes = Buffer.from(step.value);
    this.start = 0;
    this.end = this.bytes.length;
    this.line++;
    return true;
  }

  override close(): void {
    this.lines.return?.();
  }
}

/** A line cursor for a parser: a LineSource as it is, strings through StringLines. */
export function lineSource(lines: LineSource | Iterable<string>): LineSource {
  return lines instanceof LineSource ? lines : new StringLines(lines);
}

/** A text format's parser: what each line, and the end of the log, adds to the stream's OpBuffer. */
export interface LineParser {
  /** The current line of `lines`: adds its ops (or throws: not the format). */
  line(lines: LineSource): void;
  /** After the last line (`lines` of them): adds the closing ops (or throws). */
  end(lines: number): void;
}

/** A text log's ops, lazily (see OpStream); `parser` is made for the buffer its ops go to. */
export function parseLines(lines: LineSource, parser: (out: OpBuffer) => LineParser): OpStream {
  const out = new OpBuffer();
  return new OpStream(out, new TextSource(lines, parser(out), out));
}

/** A text log read into an OpBuffer a batch of lines at a time. */
class TextSource implements OpSource {
  /** An error met mid-batch, thrown by the next fill (once the ops before it are read). */
  private error: { thrown: unknown } | null = null;

  constructor(
    private readonly lines: LineSource,
    private readonly parser: LineParser,
    private readonly out: OpBuffer,
  ) {}

  get count(): number {
    return this.lines.line;
  }

  fill(want: number): boolean {
    if (this.error !== null) throw this.error.thrown;
    const { lines, parser, out } = this;
    // The ops of the lines read whole: a line that throws adds none.
    let whole = out.length;
    try {
      while (out.length < want) {
        if (!lines.next()) {
          lines.close();
          parser.end(lines.line);
          return false;
        }
        parser.line(lines);
        whole = out.length;
      }
      return true;
    } catch (e) {
      if (whole === 0) throw e;
      out.truncate(whole);
      this.error = { thrown: e };
      return true;
    }
  }

  close(): void {
    this.lines.close();
  }
}

/** The lines of a file as strings, lazily (see FileLines). */
export function* readLines(path: string, chunkSize = CHUNK): Generator<string> {
  const lines = new FileLines(path, chunkSize);
  try {
    while (lines.next()) yield lines.text();
  } finally {
    lines.close();
  }
}

/** A copy of a line, kept past the next() that overwrites its bytes, for a message that may need it later. */
export class SavedLine {
  private bytes = Buffer.allocUnsafe(256);
  private length = 0;

  save(lines: LineSource): void {
    const length = lines.end - lines.start;
    if (length > this.bytes.length) this.bytes = Buffer.allocUnsafe(Math.max(length, 2 * this.bytes.length));
    lines.bytes.copy(this.bytes, 0, lines.start, lines.end);
    this.length = length;
  }

  text(): string {
    return this.bytes.toString('utf8', 0, this.length);
  }
}
