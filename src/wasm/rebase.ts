/**
 * Rebasing a module into a component's segment, with Binaryen (parse, rewrite, validate, write).
 *
 * The rebased module's memory is the arena: one memory, imported as `emu.arena`, whose address 0 is
 * the arena's first byte, shared by every component's module. The module's own linear memory
 * becomes its segment in it, at `shift` = segment base - arena base:
 * - a load or store with a constant address gets the constant plus the shift; one with a computed
 *   address gets the shift added to its static offset (the effective address is then
 *   pointer + offset + shift, computed without wrapping, as before);
 * - memory.fill, memory.copy and memory.init get the shift added to their address operands;
 * - active data segments' offsets move by the shift;
 * - memory.size answers the segment's pages, and memory.grow grows them within the segment (a
 *   function of its own standalone; emu's `emu.memory_grow` when emu runs the module).
 * Binaryen gives no byte offsets of instructions, so the module is also read by decode.ts and the
 * memory instructions of each function are matched one for one, in order (Binaryen keeps the
 * binary's order when it reads a module, unreachable code included); a function whose instructions
 * do not match is an internal error, never a guess. The relocation table lists every instruction
 * rewritten, by function and byte offset in the input module.
 *
 * With `instrument`, the module is also prepared for emu's memory model: every access first calls
 * an import of emu's with its site (an index into `sites`), after its operands are evaluated and
 * before it happens, so emu checks and times it and may stop the call there (a trap). Its active data
 * segments become passive, written by emu (`data`) through the same checks: a start function of
 * emu's calls `emu.init` at instantiation, drops them (as an active segment is dropped once written)
 * and then runs the module's own start function, if any.
 */
import type BinaryenModule from 'binaryen';
import { decodeModule, offsetHex, type FunctionInfo, type MemOp, type WasmInfo } from './decode.js';

// The package's declarations leave out the expression classes (Load.setPtr, Store.setOffset, ...)
// and some module methods this file uses: those are reached through these looser types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Binaryen = typeof BinaryenModule & { [name: string]: any };
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Module = InstanceType<(typeof BinaryenModule)['Module']> & { [name: string]: any };
type Ref = number;

export const PAGE = 65536;

/** Where the module goes: the arena that stands for its memory, and its component's segment. */
export interface Placement {
  component: string;
  arenaBase: number;
  arenaSize: number;
  segmentBase: number;
  segmentSize: number;
}

export interface Relocation {
  /** The function's name (its name section entry, export name, or func[N]); null for a data segment. */
  function: string | null;
  function_index: number | null;
  /** Byte offset of the instruction (or of a data segment's offset constant) in the input module. */
  offset: number;
  instruction: string;
  /** Whether the address was a constant, computed at run time, or none (memory.size, memory.grow). */
  address: 'constant' | 'computed' | 'none';
  /** What changed: the address constant, the static offset, an operand, or the instruction replaced. */
  change: 'constant' | 'offset' | 'operand' | 'replaced' | 'data-offset';
  from: number | null;
  to: number | null;
  /** For a change of an operand: which (dest, source). */
  operand?: string;
}

/** One access instruction as emu's hooks see it. */
export interface Site {
  function: string;
  offset: number;
  op: string;
  kind: 'load' | 'store' | 'fill' | 'copy' | 'init';
  /** Bytes a load or store moves; 0 for bulk operations (their length is an operand). */
  bytes: number;
  /** The alignment the instruction promises (its memarg), in bytes. */
  align: number;
  /** The static offset after rebasing: the arena offset is pointer + this. */
  staticOffset: number;
}

/** An active data segment emu writes at instantiation (instrumented): where, and its bytes. */
export interface DataInit {
  index: number;
  /** Byte offset of its offset constant in the input module (where a fault points). */
  at: number;
  arenaOffset: number;
  bytes: Uint8Array;
}

export interface RebaseResult {
  binary: Uint8Array;
  relocations: Relocation[];
  sites: Site[];
  /** Instrumented: the active data segments, in order (none otherwise: the engine writes them). */
  data: DataInit[];
  info: WasmInfo;
  shift: number;
  /** Functions the rebased module imports (the input's and emu's hooks): its defined functions are the input's, in order, after them. */
  importedFunctions: number;
  /** The module's own pages at the start, and the most it may have in the segment. */
  initialPages: number;
  maxPages: number;
}

/** Bad input: the module cannot be rebased as asked (exit 2). */
export class RebaseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RebaseError';
  }
}

