/**
 * The program's accesses to memory, checked the way the target would see them: the verification
 * level's instrumented checks first (bounds, alignment), then the region (mapped, writable), user
 * mode against kernel-only memory, the CPU's alignment rules, the layout's guards and ownership, the
 * block's bounds and lifetime, the allocator's metadata, DMA transfers still running, and the data
 * cache's coherency with DMA. One access reports at most one fault now (the first that applies, in
 * the order the hardware would notice); a write into a canary band or allocator metadata is
 * remembered and reported when the target would find it. DMA transfers are checked here too.
 */
import { formatBytes, hex } from '../util/text.js';
import type { Heap } from '../heap/heap.js';
import type { Layout } from '../layout/layout.js';
import { memoryMap, type Area, type MemoryMap, type Resolved } from './map.js';
import type { CacheOp, Scenario, Width } from '../scenario/types.js';
import type { DmaChannel, Region, Target } from '../target/types.js';
import type { DataCache } from '../timing/cache.js';
import { dmaCycles, type CycleModel } from '../timing/model.js';
import type { LiveBlock } from '../engine/blocks.js';
import type { Detected, FaultKind } from './faults.js';

export interface Finding {
  kind: FaultKind;
  detected: Detected;
  detail: string;
}

/**
 * The wasm instruction that made an access or trapped: function and byte offset in its module (no
 * function for a data segment written at instantiation, no offset for a trap that is not an access).
 */
export interface InstructionAt {
  function: string | null;
  offset: number | null;
}

/** A harm done now and found later: a canary band or allocator metadata overwritten. */
export interface Pending {
  /** The guard's name, or the heap's. */
  where: string;
  addr: number;
  /** The operation and scenario line of the write that did it. */
  op: number;
  line: number;
  detail: string;
  /** The wasm instruction that wrote, named again when the harm is found. */
  at: InstructionAt | null;
}

/** What an access reaches through: a live block, a freed one, or a raw address. */
export interface Through {
  id: string | null;
  block: LiveBlock | null;
  freed: boolean;
  offset: number;
}

export interface DmaResult {
  findings: Finding[];
  cycles: number;
  stall: number;
  /** What the CPU spends on the transfer: all of it where the hardware stalls it, else programming the channel. */
  cpuCycles: number;
  /** The ends the transfer ran between (a truncating controller's low bits cleared). */
  from: number | null;
  to: number | null;
}

/** A DMA transfer still running beside the CPU: the canonical ranges it reads and writes, and its end. */
interface Transfer {
  channel: string;
  src: { start: number; end: number } | null;
  dst: { start: number; end: number } | null;
  end: number;
  op: number;
  line: number;
}

export interface AccessResult {
  finding: Finding | null;
  addr: number;
  cycles: number;
}

/** How far below a payload its allocator's header can sit: an allocator reading it notices harm there. */
const HEADER_REACH = 32;

/**
 * No harm found: the common answer, shared rather than allocated at every free. Not frozen: V8 runs a
 * for-of over a frozen array through the generic iterator protocol, hundreds of instructions a loop.
 */
const NONE: readonly Pending[] = [];

export class ProgramMemory {
  readonly map: MemoryMap;
  /** The target's data cache (the timing model's): coherency with DMA reads its lines' states. */
  private readonly cache: DataCache | null;
  /** Canary bands written since their last sweep, by guard name: the guard and the first write. */
  private readonly dirtyCanaries = new Map<string, { guard: Area; pending: Pending }>();
  private readonly corruptions = new Map<Heap, Pending[]>();
  private transfers: Transfer[] = [];
  private readonly busyUntil = new Map<string, number>();
  /** Canonical address ranges of the target's kernel-only partitions. */
  private readonly kernelRanges = new Map<string, { start: number; end: number }>();
  dmaBytes = 0;
  dmaCycles = 0;
  stallCycles = 0;

  constructor(
    private readonly scenario: Scenario,
    layout: Layout,
    private readonly heaps: ReadonlyMap<string, Heap>,
    private readonly timing: CycleModel,
  ) {
    this.map = memoryMap(scenario, layout);
    this.cache = timing.cache;
    for (const p of scenario.target.privilege?.kernelPartitions ?? []) {
      const space = layout.containers.get(p.name)!.space;
      this.kernelRanges.set(p.name, { start: space.base, end: space.base + space.size });
    }
  }

