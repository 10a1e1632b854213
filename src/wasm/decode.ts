/**
 * A small reader of WebAssembly binaries: what emu needs and Binaryen does not give, the byte
 * offset of every memory instruction in the module (as `wasm-objdump` and browsers print them),
 * plus the signatures, imports, exports, memory, data segments and function names that a scenario
 * is checked against. It reads the MVP with bulk memory, sign extension, saturating conversions,
 * reference types, multi-value and tail calls; SIMD, threads (atomics), GC, memory64 and several
 * memories are refused with a message, as emu cannot rebase or model them.
 */

export class WasmFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WasmFormatError';
  }
}

export type ValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128' | 'funcref' | 'externref';

export interface FuncType {
  params: ValType[];
  results: ValType[];
}

/** A memory instruction: where it is in the module, what it is, and its immediates. */
export interface MemOp {
  /** Byte offset of the opcode from the start of the module. */
  at: number;
  /** The instruction's text name: i32.load8_u, memory.grow, memory.fill, ... */
  op: string;
  /** Loads and stores: the static offset and the alignment (in bytes, from the log2 immediate). */
  offset: number;
  align: number;
  /** Bytes a load or store moves (0 for the others). */
  bytes: number;
  store: boolean;
}

export interface FunctionInfo {
  /** The function index (imports first, as the binary numbers them). */
  index: number;
  name: string;
  type: FuncType;
  /** Byte offsets of the body (after its size) and its end. */
  start: number;
  end: number;
  memOps: MemOp[];
}

export interface MemoryInfo {
  imported: { module: string; name: string } | null;
  initial: number;
  maximum: number | null;
  shared: boolean;
}

export interface DataSegment {
  index: number;
  passive: boolean;
  /** An active segment's offset: a constant (where the i32.const sits), or an expression emu does not rebase. */
  offset: { value: number; at: number } | { global: number; at: number } | null;
  size: number;
}

export interface WasmInfo {
  types: FuncType[];
  imports: { module: string; name: string; kind: 'func' | 'table' | 'memory' | 'global' | 'tag'; type: FuncType | null }[];
  /** Every function, imported ones first (with no body: start = end = 0, no memOps). */
  functions: FunctionInfo[];
  importedFunctions: number;
  memory: MemoryInfo | null;
  exports: { name: string; kind: 'func' | 'table' | 'memory' | 'global' | 'tag'; index: number }[];
  data: DataSegment[];
  /** Code section bytes: for the bench's figure (time per MB of code). */
  codeBytes: number;
}

const KINDS = ['func', 'table', 'memory', 'global', 'tag'] as const;

const VALTYPES: Record<number, ValType> = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x7b: 'v128', 0x70: 'funcref', 0x6f: 'externref' };

/** Loads and stores, opcode 0x28 + i: name and bytes moved. */
const MEMORY_OPS: [string, number][] = [
  ['i32.load', 4], ['i64.load', 8], ['f32.load', 4], ['f64.load', 8],
  ['i32.load8_s', 1], ['i32.load8_u', 1], ['i32.load16_s', 2], ['i32.load16_u', 2],
  ['i64.load8_s', 1], ['i64.load8_u', 1], ['i64.load16_s', 2], ['i64.load16_u', 2], ['i64.load32_s', 4], ['i64.load32_u', 4],
  ['i32.store', 4], ['i64.store', 8], ['f32.store', 4], ['f64.store', 8],
  ['i32.store8', 1], ['i32.store16', 2], ['i64.store8', 1], ['i64.store16', 2], ['i64.store32', 4],
];

class Reader {
  pos: number;
  constructor(
    readonly bytes: Uint8Array,
    start = 0,
    readonly limit = bytes.length,
  ) {
    this.pos = start;
  }

  fail(message: string, at = this.pos): never {
    throw new WasmFormatError(`${message} (at byte ${at}, 0x${at.toString(16)})`);
  }

