/**
 * `wasm` steps: real WebAssembly modules run against emu's memory model. Each component's module is
 * rebased into the component's segment and instrumented (src/wasm/rebase.ts), then instantiated once
 * (its state persists across steps) on one WebAssembly memory that stands for the arena, shared by
 * every component's module. Before each load, store, memory.fill, memory.copy and memory.init the
 * module calls emu, which checks and times the access exactly as a `read` or `write` step of the same
 * bytes, width and component (ProgramMemory.access): segment ownership, guards, shared rights, the
 * CPU's alignment rules, the data cache and its cycles. A fault the target traps on (precise) stops
 * the call there; others are recorded and the access happens, bytes and all (a write into a canary
 * band really changes it, a stray write really lands in the neighbour's segment). Only memory
 * accesses are timed: the module's other instructions take no cycles.
 *
 * An access's width is what the compiler may assume of its address: the instruction's size, or less
 * when its alignment immediate promises less (a compiler then emits narrower accesses), so an
 * `i32.load align=1` is four byte accesses and never misaligned, and an `i32.load` at an address
 * that is not a multiple of 4 is `misaligned` on a CPU that faults unaligned words.
 */
import { readFileSync } from 'node:fs';
import { hex } from '../util/text.js';
import { rebaseSync } from '../wasm/binaryen-sync.js';
import { offsetHex } from '../wasm/decode.js';
import { PAGE, type Placement, type RebaseResult } from '../wasm/rebase.js';
import type { Layout } from '../layout/layout.js';
import type { InstructionAt, ProgramMemory, Through } from '../memory/access.js';
import type { Detected, FaultKind } from '../memory/faults.js';
import type { Width } from '../scenario/types.js';
import type { Op } from '../scenario/expand.js';
import type { Segment } from '../layout/segments.js';
import type { DynamicSegments } from './segments.js';

type WasmOp = Extract<Op, { kind: 'wasm' }>;

/** What the runtime needs of the engine. */
export interface WasmHost {
  readonly memory: ProgramMemory;
  readonly layout: Layout;
  /** A dynamic layout's segments (null in a static layout): memory.grow grows the module's segment. */
  readonly dynamic: DynamicSegments | null;
  /** The operation running and the clock. */
  op(): number;
  now(): number;
  /** Advances the clock by an access's cycles. */
  advance(cycles: number): void;
  /** Records a fault at the wasm instruction `at` (null outside one). */
  fault(kind: FaultKind, line: number, detected: Detected, detail: string, at: InstructionAt | null): void;
  /** malloc on an emu heap for the module: the block's address, or -1. */
  malloc(heap: string, id: string, size: number, line: number): number;
  free(heap: string, id: string, line: number): void;
  record(fields: Record<string, unknown>): void;
  /** An access that happened, by the component: the shared regions it reaches check their locksets. */
  shared(addr: number, len: number, write: boolean, by: string, line: number, at: InstructionAt): void;
}

/** A precise fault: the target traps, so the call stops here. */
class Trap extends Error {}

const NOWHERE: Through = { id: null, block: null, freed: false, offset: 0 };

interface Running {
  component: string;
  module: string;
  compiled: RebaseResult;
  instance: WebAssembly.Instance;
  segmentBase: number;
  /** In a dynamic layout, the segment it was made in: a segment released and created again is another, with a new instance. */
  segment: Segment | null;
  pages: number;
  heap: string | null;
  /** Blocks the module holds: address to id. */
  blocks: Map<number, string>;
  serial: number;
  /** Per site, made once: where it is (for fault details) and the fault event's fields. */
  where: string[];
  at: InstructionAt[];
}

export class WasmComponents {
  private arena: { base: number; size: number; memory: WebAssembly.Memory } | null = null;
  private readonly running = new Map<string, Running>();
  /** The call in progress. */
  private current: { run: Running | null; line: number; loads: number; stores: number; bytes: number; cycles: number } | null = null;

  constructor(private readonly host: WasmHost) {}