  private get target(): Target {
    return this.scenario.target;
  }

  /**
   * A CPU read or write of `len` bytes at `addr`, `width` bytes at a time, by component `by`, at cycle
   * `now`; `site` says where in a program the access is (a wasm instruction), for every detail, and
   * `instruction` which one it is, for harm found later.
   */
  access(write: boolean, addr: number, len: number, width: Width, by: string | null, through: Through, op: number, line: number, now: number, site = '', instruction: InstructionAt | null = null): AccessResult {
    const verb = write ? 'write' : 'read';
    if (through.id !== null && !through.block) {
      return { finding: { kind: 'out-of-bounds', detected: 'silent', detail: `${verb} through id ${through.id}, which names no block (a wild pointer)` }, addr, cycles: 0 };
    }
    const what = `${verb} of ${len} byte${len === 1 ? '' : 's'} at ${hex(addr)}${site}`;
    const unit = width === 'multiple' ? 4 : width;
    const checks = this.timing.accessChecks(Math.ceil(len / unit), through.block !== null && !through.freed);
    const caught = this.verificationCheck(what, addr, len, unit, through);
    if (caught) return { finding: caught, addr, cycles: checks };
    const at = this.map.resolve(addr);
    if (!at || !at.region.cpuMapped) {
      return { finding: { kind: 'unmapped', detected: 'precise', detail: `${what}: ${at ? `region ${at.region.name} is not reachable by the CPU` : 'no memory there'} (bus error)` }, addr, cycles: 0 };
    }
    const end = at.addr + len;
    const region = at.region;
    if (end > region.base + region.size) {
      return { finding: { kind: 'unmapped', detected: 'precise', detail: `${what}: runs ${end - region.base - region.size} bytes past the end of ${region.name} (bus error)` }, addr, cycles: 0 };
    }
    const forbidden = this.kernelOnly(addr, at.addr, len);
    if (forbidden) return { finding: { kind: 'access-violation', detected: 'precise', detail: `${what} in user mode: ${forbidden} (address error)` }, addr, cycles: 0 };
    // Charged (and the cache touched) only by an access that happens.
    const cost = () => checks + this.timing.data(at.addr, len, unit, write, region, at.cached && this.target.cache !== null);
    if (write && (region.kind === 'rom' || region.kind === 'flash')) {
      const trapped = this.target.protection.kind !== 'none';
      return { finding: { kind: 'unmapped', detected: trapped ? 'precise' : 'silent', detail: `${what}: ${region.name} is ${region.kind}, ${trapped ? 'mapped read-only (fault)' : 'the write is ignored'}` }, addr, cycles: cost() };
    }
    const misaligned = this.misaligned(addr, width, unit, region);
    if (misaligned) return { finding: { kind: 'misaligned', detected: 'precise', detail: `${what}: ${misaligned}` }, addr, cycles: 0 };

    let canaryHit: Area | null = null;
    for (const area of this.map.overlapping(at.addr, end)) {
      if (area.kind === 'released') {
        // A dynamic segment given back: an MMU unmapped its pages; elsewhere the memory is still there.
        const trapped = this.target.protection.kind === 'mmu';
        const how = trapped ? ', its pages unmapped (page fault)' : '; nothing on this target stops the access';
        return { finding: { kind: 'use-after-free', detected: trapped ? 'precise' : 'silent', detail: `${what}: segment ${area.name} (${hex(area.start)}..${hex(area.end - 1)}) was released at op ${area.releasedAt} (line ${area.line})${how}${blockNote(through)}` }, addr, cycles: trapped ? 0 : cost() };
      }
      if (area.kind === 'guard') {
        if (area.protection !== 'canary') {
          return { finding: { kind: 'guard-hit', detected: 'precise', detail: `${what}: ${guardWhere(area, at.addr, end)}, trapped by the ${area.protection!.toUpperCase()}${blockNote(through)}` }, addr, cycles: 0 };
        }
        if (write) canaryHit ??= area;
        continue;
      }
      const violation = by === null ? null : rightsViolation(area, by, write);
      if (violation) {
        const trapped = this.target.protection.kind === 'mmu';
        return { finding: { kind: 'access-violation', detected: trapped ? 'precise' : 'silent', detail: `${what} by ${by}: ${violation}${trapped ? '' : ' (nothing on this target stops it)'}` }, addr, cycles: trapped ? 0 : cost() };
      }
    }

    const finding = this.blockFinding(what, write, at.addr, end, through, canaryHit, op, line, instruction);
    if (canaryHit && !this.dirtyCanaries.has(canaryHit.name)) {
      const detail = `${what} (op ${op}, line ${line}) overwrote the canary band ${canaryHit.name} at ${hex(canaryHit.start)}..${hex(canaryHit.end - 1)}${blockNote(through)}`;
      this.dirtyCanaries.set(canaryHit.name, { guard: canaryHit, pending: { where: canaryHit.name, addr: Math.max(at.addr, canaryHit.start), op, line, detail, at: instruction } });
    }
    // The access happens first (its lines fill the cache), then coherency reads the lines' states.
    const cycles = cost();
    return { finding: finding ?? this.transferConflict(write, at.addr, end, now, what) ?? this.coherency(write, at, len, op, line, what), addr, cycles };
  }

