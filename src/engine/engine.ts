/**
 * The engine: lays out the scenario, runs its operations in order, owns the cycle clock, and emits
 * every event to the trace sinks. Nothing here reads the wall clock or unordered state.
 */
import { isPow2 } from '../util/bits.js';
import { formatBytes, group, hex } from '../util/text.js';
import { MODES, newWork, resetWork, type AllocatorContext, type SegmentMemory, type Work } from '../alloc/allocator.js';
import { ALLOCATORS } from '../alloc/registry.js';
import { BudgetTracker } from '../heap/budgets.js';
import { EnvironmentBudget, type BudgetBreach, type EnvironmentUsage } from '../heap/environment.js';
import { Distribution, type DistributionSummary } from '../heap/distribution.js';
import { Heap, placedFrom, refusedArguments, type HeapSnapshot, type HeapSummary } from '../heap/heap.js';
import { InputError } from '../input/errors.js';
import { buildLayout, type Layout, type Placed } from '../layout/layout.js';
import { Streams } from '../rng/streams.js';
import { drain, expandItems, type Op } from '../scenario/expand.js';
import type { DmaEnd, Location, Scenario, Width } from '../scenario/types.js';
import { TargetCycleModel, VERIFICATION_PERCENT, type CycleModel } from '../timing/model.js';
import { TRACE_FORMAT, TRACE_VERSION, type TraceHeader } from '../trace/schema.js';
import type { TraceSink } from '../trace/writer.js';
import { BlockTable, type LiveBlock } from './blocks.js';
import { ProgramMemory, type InstructionAt, type Pending, type Through } from '../memory/access.js';
import type { Detected, FaultKind } from '../memory/faults.js';
import { WasmComponents } from './wasm.js';
import { LockTable } from '../sync/locks.js';
import { RaceDetector, raceDetail } from '../sync/lockset.js';
import type { HeapSpec } from '../scenario/types.js';
import type { Region } from '../target/types.js';
import { DynamicSegments, type ArenaSummary, type SegmentHost } from './segments.js';

export interface FaultRecord {
  kind: FaultKind;
  line: number;
  op: number;
  detected: Detected;
  heap: string | null;
  id: string | null;
  detail: string;
  /** For a harm found later: the operation and line that did it. */
  cause: { op: number; line: number } | null;
  /** For an operation replayed from a field log: the log line it came from. */
  logLine: number | null;
  /** Who made the call, where a replayed field log says. */
  caller: string | null;
}

export interface RunSummary {
  ops: number;
  cycles: number;
  frames: number;
  halted: boolean;
  faults: Record<string, number>;
  heaps: HeapSummary[];
  budgets: { crate: string; used: number; limit: number }[];
  /** The target's environment budget at the run's peak (null for a target without one). */
  environment: EnvironmentUsage | null;
  worst_frame_cycles: number;
  /** Cycles per frame: min, p50, p90, p99, max, mean. */
  frame_cycles: DistributionSummary;
  dma_bytes: number;
  dma_cycles: number;
  stall_cycles: number;
  /** A dynamic layout's arena (absent for a static layout). */
  arena?: ArenaSummary;
}

export interface RunResult {
  header: TraceHeader;
  summary: RunSummary;
  /** The first faults in order (all of them up to a limit, for reports and expectations). */
  faults: FaultRecord[];
  faultCount: number;
  events: number;
}

export interface RunOptions {
  sinks: TraceSink[];
  /** Called every `progressEvery` operations (for the CLI's progress line). */
  onProgress?: (ops: number) => void;
  progressEvery?: number;
  /** Halt at the first fault (for `emu repro` and shrinking). */
  stopAtFirstFault?: boolean;
}

/** How many faults a run keeps for its report; the trace holds them all. */
const FAULTS_KEPT = 1000;

class Halt extends Error {}

export function traceHeader(scenario: Scenario): TraceHeader {
  return {
    type: 'header',
    format: TRACE_FORMAT,
    version: TRACE_VERSION,
    scenario: scenario.name,
    scenario_sha256: scenario.hash,
    target: scenario.target.name,
    target_sha256: scenario.target.hash,
    seed: scenario.seed,
    policy: scenario.policy,
    verification: scenario.verification,
  };
}

export function run(scenario: Scenario, options: RunOptions): RunResult {
  return new Engine(scenario, options).run();
}

class Engine {
  private readonly sinks: TraceSink[];
  private readonly heaps = new Map<string, Heap>();
  /** Set once the layout stands. */
  private memory!: ProgramMemory;
  private readonly blocks = new BlockTable();
  private readonly budgets: BudgetTracker;
  private readonly environment: EnvironmentBudget | null;
  private readonly timing: CycleModel;
  private readonly work: Work = newWork();
  /** Every request grows by the verification level's byte overhead (percent). */
  private readonly verificationPercent: number;
  /** `full` verification walks the heap an operation touched right after it. */
  private readonly walkEveryOp: boolean;
  private scopeSerial = 0;
  /** The field-log line of the operation running, when it was replayed from a log. */
  private logLine: number | null = null;
  /** The caller of the operation running, when a replayed log names it. */
  private caller: string | null = null;
  private clock = 0;
  /** Cycles of the last allocate() or release(), read right after it (no result object on the hot path). */
  private opCycles = 0;
  private op = 0;
  private seq = 0;
  private frames = 0;
  private frameStart = 0;
  private worstFrame = 0;
  private readonly frameCycles = new Distribution();
  private halted = false;
  /** Operations of a scope whose entry failed are skipped up to its matching exit. */
  private skipDepth = 0;
  private readonly faultCounts: Record<string, number> = {};
  private readonly faults: FaultRecord[] = [];
  /** Set once the layout stands. */
  private layout!: Layout;
  /** The modules of `wasm` steps, one instance per component, made at the first call. */
  private wasm: WasmComponents | null = null;
  /** The wasm instruction being checked, named in the faults it raises. */
  private wasmAt: InstructionAt | null = null;
  /** The locks guarding the shared regions, and who holds them. */
  private readonly locks: LockTable;
  /** Where the layout's components run at the same time: the lockset of each shared region (Eraser). */
  private readonly races: RaceDetector | null;
  /** A dynamic layout's segments at run time (null for a static layout). */
  private dynamic: DynamicSegments | null = null;

