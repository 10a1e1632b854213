/**
 * The MessagePack subset of `value` fields and the header: nil, booleans, integers (the shortest
 * form; beyond 32 bits uint64/int64), float64 for fractions, UTF-8 strings, arrays and maps with
 * string keys (in the object's key order). emu writes these bytes itself, so a trace does not depend
 * on a library's version; the tests check them against msgpackr.
 */
import { ByteReader, ByteWriter } from './bytes.js';

const TWO_32 = 2 ** 32;

export function packValue(w: ByteWriter, value: unknown): void {
  switch (typeof value) {
    case 'number':
      return packNumber(w, value);
    case 'string':
      return packString(w, value);
    case 'boolean':
      return w.byte(value ? 0xc3 : 0xc2);
    case 'object':
      if (value === null) return w.byte(0xc0);
      if (Array.isArray(value)) {
        header(w, value.length, 0x90, 0xdc);
        for (const item of value) packValue(w, item);
        return;
      }
      return packMap(w, value as Record<string, unknown>);
    default:
      throw new Error(`a trace value cannot hold ${typeof value}`);
  }
}

function packMap(w: ByteWriter, value: Record<string, unknown>): void {
  const keys = Object.keys(value).filter((k) => value[k] !== undefined);
  header(w, keys.length, 0x80, 0xde);
  for (const key of keys) {
    packString(w, key);
    packValue(w, value[key]);
  }
}

/** fix-form (under 16 entries), 16-bit or 32-bit count. */
function header(w: ByteWriter, count: number, fix: number, sixteen: number): void {
  if (count < 16) return w.byte(fix | count);
  if (count < 0x10000) {
    w.byte(sixteen);
    return w.u16(count);
  }
  w.byte(sixteen + 1);
  w.u32(count);
}

function packNumber(w: ByteWriter, v: number): void {
  if (!Number.isInteger(v) || !Number.isSafeInteger(v)) {
    w.byte(0xcb);
    return w.f64(v);
  }
  if (v >= 0) {
    if (v < 0x80) return w.byte(v);
    if (v < 0x100) return (w.byte(0xcc), w.byte(v));
    if (v < 0x10000) return (w.byte(0xcd), w.u16(v));
    if (v < TWO_32) return (w.byte(0xce), w.u32(v));
    w.byte(0xcf);
  } else {
    if (v >= -0x20) return w.byte(0x100 + v);
    if (v >= -0x80) return (w.byte(0xd0), w.byte(v + 0x100));
    if (v >= -0x8000) return (w.byte(0xd1), w.u16(v + 0x10000));
    if (v >= -(2 ** 31)) return (w.byte(0xd2), w.u32(v + TWO_32));
    w.byte(0xd3);
  }
  // 64-bit: high word (two's complement for negatives) then low word.
  const high = Math.floor(v / TWO_32);
  w.u32(high < 0 ? high + TWO_32 : high);
  w.u32(v - high * TWO_32);
}

function packString(w: ByteWriter, value: string): void {
  const length = Buffer.byteLength(value, 'utf8');
  if (length < 0x20) w.byte(0xa0 | length);
  else if (length < 0x100) (w.byte(0xd9), w.byte(length));
  else if (length < 0x10000) (w.byte(0xda), w.u16(length));
  else (w.byte(0xdb), w.u32(length));
  w.ensure(length);
  w.pos += w.buf.write(value, w.pos, 'utf8');
}

/**
 * Arrays and maps nest at most this deep. emu writes a few levels (a summary's heaps, their metrics);
 * deeper is damage, refused before the stack runs out: where it ran out depended on the stack the
 * caller had left, so `emu inspect` and `emu diff` told the same damaged trace apart.
 */
export const MAX_NESTING = 64;

/**
 * Reads one value (inside `depth` arrays and maps); throws NEED_MORE when the bytes end first, and an
 * Error on what emu never writes.
 */
export function unpackValue(r: ByteReader, depth = 0): unknown {
  const b = r.byte();
  if (b < 0x80) return b;
  if (b >= 0xe0) return b - 0x100;
  if (b < 0x90) return unpackMap(r, b & 0x0f, depth);
  if (b < 0xa0) return unpackArray(r, b & 0x0f, depth);
  if (b < 0xc0) return r.utf8(b & 0x1f);
  const buf = r.buf;
  switch (b) {
    case 0xc0:
      return null;
    case 0xc2:
      return false;
    case 0xc3:
      return true;
    case 0xca:
      return buf.readFloatBE(r.take(4));
    case 0xcb:
      return buf.readDoubleBE(r.take(8));
    case 0xcc:
      return r.byte();
    case 0xcd:
      return buf.readUInt16BE(r.take(2));
    case 0xce:
      return buf.readUInt32BE(r.take(4));
    case 0xcf: {
      const at = r.take(8);
      return buf.readUInt32BE(at) * TWO_32 + buf.readUInt32BE(at + 4);
    }
    case 0xd0:
      return buf.readInt8(r.take(1));
    case 0xd1:
      return buf.readInt16BE(r.take(2));
    case 0xd2:
      return buf.readInt32BE(r.take(4));
    case 0xd3: {
      const at = r.take(8);
      return buf.readInt32BE(at) * TWO_32 + buf.readUInt32BE(at + 4);
    }
    case 0xd9:
      return r.utf8(r.byte());
    case 0xda:
      return r.utf8(buf.readUInt16BE(r.take(2)));
    case 0xdb:
      return r.utf8(buf.readUInt32BE(r.take(4)));
    case 0xdc:
      return unpackArray(r, buf.readUInt16BE(r.take(2)), depth);
    case 0xdd:
      return unpackArray(r, buf.readUInt32BE(r.take(4)), depth);
    case 0xde:
      return unpackMap(r, buf.readUInt16BE(r.take(2)), depth);
    case 0xdf:
      return unpackMap(r, buf.readUInt32BE(r.take(4)), depth);
    default:
      throw new Error(`MessagePack byte 0x${b.toString(16)} is not in the trace's subset`);
  }
}

function unpackArray(r: ByteReader, count: number, depth: number): unknown[] {
  nest(depth);
  const items: unknown[] = [];
  for (let i = 0; i < count; i++) items.push(unpackValue(r, depth + 1));
  return items;
}

function unpackMap(r: ByteReader, count: number, depth: number): Record<string, unknown> {
  nest(depth);
  const map: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) {
    const key = unpackValue(r, depth + 1);
    if (typeof key !== 'string') throw new Error('a map key that is not a string');
    // Defined, not assigned: a key named __proto__ is data here.
    Object.defineProperty(map, key, { value: unpackValue(r, depth + 1), enumerable: true, writable: true, configurable: true });
  }
  return map;
}

/** Refuses an array or map inside MAX_NESTING others. */
function nest(depth: number): void {
  if (depth >= MAX_NESTING) throw new Error(`MessagePack arrays and maps nested deeper than ${MAX_NESTING}`);
}