  /**
   * The verification level's checks, made by instrumented code before the access happens: `minimal`
   * and up check an access through a block against the block's bounds, `standard` and up check every
   * access's alignment to its width (even where the CPU would allow it).
   */
  private verificationCheck(what: string, addr: number, len: number, unit: number, through: Through): Finding | null {
    const level = this.scenario.verification;
    if (level === 'none') return null;
    const b = through.block;
    if (b && !through.freed && b.addr >= 0 && (addr < b.addr || addr + len > b.addr + b.size)) {
      const where = addr < b.addr ? `${b.addr - addr} bytes before the start` : `${addr + len - b.addr - b.size} bytes past the end`;
      return { kind: 'out-of-bounds', detected: 'precise', detail: `${what}: ${where} of id ${through.id} (${b.size} bytes at ${hex(b.addr)}), caught by the bounds check (verification ${level}); the access does not happen` };
    }
    if ((level === 'standard' || level === 'full') && addr % unit !== 0) {
      return { kind: 'misaligned', detected: 'precise', detail: `${what}: not ${unit}-byte aligned, caught by the alignment check (verification ${level})` };
    }
    return null;
  }

  /**
   * User-mode code may not reach the kernel: not through a kernel segment's window (whatever memory
   * is behind it), nor the kernel partition's memory through any window.
   */
  private kernelOnly(issued: number, canonical: number, len: number): string | null {
    const privilege = this.target.privilege;
    if (!privilege || this.scenario.mode === 'kernel') return null;
    const window = privilege.kernelWindows.find((w) => issued < w.end && issued + len > w.base);
    if (window) return `${hex(window.base)}..${hex(window.end - 1)} is kernel-only (${window.why})`;
    for (const p of privilege.kernelPartitions) {
      const range = this.kernelRanges.get(p.name)!;
      if (canonical < range.end && canonical + len > range.start) return `partition ${p.name} (${hex(range.start)}..${hex(range.end - 1)}) is kernel-only (${p.why})`;
    }
    return null;
  }

  /** A CPU access to memory a transfer still running writes, or a CPU write to memory it still reads. */
  private transferConflict(write: boolean, start: number, end: number, now: number, what: string): Finding | null {
    if (this.transfers.length === 0) return null;
    this.transfers = this.transfers.filter((t) => t.end > now);
    for (const t of this.transfers) {
      const hitsDst = t.dst !== null && start < t.dst.end && end > t.dst.start;
      const hitsSrc = write && t.src !== null && start < t.src.end && end > t.src.start;
      if (!hitsDst && !hitsSrc) continue;
      const why = hitsDst ? 'writes that memory' : 'still reads that memory';
      return { kind: 'dma-stale', detected: 'silent', detail: `${what}: the ${t.channel} DMA started at op ${t.op} (line ${t.line}) ${why} until cycle ${t.end}, ${t.end - now} cycles from now (wait for the channel first)` };
    }
    return null;
  }