  constructor(
    private readonly scenario: Scenario,
    private readonly options: RunOptions,
  ) {
    this.sinks = options.sinks;
    this.budgets = new BudgetTracker(scenario.budgets);
    this.environment = scenario.target.budget ? new EnvironmentBudget(scenario.target.budget) : null;
    this.timing = new TargetCycleModel(scenario.verification, scenario.target.cache);
    this.work.trace = this.timing.trace;
    this.verificationPercent = VERIFICATION_PERCENT[scenario.verification];
    this.walkEveryOp = scenario.verification === 'full';
    this.locks = new LockTable(scenario.layout?.shared ?? []);
    this.races = scenario.layout?.concurrent ? new RaceDetector() : null;
  }

  run(): RunResult {
    const header = traceHeader(this.scenario);
    for (const sink of this.sinks) sink.header(header);
    try {
      this.layOut();
      this.execute();
      this.logLine = null;
      this.caller = null;
      this.checkLeaks();
      this.locksHeldAtEnd();
      this.unnoticedHarm();
    } catch (e) {
      if (!(e instanceof Halt)) throw e;
      this.halted = true;
    }
    const summary = this.summary();
    this.record('end', { halted: this.halted, events: this.seq + 1, summary }); // the end event counts itself
    const faultCount = Object.values(this.faultCounts).reduce((sum, n) => sum + n, 0);
    return { header, summary, faults: this.faults, faultCount, events: this.seq };
  }

  /** Records an event of `type` at the current operation and cycle, then advances the clock by `advance`. */
  private record(type: string, fields: Record<string, unknown>, advance = 0): void {
    for (const sink of this.sinks) sink.event(type, this.op, this.clock, fields);
    this.seq++;
    this.clock += advance;
  }

  private layOut(): void {
    const layout = (this.layout = buildLayout(this.scenario));
    for (const p of layout.placed) {
      const fields = { line: p.line, what: p.what, name: p.name, in: p.in, addr: p.addr, size: p.size };
      this.record('place', p.protection ? { ...fields, protection: p.protection } : fields);
    }
    if (layout.failure) {
      this.fault(layout.failure.kind, layout.failure.line, 'precise', null, null, layout.failure.detail);
      throw new Halt();
    }
    if (layout.dynamic) this.dynamic = new DynamicSegments(this.segmentHost(), layout.dynamic);
    for (const spec of this.scenario.heaps) {
      // A heap in a dynamic segment not placed yet is made when a segment step creates it.
      const at = layout.heaps.get(spec.name);
      if (!at) continue;
      const component = this.dynamic?.componentOf(spec.name) ?? null;
      const misfit = this.makeHeap(spec, at.base, at.size, at.region, component === null ? undefined : this.dynamic!.segmentMemory(component));
      if (misfit) {
        this.fault('layout-invalid', spec.line, 'precise', spec.name, null, misfit);
        throw new Halt();
      }
    }
    this.memory = new ProgramMemory(this.scenario, layout, this.heaps, this.timing);
    this.budgetLayout(layout);
  }

  /**
   * Makes a heap's allocator over its memory (at the layout, or when a segment step creates the
   * dynamic segment it lives in, again after a release); a misfit says why it cannot be.
   */
  private makeHeap(spec: HeapSpec, base: number, size: number, region: Region, segment?: SegmentMemory): string | null {
    const entry = ALLOCATORS.get(spec.allocator)!;
    const context: AllocatorContext = segment ? { policy: this.scenario.policy, segment } : { policy: this.scenario.policy };
    const misfit = entry.misfit?.(size, spec.options, context);
    if (misfit) return `heap '${spec.name}' (${spec.allocator}, ${formatBytes(size)} at ${hex(base)}): ${misfit}`;
    const allocator = entry.create(base, size, spec.options, context);
    const existing = this.heaps.get(spec.name);
    if (existing) {
      existing.renew(allocator, base, size);
      return null;
    }
    const setup = { name: spec.name, allocatorName: spec.allocator, allocator, entry, base, size, region, crate: spec.budget, softLimit: spec.softLimit };
    this.heaps.set(spec.name, new Heap(setup));
    return null;
  }

  /** What the dynamic layout's segments (engine/segments.ts) use of the engine. */
  private segmentHost(): SegmentHost {
    const engine = this;
    return {
      scenario: this.scenario,
      heaps: this.heaps,
      blocks: this.blocks,
      work: this.work,
      get memory() {
        return engine.memory;
      },
      get op() {
        return engine.op;
      },
      record: (type, fields, advance) => this.record(type, fields, advance),
      fault: (kind, line, detected, heap, id, detail, cause) => this.fault(kind, line, detected, heap, id, detail, cause ?? null),
      reportHarm: (found, kind, detected, line, heap) => this.reportHarm(found, kind, detected, line, heap),
      spent: (heap) => this.spent(heap),
      makeHeap: (spec, base, size, segment) => this.makeHeap(spec, base, size, this.dynamic!.region, segment),
      disown: (block) => this.disown(block),
      verify: (heap, line) => this.verify(heap, line),
      skipScope: () => {
        this.skipDepth = 1;
      },
      halt: () => {
        throw new Halt();
      },
    };
  }

  /**
   * The environment budget's static part: sections and arenas laid out straight in a region or
   * partition count at their size; heaps there are counted as they fill (trackEnvironment).
   */
  private budgetLayout(layout: Layout): void {
    const env = this.environment;
    if (!env) return;
    const topLevel = (p: Placed) => ['region', 'partition'].includes(layout.containers.get(p.in)?.kind ?? '');
    for (const p of layout.placed) {
      if (!topLevel(p)) continue;
      const share = env.shareOf([p.name, p.in]);
      if (p.what === 'heap') this.heaps.get(p.name)!.budgeted = { share, counted: 0 };
      else if (p.what === 'section' || p.what === 'arena') this.reportBreaches(env.add(share, p.size), p.line);
    }
  }