const HOOKS = {
  access: '__emu_access',
  bulk: '__emu_bulk',
  size: '__emu_memory_size',
  grow: '__emu_memory_grow',
  init: '__emu_init',
  start: '__emu_start',
};

export function rebaseModule(binaryen: Binaryen, bytes: Uint8Array, place: Placement, options: { instrument?: boolean } = {}): RebaseResult {
  const info = decodeModule(bytes);
  if (!info.memory) throw new RebaseError('the module has no memory: there is nothing to rebase');
  if (info.memory.shared) throw new RebaseError('the module has a shared memory (threads are not supported)');
  const shift = place.segmentBase - place.arenaBase;
  if (shift < 0 || shift + place.segmentSize > place.arenaSize) throw new RebaseError(`segment ${place.component} is not inside the arena`);
  const segmentPages = Math.floor(place.segmentSize / PAGE);
  if (info.memory.initial > segmentPages) {
    throw new RebaseError(`the module's memory starts at ${info.memory.initial} pages (${info.memory.initial * PAGE} bytes); segment ${place.component} has ${place.segmentSize} bytes (${segmentPages} whole 64 KiB pages)`);
  }
  const maxPages = Math.min(info.memory.maximum ?? Infinity, segmentPages);
  for (const d of info.data) {
    if (d.offset && 'global' in d.offset) throw new RebaseError(`data segment ${d.index}: its offset is global ${d.offset.global}; emu rebases constant offsets only`);
  }

  const mod = (binaryen.readBinary as (data: Uint8Array, features: number) => Module)(bytes, features(binaryen));
  try {
    const relocations: Relocation[] = [];
    const sites: Site[] = [];
    const rw = new Rewriter(binaryen, mod, info, shift, maxPages, relocations, sites, options.instrument ?? false);
    rw.run();
    const data = rw.rebaseMemory(place);
    if (!mod.validate()) throw new Error('the rebased module does not validate (an emu bug)');
    return { binary: mod.emitBinary(), relocations, sites, data, info, shift, importedFunctions: importedFunctions(binaryen, mod), initialPages: info.memory.initial, maxPages };
  } finally {
    mod.dispose();
  }
}

/** A child of an expression: read (0 when absent) and replace it. */
interface Child {
  get(e: Ref): Ref;
  set(e: Ref, v: Ref): void;
}

/**
 * Where an expression kind keeps its children, in evaluation order: fixed ones, then a list (a
 * block's children, a call's operands), then fixed ones again. Built once, so that walking a module
 * allocates nothing per expression.
 */
interface Shape {
  before: Child[];
  list: { count(e: Ref): number; get(e: Ref, i: number): Ref; set(e: Ref, i: number, v: Ref): void } | null;
  after: Child[];
}

class Rewriter {
  private readonly b: Binaryen;
  private readonly children = new Map<number, Shape>();
  private ids!: Record<'load' | 'store' | 'fill' | 'copy' | 'init' | 'size' | 'grow', number>;
  /** Per function: scratch locals by type (instrumentation). */
  private scratch = new Map<number, number>();
  private func: Ref = 0;
  private fn!: FunctionInfo;
  private found: { expr: Ref; kind: string }[] = [];

  constructor(
    binaryen: Binaryen,
    private readonly mod: Module,
    private readonly info: WasmInfo,
    private readonly shift: number,
    private readonly maxPages: number,
    private readonly relocations: Relocation[],
    private readonly sites: Site[],
    private readonly instrument: boolean,
  ) {
    this.b = binaryen;
    this.describeChildren();
  }