  /** Bounds, lifetime and allocator metadata: what the block an access goes through says about it. */
  private blockFinding(what: string, write: boolean, start: number, end: number, through: Through, canaryHit: Area | null, op: number, line: number, instruction: InstructionAt | null): Finding | null {
    const b = through.block;
    if (through.freed && b) {
      // One cause, one fault: a write that also lands on the free block's allocator links says so here.
      const harmed = write ? this.metadataHit(start, end) : null;
      const note = harmed ? `; it overwrites ${harmed.heap.name}'s allocator metadata at ${hex(harmed.addr)}` : '';
      return { kind: 'use-after-free', detected: 'silent', detail: `${what}: id ${through.id} was freed (its ${b.size}-byte block at ${hex(b.addr)} was allocated at op ${b.op}, line ${b.line})${note}` };
    }
    let outside = { start, end };
    if (b) {
      if (b.addr < 0) return null; // a null pointer: the address checks above are what the target sees
      if (start >= b.addr && end <= b.addr + b.size) return null;
      outside = start < b.addr ? { start, end: Math.min(end, b.addr) } : { start: Math.max(start, b.addr + b.size), end };
    }
    // Bytes outside any block of the program's: into a canary, into allocator metadata, or elsewhere.
    if (canaryHit) return null;
    if (write) {
      const harmed = this.metadataHit(outside.start, outside.end);
      if (harmed) {
        const list = this.corruptions.get(harmed.heap) ?? [];
        list.push({ where: harmed.heap.name, addr: harmed.addr, op, line, detail: `${what} (op ${op}, line ${line}) overwrote ${harmed.heap.name}'s allocator metadata at ${hex(harmed.addr)}${blockNote(through)}`, at: instruction });
        this.corruptions.set(harmed.heap, list);
        return null;
      }
    }
    if (!b) return null;
    const past = outside.start >= b.addr + b.size;
    return { kind: 'out-of-bounds', detected: 'silent', detail: `${what}: ${past ? `${outside.end - b.addr - b.size} bytes past the end` : `${b.addr - outside.start} bytes before the start`} of id ${through.id} (${b.size} bytes at ${hex(b.addr)})` };
  }

  private metadataHit(start: number, end: number): { heap: Heap; addr: number } | null {
    for (const heap of this.heaps.values()) {
      if (start >= heap.base + heap.size || end <= heap.base || !heap.allocator.metadataIn || heap.gone) continue;
      const addr = heap.allocator.metadataIn(start, end);
      if (addr >= 0) return { heap, addr };
    }
    return null;
  }

  /**
   * The alignment the CPU needs for this width (the target's rule), and in Device memory at least the
   * access's own size up to a word: Device memory faults every unaligned access (ARMv7-M ARM A3.2).
   */
  private misaligned(addr: number, width: Width, unit: number, region: Region): string | null {
    if (unit === 1) return null;
    const rules = this.target.cpu.alignment;
    const rule = width === 'multiple' ? rules.multiple : width === 2 ? rules.halfword : width === 4 ? rules.word : rules.doubleword;
    const needed = region.device ? Math.max(rule, Math.min(unit, this.target.cpu.word)) : rule;
    if (addr % needed === 0) return null;
    const name = width === 'multiple' ? 'load/store multiple' : `${width}-byte access`;
    const where = region.device ? ` in ${region.name}, Device memory` : '';
    return `a ${name} must be ${needed}-byte aligned on ${this.target.cpu.arch}${where} (address error)`;
  }

  /** A CPU access through a cached window, against what DMA did. */
  private coherency(write: boolean, at: Resolved, len: number, op: number, line: number, what: string): Finding | null {
    if (!this.cache || !at.cached) return null;
    if (write) {
      this.cache.programWrote(at.addr, len, op, line);
      return null;
    }
    const stale = this.cache.staleIn(at.addr, len);
    if (!stale) return null;
    return { kind: 'dma-stale', detected: 'silent', detail: `${what} through the cache: DMA wrote line ${hex(stale.addr)} at op ${stale.op} (line ${stale.line}) and it was not invalidated, so the CPU may read stale data` };
  }

  /** What memcpy of `len` bytes between two blocks of a heap in `region` costs. */
  copyCycles(from: number, to: number, len: number, region: Region): number {
    return this.timing.copy(from, to, len, this.target.cpu.word, region, region.cached && this.target.cache !== null);
  }

