/**
 * A dynamic layout at run time: `segment` steps create, resize in place and release component segments
 * through the layout's segment allocator (layout/segments.ts); the heap in a segment follows it (its
 * allocator's extend, or memory.grow of a wasm heap asking the segment for room); the memory map learns
 * the areas that appear, grow and go (released segments stay as `released` areas until something is
 * placed there again); the arena's numbers go to the summary.
 *
 * What it costs: the allocator's work to take the new memory (tlsf_add_pool, a free-list block given
 * to free, a bump end moved) is charged as allocator work by the timing model; the segment allocator's
 * own work (the OS's mmap and page tables, a runtime's segment table) is not modelled, and costs 0.
 *
 * The engine hands this module what it needs through SegmentHost, and calls it in three places: a
 * `segment` operation, a check before every operation on a heap (a heap whose segment is not there),
 * and the summary.
 */
import type { SegmentMemory, Work } from '../alloc/allocator.js';
import { ppm, type Heap } from '../heap/heap.js';
import { guardProtection, type GuardProtection } from '../layout/guards.js';
import type { DynamicLayout } from '../layout/layout.js';
import { isRefusal, type GuardBand, type Segment, type SegmentArena, type SegmentRefusal } from '../layout/segments.js';
import type { ProgramMemory, Pending } from '../memory/access.js';
import type { Detected, FaultKind } from '../memory/faults.js';
import type { Area } from '../memory/map.js';
import type { Op } from '../scenario/expand.js';
import type { Access, HeapSpec, Scenario } from '../scenario/types.js';
import type { Region } from '../target/types.js';
import { alignUp } from '../util/bits.js';
import { formatBytes, hex } from '../util/text.js';
import type { BlockTable, LiveBlock } from './blocks.js';

/** What the engine lends this module. */
export interface SegmentHost {
  readonly scenario: Scenario;
  readonly heaps: Map<string, Heap>;
  readonly blocks: BlockTable;
  readonly memory: ProgramMemory;
  readonly work: Work;
  readonly op: number;
  record(type: string, fields: Record<string, unknown>, advance?: number): void;
  fault(kind: FaultKind, line: number, detected: Detected, heap: string | null, id: string | null, detail: string, cause?: { op: number; line: number } | null): void;
  /** Harm found now that an earlier write did (canary bands), reported naming the write. */
  reportHarm(found: readonly Pending[], kind: 'canary-corrupt', detected: Detected, line: number, heap: string | null): number;
  /** Cycles of the allocator work done since the last call. */
  spent(heap: Heap): number;
  /** Makes (or makes again) a heap over its memory in a segment; a misfit says why it cannot be. */
  makeHeap(spec: HeapSpec, base: number, size: number, segment: SegmentMemory): string | null;
  disown(block: LiveBlock): void;
  /** After an operation on a heap: the environment budget, and with `full` verification a walk. */
  verify(heap: Heap, line: number): void;
  /** The operations up to the matching scope exit are skipped (a scope on a heap that is not there). */
  skipScope(): void;
  /** Stops the run (no_alloc's panic). */
  halt(): never;
}

/** The arena's numbers in the summary, measured as a heap's are (bytes of segment bodies it can still place). */
export interface ArenaSummary {
  placement: string;
  base: number;
  capacity: number;
  in_use: number;
  peak_in_use: number;
  free: number;
  largest_free: number;
  ext_frag_ppm: number;
  free_ranges: number;
  segments: number;
  creates: number;
  resizes: number;
  releases: number;
  refused: number;
}

/** A heap's base in its segment: the layout's heap alignment (layout.ts places heaps in containers at 16). */
const HEAP_ALIGN = 16;