  private describeChildren(): void {
    const b = this.b;
    const field = (cls: string, name: string): Child => ({ get: b[cls][`get${name}`], set: b[cls][`set${name}`] });
    const shape = (id: string, cls: string, before: string[], list: [string, string] | null = null, after: string[] = []) => {
      this.children.set(b[id] as number, {
        before: before.map((n) => field(cls, n)),
        list: list ? { count: b[cls][`getNum${list[0]}`], get: b[cls][`get${list[1]}At`], set: b[cls][`set${list[1]}At`] } : null,
        after: after.map((n) => field(cls, n)),
      });
    };
    for (const id of ['LocalGetId', 'GlobalGetId', 'ConstId', 'NopId', 'UnreachableId', 'MemorySizeId', 'DataDropId', 'RefNullId', 'RefFuncId', 'TableSizeId', 'PopId', 'RethrowId']) shape(id, 'Nop', []);
    shape('BlockId', 'Block', [], ['Children', 'Child']);
    shape('IfId', 'If', ['Condition', 'IfTrue', 'IfFalse']);
    shape('LoopId', 'Loop', ['Body']);
    shape('BreakId', 'Break', ['Value', 'Condition']);
    shape('SwitchId', 'Switch', ['Value', 'Condition']);
    shape('CallId', 'Call', [], ['Operands', 'Operand']);
    shape('CallIndirectId', 'CallIndirect', [], ['Operands', 'Operand'], ['Target']);
    shape('LocalSetId', 'LocalSet', ['Value']);
    shape('GlobalSetId', 'GlobalSet', ['Value']);
    shape('LoadId', 'Load', ['Ptr']);
    shape('StoreId', 'Store', ['Ptr', 'Value']);
    shape('UnaryId', 'Unary', ['Value']);
    shape('BinaryId', 'Binary', ['Left', 'Right']);
    shape('SelectId', 'Select', ['IfTrue', 'IfFalse', 'Condition']);
    shape('DropId', 'Drop', ['Value']);
    shape('ReturnId', 'Return', ['Value']);
    shape('MemoryGrowId', 'MemoryGrow', ['Delta']);
    shape('MemoryInitId', 'MemoryInit', ['Dest', 'Offset', 'Size']);
    shape('MemoryCopyId', 'MemoryCopy', ['Dest', 'Source', 'Size']);
    shape('MemoryFillId', 'MemoryFill', ['Dest', 'Value', 'Size']);
    shape('RefIsNullId', 'RefIsNull', ['Value']);
    shape('RefAsId', 'RefAs', ['Value']);
    shape('RefEqId', 'RefEq', ['Left', 'Right']);
    shape('TableGetId', 'TableGet', ['Index']);
    shape('TableSetId', 'TableSet', ['Index', 'Value']);
    shape('TableGrowId', 'TableGrow', ['Value', 'Delta']);
    shape('ThrowId', 'Throw', [], ['Operands', 'Operand']);
    shape('TryId', 'Try', ['Body'], ['CatchBodies', 'CatchBody']);
    shape('TupleMakeId', 'TupleMake', [], ['Operands', 'Operand']);
    shape('TupleExtractId', 'TupleExtract', ['Tuple']);
    this.ids = { load: b.LoadId, store: b.StoreId, fill: b.MemoryFillId, copy: b.MemoryCopyId, init: b.MemoryInitId, size: b.MemorySizeId, grow: b.MemoryGrowId };
  }

  run(): void {
    const b = this.b;
    const defined: Ref[] = [];
    for (let i = 0, n = this.mod.getNumFunctions(); i < n; i++) {
      const f = this.mod.getFunctionByIndex(i);
      if (!b.getFunctionInfo(f).module) defined.push(f);
    }
    const bodies = this.info.functions.slice(this.info.importedFunctions);
    if (defined.length !== bodies.length) throw new Error(`Binaryen reads ${defined.length} functions, the module has ${bodies.length} (an emu bug)`);
    if (this.instrument) this.addHooks();
    else this.addGrowFunction();
    for (let i = 0; i < defined.length; i++) {
      this.func = defined[i];
      this.fn = bodies[i];
      this.scratch = new Map();
      this.found = [];
      const body = b.getFunctionInfo(this.func).body;
      const next = this.visit(body);
      if (next !== body) b.Function.setBody(this.func, next);
      if (this.found.length !== this.fn.memOps.length) this.mismatch(`${this.found.length} memory instructions in Binaryen's reading, ${this.fn.memOps.length} in the binary`);
    }
  }

  private mismatch(why: string): never {
    throw new Error(`cannot match the memory instructions of function ${this.fn.name}: ${why} (an emu bug)`);
  }

  /** Post-order (the binary's instruction order): children first, then the expression, which may be replaced. */
  private visit(e: Ref): Ref {
    const id = this.b.getExpressionId(e) as number;
    const shape = this.children.get(id);
    if (!shape) throw new RebaseError(`function ${this.fn.name}: Binaryen expression kind ${id} is not supported by emu's rebasing`);
    for (const child of shape.before) this.child(e, child);
    const list = shape.list;
    if (list) {
      for (let i = 0, n = list.count(e); i < n; i++) {
        const c = list.get(e, i);
        const next = this.visit(c);
        if (next !== c) list.set(e, i, next);
      }
    }
    for (const child of shape.after) this.child(e, child);
    const ids = this.ids;
    if (id === ids.load || id === ids.store) return this.access(e, id === ids.store);
    if (id === ids.fill || id === ids.copy || id === ids.init) return this.bulk(e, id);
    if (id === ids.size) return this.memorySize();
    if (id === ids.grow) return this.memoryGrow(e);
    return e;
  }

