/**
 * Bytes in and out: the varints, zigzag integers and UTF-8 strings traces are made of. The writer
 * grows its buffer when a value does not fit (rare: a record is tens of bytes); the reader throws
 * NEED_MORE when it runs out, so that a streaming caller can load more and decode the record again.
 */

/** Thrown by ByteReader at the end of its bytes. */
export const NEED_MORE = new Error('the trace ends inside a record');

const TWO_32 = 2 ** 32;

export class ByteWriter {
  buf: Buffer;
  pos = 0;

  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  /** Makes room for `bytes` more. */
  ensure(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + bytes));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  /** LEB128: seven bits a byte, low bits first, the high bit set on every byte but the last. */
  varint(value: number): void {
    this.ensure(8);
    this.put(value);
  }

  /** varint() where the caller has made room already (at most 8 bytes for values below 2^53). */
  put(value: number): void {
    const buf = this.buf;
    let p = this.pos;
    let v = value;
    while (v >= 0x80) {
      buf[p++] = (v & 0x7f) | 0x80;
      v = v < TWO_32 ? v >>> 7 : Math.floor(v / 128);
    }
    buf[p++] = v;
    this.pos = p;
  }

  /** A string as its UTF-8 byte length (varint) and bytes. */
  text(value: string): void {
    const n = value.length;
    if (n < 0x80) {
      // Short ASCII, the common case, written without measuring first.
      this.ensure(n + 1);
      const buf = this.buf;
      let p = this.pos + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = value.charCodeAt(i);
        if (c >= 0x80) break;
        buf[p++] = c;
      }
      if (i === n) {
        buf[this.pos] = n;
        this.pos = p;
        return;
      }
    }
    const length = Buffer.byteLength(value, 'utf8');
    this.varint(length);
    this.ensure(length);
    this.pos += this.buf.write(value, this.pos, 'utf8');
  }

  /** Big-endian fixed-width writes, for MessagePack. */
  u16(v: number): void {
    this.ensure(2);
    this.pos = this.buf.writeUInt16BE(v, this.pos);
  }

  u32(v: number): void {
    this.ensure(4);
    this.pos = this.buf.writeUInt32BE(v >>> 0, this.pos);
  }

  f64(v: number): void {
    this.ensure(8);
    this.pos = this.buf.writeDoubleBE(v, this.pos);
  }
}

export class ByteReader {
  buf: Buffer = Buffer.alloc(0);
  pos = 0;
  end = 0;

  byte(): number {
    if (this.pos >= this.end) throw NEED_MORE;
    return this.buf[this.pos++];
  }

  varint(): number {
    let b = this.byte();
    if (b < 0x80) return b;
    let value = b & 0x7f;
    for (let scale = 0x80; ; scale *= 0x80) {
      b = this.byte();
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      if (scale > 2 ** 45) throw new Error('a varint longer than 53 bits');
    }
  }

  zigzag(): number {
    const z = this.varint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  text(): string {
    return this.utf8(this.varint());
  }

  utf8(length: number): string {
    const from = this.pos;
    if (from + length > this.end) throw NEED_MORE;
    this.pos = from + length;
    return this.buf.toString('utf8', from, from + length);
  }

  take(bytes: number): number {
    if (this.pos + bytes > this.end) throw NEED_MORE;
    const at = this.pos;
    this.pos += bytes;
    return at;
  }
}