export class DynamicSegments {
  private readonly segments: SegmentArena;
  /** The heap (spec) each dynamic component holds, if any. */
  private readonly heapOf = new Map<string, HeapSpec>();
  /** Components whose segment was released, with the operation and line that did it (the latest). */
  private readonly released = new Map<string, { op: number; line: number }>();
  /** Released segments' ranges not yet placed over again: `released` areas of the memory map. */
  private releasedAreas: Area[] = [];
  /** The dynamic component of each heap living in one, by heap name. */
  private readonly componentByHeap = new Map<string, string>();
  /** Why the last request of a heap's segment for room was refused (memory.grow's -1), by heap. */
  private readonly refusals = new Map<Heap, string>();
  /** Bytes of memory the wasm module running in a component's segment has (from the segment's start). */
  private readonly moduleBytes = new Map<string, number>();
  private readonly rights = new Map<string, ReadonlyMap<string, Access>>();
  /** The scenario line of the operation running (for a segment grown by memory.grow inside it). */
  private line = 0;
  private creates = 0;
  private resizes = 0;
  private releases = 0;
  private refused = 0;

  constructor(
    private readonly host: SegmentHost,
    private readonly layout: DynamicLayout,
  ) {
    this.segments = layout.segments;
    const spec = host.scenario.layout!;
    for (const heap of host.scenario.heaps) {
      if (!spec.components.some((c) => c.name === heap.place.in)) continue;
      this.heapOf.set(heap.place.in, heap);
      this.componentByHeap.set(heap.name, heap.place.in);
    }
    for (const s of spec.shared) this.rights.set(s.name, new Map(s.access.map((a) => [a.component, a.access])));
  }

  /** The arena's region: the memory of every segment and heap in it. */
  get region(): Region {
    return this.layout.region;
  }

  /** What the allocator of the heap in `component` asks for room (wasm's memory.grow). */
  segmentMemory(component: string): SegmentMemory {
    return { request: (size) => this.request(component, size) };
  }

  /** The component whose dynamic segment holds the heap named `heap`, or null. */
  componentOf(heap: string): string | null {
    return this.componentByHeap.get(heap) ?? null;
  }

  /** Why memory.grow of `heap` returned -1 for lack of room in the arena, for the grow-failed fault (once). */
  refusalNote(heap: Heap): string {
    const note = this.refusals.get(heap);
    this.refusals.delete(heap);
    return note ? `; its segment cannot grow in place: ${note}` : '';
  }

  /**
   * Before an operation: one on a heap whose segment is not there (released, or not created yet) is
   * a fault and does not happen. True when the operation is to be skipped.
   */
  blocked(op: Op): boolean {
    this.line = op.line;
    switch (op.kind) {
      case 'alloc':
      case 'scope-enter':
      case 'grow':
        return this.absent(op.heap, op);
      case 'scope-exit':
        return this.absent(op.heap, op) || this.scopeLost(op);
      case 'wasm':
        return this.noModuleSegment(op);
      case 'free':
      case 'realloc': {
        const block = this.host.blocks.get(op.id) ?? this.host.blocks.freedBlock(op.id);
        if (!block) return false;
        // realloc of a null pointer is malloc: on a heap whose segment is not there, as an alloc.
        if (block.addr < 0) return op.kind === 'realloc' && this.absent(block.heap.name, op);
        const gone = this.goneSince(block);
        if (!gone) return false;
        const { component, op: at, line } = gone;
        this.host.fault('use-after-free', op.line, this.trapped(), block.heap.name, op.id, `${op.kind} of id ${op.id} (${block.size} bytes at ${hex(block.addr)}): heap ${block.heap.name} went with segment ${component}, released at op ${at} (line ${line})${this.how()}`);
        return true;
      }
      default:
        return false;
    }
  }

  /** A `segment` step: create, resize in place, or (size 0) release. */
  segment(op: Extract<Op, { kind: 'segment' }>): void {
    const existing = this.segments.get(op.component);
    if (!existing) {
      if (op.size > 0) this.create(op);
      else this.releaseNothing(op);
    } else if (op.size === 0) {
      this.release(op, existing);
    } else {
      this.resize(op, existing);
    }
  }

  summary(): ArenaSummary {
    const s = this.segments;
    const free = s.free();
    const largest = s.largestFree();
    return {
      placement: s.rules.placement,
      base: s.rules.base,
      capacity: s.rules.size,
      in_use: s.used(),
      peak_in_use: s.peak(),
      free,
      largest_free: largest,
      ext_frag_ppm: ppm(free - largest, free),
      free_ranges: s.freeRanges().length,
      segments: s.segments().filter((x) => x.kind === 'segment').length,
      creates: this.creates,
      resizes: this.resizes,
      releases: this.releases,
      refused: this.refused,
    };
  }

