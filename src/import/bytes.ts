/**
 * Scanning a log line where it sits, in the bytes read from the file (see LineSource): numbers,
 * pointers, keywords and words are read from the bytes without decoding the line to a string. Only
 * a message (a malformed line, an unknown keyword) decodes, and only what it shows.
 *
 * The scanners read what the formats' string code read: a token with a non-ASCII byte is never a
 * number, a pointer or a keyword, and Words splits at JavaScript's whitespace (`\s`, Unicode
 * included) where a format splits at `/\s+/`.
 */
import type { PointerKey } from './pointers.js';

/** The bytes of `text` (ASCII), for comparing keywords with `matches`. */
export function ascii(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}

/** True when bytes[from, to) is exactly `word`. */
export function matches(bytes: Buffer, from: number, to: number, word: Buffer): boolean {
  if (to - from !== word.length) return false;
  for (let i = 0; i < word.length; i++) if (bytes[from + i] !== word[i]) return false;
  return true;
}

/** The first `byte` in bytes[from, to), or -1. (Buffer.indexOf cannot stop at `to`.) */
export function indexOfByte(bytes: Buffer, byte: number, from: number, to: number): number {
  for (let i = from; i < to; i++) if (bytes[i] === byte) return i;
  return -1;
}

/** The last place in bytes[from, to) where the bytes `a` `b` follow each other, or -1. */
export function lastIndexOfPair(bytes: Buffer, a: number, b: number, from: number, to: number): number {
  for (let i = to - 2; i >= from; i--) if (bytes[i] === a && bytes[i + 1] === b) return i;
  return -1;
}

/** Each byte's value as a hex digit (upper or lower case), or -1. */
const HEX = new Int8Array(256).fill(-1);
for (let d = 0; d < 16; d++) HEX['0123456789abcdef'.charCodeAt(d)] = HEX['0123456789ABCDEF'.charCodeAt(d)] = d;

const SPACE = 32;
const NIL = ascii('(nil)');
const NULL = ascii('(null)');
/** Up to this many decimal digits, summing them is exact; longer numbers are left to Number(). */
const EXACT_DIGITS = 15;

/**
 * Reads the tokens of a line left to right. A token ends at the next space or at the line's end;
 * each read takes one token and leaves `pos` after it (at the space), or fails (undefined or -1,
 * and `pos` is then meaningless).
 */
export class Scanner {
  bytes: Buffer = Buffer.alloc(0);
  pos = 0;
  end = 0;

  /** Scans bytes[pos, end). */
  reset(bytes: Buffer, pos: number, end: number): this {
    this.bytes = bytes;
    this.pos = pos;
    this.end = end;
    return this;
  }

  atEnd(): boolean {
    return this.pos === this.end;
  }

  /** Steps over one space; false when there is none. */
  space(): boolean {
    if (this.pos >= this.end || this.bytes[this.pos] !== SPACE) return false;
    this.pos++;
    return true;
  }

  /**
   * A pointer (`0x7f3a...`, `0X...`, bare hex digits, `(nil)` or `(null)`) as a key: 0 for a null
   * pointer, undefined for something that is no pointer.
   */
  pointer(): PointerKey | undefined {
    const bytes = this.bytes;
    let i = this.pos;
    if (i < this.end && bytes[i] === 40 /* ( */) {
      const to = this.tokenEnd();
      return matches(bytes, i, to, NIL) || matches(bytes, i, to, NULL) ? 0 : undefined;
    }
    if (i + 1 < this.end && bytes[i] === 48 && (bytes[i + 1] | 32) === 120 /* 0x, 0X */) i += 2;
    const digits = i;
    const value = this.hexDigits(i);
    if (value < 0 || this.pos === digits) return undefined;
    // The sum is exact up to 2^53 - 1 and rounds to at least 2^53 beyond: the test below is exact.
    if (value <= Number.MAX_SAFE_INTEGER) return value;
    while (bytes[i] === 48) i++;
    return bytes.toString('latin1', i, this.pos).toLowerCase();
  }

  /** `0x1f` or `0` (glibc's `%#lx`) to a number; -1 if it is neither. */
  hexSize(): number {
    const bytes = this.bytes;
    const i = this.pos;
    if (i < this.end && bytes[i] === 48 && (i + 1 === this.end || bytes[i + 1] === SPACE)) {
      this.pos = i + 1;
      return 0;
    }
    if (i + 1 >= this.end || bytes[i] !== 48 || (bytes[i + 1] | 32) !== 120) return -1;
    const value = this.hexDigits(i + 2);
    return this.pos === i + 2 ? -1 : value;
  }

  /** Decimal digits to a number (as Number() reads them); -1 if the token is not all digits. */
  decimal(): number {
    const bytes = this.bytes;
    const from = this.pos;
    let value = 0;
    let i = from;
    for (; i < this.end; i++) {
      const c = bytes[i];
      if (c === SPACE) break;
      if (c < 48 || c > 57) return -1;
      value = value * 10 + (c - 48);
    }
    this.pos = i;
    if (i === from) return -1;
    return i - from <= EXACT_DIGITS ? value : Number(bytes.toString('latin1', from, i));
  }