  /** A heap counted in the environment budget, after an operation changed what it has in use. */
  private trackEnvironment(heap: Heap, line: number): void {
    const tracked = heap.budgeted;
    if (tracked === null) return;
    const used = heap.allocator.usedBytes();
    const change = used - tracked.counted;
    tracked.counted = used;
    if (change !== 0) this.reportBreaches(this.environment!.add(tracked.share, change), line);
  }

  private reportBreaches(breaches: readonly BudgetBreach[], line: number): void {
    for (const b of breaches) this.fault(b.kind, line, 'silent', null, null, `environment budget: ${b.detail}`);
  }

  private execute(): void {
    const streams = new Streams(this.scenario.seed);
    const { onProgress, progressEvery = 1 << 20 } = this.options;
    const sampleEvery = this.scenario.sampleEvery;
    const step = (op: Op) => {
      if (this.skipDepth > 0) {
        if (op.kind === 'scope-enter') this.skipDepth++;
        else if (op.kind === 'scope-exit') this.skipDepth--;
        return;
      }
      this.op++;
      this.perform(op);
      if (sampleEvery > 0 && this.op % sampleEvery === 0) this.sample(op.line);
      if (onProgress && this.op % progressEvery === 0) onProgress(this.op);
    };
    for (const item of expandItems(this.scenario.steps, streams)) {
      if ('source' in item) drain(item, step);
      else step(item);
    }
  }

  private perform(op: Op): void {
    this.logLine = (op as { log?: number }).log ?? null;
    this.caller = (op as { caller?: string }).caller ?? null;
    // In a dynamic layout, an operation on a heap whose segment is not there does not happen.
    if (this.dynamic !== null && this.dynamic.blocked(op)) return;
    switch (op.kind) {
      case 'log-note':
        this.record('log', { line: op.line, log_line: op.log, what: op.what, detail: op.detail });
        return;
      case 'log-overlap':
        // The host heap handed the memory out twice: it was corrupt, and nothing on the device noticed.
        this.fault('heap-corrupt', op.line, 'silent', op.heap, op.id, `the log shows memory handed out twice: ${op.detail}${this.liveSince(op.id)}`);
        return;
      case 'alloc':
        return this.alloc(op);
      case 'free':
        return this.free(op);
      case 'realloc':
        return this.realloc(op);
      case 'scope-enter':
        return this.scopeEnter(op);
      case 'scope-exit':
        return this.scopeExit(op);
      case 'grow':
        return this.grow(op);
      case 'segment':
        return this.dynamic!.segment(op);
      case 'read':
      case 'write':
        return this.access(op);
      case 'copy':
        return this.copy(op);
      case 'dma':
        return this.dma(op);
      case 'cache':
        return this.cacheOp(op);
      case 'check':
        return this.check(op.line);
      case 'sample':
        return this.sample(op.line);
      case 'wait':
        return this.wait(op);
      case 'idle':
        this.record('idle', { line: op.line, cycles: op.cycles }, op.cycles);
        return;
      case 'frame':
        return this.frame(op);
      case 'wasm':
        return this.wasmCall(op);
      case 'lock':
      case 'unlock':
        return this.lockStep(op);
    }
  }

  /** A wasm step: the component's module runs, each of its accesses checked and timed as a CPU access. */
  private wasmCall(op: Extract<Op, { kind: 'wasm' }>): void {
    this.wasm ??= new WasmComponents({
      memory: this.memory,
      layout: this.layout,
      dynamic: this.dynamic,
      op: () => this.op,
      now: () => this.clock,
      advance: (cycles) => {
        this.clock += cycles;
      },
      fault: (kind, line, detected, detail, at) => this.naming(at, () => this.fault(kind, line, detected, null, null, detail)),
      malloc: (heap, id, size, line) => {
        this.alloc({ kind: 'alloc', line, id, heap, size, align: 0, budget: null, mode: null, at: null });
        return this.blocks.get(id)?.addr ?? -1;
      },
      free: (heap, id, line) => this.free({ kind: 'free', line, id, heap }),
      record: (fields) => this.record('wasm', fields),
      shared: (addr, len, write, by, line, at) => {
        if (this.races) this.naming(at, () => this.sharedAccess(addr, len, write, write ? 'write' : 'read', by, line, null));
      },
    });
    this.wasm.call(op);
  }

  private alloc(op: Extract<Op, { kind: 'alloc' }>): void {
    const heap = this.heaps.get(op.heap)!;
    this.checkChecksums(heap, op.line);
    const previous = this.blocks.get(op.id);
    if (previous && previous.addr >= 0) {
      this.fault('leak', op.line, 'silent', previous.heap.name, op.id, `id ${op.id} is reassigned while its block at ${hex(previous.addr)} (${previous.size} bytes, op ${previous.op}) is live: that block can no longer be freed`);
      this.disown(previous);
    }
    const crate = op.budget ?? heap.crate;
    const addr = this.allocate(heap, op.size, op.align, crate, op.line, op.id, op.mode ?? 0, op.at ?? 0);
    const cycles = this.opCycles;
    this.bind(op.id, heap, addr, op.size, crate, op.line);
    const block = addr < 0 ? 0 : heap.allocator.lastBlock;
    const fields: Record<string, unknown> = { line: op.line, heap: heap.name, id: op.id, size: op.size, align: op.align, addr: addr < 0 ? null : addr, block, cycles, log_line: op.log, caller: op.caller };
    // An allocator modelling a real API adds the call's placement mode and its error code.
    if (heap.entry.errorCodes) Object.assign(fields, { mode: MODES[op.mode ?? 0] ?? op.mode, at: op.at ?? null, error: addr < 0 ? heap.allocator.lastError : null });
    this.record('alloc', fields, cycles);
    this.verify(heap, op.line);
  }