  /** A cache maintenance step: which resident lines are written back or dropped, and what that costs. */
  maintain(op: CacheOp, addr: number, len: number): { lines: number; writtenBack: number; cycles: number; error: string | null; code: number | null } {
    const at = this.map.resolve(addr);
    if (!this.cache || !at) return { lines: 0, writtenBack: 0, cycles: 0, error: at ? null : `no memory at ${hex(addr)}`, code: null };
    // The OS refuses an invalidate whose ends are not on lines, and invalidates nothing (ppsspp sceKernel.cpp).
    const rule = this.target.cache!.invalidateAlign;
    if (rule && op === 'invalidate' && len > 0 && (addr % rule.bytes !== 0 || len % rule.bytes !== 0)) {
      return { lines: 0, writtenBack: 0, cycles: 0, error: null, code: rule.error };
    }
    const { lines, writtenBack, cycles } = this.timing.maintain(op !== 'invalidate', op !== 'writeback', at.addr, len, at.region);
    return { lines, writtenBack, cycles, error: null, code: rule ? 0 : null };
  }

  /**
   * A DMA transfer started at cycle `now`: its channel's rules, the cache's coherency, and its time.
   * An end of null is the channel's own device (the GPU's FIFO, the CD-ROM drive), which has no
   * address to check. A transfer that does not stall the CPU runs on beside it until its end.
   */
  dma(channel: DmaChannel, from: number | null, to: number | null, len: number, op: number, line: number, now: number): DmaResult {
    const name = (addr: number | null) => (addr === null ? 'the device' : hex(addr));
    const transfer = `${channel.name} DMA of ${formatBytes(len)} from ${name(from)} to ${name(to)}`;
    const refuse = (kind: FaultKind, why: string): DmaResult => ({ findings: [{ kind, detected: 'precise', detail: `${transfer}: ${why}` }], cycles: 0, stall: 0, cpuCycles: 0, from, to });
    const findings: Finding[] = [];
    for (const [end, addr] of [['source', from], ['destination', to]] as const) {
      if (addr === null || addr % channel.align === 0) continue;
      const why = `the ${end} must be ${channel.align}-byte aligned (${hex(addr)} is ${addr % channel.align} past a boundary)`;
      if (channel.misaligned === 'refuse') return refuse('dma-align', why);
      findings.push({ kind: 'dma-align', detected: 'silent', detail: `${transfer}: ${why}; the controller clears the low bits and runs from ${hex(addr - (addr % channel.align))}` });
    }
    // A controller that truncates runs from the word it truncated to (psx-spx dmachannels.md, D#_MADR).
    if (from !== null) from -= from % channel.align;
    if (to !== null) to -= to % channel.align;
    const src = from === null ? null : this.map.resolve(from);
    const dst = to === null ? null : this.map.resolve(to);
    const reach = (list: string[], verb: string, at: Resolved | null, addr: number | null): string | null => {
      if (addr === null) return list.length === 0 ? null : `the channel ${verb} ${list.join(', ')}, not its device`;
      if (at && list.includes(at.region.name)) return null;
      return `the channel ${verb} ${list.length ? list.join(', ') : 'only its device'}, not ${at ? at.region.name : 'unmapped memory'}`;
    };
    const unreachable = reach(channel.reads, 'reads', src, from) ?? reach(channel.writes, 'writes', dst, to);
    if (unreachable) return refuse('dma-region', unreachable);
    if (len === 0 || len % channel.lengthMultiple !== 0) return refuse('dma-length', `the length must be a non-zero multiple of ${channel.lengthMultiple} bytes`);
    const { cycles, stall, cpu } = dmaCycles(channel, len);
    this.dmaBytes += len;
    this.dmaCycles += cycles;
    this.stallCycles += stall;
    if (this.cache && channel.writeback && src?.cached) {
      const stale = this.cache.dirtyUnder(src.addr, len);
      if (stale) findings.push({ kind: 'dma-stale', detected: 'silent', detail: `${transfer}: line ${hex(stale.addr)} was written through the cache at op ${stale.op} (line ${stale.line}) and not written back, so the device reads stale memory` });
    }
    if (this.cache && dst?.cached) {
      // A dirty line the transfer writes under is written back over the device's data when evicted.
      const dirty = this.cache.deviceWrote(dst.addr, len, op, line);
      if (dirty) findings.push({ kind: 'dma-stale', detected: 'silent', detail: `${transfer}: line ${hex(dirty.addr)} holds the CPU's unwritten data from op ${dirty.op} (line ${dirty.line}); written back later, it overwrites what the device wrote (clean or invalidate the destination first)` });
    }
    if (!channel.stallsCpu) {
      const range = (at: Resolved | null) => (at === null ? null : { start: at.addr, end: at.addr + len });
      this.transfers.push({ channel: channel.name, src: range(src), dst: range(dst), end: now + cycles, op, line });
      this.busyUntil.set(channel.name, now + cycles);
    }
    return { findings, cycles, stall, cpuCycles: cpu, from, to };
  }