  private child(e: Ref, child: Child): void {
    const c = child.get(e);
    if (!c) return;
    const next = this.visit(c);
    if (next !== c) child.set(e, next);
  }

  /** The binary's memory instruction this expression is: the next in order, checked. */
  private next(name: string, offset: number | null): MemOp {
    const op = this.fn.memOps[this.found.length];
    if (!op) this.mismatch(`Binaryen has more (${name} is extra)`);
    if (op.op !== name || (offset !== null && op.offset !== offset)) this.mismatch(`${name} offset=${offset} against ${op.op} offset=${op.offset} at ${offsetHex(op.at)}`);
    this.found.push({ expr: 0, kind: name });
    return op;
  }

  private reloc(op: MemOp, r: Omit<Relocation, 'function' | 'function_index' | 'offset' | 'instruction'>): void {
    this.relocations.push({ function: this.fn.name, function_index: this.fn.index, offset: op.at, instruction: op.op, ...r });
  }

  private access(e: Ref, store: boolean): Ref {
    const b = this.b;
    // Single getters, not getExpressionInfo: this runs for every load and store of the module.
    const cls = store ? b.Store : b.Load;
    if (cls.getMemoryOrder(e)) throw new RebaseError(`function ${this.fn.name}: atomic accesses are not supported`);
    const valueType = store ? b.getExpressionType(b.Store.getValue(e)) : b.getExpressionType(e);
    const name = accessName(b, store, valueType, cls.getBytes(e), !store && b.Load.isSigned(e));
    let offset = cls.getOffset(e) >>> 0;
    const op = this.next(name, offset);
    const ptr = cls.getPtr(e);
    const constant = b.getExpressionId(ptr) === b.ConstId;
    const from = constant ? (b.Const.getValueI32(ptr) as number) >>> 0 : 0;
    if (constant && from <= 0xffffffff - this.shift) {
      b.Const.setValueI32(ptr, (from + this.shift) | 0);
      this.reloc(op, { address: 'constant', change: 'constant', from, to: from + this.shift });
    } else {
      if (offset + this.shift > 0xffffffff) throw new RebaseError(`function ${this.fn.name}: ${name} at ${offsetHex(op.at)}: offset ${offset} plus the segment's ${this.shift} is beyond 32 bits`);
      cls.setOffset(e, offset + this.shift);
      this.reloc(op, { address: constant ? 'constant' : 'computed', change: 'offset', from: offset, to: offset + this.shift });
      offset += this.shift;
    }
    if (!this.instrument) return e;
    const site = this.site(op, store ? 'store' : 'load', offset);
    const hook = (p: Ref) => this.mod.call(HOOKS.access, [p, this.mod.i32.const(site)], b.i32);
    if (!store) {
      b.Load.setPtr(e, hook(b.Load.getPtr(e)));
      return e;
    }
    // ptr, then value, then the check, then the store: the order the original evaluates them in.
    const p = this.local(b.i32, 0);
    const v = this.local(valueType, 1);
    const setP = this.mod.local.set(p, b.Store.getPtr(e));
    const setV = this.mod.local.set(v, b.Store.getValue(e));
    b.Store.setPtr(e, hook(this.mod.local.get(p, b.i32)));
    b.Store.setValue(e, this.mod.local.get(v, valueType));
    return this.mod.block(null, [setP, setV, e], b.none);
  }