  /**
   * The allocation path shared by alloc and realloc: crate and scope budgets, the allocator, the
   * failure's classification and the growth policy. Returns the address, -1 when the allocation
   * failed; its cycles are left in opCycles.
   */
  private allocate(heap: Heap, size: number, align: number, crate: string | null, line: number, id: string, mode = 0, at = 0): number {
    this.opCycles = 0;
    if (crate !== null && !this.budgets.charge(crate, size)) {
      heap.recordFailure(size, 0, 'budget');
      this.failAlloc('budget-exceeded', heap, id, line, `crate ${crate}: ${size} bytes requested, ${this.budgets.left(crate)} of ${this.budgets.limit(crate)} left`);
      return -1;
    }
    const request = this.withOverhead(size);
    const overBudget = this.scopeOverBudget(heap, request, align);
    if (overBudget) {
      if (crate !== null) this.budgets.release(crate, size);
      heap.recordFailure(size, 0, 'budget');
      this.failAlloc('budget-exceeded', heap, id, line, overBudget);
      return -1;
    }
    const capacityBefore = heap.entry.grows ? heap.allocator.capacity() : 0;
    const addr = heap.allocator.alloc(request, align, this.work, mode, at);
    const cycles = (this.opCycles = this.spent(heap));
    if (heap.entry.grows && heap.allocator.capacity() !== capacityBefore) {
      // The allocator grew its memory to serve the request (wasm's auto_grow); its cost is in the alloc's.
      this.record('grow', { line, heap: heap.name, auto: true, old_capacity: capacityBefore, capacity: heap.allocator.capacity() });
    }
    if (addr < 0) {
      if (crate !== null) this.budgets.release(crate, size);
      this.allocationFailed(heap, id, line, size, request, align, mode, cycles);
      return -1;
    }
    heap.recordAlloc(addr, size, cycles, heap.entry.modes ? placedFrom(mode) : 'bottom');
    this.checkSoftLimit(heap, line);
    return addr;
  }

  /**
   * A request the allocator refused: `oom` or `fragmented` (with the growth policy's consequence),
   * except where C says no memory fault happened: malloc(0) may return null, and a real API's refusal
   * of its arguments is an error return (in the event).
   */
  private allocationFailed(heap: Heap, id: string, line: number, size: number, request: number, align: number, mode: number, cycles: number): void {
    const byArguments = refusedArguments(heap.entry, heap.allocator.lastError, size, mode);
    heap.recordFailure(size, cycles, byArguments ? 'arguments' : 'no-memory');
    if (byArguments) return;
    const free = heap.allocator.freeBytes();
    const kind = free >= request ? 'fragmented' : 'oom';
    const code = heap.entry.errorCodes ? ` (error ${hex(heap.allocator.lastError!)})` : '';
    const what = request === size ? `${size} bytes requested` : `${size} bytes requested, ${request} with verification`;
    const how = align !== 0 ? `align ${align}` : heap.entry.modes ? 'no alignment' : 'malloc';
    this.failAlloc(kind, heap, id, line, `${what} (${how})${code}; ${formatBytes(free)} free in total, largest free block ${formatBytes(heap.allocator.largestFree())}${this.heapDiagnostics(heap)}`);
  }

  /** A request grown by the verification level's byte overhead. */
  private withOverhead(size: number): number {
    return size + Math.ceil((size * this.verificationPercent) / 100);
  }

  /** Binds an id to its new block (or to null after a failure), inside the innermost open scope. */
  private bind(id: string, heap: Heap, addr: number, size: number, crate: string | null, line: number): void {
    if (addr < 0) {
      this.blocks.setFailed(id, { heap, addr, size, crate: null, scope: 0, op: this.op, line, logLine: this.logLine });
      return;
    }
    const scopes = heap.openScopes;
    let serial = 0;
    if (scopes.length > 0) {
      const scope = scopes[scopes.length - 1];
      scope.ids.push(id);
      serial = scope.serial;
    }
    this.blocks.set(id, { heap, addr, size, crate, scope: serial, op: this.op, line, logLine: this.logLine });
  }

  /** An allocation inside bump scopes must fit every enclosing scope's budget. */
  private scopeOverBudget(heap: Heap, size: number, align: number): string | null {
    const scopes = heap.openScopes;
    if (scopes.length === 0) return null;
    const bump = heap.allocator.scopes!;
    const cost = bump.cost(size, align);
    for (let level = scopes.length - 1; level >= 0; level--) {
      const budget = scopes[level].budget;
      if (budget === null) continue;
      const used = bump.usedSince(level);
      if (used + cost > budget) return `scope budget of ${formatBytes(budget)} at depth ${level + 1} exceeded: ${used} bytes used, ${cost} more requested`;
    }
    return null;
  }

  private failAlloc(kind: FaultKind, heap: Heap, id: string | null, line: number, detail: string): void {
    const policy = this.scenario.policy;
    const suffix = policy === 'std' ? ' (std: out-of-memory exception raised, the run goes on)' : policy === 'no_std_alloc' ? ' (allocation returned null)' : '';
    this.fault(kind, line, 'precise', heap.name, id, detail + suffix);
    if (policy === 'no_alloc') {
      this.fault('panic', line, 'precise', heap.name, id, `no_alloc: allocation failure (${kind}) aborts the program`);
      throw new Halt();
    }
  }

  private checkSoftLimit(heap: Heap, line: number): void {
    if (heap.softLimit === null || this.scenario.policy !== 'std') return;
    const used = heap.allocator.usedBytes();
    if (used > heap.softLimit) {
      this.record('warning', { line, heap: heap.name, detail: `soft limit ${formatBytes(heap.softLimit)} exceeded: ${used} bytes in use` });
    }
  }