  // ---- the three actions ----

  private create(op: Extract<Op, { kind: 'segment' }>): void {
    const placed = this.segments.create(op.component, 'segment', op.size);
    if (isRefusal(placed)) {
      this.event(op, 'create', null, 0, { refused: true, requested: op.size });
      this.arenaFault(placed, op.line, op.component, `segment ${op.component} (${formatBytes(op.size)}) cannot be created`);
      return;
    }
    this.sweep(this.footprint(placed), op.line);
    const spec = this.heapOf.get(op.component);
    if (spec) {
      const { base, size } = this.heapRange(placed);
      const misfit = this.host.makeHeap(spec, base, size, this.segmentMemory(op.component));
      if (misfit) {
        this.segments.release(op.component);
        this.event(op, 'create', null, 0, { refused: true, requested: op.size });
        this.refused++;
        this.host.fault('layout-invalid', op.line, 'precise', spec.name, op.component, `segment ${op.component} is not created: ${misfit}`);
        return;
      }
    }
    this.creates++;
    this.updateMap();
    this.event(op, 'create', null, 0, { requested: op.size });
  }

  private resize(op: Extract<Op, { kind: 'segment' }>, segment: Segment): void {
    const oldSize = segment.size;
    const before = this.footprint(segment);
    const moduleBytes = this.moduleBytes.get(op.component) ?? 0;
    if (op.size < moduleBytes) {
      // A module's linear memory never shrinks (WebAssembly has no memory.shrink).
      this.event(op, 'resize', segment.start, oldSize, { refused: true, requested: op.size });
      this.refused++;
      this.host.fault('layout-invalid', op.line, 'precise', null, op.component, `segment ${op.component} is not resized from ${formatBytes(oldSize)} to ${formatBytes(op.size)}: the wasm module running in it has ${formatBytes(moduleBytes)} of memory, which never shrinks`);
      return;
    }
    if (op.size > oldSize) {
      const grown = this.segments.resize(op.component, op.size);
      if (isRefusal(grown)) {
        this.event(op, 'resize', segment.start, oldSize, { refused: true, requested: op.size });
        this.arenaFault(grown, op.line, op.component, `segment ${op.component} cannot grow in place from ${formatBytes(oldSize)} to ${formatBytes(op.size)}`);
        return;
      }
    } else if (op.size < oldSize) {
      this.segments.resize(op.component, op.size);
    }
    const heap = this.heapIn(op.component);
    let cycles = 0;
    if (heap && op.size !== oldSize) {
      const { size } = this.heapRange(segment);
      const followed = heap.allocator.extend?.(size, this.host.work) ?? false;
      cycles = this.host.spent(heap);
      if (!followed) {
        this.segments.resize(op.component, oldSize); // back as it was: it was there a moment ago
        this.event(op, 'resize', segment.start, oldSize, { refused: true, requested: op.size, cycles });
        this.refused++;
        const why = heap.allocator.extend ? (op.size < oldSize ? 'it holds memory in the part a shrink would cut off' : 'it cannot take the memory') : `${heap.allocatorName} cannot follow its segment's size (tlsf, first-fit, best-fit, bump and wasm heaps can)`;
        this.host.fault('layout-invalid', op.line, 'precise', heap.name, op.component, `segment ${op.component} is not resized from ${formatBytes(oldSize)} to ${formatBytes(op.size)}: heap ${heap.name} (${heap.allocatorName}) ${why}`);
        return;
      }
      heap.resize(size);
    }
    this.sweep(union(before, this.footprint(segment)), op.line);
    this.resizes++;
    this.updateMap();
    this.event(op, 'resize', segment.start, oldSize, { requested: op.size, cycles });
    if (heap && op.size !== oldSize) this.host.verify(heap, op.line);
  }