  /** The cycle the channel's last transfer ends (a new one, or a `wait`, waits for it). */
  channelFreeAt(channel: string): number {
    return this.busyUntil.get(channel) ?? 0;
  }

  /**
   * Canary bands written since the last sweep: all of them, or those bordering the segment `near`
   * (a heap whose free checks its neighbours) lies in. They are re-armed.
   */
  sweepCanaries(near?: Heap): readonly Pending[] {
    if (this.dirtyCanaries.size === 0) return NONE;
    const segment = near ? this.map.areaAt(near.base) : null;
    if (near && !segment) return [];
    const found: Pending[] = [];
    for (const [name, { guard, pending }] of this.dirtyCanaries) {
      if (segment && guard.end !== segment.start && guard.start !== segment.end) continue;
      found.push(pending);
      this.dirtyCanaries.delete(name);
    }
    return found;
  }

  /**
   * Canary bands written since the last sweep that overlap [start, end): a dynamic segment's guards,
   * checked by the segment allocator before it moves or drops them. They are re-armed.
   */
  sweepCanariesIn(start: number, end: number): readonly Pending[] {
    if (this.dirtyCanaries.size === 0) return NONE;
    const found: Pending[] = [];
    for (const [name, { guard, pending }] of this.dirtyCanaries) {
      if (guard.start >= end || guard.end <= start) continue;
      found.push(pending);
      this.dirtyCanaries.delete(name);
    }
    return found;
  }

  /** Whether any harm waits to be found (a header overwritten, a canary written): nearly never, so a free asks first. */
  get harmPending(): boolean {
    return this.corruptions.size !== 0 || this.dirtyCanaries.size !== 0;
  }

  /** Metadata harm the allocator reads when it frees the block at `addr` (its header), or all of a heap's. */
  corruptionsFound(heap: Heap, freeing: number | null): readonly Pending[] {
    if (this.corruptions.size === 0) return NONE;
    const list = this.corruptions.get(heap);
    if (!list) return NONE;
    const found = freeing === null ? list : list.filter((p) => p.addr < freeing && p.addr >= freeing - HEADER_REACH);
    if (found.length === list.length) this.corruptions.delete(heap);
    else this.corruptions.set(heap, list.filter((p) => !found.includes(p)));
    return found;
  }

  /** Every heap with harm nobody has read yet (at the end of the run: never noticed). */
  heapsWithCorruption(): Heap[] {
    return [...this.corruptions.keys()];
  }

  region(name: string): Region {
    return this.target.regions.find((r) => r.name === name)!;
  }
}

function rightsViolation(area: Area, by: string, write: boolean): string | null {
  if (area.kind === 'segment' && area.owner !== by) return `segment ${area.name} belongs to ${area.owner}`;
  if (area.kind === 'shared') {
    const right = area.rights.get(by);
    if (!right) return `${by} has no access to the shared region ${area.name}`;
    if (write && right === 'r') return `${by} may only read the shared region ${area.name}`;
    if (!write && right === 'w') return `${by} may only write the shared region ${area.name}`;
  }
  return null;
}

function guardWhere(guard: Area, start: number, end: number): string {
  const from = Math.max(start, guard.start);
  const to = Math.min(end, guard.end);
  return `${to - from} byte${to - from === 1 ? '' : 's'} into the guard ${guard.name} (${hex(guard.start)}..${hex(guard.end - 1)})`;
}

function blockNote(through: Through): string {
  const b = through.block;
  if (!b || b.addr < 0) return '';
  return ` through id ${through.id} (${b.size} bytes at ${hex(b.addr)}, offset ${through.offset})`;
}
