/**
 * Events to records and back, as schema.ts declares them. A record is
 *
 *   tag * 2 + (1 if optional fields are present) (varint) · op - previous op (varint) ·
 *   cycle - previous cycle (varint) · [presence bits (varint), if flagged] · the present fields, in order
 *
 * and its seq is its position in the stream. Both sides keep the same state (the previous op and
 * cycle, the registers, the intern ring), so the encoder and the decoder below mirror each other
 * field coding by field coding.
 */
import { ByteReader, ByteWriter } from './bytes.js';
import { packValue, unpackValue } from './msgpack.js';
import { EVENTS, RING_SLOTS, SPEC_BY_TYPE, TRACE_FORMAT, TRACE_MAGIC, TRACE_VERSION, type Coding, type EventSpec, type FieldSpec, type Register, type TraceEvent, type TraceHeader } from './schema.js';

/** A field, resolved once from the schema: its register as an index. */
interface Field {
  name: string;
  coding: Coding;
  register: number;
  optional: boolean;
}

interface Layout {
  spec: EventSpec;
  fields: Field[];
  /** The optional fields' names, in presence-bit order. */
  optional: string[];
}

const REGISTER_INDEX: Record<Register, number> = { line: 0, log_line: 1, addr: 2 };

function layout(spec: EventSpec): Layout {
  const fields = spec.fields.map((f: FieldSpec) => ({ name: f.name, coding: f.coding, register: f.register ? REGISTER_INDEX[f.register] : -1, optional: f.optional === true }));
  const optional = fields.filter((f) => f.optional).map((f) => f.name);
  if (optional.length > 30) throw new Error(`${spec.type}: presence bits hold at most 30 optional fields`);
  return { spec, fields, optional };
}

const BY_TYPE = new Map([...SPEC_BY_TYPE].map(([type, spec]) => [type, layout(spec)]));
const BY_TAG: (Layout | undefined)[] = [];
for (const spec of EVENTS) BY_TAG[spec.tag] = BY_TYPE.get(spec.type);

export class RecordEncoder {
  private op = 0;
  private cycle = 0;
  private readonly registers = [0, 0, 0];
  /** Each interned string's slot, and each slot's string (to forget it when the slot is reused). */
  private readonly slots = new Map<string, number>();
  private readonly ring: (string | undefined)[] = new Array(RING_SLOTS);
  private next = 0;

  constructor(readonly out: ByteWriter) {}

  event(type: string, op: number, cycle: number, fields: Record<string, unknown>): void {
    const l = BY_TYPE.get(type);
    if (!l) throw new Error(`the trace schema has no event type '${type}'`);
    let present = 0;
    for (let i = 0, bit = 1; i < l.optional.length; i++, bit <<= 1) if (fields[l.optional[i]] !== undefined) present |= bit;
    const w = this.out;
    w.varint(l.spec.tag * 2 + (present === 0 ? 0 : 1));
    w.varint(this.advance(op - this.op, 'op', type));
    w.varint(this.advance(cycle - this.cycle, 'cycle', type));
    if (present !== 0) w.varint(present);
    this.op = op;
    this.cycle = cycle;
    for (const f of l.fields) {
      const v = fields[f.name];
      if (v === undefined) {
        if (f.optional) continue;
        throw new Error(`${type} event without its ${f.name} field`);
      }
      this.field(f, v, type);
    }
  }

  private advance(delta: number, what: string, type: string): number {
    if (!(delta >= 0)) throw new Error(`${type} event: ${what} went back by ${-delta}`);
    return delta;
  }

  private field(f: Field, v: unknown, type: string): void {
    const w = this.out;
    switch (f.coding) {
      case 'uint':
        return w.varint(this.integer(v, f, type, 0));
      case 'uint?':
        return w.varint(v === null ? 0 : this.integer(v, f, type, 0) + 1);
      case 'int':
        return w.zigzag(this.integer(v, f, type, -Number.MAX_SAFE_INTEGER));
      case 'int?':
        return v === null ? w.varint(0) : w.varint(zigzag(this.integer(v, f, type, -Number.MAX_SAFE_INTEGER)) + 1);
      case 'delta': {
        const n = this.integer(v, f, type, -Number.MAX_SAFE_INTEGER);
        w.zigzag(n - this.registers[f.register]);
        this.registers[f.register] = n;
        return;
      }
      case 'delta?': {
        if (v === null) return w.varint(0);
        const n = this.integer(v, f, type, -Number.MAX_SAFE_INTEGER);
        w.varint(zigzag(n - this.registers[f.register]) + 1);
        this.registers[f.register] = n;
        return;
      }
      case 'name?':
        if (v === null) return w.varint(0);
        if (typeof v !== 'string') throw new Error(`${type} event: ${f.name} is not a string or null`);
        return this.name(v);
      case 'text':
        if (typeof v !== 'string') throw new Error(`${type} event: ${f.name} is not a string`);
        return w.text(v);
      case 'bool':
        if (typeof v !== 'boolean') throw new Error(`${type} event: ${f.name} is not a boolean`);
        return w.byte(v ? 1 : 0);
      case 'value':
        return packValue(w, v);
    }
  }

  private integer(v: unknown, f: Field, type: string, min: number): number {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw new Error(`${type} event: ${f.name} = ${String(v)} is not an integer the schema's ${f.coding} holds`);
    return v;
  }

  private name(s: string): void {
    const slot = this.slots.get(s);
    if (slot !== undefined) return this.out.varint(slot + 2);
    this.out.varint(1);
    this.out.text(s);
    const old = this.ring[this.next];
    if (old !== undefined) this.slots.delete(old);
    this.ring[this.next] = s;
    this.slots.set(s, this.next);
    this.next = (this.next + 1) % RING_SLOTS;
  }
}