  private free(op: Extract<Op, { kind: 'free' }>): void {
    const block = this.blocks.get(op.id);
    if (!block) {
      const freed = this.blocks.freedBlock(op.id);
      const heap = freed?.heap ?? (op.heap ? this.heaps.get(op.heap)! : null);
      if (freed) this.fault('double-free', op.line, this.badFreeDetection(freed), heap!.name, op.id, `id ${op.id} was already freed (${hex(freed.addr)}, ${freed.size} bytes, allocated at ${allocatedAt(freed)})`);
      else this.fault('invalid-free', op.line, heap?.entry.invalidFreeError !== undefined ? 'precise' : 'silent', heap?.name ?? null, op.id, `id ${op.id} names no allocated block`);
      // An allocator modelling a real API answers with its error code, and changes nothing.
      const error = heap?.entry.invalidFreeError;
      if (error !== undefined) this.record('free', { line: op.line, heap: heap!.name, id: op.id, addr: null, block: 0, cycles: 0, error });
      return;
    }
    const heap = block.heap;
    if (block.addr < 0) {
      // free(NULL) after a failed allocation: a no-op, as in C.
      this.blocks.release(op.id, null);
      this.record('free', { line: op.line, heap: heap.name, id: op.id, addr: null, block: 0, cycles: 0 });
      return;
    }
    this.checkChecksums(heap, op.line);
    // Freeing reads the block's header, and a neighbouring segment's canaries are checked.
    if (this.memory.harmPending) {
      this.reportHarm(this.memory.corruptionsFound(heap, block.addr), 'heap-corrupt', 'delayed', op.line, heap.name);
      this.reportHarm(this.memory.sweepCanaries(heap), 'canary-corrupt', 'delayed', op.line, null);
    }
    const released = this.release(op.id, block);
    const cycles = this.opCycles;
    // An allocator modelling a real API answers every free with its code (null: success).
    const error = heap.entry.invalidFreeError !== undefined ? null : undefined;
    this.record('free', { line: op.line, heap: heap.name, id: op.id, addr: block.addr, block: released, cycles, log_line: op.log, error, caller: op.caller }, cycles);
    this.verify(heap, op.line);
  }

  /**
   * How a free or realloc of a block the program already freed shows on the device: precise where the
   * allocator's real code checks the block and stops (an abort or an error return), else silent (it
   * would corrupt the heap; emu skips the operation so that the replay goes on).
   */
  private badFreeDetection(freed: LiveBlock): Detected {
    const heap = freed.heap;
    if (freed.addr < 0) return 'silent';
    return heap.entry.invalidFreeError !== undefined || heap.allocator.refusesFree?.(freed.addr) ? 'precise' : 'silent';
  }

  /** `; ID was allocated at ...` for a live block, for fault details. */
  private liveSince(id: string): string {
    const block = this.blocks.get(id);
    return block ? `; ${id} was allocated at ${allocatedAt(block)}` : '';
  }

  /** Gives a live block back to its allocator and its crate: the bytes released; its cycles are left in opCycles. */
  private release(id: string, block: LiveBlock): number {
    const released = block.heap.allocator.free(block.addr, this.work);
    const cycles = (this.opCycles = this.spent(block.heap));
    this.disown(block);
    block.heap.recordFree(cycles);
    this.blocks.release(id, block);
    return released;
  }

  /** The program no longer holds the block: its crate charge and live bytes are returned. */
  private disown(block: LiveBlock): void {
    if (block.crate !== null) this.budgets.release(block.crate, block.size);
    block.heap.recordRelease(block.size);
  }

  /** Cycles for the allocator work done since the last call, which starts a new count. */
  private spent(heap: Heap): number {
    const cycles = this.timing.allocator(this.work, heap.region) + this.timing.metadataChecks(this.work, heap.liveBlocks + 1, heap.region);
    resetWork(this.work);
    return cycles;
  }

  /**
   * realloc as the heap's allocator does it (in place where it can, else malloc + copy + free; a
   * failure leaves the old block). realloc of a null id is malloc. The copy is charged through the
   * timing model like any data access; the crate is charged the difference.
   */
  private realloc(op: Extract<Op, { kind: 'realloc' }>): void {
    const old = this.blocks.get(op.id);
    if (!old) {
      const freed = this.blocks.freedBlock(op.id);
      if (freed) this.fault('use-after-free', op.line, this.badFreeDetection(freed), freed.heap.name, op.id, `realloc of id ${op.id}, which was already freed (${hex(freed.addr)}, ${freed.size} bytes)`);
      else this.fault('invalid-free', op.line, 'silent', null, op.id, `realloc of id ${op.id}, which names no block (give it an alloc first)`);
      return;
    }
    const heap = old.heap;
    if (old.addr < 0) {
      const addr = this.allocate(heap, op.size, 0, heap.crate, op.line, op.id);
      this.bind(op.id, heap, addr, op.size, heap.crate, op.line);
      this.emitRealloc(op, heap.name, old.addr, addr, addr < 0 ? 0 : heap.allocator.lastBlock, 0, this.opCycles);
      this.verify(heap, op.line);
      return;
    }
    const realloc = heap.allocator.realloc?.bind(heap.allocator);
    if (!realloc) throw new InputError({ file: this.scenario.file, line: op.line, col: 1 }, `realloc: heap '${heap.name}' (${heap.allocatorName}) has no realloc: ${heap.entry.noRealloc ?? 'its allocator offers none'}`);
    const crate = old.crate;
    const growth = op.size - old.size;
    if (crate !== null && growth > 0 && !this.budgets.charge(crate, growth)) {
      heap.recordFailure(op.size, 0, 'budget');
      this.failAlloc('budget-exceeded', heap, op.id, op.line, `crate ${crate}: realloc to ${op.size} bytes needs ${growth} more, ${this.budgets.left(crate)} of ${this.budgets.limit(crate)} left`);
      this.emitRealloc(op, heap.name, old.addr, -1, 0, 0, 0);
      return;
    }
    this.checkChecksums(heap, op.line);
    // The allocator reads the block's header, as free does.
    this.reportHarm(this.memory.corruptionsFound(heap, old.addr), 'heap-corrupt', 'delayed', op.line, heap.name);
    const request = this.withOverhead(op.size);
    const addr = realloc(old.addr, request, this.work);
    let cycles = this.spent(heap);
    const outcome = heap.allocator.lastRealloc!;
    if (outcome === 'failed') {
      if (crate !== null && growth > 0) this.budgets.release(crate, growth);
      this.allocationFailed(heap, op.id, op.line, op.size, request, 0, 0, cycles);
      this.emitRealloc(op, heap.name, old.addr, -1, 0, 0, cycles);
      return;
    }
    const moved = heap.allocator.lastMoved ?? 0;
    if (moved > 0) cycles += this.memory.copyCycles(old.addr, addr, moved, heap.region);
    // The growth was held to check the crate; the block's charge now moves to its new size.
    if (crate !== null && growth > 0) this.budgets.release(crate, growth);
    this.disown(old);
    this.blocks.release(op.id, old);
    if (outcome === 'freed') {
      heap.recordFree(cycles);
    } else {
      if (crate !== null) this.budgets.charge(crate, op.size);
      heap.recordAlloc(addr, op.size, cycles);
      this.bind(op.id, heap, addr, op.size, crate, op.line);
    }
    this.emitRealloc(op, heap.name, old.addr, addr, heap.allocator.lastBlock, moved, cycles);
    this.verify(heap, op.line);
  }

