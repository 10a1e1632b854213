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
import { InternRing } from './intern.js';
import { packValue, unpackValue } from './msgpack.js';
import { EVENTS, REGISTERS, RING_SLOTS, SPEC_BY_TYPE, TRACE_FORMAT, TRACE_MAGIC, TRACE_VERSION, type Coding, type EventSpec, type FieldSpec, type Register, type TraceEvent, type TraceHeader } from './schema.js';

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

/** Each register's place in the registers arrays below, in schema order. */
const REGISTER_INDEX = Object.fromEntries(REGISTERS.map((r, i) => [r, i])) as Record<Register, number>;

function layout(spec: EventSpec): Layout {
  const fields = spec.fields.map((f: FieldSpec) => ({ name: f.name, coding: f.coding, register: f.register ? REGISTER_INDEX[f.register] : -1, optional: f.optional === true }));
  const optional = fields.filter((f) => f.optional).map((f) => f.name);
  if (optional.length > 30) throw new Error(`${spec.type}: presence bits hold at most 30 optional fields`);
  return { spec, fields, optional };
}

const BY_TYPE = new Map([...SPEC_BY_TYPE].map(([type, spec]) => [type, layout(spec)]));
const BY_TAG: (Layout | undefined)[] = [];
for (const spec of EVENTS) BY_TAG[spec.tag] = BY_TYPE.get(spec.type);

/**
 * A type's encoder, generated once from its layout: it reads the fields by their names (so each
 * property load sees one object shape) and writes them in schema order. Integer codings are written
 * inline into the buffer (the record's room is made once, by start()); strings and values go through
 * the encoder's methods, which make their own room.
 */
type Encode = (enc: RecordEncoder, op: number, cycle: number, fields: Record<string, unknown>) => void;

const METHOD: Partial<Record<Coding, string>> = { 'name?': 'name', text: 'text', bool: 'bool', value: 'value' };

/** Code that writes `u` (an unsigned integer below 2^53) as a varint at buf[p]. */
const PUT_U = 'while (u >= 0x80) { buf[p++] = (u & 0x7f) | 0x80; u = u < 0x100000000 ? u >>> 7 : Math.floor(u / 128); } buf[p++] = u;';

/**
 * Code that leaves field `i`'s varint in `u`, from its value `v`, for each integer coding; a nullable
 * coding writes 0 for null and the value's varint + 1 otherwise.
 */
function integerCode(coding: Coding, i: number, register: number): string | null {
  const safe = `if (typeof v !== 'number' || !Number.isSafeInteger(v)) enc.refuseInteger(${i}, v);`;
  const zigzag = (n: string) => `(${n} >= 0 ? ${n} * 2 : -${n} * 2 - 1)`;
  const nullable = (code: string) => `if (v === null) u = 0; else { ${code} u++; }`;
  switch (coding) {
    case 'uint':
    case 'uint?': {
      const code = `${safe} if (v < 0) enc.refuseInteger(${i}, v); u = v;`;
      return coding === 'uint' ? code : nullable(code);
    }
    case 'int':
    case 'int?': {
      const code = `${safe} u = ${zigzag('v')};`;
      return coding === 'int' ? code : nullable(code);
    }
    case 'delta':
    case 'delta?': {
      const code = `${safe} d = v - reg[${register}]; reg[${register}] = v; u = ${zigzag('d')};`;
      return coding === 'delta' ? code : nullable(code);
    }
    default:
      return null;
  }
}

function compile(l: Layout): Encode {
  const body: string[] = ['let present = 0;'];
  l.optional.forEach((name, bit) => body.push(`if (f.${name} !== undefined) present |= ${1 << bit};`));
  body.push(`enc.start(${l.spec.tag}, present, op, cycle, ${JSON.stringify(l.spec.type)});`);
  body.push('const out = enc.out, reg = enc.registers; let buf = out.buf, p = out.pos, v, u, d;');
  l.fields.forEach((field, i) => {
    if (!/^[a-z_]+$/.test(field.name)) throw new Error(`schema field name '${field.name}'`);
    const integer = integerCode(field.coding, i, field.register);
    const code = integer !== null ? `v = f.${field.name}; ${integer} ${PUT_U}` : `out.pos = p; enc.${METHOD[field.coding]}(f.${field.name}, ${i}); buf = out.buf; p = out.pos;`;
    body.push(field.optional ? `if (f.${field.name} !== undefined) { ${code} }` : code);
  });
  body.push('out.pos = p;');
  return new Function('enc', 'op', 'cycle', 'f', body.join('\n')) as Encode;
}