  /** A call; the component's first (or, in a dynamic segment created anew, next) also instantiates it: its data segments and start function count in the call's event. */
  call(op: WasmOp): void {
    const segmentBase = this.segmentFor(op.component).base;
    const args = op.args.map((a, i) => {
      const n = a.kind === 'number' ? a.value : this.moduleAddress(segmentBase, a.kind === 'addr' ? a.addr : this.sharedBase(a.name) + a.offset);
      return op.types[i] === 'i64' ? BigInt(n) : n;
    });
    const state: NonNullable<WasmComponents['current']> = (this.current = { run: null, line: op.line, loads: 0, stores: 0, bytes: 0, cycles: 0 });
    let result: unknown = null;
    let trap: string | null = null;
    try {
      const run = this.instanceFor(op);
      if (!run) return;
      state.run = run;
      result = (run.instance.exports[op.call] as (...args: unknown[]) => unknown)(...args);
    } catch (e) {
      if (e instanceof Trap) trap = e.message;
      else if (e instanceof WebAssembly.RuntimeError || e instanceof RangeError) trap = this.trapped(e, state.run, op);
      else throw e;
    } finally {
      this.current = null;
    }
    if (typeof result === 'bigint') result = Number.isSafeInteger(Number(result)) ? Number(result) : result.toString();
    if (result === undefined) result = null;
    const fields: Record<string, unknown> = {
      line: op.line, component: op.component, module: op.module, call: op.call, args: args.map((a) => (typeof a === 'bigint' ? Number(a) : a)),
      result, loads: state.loads, stores: state.stores, bytes: state.bytes, cycles: state.cycles,
    };
    if (trap !== null) fields.trap = trap;
    this.host.record(fields);
  }

  /**
   * A trap that is not a memory fault (unreachable, division by zero, an integer overflow, a failed
   * conversion, an indirect call's mismatch, the call stack exhausted): a `wasm-trap` fault, precise
   * (the call stops), naming the function it happened in. Its text for the event.
   */
  private trapped(error: Error, run: Running | null, op: WasmOp): string {
    const fn = trapFunction(error, run);
    const where = fn === null ? '' : `, function ${fn}`;
    this.host.fault('wasm-trap', op.line, 'precise', `WebAssembly trap in ${op.module}${where}: ${error.message}; the call stops`, fn === null ? null : { function: fn, offset: null });
    return `WebAssembly trap: ${error.message}`;
  }

  private sharedBase(name: string): number {
    return this.host.layout.placed.find((p) => p.what === 'shared' && p.name === name)!.addr;
  }

  /** An address of the target as the module sees it: an offset from its segment's base, in 32 bits. */
  private moduleAddress(segmentBase: number, addr: number): number {
    return (addr - segmentBase) | 0;
  }

  /** The component's instance: made at its first call, and again in a dynamic segment created anew. */
  private instanceFor(op: WasmOp): Running | null {
    const run = this.running.get(op.component);
    if (run && (!this.host.dynamic || this.host.dynamic.segmentOf(op.component) === run.segment)) return run;
    return this.instantiate(op);
  }

  /** The segment the component's module goes in: placed by the layout, or a dynamic one as it is now (room to the arena's end to grow). */
  private segmentFor(component: string): { base: number; size: number; room: number; segment: Segment | null } {
    if (this.host.dynamic) {
      const segment = this.host.dynamic.segmentOf(component)!;
      const arena = this.arenaMemory();
      return { base: segment.start, size: segment.size, room: arena.base + arena.size - segment.start, segment };
    }
    const placed = this.host.layout.placed.find((p) => p.what === 'segment' && p.name === component)!;
    return { base: placed.addr, size: placed.size, room: placed.size, segment: null };
  }

  /** The one WebAssembly memory that stands for the arena, made at the first call. */
  private arenaMemory(): NonNullable<WasmComponents['arena']> {
    if (!this.arena) {
      const placed = this.host.layout.placed.find((p) => p.what === 'arena')!;
      const pages = Math.ceil(placed.size / PAGE);
      this.arena = { base: placed.addr, size: placed.size, memory: new WebAssembly.Memory({ initial: pages, maximum: pages }) };
    }
    return this.arena;
  }