function zigzag(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1;
}

export class RecordDecoder {
  private seq = 0;
  private op = 0;
  private cycle = 0;
  private readonly registers = [0, 0, 0];
  private readonly ring: (string | undefined)[] = new Array(RING_SLOTS);
  private next = 0;
  /** The state before the record being read, to read it again when the bytes ran out inside it. */
  private readonly saved = { seq: 0, op: 0, cycle: 0, next: 0, registers: [0, 0, 0] };
  /** Ring slots written since then, with what they held. */
  private readonly replaced: [number, string | undefined][] = [];

  constructor(readonly input: ByteReader) {}

  /** The next event; throws NEED_MORE (state unchanged once rewind() is called) when the bytes end inside it. */
  event(): TraceEvent {
    const r = this.input;
    this.save();
    const tagged = r.varint();
    const l = BY_TAG[tagged >>> 1];
    if (!l) throw new Error(`unknown event tag ${tagged >>> 1}`);
    this.op += r.varint();
    this.cycle += r.varint();
    const event: TraceEvent = { seq: this.seq, op: this.op, cycle: this.cycle, type: l.spec.type };
    let present = (tagged & 1) === 1 ? r.varint() : 0;
    for (const f of l.fields) {
      if (f.optional) {
        const here = (present & 1) === 1;
        present >>>= 1;
        if (!here) continue;
      }
      event[f.name] = this.field(f);
    }
    this.seq++;
    return event;
  }

  private save(): void {
    const s = this.saved;
    s.seq = this.seq;
    s.op = this.op;
    s.cycle = this.cycle;
    s.next = this.next;
    for (let i = 0; i < this.registers.length; i++) s.registers[i] = this.registers[i];
    this.replaced.length = 0;
  }

  /** Back to the state before the last event() began. */
  rewind(): void {
    const s = this.saved;
    [this.seq, this.op, this.cycle, this.next] = [s.seq, s.op, s.cycle, s.next];
    for (let i = 0; i < this.registers.length; i++) this.registers[i] = s.registers[i];
    for (let i = this.replaced.length - 1; i >= 0; i--) this.ring[this.replaced[i][0]] = this.replaced[i][1];
  }

  private field(f: Field): unknown {
    const r = this.input;
    switch (f.coding) {
      case 'uint':
        return r.varint();
      case 'uint?': {
        const n = r.varint();
        return n === 0 ? null : n - 1;
      }
      case 'int':
        return r.zigzag();
      case 'int?': {
        const n = r.varint();
        return n === 0 ? null : unzigzag(n - 1);
      }
      case 'delta':
        return (this.registers[f.register] += r.zigzag());
      case 'delta?': {
        const n = r.varint();
        return n === 0 ? null : (this.registers[f.register] += unzigzag(n - 1));
      }
      case 'name?':
        return this.name();
      case 'text':
        return r.text();
      case 'bool':
        return r.byte() !== 0;
      case 'value':
        return unpackValue(r);
    }
  }

  private name(): string | null {
    const ref = this.input.varint();
    if (ref === 0) return null;
    if (ref >= 2) {
      const s = this.ring[ref - 2];
      if (s === undefined) throw new Error(`a reference to empty intern slot ${ref - 2}`);
      return s;
    }
    const s = this.input.text();
    this.replaced.push([this.next, this.ring[this.next]]);
    this.ring[this.next] = s;
    this.next = (this.next + 1) % RING_SLOTS;
    return s;
  }
}

function unzigzag(z: number): number {
  return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
}

/**
 * The file's start: TRACE_MAGIC in ASCII, the format version (varint), the header's length in bytes
 * (varint) and the header as one MessagePack map. Returns nothing: the records follow.
 */
export function writeHeader(w: ByteWriter, header: TraceHeader): void {
  const packed = new ByteWriter(256);
  packValue(packed, header);
  w.ensure(TRACE_MAGIC.length);
  w.pos += w.buf.write(TRACE_MAGIC, w.pos, 'latin1');
  w.varint(TRACE_VERSION);
  w.varint(packed.pos);
  w.ensure(packed.pos);
  packed.buf.copy(w.buf, w.pos, 0, packed.pos);
  w.pos += packed.pos;
}

/** Reads what writeHeader wrote; the reader is left at the first record. */
export function readHeader(r: ByteReader): TraceHeader {
  const magic = r.buf.toString('latin1', r.take(TRACE_MAGIC.length), r.pos);
  if (magic !== TRACE_MAGIC) {
    const v1 = r.buf[0] === 0xde; // version 1 began with the header as a MessagePack map16
    throw new TraceFormatError(v1 ? `a version 1 trace (MessagePack maps); this emu reads version ${TRACE_VERSION}: record it again (emu run SCENARIO --update for a golden)` : 'not an emu trace (it does not begin with EMUTRACE)');
  }
  const version = r.varint();
  if (version !== TRACE_VERSION) throw new TraceFormatError(`trace format version ${version}; this emu reads version ${TRACE_VERSION}`);
  const length = r.varint();
  const end = r.pos + length;
  const header = unpackValue(r) as TraceHeader;
  if (r.pos !== end || header === null || typeof header !== 'object' || header.format !== TRACE_FORMAT) throw new TraceFormatError('the trace header is damaged');
  return header;
}

/** A trace emu cannot read, with the reason for the user. */
export class TraceFormatError extends Error {}