  private emitRealloc(op: Extract<Op, { kind: 'realloc' }>, heap: string, oldAddr: number, addr: number, block: number, copied: number, cycles: number): void {
    const fields = { line: op.line, heap, id: op.id, size: op.size, old_addr: oldAddr < 0 ? null : oldAddr, addr: addr < 0 ? null : addr, block, copied, cycles };
    this.record('realloc', { ...fields, log_line: op.log, caller: op.caller }, cycles);
  }

  private scopeEnter(op: Extract<Op, { kind: 'scope-enter' }>): void {
    const heap = this.heaps.get(op.heap)!;
    this.checkChecksums(heap, op.line);
    const scopes = heap.allocator.scopes!;
    const entered = scopes.enter(this.work);
    const cycles = this.spent(heap);
    this.record('scope-enter', { line: op.line, heap: heap.name, depth: scopes.depth, budget: op.budget, entered, cycles }, cycles);
    if (!entered) {
      this.fault('scope-depth', op.line, 'precise', heap.name, null, `scope nesting limit of ${scopes.maxDepth} reached; the scope's steps are skipped`);
      this.skipDepth = 1;
      return;
    }
    heap.openScopes.push({ serial: ++this.scopeSerial, budget: op.budget, ids: [] });
    this.verify(heap, op.line);
  }

  private scopeExit(op: Extract<Op, { kind: 'scope-exit' }>): void {
    const heap = this.heaps.get(op.heap)!;
    this.checkChecksums(heap, op.line);
    const scope = heap.openScopes.pop()!;
    const released = heap.allocator.scopes!.exit(this.work);
    const cycles = this.spent(heap);
    let blocks = 0;
    for (const id of scope.ids) {
      const block = this.blocks.get(id);
      if (!block || block.scope !== scope.serial) continue;
      this.disown(block);
      this.blocks.release(id, block);
      blocks++;
    }
    this.reportHarm(this.memory.sweepCanaries(), 'canary-corrupt', 'delayed', op.line, null);
    this.record('scope-exit', { line: op.line, heap: heap.name, depth: heap.allocator.scopes!.depth, released, blocks, cycles }, cycles);
    this.verify(heap, op.line);
  }

  /** memory.grow: the page count before, or -1 (a grow-failed fault; the program sees -1 and goes on). */
  private grow(op: Extract<Op, { kind: 'grow' }>): void {
    const heap = this.heaps.get(op.heap)!;
    this.checkChecksums(heap, op.line);
    const oldCapacity = heap.allocator.capacity();
    const before = heap.allocator.grow!(op.pages, this.work);
    const cycles = this.spent(heap);
    if (before < 0) this.fault('grow-failed', op.line, 'precise', heap.name, null, `memory.grow(${op.pages}) returned -1${this.heapDiagnostics(heap)}${this.dynamic?.refusalNote(heap) ?? ''}`);
    this.record('grow', { line: op.line, heap: heap.name, pages: op.pages, old_pages: before, old_capacity: oldCapacity, capacity: heap.allocator.capacity(), cycles }, cycles);
    this.verify(heap, op.line);
  }

  /** The allocator's own counters, for fault details. */
  private heapDiagnostics(heap: Heap): string {
    const diagnostics = heap.allocator.diagnostics?.();
    return diagnostics ? ` [${Object.entries(diagnostics).map(([k, v]) => `${k} ${v}`).join(', ')}]` : '';
  }

  /**
   * With `full` verification the heap's metadata is checksummed: an operation on the heap first checks
   * the headers, so harm a stray write did to them is found here, precisely, naming the write.
   */
  private checkChecksums(heap: Heap, line: number): void {
    if (this.walkEveryOp) this.reportHarm(this.memory.corruptionsFound(heap, null), 'heap-corrupt', 'precise', line, heap.name);
  }

  /**
   * After an operation on a heap: its use counts in the environment budget, and with `full`
   * verification the heap is walked.
   */
  private verify(heap: Heap, line: number): void {
    this.trackEnvironment(heap, line);
    if (!this.walkEveryOp) return;
    for (const problem of heap.allocator.check()) this.fault('heap-corrupt', line, 'precise', heap.name, null, `integrity walk after op ${this.op}: ${problem}`);
  }

  private check(line: number): void {
    let problems = this.reportHarm(this.memory.sweepCanaries(), 'canary-corrupt', 'delayed', line, null);
    for (const heap of this.heaps.values()) {
      problems += this.reportHarm(this.memory.corruptionsFound(heap, null), 'heap-corrupt', 'delayed', line, heap.name);
      for (const problem of heap.allocator.check()) {
        problems++;
        this.fault('heap-corrupt', line, 'delayed', heap.name, null, problem);
      }
    }
    this.record('check', { line, heaps: this.heaps.size, problems });
  }

  private sample(line: number): void {
    const heaps: HeapSnapshot[] = [...this.heaps.values()].map((h) => h.snapshot());
    this.record('sample', { line, heaps });
  }