  /** A new instance: its memory zeroed, its data segments written through emu's checks, its start function run (any may trap). */
  private instantiate(op: WasmOp): Running | null {
    const arena = this.arenaMemory();
    const segment = this.segmentFor(op.component);
    const place: Placement = { component: op.component, arenaBase: arena.base, arenaSize: arena.size, segmentBase: segment.base, segmentSize: segment.room };
    const compiled = rebaseSync(readFileSync(op.file), place, true);
    if (compiled.initialPages * PAGE > segment.size) {
      // Only in a dynamic layout (the scenario's checks hold a static segment to it): the segment was made or resized smaller.
      this.host.fault('layout-invalid', op.line, 'precise', `wasm call ${op.call}: ${op.module}'s memory starts at ${compiled.initialPages} pages (${compiled.initialPages * PAGE} bytes), more than segment ${op.component}'s ${segment.size} bytes; the module is not instantiated`, null);
      return null;
    }
    // A new instance's memory reads as zeros (a segment created again over an old one's bytes too).
    this.zero(segment.base, 0, compiled.initialPages);
    const run: Running = {
      component: op.component, module: op.module, compiled, instance: null as unknown as WebAssembly.Instance, segmentBase: segment.base, segment: segment.segment, pages: compiled.initialPages, heap: op.heap, blocks: new Map(), serial: 0,
      where: compiled.sites.map((site) => ` (wasm ${op.module}, function ${site.function}, ${site.op} at byte offset ${offsetHex(site.offset)})`),
      at: compiled.sites.map((site) => ({ function: site.function, offset: site.offset })),
    };
    this.current!.run = run;
    const imports = {
      emu: {
        arena: arena.memory,
        init: () => this.writeData(run),
        access: (ptr: number, site: number) => this.access(ptr, site),
        bulk: (dest: number, src: number, len: number, site: number) => this.bulk(dest, src, len, site),
        memory_size: () => run.pages,
        memory_grow: (pages: number) => this.grow(run, pages >>> 0),
      },
      env: {
        emu_malloc: (size: number) => this.malloc(run, size >>> 0),
        emu_free: (ptr: number) => this.free(run, ptr >>> 0),
      },
    };
    run.instance = new WebAssembly.Instance(new WebAssembly.Module(compiled.binary as Uint8Array<ArrayBuffer>), imports);
    this.running.set(op.component, run);
    this.host.dynamic?.holdModule(op.component, run.pages * PAGE);
    return run;
  }

  private access(ptr: number, siteIndex: number): number {
    const state = this.current!;
    const run = state.run!;
    const site = run.compiled.sites[siteIndex];
    const write = site.kind === 'store';
    this.checkSite(run, siteIndex, (ptr >>> 0) + site.staticOffset, site.bytes, Math.min(site.bytes, site.align) as Width, write);
    if (write) state.stores++;
    else state.loads++;
    state.bytes += site.bytes;
    return ptr;
  }

  /** memory.fill and memory.init write `len` bytes; memory.copy reads them, then writes them (as a `copy` step). */
  private bulk(dest: number, src: number, len: number, siteIndex: number): void {
    const state = this.current!;
    const run = state.run!;
    const site = run.compiled.sites[siteIndex];
    len >>>= 0;
    if (len === 0) return;
    if (site.kind === 'copy') {
      this.checkSite(run, siteIndex, src >>> 0, len, 1, false);
      state.loads++;
      state.bytes += len;
    }
    this.checkSite(run, siteIndex, dest >>> 0, len, 1, true);
    state.stores++;
    state.bytes += len;
  }

  /**
   * The module's active data segments, in order, at instantiation: each a write of its bytes by the
   * component (as memory.init's), checked and timed; a precise fault stops the instantiation there.
   */
  private writeData(run: Running): void {
    const state = this.current!;
    const arena = this.arena!;
    for (const d of run.compiled.data) {
      if (d.bytes.length === 0) continue;
      const at = { function: null, offset: d.at };
      this.check(run, at, ` (wasm ${run.module}, data segment ${d.index} at byte offset ${offsetHex(d.at)}, written at instantiation)`, d.arenaOffset, d.bytes.length, 1, true);
      new Uint8Array(arena.memory.buffer).set(d.bytes, d.arenaOffset);
      state.stores++;
      state.bytes += d.bytes.length;
    }
  }

  /** An access by the instruction of site `siteIndex`. */
  private checkSite(run: Running, siteIndex: number, arenaOffset: number, len: number, width: Width, write: boolean): void {
    this.check(run, run.at[siteIndex], run.where[siteIndex], arenaOffset, len, width, write);
  }