  private release(op: Extract<Op, { kind: 'segment' }>, segment: Segment): void {
    const before = this.footprint(segment);
    const { start, size } = segment;
    this.sweep(before, op.line);
    const heap = this.heapIn(op.component);
    this.segments.release(op.component);
    this.released.set(op.component, { op: this.host.op, line: op.line });
    this.moduleBytes.delete(op.component);
    if (heap) this.dropBlocks(heap);
    this.releasedAreas.push({ name: op.component, kind: 'released', start, end: start + size, owner: op.component, rights: new Map(), protection: null, line: op.line, releasedAt: this.host.op });
    this.releases++;
    this.updateMap();
    this.event(op, 'release', start, size, { requested: 0 });
  }

  /** Size 0 for a component with no segment: the segment allocator refuses it (nothing of its is there). */
  private releaseNothing(op: Extract<Op, { kind: 'segment' }>): void {
    const gone = this.released.get(op.component);
    this.event(op, 'release', null, 0, { refused: true, requested: 0 });
    this.refused++;
    if (gone) this.host.fault('double-free', op.line, 'precise', null, op.component, `segment ${op.component} was already released at op ${gone.op} (line ${gone.line}); the segment allocator refuses it`);
    else this.host.fault('invalid-free', op.line, 'precise', null, op.component, `component ${op.component} has no segment to release (none was created); the segment allocator refuses it`);
  }

  /**
   * memory.grow of the wasm heap in `component` needs its memory to be `size` bytes: the segment grows
   * in place if it must (a segment event, `auto`), or the grow fails (-1) when the arena has no room.
   */
  private request(component: string, size: number): boolean {
    const segment = this.segments.get(component)!;
    const heap = this.heapIn(component)!;
    if (size <= this.heapRange(segment).size) return true;
    const refusal = this.growInPlace(segment, heap.base + size - segment.start, () => heap.resize(this.heapRange(segment).size));
    if (refusal !== null) this.refusals.set(heap, refusal);
    return refusal === null;
  }

  /** The live segment of `component` (a new object after a release and a create), or null. */
  segmentOf(component: string): Segment | null {
    return this.segments.get(component) ?? null;
  }

  /** A wasm module runs in `component`'s segment with `bytes` of memory: a shrink below them is refused. */
  holdModule(component: string, bytes: number): void {
    this.moduleBytes.set(component, bytes);
  }

  /**
   * memory.grow of the wasm module in `component` needs `bytes` of memory from the segment's start:
   * the segment grows in place if it must (a segment event, `auto`). Null when the memory is there,
   * else why the segment cannot grow (memory.grow then returns -1).
   */
  growModule(component: string, bytes: number): string | null {
    const segment = this.segments.get(component)!;
    const refusal = bytes <= segment.size ? null : this.growInPlace(segment, bytes, () => {});
    if (refusal === null) this.holdModule(component, bytes);
    return refusal;
  }

  /**
   * A segment grown in place to `wanted` bytes for a memory.grow (an `auto` resize event), what lives
   * in it following (`follow`) before the event; why not, or null.
   */
  private growInPlace(segment: Segment, wanted: number, follow: () => void): string | null {
    const oldSize = segment.size;
    const before = this.footprint(segment);
    const op = { line: this.line, component: segment.name };
    const grown = this.segments.resize(segment.name, wanted);
    if (isRefusal(grown)) {
      this.event(op, 'resize', segment.start, oldSize, { refused: true, auto: true, requested: wanted });
      this.refused++;
      return grown.detail;
    }
    follow();
    this.sweep(union(before, this.footprint(segment)), op.line);
    this.resizes++;
    this.updateMap();
    this.event(op, 'resize', segment.start, oldSize, { auto: true, requested: wanted });
    return null;
  }

  // ---- helpers ----