  private frame(op: Extract<Op, { kind: 'frame' }>): void {
    const cycles = this.clock - this.frameStart;
    this.frames++;
    this.worstFrame = Math.max(this.worstFrame, cycles);
    this.frameCycles.add(cycles);
    this.reportHarm(this.memory.sweepCanaries(), 'canary-corrupt', 'delayed', op.line, null);
    this.record('frame', { line: op.line, frame: this.frames, cycles, budget: op.budget });
    if (op.budget !== null && cycles > op.budget) {
      const ms = (n: number) => `${((n * 1000) / this.scenario.target.cpu.clockHz).toFixed(2)} ms`;
      this.fault('deadline-miss', op.line, 'precise', null, null, `frame ${this.frames} took ${group(cycles)} cycles (${ms(cycles)}), budget ${group(op.budget)} (${ms(op.budget)})`);
    }
    this.frameStart = this.clock;
  }

  /** At the end: every heap whose blocks are freed one by one must have none left. */
  private checkLeaks(): void {
    if (!this.scenario.leakCheck) return;
    for (const heap of this.heaps.values()) {
      if (!heap.entry.freesBlocks) continue;
      const leaked = this.blocks.live().filter(([, b]) => b.heap === heap && b.addr >= 0);
      if (leaked.length === 0) continue;
      const bytes = leaked.reduce((sum, [, b]) => sum + b.size, 0);
      const names = leaked.slice(0, 5).map(([id]) => id).join(', ') + (leaked.length > 5 ? ', ...' : '');
      const first = leaked[0];
      // Reported at the line that allocated the first leaked block: where to look.
      this.fault('leak', first[1].line, 'silent', heap.name, first[0], `${leaked.length} block(s), ${bytes} bytes, still live at the end: ${names} (first allocated at op ${first[1].op})`);
    }
  }

  private fault(kind: FaultKind, line: number, detected: Detected, heap: string | null, id: string | null, detail: string, cause: FaultRecord['cause'] = null): void {
    this.faultCounts[kind] = (this.faultCounts[kind] ?? 0) + 1;
    const record = { kind, line, op: this.op, detected, heap, id, detail, cause, logLine: this.logLine, caller: this.caller };
    if (this.faults.length < FAULTS_KEPT) this.faults.push(record);
    const fields: Record<string, unknown> = { line, kind, detected, heap, id, detail };
    if (cause) Object.assign(fields, { cause_op: cause.op, cause_line: cause.line });
    if (this.logLine !== null) fields.log_line = this.logLine;
    if (this.caller !== null) fields.caller = this.caller;
    if (this.wasmAt) {
      fields.wasm_function = this.wasmAt.function;
      if (this.wasmAt.offset !== null) fields.wasm_offset = this.wasmAt.offset;
    }
    this.record('fault', fields);
    if (this.options.stopAtFirstFault) throw new Halt();
  }

  /** Harm found now that an earlier write did: reported at this line, naming the write (and its wasm instruction). */
  private reportHarm(found: readonly Pending[], kind: 'canary-corrupt' | 'heap-corrupt', detected: Detected, line: number, heap: string | null): number {
    for (const p of found) this.naming(p.at, () => this.fault(kind, line, detected, heap, null, p.detail, { op: p.op, line: p.line }));
    return found.length;
  }

  /** Runs `report` with its faults naming the wasm instruction `at` (none when null). */
  private naming(at: InstructionAt | null, report: () => void): void {
    this.wasmAt = at;
    try {
      report();
    } finally {
      this.wasmAt = null;
    }
  }

  /** At the end: harm no check ever read would never have been noticed on the target. */
  private unnoticedHarm(): void {
    const line = this.scenario.steps.at(-1)?.line ?? 1;
    this.reportHarm(this.memory.sweepCanaries(), 'canary-corrupt', 'silent', line, null);
    for (const heap of this.memory.heapsWithCorruption()) this.reportHarm(this.memory.corruptionsFound(heap, null), 'heap-corrupt', 'silent', line, heap.name);
  }

  /** What a location points at: the address, and the block (live or freed) it goes through. */
  private locate(at: Location): { addr: number; through: Through } {
    if (at.kind === 'addr') return { addr: at.addr, through: { id: null, block: null, freed: false, offset: 0 } };
    const live = this.blocks.get(at.id);
    const block = live ?? this.blocks.freedBlock(at.id) ?? null;
    const addr = block ? Math.max(block.addr, 0) + at.offset : at.offset;
    return { addr, through: { id: at.id, block, freed: !live && block !== null, offset: at.offset } };
  }

  /** One CPU access at a location, checked; its fault (if any) reported. */
  private checkedAccess(at: Location, write: boolean, len: number, width: Width, by: string | null, line: number): { addr: number; id: string | null; cycles: number } {
    const { addr, through } = this.locate(at);
    const result = this.memory.access(write, addr, len, width, by, through, this.op, line, this.clock);
    if (result.finding) this.fault(result.finding.kind, line, result.finding.detected, through.block?.heap.name ?? null, through.id, result.finding.detail);
    // An access the target trapped did not happen; any other reaches the regions' locksets.
    if (this.races && by !== null && result.finding?.detected !== 'precise') this.sharedAccess(addr, len, write, write ? 'write' : 'read', by, line, through);
    return { addr, id: through.id, cycles: result.cycles };
  }

  private access(op: Extract<Op, { kind: 'read' | 'write' }>): void {
    const { addr, id, cycles } = this.checkedAccess(op.at, op.kind === 'write', op.len, op.width, op.by, op.line);
    this.record('access', { line: op.line, access: op.kind, id, addr, len: op.len, width: op.width, cycles }, cycles);
  }

  /** memcpy: a read of the source and a write of the destination, each checked on its own. */
  private copy(op: Extract<Op, { kind: 'copy' }>): void {
    const from = this.checkedAccess(op.from, false, op.len, 1, op.by, op.line);
    const to = this.checkedAccess(op.to, true, op.len, 1, op.by, op.line);
    this.record('copy', { line: op.line, from: from.addr, to: to.addr, len: op.len, cycles: from.cycles + to.cycles }, from.cycles + to.cycles);
  }