  private bulk(e: Ref, id: number): Ref {
    const b = this.b;
    const m = this.mod;
    const kind = id === b.MemoryFillId ? 'fill' : id === b.MemoryCopyId ? 'copy' : 'init';
    const op = this.next(`memory.${kind}`, null);
    const cls = b[kind === 'fill' ? 'MemoryFill' : kind === 'copy' ? 'MemoryCopy' : 'MemoryInit'];
    // An address operand gets the shift: from and to are what is added (0 before, the shift after).
    for (const name of kind === 'copy' ? ['Dest', 'Source'] : ['Dest']) {
      const ptr = cls[`get${name}`](e);
      const constant = b.getExpressionId(ptr) === b.ConstId;
      cls[`set${name}`](e, this.shifted(ptr));
      this.reloc(op, { address: constant ? 'constant' : 'computed', change: 'operand', from: 0, to: this.shift, operand: name.toLowerCase() });
    }
    if (!this.instrument) return e;
    const site = this.site(op, kind, 0);
    // Evaluate the three operands in order into locals, check, then run the operation on them.
    const second = kind === 'fill' ? 'Value' : kind === 'copy' ? 'Source' : 'Offset';
    const locals = [this.local(b.i32, 0), this.local(b.i32, 1), this.local(b.i32, 2)];
    const sets = ['Dest', second, 'Size'].map((n, i) => m.local.set(locals[i], cls[`get${n}`](e)));
    ['Dest', second, 'Size'].forEach((n, i) => cls[`set${n}`](e, m.local.get(locals[i], b.i32)));
    const src = kind === 'copy' ? m.local.get(locals[1], b.i32) : m.i32.const(0);
    const check = m.call(HOOKS.bulk, [m.local.get(locals[0], b.i32), src, m.local.get(locals[2], b.i32), m.i32.const(site)], b.none);
    return m.block(null, [...sets, check, e], b.none);
  }

  /** An address operand plus the shift: a constant folded, else an i32.add. */
  private shifted(ptr: Ref): Ref {
    const b = this.b;
    if (b.getExpressionId(ptr) === b.ConstId) {
      const v = ((b.getExpressionInfo(ptr) as BinaryenModule.ConstInfo).value as number) >>> 0;
      if (v + this.shift <= 0xffffffff) {
        b.Const.setValueI32(ptr, (v + this.shift) | 0);
        return ptr;
      }
    }
    return this.mod.i32.add(ptr, this.mod.i32.const(this.shift | 0));
  }

  private memorySize(): Ref {
    const op = this.next('memory.size', null);
    this.reloc(op, { address: 'none', change: 'replaced', from: null, to: null });
    return this.mod.call(HOOKS.size, [], this.b.i32);
  }

  private memoryGrow(e: Ref): Ref {
    const op = this.next('memory.grow', null);
    this.reloc(op, { address: 'none', change: 'replaced', from: null, to: null });
    return this.mod.call(HOOKS.grow, [this.b.MemoryGrow.getDelta(e)], this.b.i32);
  }

  private site(op: MemOp, kind: Site['kind'], staticOffset: number): number {
    this.sites.push({ function: this.fn.name, offset: op.at, op: op.op, kind, bytes: op.bytes, align: op.align, staticOffset });
    return this.sites.length - 1;
  }

  /** A scratch local of a type for this function (the n-th of that type). */
  private local(type: number, n: number): number {
    const key = type * 4 + n;
    let index = this.scratch.get(key);
    if (index === undefined) {
      index = this.b._BinaryenFunctionAddVar(this.func, type) as number;
      this.scratch.set(key, index);
    }
    return index;
  }

  /** emu runs the module: accesses, memory.size and memory.grow call its imports. */
  private addHooks(): void {
    const b = this.b;
    this.mod.addFunctionImport(HOOKS.access, 'emu', 'access', b.createType([b.i32, b.i32]), b.i32);
    this.mod.addFunctionImport(HOOKS.bulk, 'emu', 'bulk', b.createType([b.i32, b.i32, b.i32, b.i32]), b.none);
    this.mod.addFunctionImport(HOOKS.size, 'emu', 'memory_size', b.none, b.i32);
    this.mod.addFunctionImport(HOOKS.grow, 'emu', 'memory_grow', b.createType([b.i32]), b.i32);
  }

  /**
   * Standalone: the segment's pages in a global; memory.grow adds pages while they fit in the
   * segment (the module's own maximum, if lower, still holds) and answers -1 beyond.
   */
  private addGrowFunction(): void {
    const b = this.b;
    const m = this.mod;
    const pages = '__emu_pages';
    m.addGlobal(pages, b.i32, true, m.i32.const(this.info.memory!.initial));
    m.addFunction(HOOKS.size, b.none, b.i32, [], m.global.get(pages, b.i32));
    const total = m.i64.add(m.i64.extend_u(m.global.get(pages, b.i32)), m.i64.extend_u(m.local.get(0, b.i32)));
    m.addFunction(
      HOOKS.grow,
      b.createType([b.i32]),
      b.i32,
      [b.i32],
      m.block(null, [
        m.if(m.i64.gt_u(total, (m.i64.const as unknown as (v: bigint) => Ref)(BigInt(this.maxPages))), m.return(m.i32.const(-1))),
        m.local.set(1, m.global.get(pages, b.i32)),
        m.global.set(pages, m.i32.add(m.local.get(1, b.i32), m.local.get(0, b.i32))),
        m.local.get(1, b.i32),
      ], b.i32),
    );
  }