  /** A heap operation on a heap whose segment is not there: a fault, and the operation is skipped. */
  private absent(name: string, op: Op): boolean {
    const component = this.componentOf(name);
    if (component === null || this.segments.get(component)) return false;
    const gone = this.released.get(component);
    const what = op.kind === 'alloc' || op.kind === 'realloc' ? `${op.kind} of id ${op.id}` : `${op.kind} on heap ${name}`;
    const id = op.kind === 'alloc' || op.kind === 'realloc' ? op.id : null;
    if (gone) this.host.fault('use-after-free', op.line, this.trapped(), name, id, `${what}: heap ${name} went with segment ${component}, released at op ${gone.op} (line ${gone.line})${this.how()}`);
    else this.host.fault('unmapped', op.line, this.trapped(), name, id, `${what}: heap ${name} lives in segment ${component}, which has not been created (no segment step has placed it)`);
    if (op.kind === 'scope-enter') this.host.skipScope();
    // The program holds a null pointer for the id, as after a failed allocation.
    const heap = this.host.heaps.get(name);
    if (op.kind === 'alloc' && heap) this.host.blocks.setFailed(op.id, { heap, addr: -1, size: op.size, crate: null, scope: 0, op: this.host.op, line: op.line, logLine: null });
    return true;
  }

  /** A wasm call in a component whose segment is not there: a fault, and the call does not happen. */
  private noModuleSegment(op: Extract<Op, { kind: 'wasm' }>): boolean {
    if (this.segments.get(op.component)) return false;
    const gone = this.released.get(op.component);
    const what = `wasm call ${op.call} of ${op.module}`;
    if (gone) this.host.fault('use-after-free', op.line, this.trapped(), null, null, `${what}: segment ${op.component} was released at op ${gone.op} (line ${gone.line}), its module instance with it${this.how()}`);
    else this.host.fault('unmapped', op.line, this.trapped(), null, null, `${what}: segment ${op.component} has not been created (no segment step has placed it)`);
    return true;
  }

  /**
   * A scope exit whose scope went with its heap's segment (released, and the heap made again inside
   * the scope): the new heap has no such scope. A fault, and the exit does not happen.
   */
  private scopeLost(op: Extract<Op, { kind: 'scope-exit' }>): boolean {
    const heap = this.host.heaps.get(op.heap);
    const component = this.componentOf(op.heap);
    if (!heap || component === null || heap.openScopes.length > 0) return false;
    const gone = this.released.get(component);
    if (!gone) return false;
    this.host.fault('use-after-free', op.line, this.trapped(), op.heap, null, `scope-exit on heap ${op.heap}: its scope went with segment ${component}, released at op ${gone.op} (line ${gone.line})${this.how()}`);
    return true;
  }

  /** The release that took the block's heap away since the block was allocated, if any. */
  private goneSince(block: LiveBlock): { component: string; op: number; line: number } | null {
    const component = this.componentOf(block.heap.name);
    if (component === null) return null;
    const gone = this.released.get(component);
    return gone && gone.op > block.op ? { component, ...gone } : null;
  }

  /** Every live block of a heap whose segment was released: the program no longer holds memory there. */
  private dropBlocks(heap: Heap): void {
    for (const [id, block] of this.host.blocks.live()) {
      if (block.heap !== heap || block.addr < 0) continue;
      this.host.disown(block);
      this.host.blocks.release(id, block);
    }
    heap.openScopes.length = 0;
    heap.gone = true;
  }

  /** The heap living in `component`'s segment now, if it has one. */
  private heapIn(component: string): Heap | null {
    const spec = this.heapOf.get(component);
    return spec && this.segments.get(component) ? (this.host.heaps.get(spec.name) ?? null) : null;
  }

  private heapRange(segment: Segment): { base: number; size: number } {
    const base = alignUp(segment.start, HEAP_ALIGN);
    return { base, size: segment.start + segment.size - base };
  }

  /** A segment's footprint: its guards, its body and the page rounding after it. */
  private footprint(segment: Segment): { start: number; end: number } {
    const r = this.segments.rules;
    return { start: segment.start - r.guard, end: alignUp(segment.start + segment.size, r.page) + r.guard };
  }

  /** Canary bands around a segment about to change: checked first, as a free checks its neighbours'. */
  private sweep(range: { start: number; end: number }, line: number): void {
    this.host.reportHarm(this.host.memory.sweepCanariesIn(range.start, range.end), 'canary-corrupt', 'delayed', line, null);
  }

  private trapped(): Detected {
    return this.host.scenario.target.protection.kind === 'mmu' ? 'precise' : 'silent';
  }