  byte(): number {
    if (this.pos >= this.limit) this.fail('unexpected end of the module');
    return this.bytes[this.pos++];
  }

  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) break;
      shift += 7;
      if (shift > 35) this.fail('LEB128 number too long');
    }
    if (result > 0xffffffff) this.fail('LEB128 number beyond 32 bits');
    return result;
  }

  /** A signed LEB128 of up to `bits` bits, as a number (exact to 2^53; i64 constants are only skipped). */
  sleb(bits: number): number {
    let result = 0;
    let shift = 0;
    let b: number;
    do {
      b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (shift > bits + 7) this.fail('LEB128 number too long');
    } while (b & 0x80);
    if (shift < 64 && b & 0x40) result -= 2 ** shift;
    return result;
  }

  skip(n: number): void {
    if (this.pos + n > this.limit) this.fail('unexpected end of the module');
    this.pos += n;
  }

  name(): string {
    const len = this.u32();
    const start = this.pos;
    this.skip(len);
    return new TextDecoder('utf-8', { fatal: false }).decode(this.bytes.subarray(start, start + len));
  }

  valtype(): ValType {
    const at = this.pos;
    const b = this.byte();
    const t = VALTYPES[b];
    if (!t) this.fail(`value type 0x${b.toString(16)} is not supported (GC and typed references are not)`, at);
    return t;
  }

  limits(what: string): { initial: number; maximum: number | null; shared: boolean } {
    const at = this.pos;
    const flags = this.byte();
    if (flags > 3) this.fail(`${what}: limits flag 0x${flags.toString(16)} (memory64 is not supported)`, at);
    const initial = this.u32();
    const maximum = flags & 1 ? this.u32() : null;
    return { initial, maximum, shared: (flags & 2) !== 0 };
  }
}

/** Reads a module; throws WasmFormatError for what is not WebAssembly or what emu does not support. */
export function decodeModule(bytes: Uint8Array): WasmInfo {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new WasmFormatError('not a WebAssembly module: it does not start with the magic bytes \\0asm');
  }
  const version = bytes[4] | (bytes[5] << 8) | (bytes[6] << 16) | (bytes[7] << 24);
  if (version !== 1) throw new WasmFormatError(`WebAssembly binary version ${version} (emu reads version 1)`);
  const r = new Reader(bytes, 8);
  const info: WasmInfo = { types: [], imports: [], functions: [], importedFunctions: 0, memory: null, exports: [], data: [], codeBytes: 0 };
  const funcTypes: number[] = [];
  const names = new Map<number, string>();
  let memories = 0;
  while (r.pos < bytes.length) {
    const id = r.byte();
    const size = r.u32();
    const start = r.pos;
    const end = start + size;
    if (end > bytes.length) r.fail(`section ${id} runs past the end of the module`, start);
    const s = new Reader(bytes, start, end);
    switch (id) {
      case 0: {
        const name = s.name();
        if (name === 'name') readNames(s, names);
        break;
      }
      case 1:
        for (let n = s.u32(); n > 0; n--) {
          const at = s.pos;
          const form = s.byte();
          if (form !== 0x60) s.fail(`type form 0x${form.toString(16)} (GC types are not supported)`, at);
          const params = vec(s, () => s.valtype());
          const results = vec(s, () => s.valtype());
          info.types.push({ params, results });
        }
        break;
      case 2:
        for (let n = s.u32(); n > 0; n--) {
          const module = s.name();
          const name = s.name();
          const at = s.pos;
          const kind = KINDS[s.byte()] ?? s.fail('unknown import kind', at);
          let type: FuncType | null = null;
          if (kind === 'func') {
            type = typeAt(s, info.types, s.u32());
            info.functions.push({ index: info.functions.length, name: `${module}.${name}`, type, start: 0, end: 0, memOps: [] });
            info.importedFunctions++;
          } else if (kind === 'table') {
            s.valtype();
            s.limits('table');
          } else if (kind === 'memory') {
            const l = s.limits('memory');
            memories++;
            info.memory = { imported: { module, name }, initial: l.initial, maximum: l.maximum, shared: l.shared };
          } else if (kind === 'global') {
            s.valtype();
            s.byte();
          } else {
            s.byte();
            s.u32();
          }
          info.imports.push({ module, name, kind, type });
        }
        break;
      case 3:
        for (let n = s.u32(); n > 0; n--) funcTypes.push(s.u32());
        break;
      case 5:
        for (let n = s.u32(); n > 0; n--) {
          const l = s.limits('memory');
          memories++;
          info.memory = { imported: null, initial: l.initial, maximum: l.maximum, shared: l.shared };
        }
        break;
      case 7:
        for (let n = s.u32(); n > 0; n--) {
          const name = s.name();
          const at = s.pos;
          const kind = KINDS[s.byte()] ?? s.fail('unknown export kind', at);
          info.exports.push({ name, kind, index: s.u32() });
        }
        break;
      case 10: {
        info.codeBytes += size;
        const count = s.u32();
        if (count !== funcTypes.length) s.fail(`the code section has ${count} bodies for ${funcTypes.length} functions`, start);
        for (let i = 0; i < count; i++) {
          const bodySize = s.u32();
          const bodyStart = s.pos;
          s.skip(bodySize);
          const index = info.importedFunctions + i;
          const fn: FunctionInfo = { index, name: '', type: typeAt(s, info.types, funcTypes[i]), start: bodyStart, end: bodyStart + bodySize, memOps: [] };
          fn.memOps = readBody(new Reader(bytes, bodyStart, bodyStart + bodySize));
          info.functions.push(fn);
        }
        break;
      }
      case 11:
        for (let n = s.u32(), i = 0; i < n; i++) info.data.push(readData(s, i));
        break;
      case 4: case 6: case 8: case 9: case 12: case 13:
        break; // tables, globals, start, elements, data count, tags: nothing emu needs
      default:
        r.fail(`unknown section id ${id}`, start - 1);
    }
    r.pos = end;
  }
  if (memories > 1) throw new WasmFormatError(`the module has ${memories} memories (emu rebases modules with one)`);
  if (info.functions.length !== info.importedFunctions + funcTypes.length) throw new WasmFormatError('function and code sections disagree');
  for (const fn of info.functions) {
    const exported = info.exports.find((e) => e.kind === 'func' && e.index === fn.index)?.name;
    fn.name = names.get(fn.index) ?? (fn.index < info.importedFunctions ? fn.name : exported ?? `func[${fn.index}]`);
  }
  return info;
}