  /**
   * The module's memory becomes the arena, imported as emu.arena; active data segments move by the
   * shift. Instrumented, they are emu's to write: the ones it writes, in order.
   */
  rebaseMemory(place: Placement): DataInit[] {
    const b = this.b;
    const m = this.mod;
    const exported = this.info.exports.find((e) => e.kind === 'memory')?.name ?? null;
    if (exported) m.removeExport(exported);
    const segments: { name: string; data: Uint8Array; offset: Ref; passive: boolean }[] = [];
    const written: DataInit[] = [];
    for (let i = 0, n = m.getNumDataSegments(); i < n; i++) {
      const seg = m.getDataSegmentInfo(m.getDataSegmentByIndex(i)) as unknown as { name: string; offset: number | null; data: ArrayBuffer; passive: boolean };
      const decoded = this.info.data[i];
      let offset = 0;
      if (!seg.passive) {
        const from = decoded.offset && 'value' in decoded.offset ? decoded.offset.value : (seg.offset ?? 0) >>> 0;
        offset = from + this.shift;
        this.relocations.push({ function: null, function_index: null, offset: decoded.offset!.at, instruction: `data segment ${i}`, address: 'constant', change: 'data-offset', from, to: offset });
      }
      const data = new Uint8Array(seg.data);
      if (this.instrument && !seg.passive) written.push({ index: i, at: decoded.offset!.at, arenaOffset: offset, bytes: data });
      const passive = seg.passive || this.instrument;
      segments.push({ name: seg.name, data, offset: passive ? 0 : m.i32.const(offset | 0), passive });
    }
    const pages = Math.ceil(place.arenaSize / PAGE);
    m.setMemory(pages, pages, exported, segments, false, false, MEMORY);
    m.addMemoryImport(MEMORY, 'emu', 'arena', false);
    if (written.length > 0) this.addStart(written.map((d) => segments[d.index].name));
    return written;
  }

  /** Instantiation: emu writes the data segments, they are dropped, then the module's own start function runs. */
  private addStart(dropped: string[]): void {
    const b = this.b;
    const m = this.mod;
    m.addFunctionImport(HOOKS.init, 'emu', 'init', b.none, b.none);
    const own = m.getStart() as Ref;
    const body = [m.call(HOOKS.init, [], b.none), ...dropped.map((name) => m.data.drop(name))];
    if (own) body.push(m.call(b.getFunctionInfo(own).name, [], b.none));
    m.setStart(m.addFunction(HOOKS.start, b.none, b.none, [], m.block(null, body, b.none)));
  }
}

const MEMORY = '0';

/** Functions a module imports: the binary numbers them first. */
function importedFunctions(b: Binaryen, mod: Module): number {
  let n = 0;
  for (let i = 0, count = mod.getNumFunctions(); i < count; i++) if (b.getFunctionInfo(mod.getFunctionByIndex(i)).module) n++;
  return n;
}

/**
 * What decode.ts reads, and nothing that changes how Binaryen writes a module (its compact
 * imports and overlong call_indirect encodings are for newer engines).
 */
function features(b: Binaryen): number {
  const f = b.Features;
  return f.MutableGlobals | f.NontrappingFPToInt | f.BulkMemory | f.BulkMemoryOpt | f.SignExt | f.ReferenceTypes | f.Multivalue | f.TailCall | f.ExceptionHandling;
}

/** The text name of a Binaryen load or store, as the binary spells it. */
function accessName(b: Binaryen, store: boolean, type: number, bytes: number, signed: boolean): string {
  const t = type === b.i32 ? 'i32' : type === b.i64 ? 'i64' : type === b.f32 ? 'f32' : type === b.f64 ? 'f64' : 'v128';
  const full = (t === 'i32' || t === 'f32') ? bytes === 4 : bytes === 8;
  if (store) return full ? `${t}.store` : `${t}.store${bytes * 8}`;
  return full ? `${t}.load` : `${t}.load${bytes * 8}_${signed ? 's' : 'u'}`;
}
