/**
 * A direct MessagePack encoder for trace events, writing into the trace writer's chunk. It emits the
 * same bytes as the msgpackr configuration in codec.ts for what events hold (plain objects as map16,
 * arrays, strings, numbers, booleans, null), so traces and goldens do not depend on which encoder
 * wrote them; a test packs every golden event both ways and compares. It exists for speed: the trace
 * is written for every operation, and msgpackr's general path costs more than the emulation itself.
 */

import { AllocEvent, FreeEvent } from './events.js';

const float = new Float64Array(1);
const floatBytes = new Uint8Array(float.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * An event type's keys, in order, with their encodings: events of one type are built by one object
 * literal, so their keys are compared by identity and copied as bytes instead of encoded each time.
 */
interface Shape {
  keys: string[];
  encodedKeys: Uint8Array[];
}
/** Shapes remembered per event type (alloc events of API-modelling heaps carry three more keys). */
const SHAPES_PER_TYPE = 4;

/** A key as msgpackr writes it: a fixstr (every event key is short ASCII). */
function fixKey(key: string): Uint8Array {
  return Uint8Array.from([0xa0 | key.length, ...Array.from(key, (c) => c.charCodeAt(0))]);
}

/** A typed event's keys, in the order its class declares them, with their encodings. */
interface Fields {
  names: string[];
  keys: Uint8Array[];
}

function fields(sample: object): Fields {
  const names = Object.keys(sample);
  return { names, keys: names.map(fixKey) };
}

/** The typed events' keys, read once from an instance of each: written without looking at the object. */
const ALLOC_FIELDS = fields(new AllocEvent(0, 0, 0, 0, '', '', 0, 0, null, 0, 0));
const FREE_FIELDS = fields(new FreeEvent(0, 0, 0, 0, '', '', null, 0, 0));

/** Thrown when the value does not fit in the space left; the caller flushes and tries again. */
class NoRoom extends Error {}
const NO_ROOM = new NoRoom();

export class EventEncoder {
  private position = 0;
  private end = 0;
  private readonly shapes = new Map<string, Shape[]>();

  constructor(private readonly target: Buffer) {}

  /**
   * Encodes `value` at `start`, using at most up to `end`; returns the position after it, or -1 when
   * it does not fit (nothing useful is left in [start, end) then).
   */
  encode(value: unknown, start: number, end: number): number {
    this.position = start;
    this.end = end;
    try {
      this.pack(value);
    } catch (e) {
      if (e === NO_ROOM) return -1;
      throw e;
    }
    return this.position;
  }

  private room(bytes: number): void {
    if (this.position + bytes > this.end) throw NO_ROOM;
  }

  private pack(value: unknown): void {
    switch (typeof value) {
      case 'number':
        return this.number(value);
      case 'string':
        return this.string(value);
      case 'boolean':
        this.room(1);
        this.target[this.position++] = value ? 0xc3 : 0xc2;
        return;
      case 'object':
        if (value === null) {
          this.room(1);
          this.target[this.position++] = 0xc0;
        } else if (value instanceof AllocEvent) {
          this.typed(value as unknown as Record<string, unknown>, ALLOC_FIELDS);
        } else if (value instanceof FreeEvent) {
          this.typed(value as unknown as Record<string, unknown>, FREE_FIELDS);
        } else if (Array.isArray(value)) {
          this.array(value);
        } else {
          this.map(value as Record<string, unknown>);
        }
        return;
      case 'undefined':
        this.room(3); // msgpackr's undefined: fixext1 type 0
        this.target[this.position++] = 0xd4;
        this.target[this.position++] = 0;
        this.target[this.position++] = 0;
        return;
      default:
        throw new Error(`trace events hold no ${typeof value} values`);
    }
  }

  private number(value: number): void {
    this.room(9);
    const t = this.target;
    let p = this.position;
    if (value >>> 0 === value) {
      if (value < 0x80) {
        t[p++] = value;
      } else if (value < 0x100) {
        t[p++] = 0xcc;
        t[p++] = value;
      } else if (value < 0x10000) {
        t[p++] = 0xcd;
        t[p++] = value >> 8;
        t[p++] = value & 0xff;
      } else {
        t[p++] = 0xce;
        t[p++] = value >>> 24;
        t[p++] = (value >> 16) & 0xff;
        t[p++] = (value >> 8) & 0xff;
        t[p++] = value & 0xff;
      }
    } else if (value >> 0 === value) {
      if (value >= -0x20) {
        t[p++] = 0x100 + value;
      } else if (value >= -0x80) {
        t[p++] = 0xd0;
        t[p++] = value + 0x100;
      } else if (value >= -0x8000) {
        t[p++] = 0xd1;
        t[p++] = (value >> 8) & 0xff;
        t[p++] = value & 0xff;
      } else {
        t[p++] = 0xd2;
        t[p++] = (value >> 24) & 0xff;
        t[p++] = (value >> 16) & 0xff;
        t[p++] = (value >> 8) & 0xff;
        t[p++] = value & 0xff;
      }
    } else {
      // Integers beyond 32 bits and fractions: a big-endian float64, as msgpackr writes them.
      t[p++] = 0xcb;
      float[0] = value;
      for (let i = 0; i < 8; i++) t[p++] = floatBytes[LITTLE_ENDIAN ? 7 - i : i];
    }
    this.position = p;
  }

  private string(value: string): void {
    const chars = value.length;
    // The header's size is guessed from the length in characters and fixed once the bytes are known.
    const guess = chars < 0x20 ? 1 : chars < 0x100 ? 2 : chars < 0x10000 ? 3 : 5;
    this.room(guess + chars * 3);
    const t = this.target;
    const start = this.position + guess;
    let length: number;
    if (chars < 0x40) {
      let p = start;
      for (let i = 0; i < chars; i++) {
        let c = value.charCodeAt(i);
        if (c < 0x80) {
          t[p++] = c;
        } else if (c < 0x800) {
          t[p++] = (c >> 6) | 0xc0;
          t[p++] = (c & 0x3f) | 0x80;
        } else if ((c & 0xfc00) === 0xd800 && (value.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
          c = 0x10000 + ((c & 0x03ff) << 10) + (value.charCodeAt(++i) & 0x03ff);
          t[p++] = (c >> 18) | 0xf0;
          t[p++] = ((c >> 12) & 0x3f) | 0x80;
          t[p++] = ((c >> 6) & 0x3f) | 0x80;
          t[p++] = (c & 0x3f) | 0x80;
        } else {
          t[p++] = (c >> 12) | 0xe0;
          t[p++] = ((c >> 6) & 0x3f) | 0x80;
          t[p++] = (c & 0x3f) | 0x80;
        }
      }
      length = p - start;
    } else {
      length = t.write(value, start, 'utf8');
    }
    const header = length < 0x20 ? 1 : length < 0x100 ? 2 : length < 0x10000 ? 3 : 5;
    if (header !== guess) t.copyWithin(this.position + header, start, start + length);
    let p = this.position;
    if (header === 1) {
      t[p++] = 0xa0 | length;
    } else if (header === 2) {
      t[p++] = 0xd9;
      t[p++] = length;
    } else if (header === 3) {
      t[p++] = 0xda;
      t[p++] = length >> 8;
      t[p++] = length & 0xff;
    } else {
      t[p++] = 0xdb;
      t[p++] = length >>> 24;
      t[p++] = (length >> 16) & 0xff;
      t[p++] = (length >> 8) & 0xff;
      t[p++] = length & 0xff;
    }
    this.position = p + length;
  }

  /** A typed event: its keys are known, only its values are looked at. */
  private typed(e: Record<string, unknown>, f: Fields): void {
    this.header(f.names.length);
    for (let i = 0; i < f.names.length; i++) {
      this.key(f.keys[i]);
      this.pack(e[f.names[i]]);
    }
  }

  /** map16 with its count, as msgpackr writes plain objects. */
  private header(size: number): void {
    this.room(3);
    this.target[this.position++] = 0xde;
    this.target[this.position++] = size >> 8;
    this.target[this.position++] = size & 0xff;
  }

  private key(bytes: Uint8Array): void {
    this.room(bytes.length);
    const t = this.target;
    let p = this.position;
    for (let i = 0; i < bytes.length; i++) t[p++] = bytes[i];
    this.position = p;
  }

  private array(value: unknown[]): void {
    const length = value.length;
    this.room(5);
    const t = this.target;
    if (length < 0x10) {
      t[this.position++] = 0x90 | length;
    } else if (length < 0x10000) {
      t[this.position++] = 0xdc;
      t[this.position++] = length >> 8;
      t[this.position++] = length & 0xff;
    } else {
      t[this.position++] = 0xdd;
      t[this.position++] = length >>> 24;
      t[this.position++] = (length >> 16) & 0xff;
      t[this.position++] = (length >> 8) & 0xff;
      t[this.position++] = length & 0xff;
    }
    for (let i = 0; i < length; i++) this.pack(value[i]);
  }

  /** Plain objects: always map16 with the count written after the keys, as msgpackr does without records. */
  private map(value: Record<string, unknown>): void {
    this.room(3);
    const at = this.position;
    this.target[at] = 0xde;
    this.position += 3;
    const type = value.type;
    const size = typeof type === 'string' ? this.typedFields(value, type) : this.fields(value);
    this.target[at + 1] = size >> 8;
    this.target[at + 2] = size & 0xff;
  }

  private fields(value: Record<string, unknown>): number {
    let size = 0;
    for (const key in value) {
      this.string(key);
      this.pack(value[key]);
      size++;
    }
    return size;
  }

  /** An event: its keys copied from the shape of earlier events of its type, when they match. */
  private typedFields(value: Record<string, unknown>, type: string): number {
    let shapes = this.shapes.get(type);
    if (!shapes) this.shapes.set(type, (shapes = []));
    const start = this.position;
    for (const shape of shapes) {
      const size = this.shapedFields(value, shape);
      if (size >= 0) return size;
      this.position = start;
    }
    if (shapes.length < SHAPES_PER_TYPE) shapes.push(this.learn(value, start));
    this.position = start;
    return this.fields(value);
  }

  /** Writes the fields if `value` has exactly the shape's keys in order; else -1. */
  private shapedFields(value: Record<string, unknown>, shape: Shape): number {
    const { keys, encodedKeys } = shape;
    const t = this.target;
    let i = 0;
    for (const key in value) {
      if (key !== keys[i]) return -1;
      const bytes = encodedKeys[i++];
      this.room(bytes.length);
      let p = this.position;
      for (let k = 0; k < bytes.length; k++) t[p++] = bytes[k];
      this.position = p;
      this.pack(value[key]);
    }
    return i === keys.length ? i : -1;
  }

  /** Encodes the keys of `value` once, at `start` (overwritten afterwards), to remember its shape. */
  private learn(value: Record<string, unknown>, start: number): Shape {
    const keys: string[] = [];
    const encodedKeys: Uint8Array[] = [];
    for (const key in value) {
      this.position = start;
      this.string(key);
      keys.push(key);
      encodedKeys.push(new Uint8Array(this.target.subarray(start, this.position))); // a copy: Buffer slices share memory
    }
    this.position = start;
    return { keys, encodedKeys };
  }
}