  private how(): string {
    return this.trapped() === 'precise' ? ' (its pages are unmapped: a page fault)' : ' (nothing on this target notices)';
  }

  /** The guard bands now, each with how the target enforces it (MPU regions handed out in address order). */
  private bands(): Array<GuardBand & { protection: GuardProtection }> {
    const bands = this.segments.guards();
    const protection = guardProtection(this.host.scenario.target, bands.map((b) => ({ addr: b.start, size: b.end - b.start })));
    return bands.map((b, i) => ({ ...b, protection: protection[i] }));
  }

  /** The memory map's areas after a change: the live segments, the guards as they stand, what was released and is still free. */
  private updateMap(): void {
    const areas: Area[] = [];
    const none = new Map<string, Access>();
    const footprints = this.segments.segments().map((s) => this.footprint(s));
    this.releasedAreas = this.releasedAreas.flatMap((a) => subtract(a, footprints));
    for (const s of this.segments.segments()) {
      const shared = s.kind === 'shared';
      areas.push({ name: s.name, kind: s.kind, start: s.start, end: s.start + s.size, owner: shared ? null : s.name, rights: this.rights.get(s.name) ?? none, protection: null, line: 0 });
    }
    for (const b of this.bands()) areas.push({ name: b.name, kind: 'guard', start: b.start, end: b.end, owner: null, rights: none, protection: b.protection, line: 0 });
    this.host.memory.map.setAreas([...areas, ...this.releasedAreas]);
  }

  /** The segment event: the segment before and after, the guards around it now, its heap. */
  private event(op: { line: number; component: string }, action: 'create' | 'resize' | 'release', oldAddr: number | null, oldSize: number, extra: { refused?: true; auto?: true; requested: number; cycles?: number }): void {
    const segment = this.segments.get(op.component);
    const guards = segment ? this.bands().filter((b) => b.after === op.component || b.before === op.component).map((b) => ({ name: b.name, addr: b.start, size: b.end - b.start, protection: b.protection })) : [];
    const heap = segment ? this.heapIn(op.component) : null;
    const fields: Record<string, unknown> = {
      line: op.line, component: op.component, action, refused: extra.refused, auto: extra.auto,
      old_addr: oldAddr, old_size: oldSize, addr: segment?.start ?? null, size: segment?.size ?? 0, requested: extra.requested, guards,
      heap: heap?.name, heap_capacity: heap ? heap.size : undefined, cycles: extra.cycles ?? 0,
    };
    this.host.record('segment', fields, extra.cycles ?? 0);
  }

  /**
   * The arena could not place or grow a segment: `oom` or `fragmented` with its numbers, and the
   * growth policy's consequence, as for a heap's allocation.
   */
  private arenaFault(refusal: SegmentRefusal, line: number, component: string, what: string): void {
    this.refused++;
    const policy = this.host.scenario.policy;
    const suffix = policy === 'std' ? ' (std: out-of-memory exception raised, the run goes on)' : policy === 'no_std_alloc' ? ' (the segment allocator returned an error)' : '';
    this.host.fault(refusal.kind, line, 'precise', null, component, `${what}: ${refusal.detail}${suffix}`);
    if (policy === 'no_alloc') {
      this.host.fault('panic', line, 'precise', null, component, `no_alloc: segment allocation failure (${refusal.kind}) aborts the program`);
      this.host.halt();
    }
  }
}

function union(a: { start: number; end: number }, b: { start: number; end: number }): { start: number; end: number } {
  return { start: Math.min(a.start, b.start), end: Math.max(a.end, b.end) };
}

/** The parts of a released area no footprint covers. */
function subtract(area: Area, cuts: readonly { start: number; end: number }[]): Area[] {
  let parts = [area];
  for (const c of cuts) {
    parts = parts.flatMap((p) => {
      if (c.end <= p.start || c.start >= p.end) return [p];
      const out: Area[] = [];
      if (c.start > p.start) out.push({ ...p, end: c.start });
      if (c.end < p.end) out.push({ ...p, start: c.end });
      return out;
    });
  }
  return parts;
}