/**
 * Reads a module as decodeModule does, then has the engine validate it: a module that decodes may
 * still be invalid (a type mismatch in a body), which Binaryen would abort on.
 */
export function readModule(bytes: Uint8Array): WasmInfo {
  const info = decodeModule(bytes);
  try {
    new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
  } catch (e) {
    if (e instanceof WebAssembly.CompileError) throw new WasmFormatError(`not a valid WebAssembly module: ${e.message.replace(/^WebAssembly\.Module\(\): /, '')}`);
    throw e;
  }
  return info;
}

function vec<T>(r: Reader, item: () => T): T[] {
  const out: T[] = [];
  for (let n = r.u32(); n > 0; n--) out.push(item());
  return out;
}

function typeAt(r: Reader, types: FuncType[], index: number): FuncType {
  return types[index] ?? r.fail(`type index ${index} does not exist`);
}

/** The name section's function names (subsection 1). */
function readNames(s: Reader, names: Map<number, string>): void {
  try {
    while (s.pos < s.limit) {
      const sub = s.byte();
      const size = s.u32();
      const end = s.pos + size;
      if (sub === 1) for (let n = s.u32(); n > 0; n--) names.set(s.u32(), s.name());
      s.pos = end;
    }
  } catch {
    // A damaged name section only loses names, as in engines.
  }
}

function readData(s: Reader, index: number): DataSegment {
  const at = s.pos;
  const mode = s.u32();
  if (mode === 1) {
    const size = s.u32();
    s.skip(size);
    return { index, passive: true, offset: null, size };
  }
  if (mode === 2 && s.u32() !== 0) s.fail('a data segment for a second memory', at);
  if (mode > 2) s.fail(`data segment mode ${mode}`, at);
  const exprAt = s.pos;
  const op = s.byte();
  let offset: DataSegment['offset'] = null;
  if (op === 0x41) offset = { value: s.sleb(32) >>> 0, at: exprAt };
  else if (op === 0x23) offset = { global: s.u32(), at: exprAt };
  else s.fail(`data segment ${index}: offset expression opcode 0x${op.toString(16)} is not supported`, exprAt);
  if (s.byte() !== 0x0b) s.fail(`data segment ${index}: the offset is not a single constant or global.get`, exprAt);
  const size = s.u32();
  s.skip(size);
  return { index, passive: false, offset, size };
}