  /** The hex digits from `i` to the token's end, summed; -1 at a byte that is none. */
  private hexDigits(i: number): number {
    const bytes = this.bytes;
    let value = 0;
    for (; i < this.end; i++) {
      const c = bytes[i];
      if (c === SPACE) break;
      const d = HEX[c];
      if (d < 0) return -1;
      value = value * 16 + d;
    }
    this.pos = i;
    return value;
  }

  private tokenEnd(): number {
    const sp = indexOfByte(this.bytes, SPACE, this.pos, this.end);
    this.pos = sp < 0 ? this.end : sp;
    return this.pos;
  }
}

/**
 * How many bytes the whitespace character at bytes[i] takes (before `to`), or 0 when there is none:
 * JavaScript's `\s` (what trim() removes), as UTF-8: tab to carriage return, space, U+00A0, U+1680,
 * U+2000 to U+200A, U+2028, U+2029, U+202F, U+205F, U+3000 and U+FEFF. A pattern starts with a lead
 * byte, which a UTF-8 decoder never takes into an earlier character, so finding one anywhere is what
 * splitting the decoded text finds.
 */
export function whitespaceAt(bytes: Buffer, i: number, to: number): number {
  const c = bytes[i];
  if (c === 32 || (c >= 9 && c <= 13)) return 1;
  if (c < 0xc2 || i + 1 >= to) return 0;
  const c1 = bytes[i + 1];
  if (c === 0xc2) return c1 === 0xa0 ? 2 : 0;
  if (i + 2 >= to) return 0;
  const c2 = bytes[i + 2];
  switch (c) {
    case 0xe1:
      return c1 === 0x9a && c2 === 0x80 ? 3 : 0;
    case 0xe2:
      if (c1 === 0x80) return (c2 >= 0x80 && c2 <= 0x8a) || c2 === 0xa8 || c2 === 0xa9 || c2 === 0xaf ? 3 : 0;
      return c1 === 0x81 && c2 === 0x9f ? 3 : 0;
    case 0xe3:
      return c1 === 0x80 && c2 === 0x80 ? 3 : 0;
    case 0xef:
      return c1 === 0xbb && c2 === 0xbf ? 3 : 0;
    default:
      return 0;
  }
}

/**
 * The words of a line: where the first MAX_WORDS start and end, and how many there are in all (the
 * formats read no more than a few; a line with more is malformed, and its count says so). Word i is
 * bytes[start(i), end(i)), read with the scanners above.
 */
export class Words {
  static readonly MAX_WORDS = 8;
  count = 0;
  private bytes: Buffer = Buffer.alloc(0);
  private readonly starts = new Int32Array(Words.MAX_WORDS);
  private readonly ends = new Int32Array(Words.MAX_WORDS);
  private readonly scanner = new Scanner();

  start(i: number): number {
    return this.starts[i];
  }

  end(i: number): number {
    return this.ends[i];
  }

  /** True when word i is exactly `word`. */
  is(i: number, word: Buffer): boolean {
    return matches(this.bytes, this.starts[i], this.ends[i], word);
  }

  /** Word i as a decimal number (see Scanner.decimal), -1 if it is none. */
  decimal(i: number): number {
    const value = this.scan(i).decimal();
    return this.scanner.atEnd() ? value : -1;
  }

  /** Word i as a pointer (see Scanner.pointer), undefined if it is none. */
  pointer(i: number): PointerKey | undefined {
    const key = this.scan(i).pointer();
    return this.scanner.atEnd() ? key : undefined;
  }

  /** Word i decoded, for a message. */
  text(i: number): string {
    return this.bytes.toString('utf8', this.starts[i], this.ends[i]);
  }

  /**
   * Splits bytes[from, to) at each single space, as text.split(' ') does. Returns false when that
   * gives an empty word (a space at either end, two in a row): the words are then not set.
   */
  splitAtSpaces(bytes: Buffer, from: number, to: number): boolean {
    this.bytes = bytes;
    this.count = 0;
    let start = from;
    for (;;) {
      const sp = indexOfByte(bytes, SPACE, start, to);
      const end = sp < 0 ? to : sp;
      if (end === start) return false;
      this.add(start, end);
      if (sp < 0) return true;
      start = sp + 1;
    }
  }

  /**
   * Splits bytes[from, to) at runs of whitespace (see whitespaceAt), as text.trim().split(/\s+/)
   * does, except that a blank line has no words (not one empty word).
   */
  splitAtWhitespace(bytes: Buffer, from: number, to: number): void {
    this.bytes = bytes;
    this.count = 0;
    let start = -1;
    for (let i = from; i < to; ) {
      const w = whitespaceAt(bytes, i, to);
      if (w === 0) {
        if (start < 0) start = i;
        i++;
        continue;
      }
      if (start >= 0) this.add(start, i);
      start = -1;
      i += w;
    }
    if (start >= 0) this.add(start, to);
  }

  /** A scanner over word i: a word has no spaces, so a read that succeeds ends where the word does. */
  private scan(i: number): Scanner {
    return this.scanner.reset(this.bytes, this.starts[i], this.ends[i]);
  }

  private add(start: number, end: number): void {
    if (this.count < Words.MAX_WORDS) {
      this.starts[this.count] = start;
      this.ends[this.count] = end;
    }
    this.count++;
  }
}
