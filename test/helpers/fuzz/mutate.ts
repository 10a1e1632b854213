/**
 * The fuzzer's mutations: edits of a text (tokens, numbers, whole lines) and of bytes (flips, cuts,
 * inserts, splices). Every position a mutation draws is taken modulo the input's length, so that each
 * draw means something whatever the input, and fast-check can shrink it.
 */
import fc from 'fast-check';

export type TextMutation =
  | { kind: 'token'; at: number; token: number }
  | { kind: 'number'; at: number; token: number }
  | { kind: 'delete-line'; at: number }
  | { kind: 'duplicate-line'; at: number }
  | { kind: 'swap-lines'; at: number; with: number }
  | { kind: 'cut'; at: number; length: number };

/** Applies one text mutation; tokens are drawn from `tokens` (the values that matter to the format). */
export function mutateText(text: string, m: TextMutation, tokens: readonly string[]): string {
  const lines = text.split('\n');
  switch (m.kind) {
    case 'token': {
      const at = m.at % (text.length + 1);
      return text.slice(0, at) + tokens[m.token % tokens.length] + text.slice(at);
    }
    case 'number': {
      // Replaces the n-th number in the text (sizes, counts, offsets, addresses) with a token.
      const numbers = [...text.matchAll(/\b(?:0x[\da-f]+|\d+[KMG]?)\b/gi)];
      if (numbers.length === 0) return text;
      const n = numbers[m.at % numbers.length];
      return text.slice(0, n.index) + tokens[m.token % tokens.length] + text.slice(n.index! + n[0].length);
    }
    case 'delete-line':
      lines.splice(m.at % lines.length, 1);
      return lines.join('\n');
    case 'duplicate-line': {
      const i = m.at % lines.length;
      lines.splice(i, 0, lines[i]);
      return lines.join('\n');
    }
    case 'swap-lines': {
      const [i, j] = [m.at % lines.length, m.with % lines.length];
      [lines[i], lines[j]] = [lines[j], lines[i]];
      return lines.join('\n');
    }
    case 'cut': {
      const at = m.at % (text.length + 1);
      return text.slice(0, at) + text.slice(at + m.length);
    }
  }
}

export const textMutation: fc.Arbitrary<TextMutation> = fc.oneof(
  fc.record({ kind: fc.constant('token' as const), at: fc.nat(), token: fc.nat() }),
  fc.record({ kind: fc.constant('number' as const), at: fc.nat(), token: fc.nat() }),
  fc.record({ kind: fc.constant('delete-line' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('duplicate-line' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('swap-lines' as const), at: fc.nat(), with: fc.nat() }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 20 }) }),
);

export type ByteMutation =
  /** XOR of one byte with `bits` (1..255). */
  | { kind: 'flip'; at: number; bits: number }
  /** One byte set to a value decoders treat specially (a varint's continuation bit, a MessagePack type byte). */
  | { kind: 'set'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: number[] }
  /** One byte `count` times: deep nesting (0x91 opens an array of one) or a long run of varint continuations. */
  | { kind: 'repeat'; at: number; value: number; count: number }
  | { kind: 'delete'; at: number; length: number }
  /** `length` bytes copied from `from` over the bytes at `at` (a record of another place, out of its context). */
  | { kind: 'splice'; at: number; from: number; length: number };

/** 0x80 and 0xff continue a varint; 0xc1 is no MessagePack type; 0xdb..0xdf announce a length or a count of 32 bits. */
const SPECIAL_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0xc1, 0xcf, 0xd3, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0x0a, 0x0d, 0x20];

/** 0x91: an array of one (nesting); 0x81: a map of one; 0x80: a varint that goes on; 0x0a: empty lines. */
const REPEATED_BYTES = [0x91, 0x81, 0x80, 0x0a, 0x20];

export function mutateBytes(bytes: Buffer, m: ByteMutation): Buffer {
  const at = m.at % (bytes.length + 1);
  switch (m.kind) {
    case 'flip':
    case 'set': {
      if (bytes.length === 0) return bytes;
      const copy = Buffer.from(bytes);
      const i = m.at % bytes.length;
      copy[i] = m.kind === 'flip' ? copy[i] ^ m.bits : SPECIAL_BYTES[m.value % SPECIAL_BYTES.length];
      return copy;
    }
    case 'truncate':
      return bytes.subarray(0, at);
    case 'insert':
      return Buffer.concat([bytes.subarray(0, at), Buffer.from(m.bytes), bytes.subarray(at)]);
    case 'repeat':
      return Buffer.concat([bytes.subarray(0, at), Buffer.alloc(m.count, REPEATED_BYTES[m.value % REPEATED_BYTES.length]), bytes.subarray(at)]);
    case 'delete':
      return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + m.length)]);
    case 'splice': {
      if (bytes.length === 0) return bytes;
      const from = m.from % bytes.length;
      const copy = Buffer.from(bytes);
      bytes.copy(copy, at, from, from + m.length);
      return copy;
    }
  }
}

export const byteMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bits: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.nat() }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('repeat' as const), at: fc.nat(), value: fc.nat(), count: fc.integer({ min: 2, max: 20_000 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant('splice' as const), at: fc.nat(), from: fc.nat(), length: fc.integer({ min: 1, max: 32 }) }),
);

/**
 * A list of mutations that is empty in `none` cases out of `none + some` (the input as written, a
 * valid one), else 1..maxLength long.
 */
export function someOf<T>(arbitrary: fc.Arbitrary<T>, maxLength: number, none: number, some: number): fc.Arbitrary<T[]> {
  return fc.oneof({ arbitrary: fc.constant<T[]>([]), weight: none }, { arbitrary: fc.array(arbitrary, { minLength: 1, maxLength }), weight: some });
}