function blockType(r: Reader): void {
  const b = r.bytes[r.pos];
  if (b === 0x40 || VALTYPES[b]) {
    r.pos++;
    return;
  }
  r.sleb(33);
}

/** Walks a function body's instructions and lists its memory instructions with their offsets. */
function readBody(r: Reader): MemOp[] {
  for (let groups = r.u32(); groups > 0; groups--) {
    r.u32();
    r.valtype();
  }
  const ops: MemOp[] = [];
  const plain = (at: number, op: string) => ops.push({ at, op, offset: 0, align: 0, bytes: 0, store: false });
  while (r.pos < r.limit) {
    const at = r.pos;
    const code = r.byte();
    if (code >= 0x28 && code <= 0x3e) {
      const [op, bytes] = MEMORY_OPS[code - 0x28];
      const alignLog = r.u32();
      if (alignLog & 0x40) r.fail(`${op}: a memory index (several memories are not supported)`, at);
      const offset = r.u32();
      ops.push({ at, op, offset, align: 2 ** alignLog, bytes, store: code >= 0x36 });
      continue;
    }
    if (code >= 0x45 && code <= 0xc4) continue; // numeric instructions, no immediates
    switch (code) {
      case 0x00: case 0x01: case 0x05: case 0x0a: case 0x0b: case 0x0f: case 0x19: case 0x1a: case 0x1b:
      case 0xd1: case 0xd3: case 0xd4:
        break;
      case 0x02: case 0x03: case 0x04: case 0x06:
        blockType(r);
        break;
      case 0x07: case 0x08: case 0x09: case 0x0c: case 0x0d: case 0x10: case 0x12: case 0x14: case 0x15: case 0x18:
      case 0x20: case 0x21: case 0x22: case 0x23: case 0x24: case 0x25: case 0x26: case 0xd2: case 0xd5: case 0xd6:
        r.u32();
        break;
      case 0x0e:
        for (let n = r.u32(); n > 0; n--) r.u32();
        r.u32();
        break;
      case 0x11: case 0x13:
        r.u32();
        r.u32();
        break;
      case 0x1c:
        for (let n = r.u32(); n > 0; n--) r.valtype();
        break;
      case 0x3f: case 0x40:
        if (r.byte() !== 0) r.fail('a memory index other than 0', at);
        plain(at, code === 0x3f ? 'memory.size' : 'memory.grow');
        break;
      case 0x41:
        r.sleb(32);
        break;
      case 0x42:
        r.sleb(64);
        break;
      case 0x43:
        r.skip(4);
        break;
      case 0x44:
        r.skip(8);
        break;
      case 0xd0:
        r.sleb(33);
        break;
      case 0xfc: {
        const sub = r.u32();
        if (sub <= 7) break; // saturating truncations
        if (sub === 8) {
          r.u32();
          r.byte();
          plain(at, 'memory.init');
        } else if (sub === 9) {
          r.u32();
        } else if (sub === 10) {
          r.byte();
          r.byte();
          plain(at, 'memory.copy');
        } else if (sub === 11) {
          r.byte();
          plain(at, 'memory.fill');
        } else if (sub === 12 || sub === 14) {
          r.u32();
          r.u32();
        } else if (sub <= 17) {
          r.u32();
        } else {
          r.fail(`unknown instruction 0xfc ${sub}`, at);
        }
        break;
      }
      case 0xfd:
        r.fail('SIMD instructions are not supported', at);
        break;
      case 0xfe:
        r.fail('atomic instructions (threads) are not supported', at);
        break;
      case 0xfb:
        r.fail('GC instructions are not supported', at);
        break;
      default:
        r.fail(`unknown instruction 0x${code.toString(16)}`, at);
    }
  }
  return ops;
}

/** Hex as wasm-objdump prints a code offset: 0x4f. */
export function offsetHex(at: number): string {
  return `0x${at.toString(16)}`;
}