  /** One access at an offset in the arena, by the component, through emu's checks and timing. */
  private check(run: Running, at: InstructionAt, where: string, arenaOffset: number, len: number, width: Width, write: boolean): void {
    const state = this.current!;
    const arena = this.arena!;
    const addr = arena.base + arenaOffset;
    if (arenaOffset + len > arena.size) {
      const detail = `${write ? 'write' : 'read'} of ${len} bytes at ${hex(addr)}${where} by ${run.component}: outside the arena (${hex(arena.base)}..${hex(arena.base + arena.size - 1)}), the only memory a module reaches; the call stops`;
      this.host.fault('access-violation', state.line, 'precise', detail, at);
      throw new Trap(`access-violation at ${label(at)}`);
    }
    const result = this.host.memory.access(write, addr, len, width, run.component, NOWHERE, this.host.op(), state.line, this.host.now(), where, at);
    this.host.advance(result.cycles);
    state.cycles += result.cycles;
    const finding = result.finding;
    if (finding) this.host.fault(finding.kind, state.line, finding.detected, finding.detail, at);
    if (finding?.detected === 'precise') throw new Trap(`${finding.kind} at ${label(at)}`);
    this.host.shared(addr, len, write, run.component, state.line, at);
  }

  /**
   * memory.grow: in a static layout the module's pages grow within its segment; in a dynamic one the
   * segment grows in place when the pages need it (as a wasm heap's memory.grow does). -1 when the
   * module's maximum, the segment or the next segment's guard stops it, with a grow-failed fault.
   */
  private grow(run: Running, pages: number): number {
    const old = run.pages;
    const dynamic = this.host.dynamic;
    const what = `memory.grow(${pages}) by ${run.module} returned -1`;
    let refusal: string | null = null;
    if (old + pages > run.compiled.maxPages) {
      refusal = dynamic
        ? `${what}: ${old} pages are in use and the module may have ${run.compiled.maxPages} (its maximum, or the arena's end)`
        : `${what}: segment ${run.component} holds ${run.compiled.maxPages} pages and ${old} are in use`;
    } else if (dynamic) {
      const blocked = dynamic.growModule(run.component, (old + pages) * PAGE);
      if (blocked !== null) refusal = `${what}: ${old} pages are in use; segment ${run.component} cannot grow in place: ${blocked}`;
    }
    if (refusal !== null) {
      this.host.fault('grow-failed', this.current!.line, 'precise', refusal, null);
      return -1;
    }
    run.pages += pages;
    // New pages read as zeros, as WebAssembly promises.
    this.zero(run.segmentBase, old, pages);
    return old;
  }

  /** Zeros `pages` pages of a module's memory from page `from`. */
  private zero(segmentBase: number, from: number, pages: number): void {
    new Uint8Array(this.arena!.memory.buffer, segmentBase - this.arena!.base + from * PAGE, pages * PAGE).fill(0);
  }

  private malloc(run: Running, size: number): number {
    const id = `${run.component}.malloc#${++run.serial}`;
    const addr = this.host.malloc(run.heap!, id, size, this.current!.line);
    if (addr < 0) return 0;
    run.blocks.set(addr, id);
    return this.moduleAddress(run.segmentBase, addr);
  }

  private free(run: Running, ptr: number): void {
    if (ptr === 0) return; // free(NULL)
    const addr = (run.segmentBase + ptr) >>> 0;
    // A block stays named after its free, so a second free of it is a double free, not an unknown pointer.
    const id = run.blocks.get(addr) ?? `${run.component}.free@${hex(addr)}`;
    this.host.free(run.heap!, id, this.current!.line);
  }
}

/** An access as a trap names it: `fill+0x49`, or `data segment at 0x1e` (written at instantiation). */
function label(at: InstructionAt): string {
  return at.function === null ? `data segment at ${offsetHex(at.offset!)}` : `${at.function}+${offsetHex(at.offset!)}`;
}

/**
 * The function a WebAssembly trap happened in, from the engine's stack (its top wasm frame, by index
 * in the rebased module, whose defined functions are the original's in order after emu's imports).
 * The byte offset there is the rebased module's, not the original's: it is not given.
 */
function trapFunction(error: Error, run: Running | null): string | null {
  const frame = /wasm-function\[(\d+)\]/.exec(error.stack ?? '');
  if (!frame || !run) return null;
  const info = run.compiled.info;
  const index = Number(frame[1]) - run.compiled.importedFunctions + info.importedFunctions;
  return index < info.functions.length ? info.functions[index].name : null;
}