  private dma(op: Extract<Op, { kind: 'dma' }>): void {
    const channel = this.scenario.target.dma.find((c) => c.name === op.channel)!;
    const overruns: Through[] = [];
    const end = (at: DmaEnd): number | null => {
      if (at.kind === 'device') return null;
      if (at.kind === 'region') return this.memory.region(at.name).base;
      const { addr, through } = this.locate(at);
      const b = through.block;
      if (b && b.addr >= 0 && through.offset + op.len > b.size) overruns.push(through);
      return addr;
    };
    // A channel still busy with the previous transfer: the CPU waits for it before programming it.
    const waited = Math.max(0, this.memory.channelFreeAt(channel.name) - this.clock);
    this.clock += waited;
    const result = this.memory.dma(channel, end(op.from), end(op.to), op.len, this.op, op.line, this.clock);
    for (const f of result.findings) this.fault(f.kind, op.line, f.detected, null, null, f.detail);
    // The device does not check bounds: a transfer that ran past a block's end is the program's bug.
    for (const { id, block: b, offset } of result.cycles > 0 ? overruns : []) {
      this.fault('out-of-bounds', op.line, 'silent', b!.heap.name, id, `${op.channel} DMA of ${op.len} bytes at offset ${offset} of id ${id} (${b!.size} bytes at ${hex(b!.addr)}) runs ${offset + op.len - b!.size} bytes past its end`);
    }
    // A transfer that ran is an access by the component that started it: a read of its source, a write of its destination.
    if (this.races && op.by !== null && result.cycles > 0) {
      this.sharedAccess(result.from, op.len, false, 'DMA read', op.by, op.line, null);
      this.sharedAccess(result.to, op.len, true, 'DMA write', op.by, op.line, null);
    }
    const fields: Record<string, unknown> = { line: op.line, channel: channel.name, from: result.from ?? 'device', to: result.to ?? 'device', len: op.len, cycles: result.cycles, stall: result.stall };
    if (waited > 0) fields.waited = waited;
    if (op.by !== null) fields.by = op.by;
    this.record('dma', fields, result.cpuCycles);
  }

  /**
   * An access by `by` that happened (a CPU access, or one end of a DMA transfer it started): each
   * shared region it reaches checks its lockset against the locks `by` holds; a race is a data-race,
   * silent (the hardware never notices).
   */
  private sharedAccess(addr: number | null, len: number, write: boolean, how: string, by: string, line: number, through: Through | null): void {
    const at = addr === null ? null : this.memory.map.resolve(addr);
    if (!at) return;
    for (const area of this.memory.map.overlapping(at.addr, at.addr + len)) {
      if (area.kind !== 'shared') continue;
      const race = this.races!.access(area.name, { component: by, write, how, op: this.op, line, locks: this.locks.held(by) });
      if (race) this.fault('data-race', line, 'silent', through?.block?.heap.name ?? null, through?.id ?? null, raceDetail(race));
    }
  }

  /**
   * lock/unlock: the lock guarding a shared region, taken or released. Taking a lock already held is
   * a lock-error, precise (the component blocks there for good: a lock that does not nest, or one
   * nothing releases first); releasing one the component does not hold is one too, silent (a
   * spinlock, a semaphore or a critical section does not check who releases it). Neither changes
   * who holds the lock. No cycles: emu does not model a lock's implementation.
   */
  private lockStep(op: Extract<Op, { kind: 'lock' | 'unlock' }>): void {
    const lock = this.locks.lock(op.region);
    const fields = { line: op.line, region: op.region, lock, by: op.by };
    if (op.kind === 'lock') {
      const problem = this.locks.take(op.region, op.by, this.op, op.line);
      this.record('lock', { ...fields, taken: problem === null });
      if (problem) this.fault('lock-error', op.line, 'precise', null, null, problem);
    } else {
      const problem = this.locks.release(op.region, op.by);
      this.record('unlock', { ...fields, released: problem === null });
      if (problem) this.fault('lock-error', op.line, 'silent', null, null, problem);
    }
  }

  /** At the end: a lock still held is a lock-error, silent, at the step that took it (a leak of a lock: leak_check). */
  private locksHeldAtEnd(): void {
    if (!this.scenario.leakCheck) return;
    for (const { holder, detail } of this.locks.stillHeld()) this.fault('lock-error', holder.line, 'silent', null, null, detail);
  }

  /** The CPU waits until the channel's last transfer has finished. */
  private wait(op: Extract<Op, { kind: 'wait' }>): void {
    const cycles = Math.max(0, this.memory.channelFreeAt(op.channel) - this.clock);
    this.record('wait', { line: op.line, channel: op.channel, cycles }, cycles);
  }

  private cacheOp(op: Extract<Op, { kind: 'cache' }>): void {
    const { addr } = this.locate(op.at);
    const result = this.memory.maintain(op.op, addr, op.len);
    if (result.error) this.fault('unmapped', op.line, 'precise', null, null, `cache ${op.op}: ${result.error}`);
    const fields = { line: op.line, operation: op.op, addr, len: op.len, lines: result.lines, written_back: result.writtenBack, cycles: result.cycles };
    // Where the OS's cache calls return codes, the event carries the code (0 for success).
    this.record('cache', result.code === null ? fields : { ...fields, error: result.code }, result.cycles);
  }

  private summary(): RunSummary {
    const faults: Record<string, number> = {};
    for (const kind of Object.keys(this.faultCounts).sort()) faults[kind] = this.faultCounts[kind];
    return {
      ops: this.op,
      cycles: this.clock,
      frames: this.frames,
      halted: this.halted,
      faults,
      heaps: [...this.heaps.values()].map((h) => h.summary()),
      budgets: this.budgets.usage(),
      environment: this.environment?.usage() ?? null,
      worst_frame_cycles: this.worstFrame,
      frame_cycles: this.frameCycles.summary(),
      dma_bytes: this.memory?.dmaBytes ?? 0,
      dma_cycles: this.memory?.dmaCycles ?? 0,
      stall_cycles: this.memory?.stallCycles ?? 0,
      ...(this.dynamic ? { arena: this.dynamic.summary() } : {}),
    };
  }
}

/** Where a block was allocated, for fault details: its scenario line, or its log line when replayed. */
function allocatedAt(block: LiveBlock): string {
  return block.logLine !== null ? `log line ${block.logLine}` : `line ${block.line}`;
}