/** Bytes a record's head and integer fields can take: 8 a varint (values below 2^53), 4 head varints, at most 16 fields. */
const RECORD_ROOM = 8 * (4 + 16);
for (const l of BY_TYPE.values()) if (l.fields.length > 16) throw new Error(`${l.spec.type}: more fields than RECORD_ROOM holds`);

const ENCODERS = new Map([...BY_TYPE].map(([type, l]) => [type, compile(l)]));

export class RecordEncoder {
  private op = 0;
  private cycle = 0;
  /** The delta registers, by index (read and written by the generated encoders). */
  readonly registers = REGISTERS.map(() => 0);
  private readonly ring = new InternRing();
  /** The type being written, for messages. */
  private type = '';

  constructor(readonly out: ByteWriter) {}

  event(type: string, op: number, cycle: number, fields: Record<string, unknown>): void {
    const encode = ENCODERS.get(type);
    if (!encode) throw new Error(`the trace schema has no event type '${type}'`);
    encode(this, op, cycle, fields);
  }

  /** The record's head: tag, op and cycle deltas, presence bits. */
  start(tag: number, present: number, op: number, cycle: number, type: string): void {
    this.type = type;
    if (!(op >= this.op)) throw new Error(`${type} event: op went back by ${this.op - op}`);
    if (!(cycle >= this.cycle)) throw new Error(`${type} event: cycle went back by ${this.cycle - cycle}`);
    const w = this.out;
    // Room for the head and every integer field; strings and values make their own.
    w.ensure(RECORD_ROOM);
    w.put(tag * 2 + (present === 0 ? 0 : 1));
    w.put(op - this.op);
    w.put(cycle - this.cycle);
    if (present !== 0) w.put(present);
    this.op = op;
    this.cycle = cycle;
  }

  name(v: unknown, field: number): void {
    if (v === null) return this.out.varint(0);
    if (typeof v !== 'string') throw this.refused(field, 'is not a string or null', v);
    const slot = this.ring.intern(v, field);
    if (slot >= 0) return this.out.put(slot + 2);
    this.out.varint(1);
    this.out.text(v);
    this.out.ensure(RECORD_ROOM); // the integer fields after it write unchecked
  }

  text(v: unknown, field: number): void {
    if (typeof v !== 'string') throw this.refused(field, 'is not a string', v);
    this.out.text(v);
    this.out.ensure(RECORD_ROOM);
  }

  bool(v: unknown, field: number): void {
    if (typeof v !== 'boolean') throw this.refused(field, 'is not a boolean', v);
    this.out.buf[this.out.pos++] = v ? 1 : 0;
  }

  value(v: unknown, field: number): void {
    if (v === undefined) throw this.refused(field, 'is missing', v);
    packValue(this.out, v);
    this.out.ensure(RECORD_ROOM);
  }

  /** For the generated encoders: field `field`'s value is not an integer its coding holds. */
  refuseInteger(field: number, v: unknown): never {
    throw this.refused(field, `is not an integer the schema's ${BY_TYPE.get(this.type)!.fields[field].coding} holds`, v);
  }

  private refused(field: number, what: string, v: unknown): Error {
    const name = BY_TYPE.get(this.type)!.fields[field].name;
    return new Error(v === undefined ? `${this.type} event without its ${name} field` : `${this.type} event: ${name} = ${String(v)} ${what}`);
  }
}

export class RecordDecoder {
  private seq = 0;
  private op = 0;
  private cycle = 0;
  private readonly registers = REGISTERS.map(() => 0);
  private readonly ring: (string | undefined)[] = new Array(RING_SLOTS);
  private next = 0;
  /** The state before the record being read, to read it again when the bytes ran out inside it. */
  private readonly saved = { seq: 0, op: 0, cycle: 0, next: 0, registers: REGISTERS.map(() => 0) };
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
