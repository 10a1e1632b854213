/**
 * Sizing a heap: the smallest heap, at an allocator's grain, on which a scenario runs without a memory
 * fault on that heap. Found by bisection between a failing and a passing size, confirmed (the size
 * passes and one grain less fails), then checked above: success need not be monotone in the size (a
 * bigger heap places blocks elsewhere, and a good-fit or buddy allocator can then fail where a smaller
 * heap did not), so a fixed sample of larger sizes is run too and any that fails is reported.
 *
 * Everything here is a function of the scenario, the heap, the allocator and the room the layout has:
 * the same answer in any thread, in any order.
 */
import { formatBytes, group } from '../util/text.js';
import { isPow2 } from '../util/bits.js';
import { sizeGrain, type AllocatorEntry, type AllocatorOptions } from '../alloc/allocator.js';
import { ALLOCATORS } from '../alloc/registry.js';
import { run } from '../engine/engine.js';
import type { HeapSummary } from '../heap/heap.js';
import { InputError, UsageError } from '../input/errors.js';
import { suggest } from '../input/yaml.js';
import { buildLayout } from '../layout/layout.js';
import { ppm } from '../heap/heap.js';
import type { HeapSpec, Scenario, Step } from '../scenario/types.js';
import type { TraceHeader } from '../trace/schema.js';
import type { TraceSink } from '../trace/writer.js';

/** The faults that say a heap was too small: an allocation it refused, a grow it could not do, a budget it ran into. */
export const MEMORY_FAULTS: readonly string[] = ['oom', 'fragmented', 'grow-failed', 'budget-exceeded'];

/** Every grain step above the found size up to this many is tried (then a sparser sample, SPREAD). */
export const DENSE_STEPS = 12;
/** And the found size plus 1/4, 2/4, 3/4 and 4/4 of itself (at the grain). */
export const SPREAD = 4;
/** How many times a failure above the found size sends the search further up before it gives up. */
const ROUNDS = 4;

/**
 * The allocators `emu size` tries unless told: general-purpose ones that give freed blocks back and
 * serve any size with their default options. Not bump (free is a no-op), pool (one block size),
 * psp-sysmem (the kernel's partition API: placement modes, no realloc) or wasm (its memory is pages
 * that grow by steps; with default options one 64 KiB page).
 */
export function isGeneralPurpose(entry: AllocatorEntry): boolean {
  return entry.freesBlocks && !entry.fixedBlocks && !entry.modes && !entry.grows && !entry.scopes && entry.noRealloc === undefined;
}

export function defaultAllocators(): string[] {
  return [...ALLOCATORS].filter(([, entry]) => isGeneralPurpose(entry)).map(([name]) => name);
}

/** The allocators named in `--allocators a,b`, checked; the default set when none are named. */
export function allocatorList(spec: string | undefined): string[] {
  if (spec === undefined) return defaultAllocators();
  const names = spec.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (names.length === 0) throw new UsageError('--allocators: name at least one allocator');
  for (const name of names) {
    if (!ALLOCATORS.has(name)) throw new UsageError(`--allocators: unknown allocator '${name}'${suggest(name, [...ALLOCATORS.keys()])} (available: ${[...ALLOCATORS.keys()].join(', ')})`);
  }
  return names.filter((name, i) => names.indexOf(name) === i);
}

/** The heap to size: the one named, or the scenario's only heap (not one a dynamic segment sizes). */
export function heapToSize(scenario: Scenario, name: string | undefined): HeapSpec {
  const heap = namedHeap(scenario, name);
  const layout = scenario.layout;
  if (layout?.strategy === 'dynamic' && layout.components.some((c) => c.name === heap.place.in)) {
    throw new InputError({ file: scenario.file, line: heap.line, col: 1 }, `heap '${heap.name}' lives in the dynamic segment '${heap.place.in}', whose size (set by its component and segment steps) is the heap's: emu size sizes heaps with a size of their own`);
  }
  return heap;
}

function namedHeap(scenario: Scenario, name: string | undefined): HeapSpec {
  const names = scenario.heaps.map((h) => h.name);
  if (name === undefined) {
    if (scenario.heaps.length === 1) return scenario.heaps[0];
    if (scenario.heaps.length === 0) throw new UsageError(`${scenario.file}: the scenario has no heap to size`);
    throw new UsageError(`${scenario.file} has ${names.length} heaps (${names.join(', ')}): name the one to size with --heap`);
  }
  const heap = scenario.heaps.find((h) => h.name === name);
  if (!heap) throw new UsageError(`${scenario.file}: no heap '${name}'${suggest(name, names)} (heaps: ${names.join(', ')})`);
  return heap;
}

/** The options a heap gets from an allocator: its own when it is the scenario's, the defaults otherwise. */
export function optionsFor(heap: HeapSpec, allocator: string): AllocatorOptions {
  return heap.allocator === allocator ? heap.options : {};
}

/** The scenario with `heap` given `allocator` (with `options`) and `size` bytes (where it was placed: same container and offset). */
export function withHeap(scenario: Scenario, heap: string, allocator: string, options: AllocatorOptions, size: number): Scenario {
  const heaps = scenario.heaps.map((h) => (h.name === heap ? { ...h, allocator, options, place: { ...h.place, size } } : h));
  return { ...scenario, heaps, expect: null };
}

/** The heap's size as the scenario lays it out (a heap with no size takes the rest of its container). */
export function scenarioSize(scenario: Scenario, heap: HeapSpec): number {
  return heap.place.size ?? buildLayout(scenario).heaps.get(heap.name)?.size ?? 0;
}

/**
 * The largest size, in bytes, the scenario's layout has room for as the heap's: it stays where it is
 * (its container, its offset) and everything placed after it must still fit. A layout that fails
 * whatever the heap's size is bad input.
 */
export function roomFor(scenario: Scenario, heap: HeapSpec): number {
  const layoutAt = (size: number) => buildLayout(withHeap(scenario, heap.name, heap.allocator, heap.options, size));
  const smallest = layoutAt(1);
  if (smallest.failure) {
    const f = smallest.failure;
    throw new InputError({ file: scenario.file, line: f.line, col: 1 }, `the layout fails whatever heap '${heap.name}''s size (${f.kind}): ${f.detail}`);
  }
  const container = smallest.containers.get(heap.place.in);
  let hi = (container?.space.size ?? 0) - (heap.place.offset ?? 0);
  if (layoutAt(hi).failure === null) return hi;
  let lo = 1;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (layoutAt(mid).failure === null) lo = mid;
    else hi = mid;
  }
  return lo;
}

/**
 * Refuses an allocator that cannot run the heap's steps: scopes, placement modes (or an alignment only
 * they take), grow steps, or a realloc where it has none. The step's line is named.
 */
export function checkCompatible(scenario: Scenario, heap: string, allocator: string): void {
  const entry = ALLOCATORS.get(allocator)!;
  const onHeap = new Set<string>();
  const fail = (line: number, why: string) => {
    throw new InputError({ file: scenario.file, line, col: 1 }, `heap '${heap}' cannot be sized with ${allocator}: ${why}`);
  };
  const walk = (steps: readonly Step[]) => {
    for (const step of steps) {
      switch (step.kind) {
        case 'alloc':
          if (step.heap !== heap) break;
          onHeap.add(step.id);
          if (!entry.modes && (step.mode !== null || step.at !== null)) fail(step.line, `this alloc gives a placement mode, which ${allocator} has none of`);
          if (!entry.modes && step.align !== 0 && !isPow2(step.align)) fail(step.line, `this alloc's alignment ${step.align} is not a power of two`);
          break;
        case 'realloc':
          if (onHeap.has(step.id) && entry.noRealloc !== undefined) fail(step.line, `this realloc needs a realloc, and ${allocator} has none (${entry.noRealloc})`);
          break;
        case 'grow':
          if (step.heap === heap && !entry.grows) fail(step.line, `this grow step needs an allocator that grows (wasm)`);
          break;
        case 'scope':
          if (step.heap === heap && !entry.scopes) fail(step.line, `this scope needs an allocator with scopes (bump)`);
          walk(step.steps);
          break;
        case 'repeat':
          walk(step.steps);
          break;
        default:
          break;
      }
    }
  };
  walk(scenario.steps);
}

/** The first fault that made a size fail. */
export interface FaultSeen {
  kind: string;
  line: number;
  op: number;
  /** The field-log line, for a replayed operation. */
  log_line: number | null;
  detail: string;
}

/** One run at one size. */
export interface Probe {
  size: number;
  passes: boolean;
  /** Why it failed: the first memory fault on the heap (or the layout's failure, or the allocator's misfit). */
  fault: FaultSeen | null;
  /** The heap's summary after the run (null when the layout failed). */
  heap: HeapSummary | null;
}

/** Watches a run's fault events for the ones that fail the size. */
class FaultWatch implements TraceSink {
  first: FaultSeen | null = null;
  constructor(private readonly heap: string) {}
  header(_header: TraceHeader): void {}
  close(): void {}
  event(type: string, op: number, _cycle: number, fields: Record<string, unknown>): void {
    if (type !== 'fault' || this.first !== null) return;
    const kind = String(fields.kind);
    const layout = kind === 'layout-invalid' || kind === 'section-overflow';
    if (!layout && !(MEMORY_FAULTS.includes(kind) && fields.heap === this.heap)) return;
    this.first = { kind, line: Number(fields.line), op, log_line: typeof fields.log_line === 'number' ? fields.log_line : null, detail: String(fields.detail) };
  }
}

/** Runs the scenario with the heap at `size`: it passes when no memory fault hit the heap and the layout stood. */
export function probe(scenario: Scenario, heap: string, allocator: string, options: AllocatorOptions, size: number): Probe {
  const watch = new FaultWatch(heap);
  const result = run(withHeap(scenario, heap, allocator, options, size), { sinks: [watch] });
  return { size, passes: watch.first === null, fault: watch.first, heap: result.summary.heaps.find((h) => h.name === heap) ?? null };
}

/** What `emu size` found for one allocator. Sizes are bytes; null where there is none. */
export interface SizeResult {
  allocator: string;
  /** The allocator's options in these runs: the heap's own for its own allocator, else the defaults. */
  options: AllocatorOptions;
  /** Sizes tried are multiples of it. */
  grain: number;
  /** The largest multiple of the grain the layout has room for. */
  room: number;
  /** The smallest passing size bisection found, or null when none passes up to the room. */
  size: number | null;
  /** At that size: the heap's peak live (requested) bytes, size / peak live, the bounds and the worst alloc. */
  peak_live: number | null;
  overhead_ratio_ppm: number | null;
  robson: number | null;
  own_bound: number | null;
  own_bound_formula: string | null;
  alloc_cycles_max: number | null;
  /** One grain less, which fails (null: the size is one grain, and no heap is smaller). */
  below: { size: number; fault: FaultSeen } | null;
  /** Whether every larger size tried passes. */
  monotone: boolean;
  /** The larger sizes tried that failed, ascending. */
  failing_above: number[];
  /** How many sizes above `size` were tried. */
  tried_above: number;
  /** The smallest size from which every larger size tried passes (`size` when monotone); null if none was found. */
  steady_size: number | null;
  /** When no size passes: the first fault at the room. */
  fault_at_room: FaultSeen | null;
  /** Runs of the scenario this search took. */
  runs: number;
}

/** Progress of one search, for a terminal: runs so far and the bracket [failing, passing] in bytes. */
export type SizeProgress = (allocator: string, runs: number, failing: number, passing: number | null) => void;

/**
 * The search for one allocator, `room` bytes at most (roomFor). Sizes are k grains, k >= 1; k = 0 is
 * no heap, failing by definition. From the scenario's size: if it passes, bisect down to 0; if not,
 * double until a size passes (or the room is reached: no passing size), then bisect between.
 */
export function sizeHeap(scenario: Scenario, heapName: string, allocator: string, room: number, onProgress?: SizeProgress): SizeResult {
  const heap = heapToSize(scenario, heapName);
  checkCompatible(scenario, heapName, allocator);
  const entry = ALLOCATORS.get(allocator)!;
  const options = optionsFor(heap, allocator);
  const grain = sizeGrain(entry, options);
  const top = Math.floor(room / grain);
  const probes = new Map<number, Probe>();
  let failing = 0;
  let passing: number | null = null;
  const at = (k: number): Probe => {
    let p = probes.get(k);
    if (!p) {
      p = probe(scenario, heapName, allocator, options, k * grain);
      probes.set(k, p);
      onProgress?.(allocator, probes.size, failing * grain, passing === null ? null : passing * grain);
    }
    return p;
  };
  const result: SizeResult = {
    allocator, options, grain, room: top * grain, size: null, peak_live: null, overhead_ratio_ppm: null, robson: null, own_bound: null, own_bound_formula: null,
    alloc_cycles_max: null, below: null, monotone: true, failing_above: [], tried_above: 0, steady_size: null, fault_at_room: null, runs: 0,
  };
  if (top < 1) {
    result.fault_at_room = { kind: 'layout-invalid', line: heap.line, op: 0, log_line: null, detail: `the layout has room for ${formatBytes(room)}, less than one ${group(grain)}-byte grain` };
    return result;
  }

  /** The smallest passing k above `lo` (which fails), doubling from `from`; null when none up to the room. */
  const search = (lo: number, from: number): number | null => {
    failing = lo;
    passing = null;
    let hi = from;
    while (!at(hi).passes) {
      failing = hi;
      if (hi >= top) return null;
      hi = Math.min(2 * hi, top);
    }
    passing = hi;
    while (passing - failing > 1) {
      const mid = Math.floor((failing + passing) / 2);
      if (at(mid).passes) passing = mid;
      else failing = mid;
    }
    return passing;
  };

  const start = Math.min(Math.max(1, Math.ceil(scenarioSize(scenario, heap) / grain)), top);
  const found = at(start).passes ? search(0, start) : search(start, Math.min(2 * start, top));
  if (found === null) {
    result.fault_at_room = at(top).fault;
    result.runs = probes.size;
    return result;
  }

  // Confirmed: the found size passes and one grain less fails (bisection ran both; k = 0 is no heap).
  const summary = at(found).heap!;
  Object.assign(result, {
    size: found * grain,
    peak_live: summary.peak_requested,
    overhead_ratio_ppm: summary.peak_requested > 0 ? ppm(found * grain, summary.peak_requested) : null,
    robson: summary.bounds?.robson ?? null,
    own_bound: summary.bounds?.allocator ?? null,
    own_bound_formula: summary.bounds?.allocator_formula ?? null,
    alloc_cycles_max: summary.alloc_cycles.max,
    below: found > 1 ? { size: (found - 1) * grain, fault: at(found - 1).fault! } : null,
  });

  // Above it: a fixed sample; a failure there sends the search further up, a few times at most.
  let candidate = found;
  let steady: number | null = null;
  for (let round = 0; round < ROUNDS; round++) {
    for (const k of sampleAbove(candidate, top)) at(k);
    const tried = [...probes.keys()].filter((k) => k > found).sort((a, b) => a - b);
    const failures = tried.filter((k) => !probes.get(k)!.passes);
    if (failures.length === 0) {
      steady = found;
      break;
    }
    const lastFailure = failures[failures.length - 1];
    const after = tried.find((k) => k > lastFailure);
    if (after !== undefined) {
      steady = after;
      break;
    }
    const next = lastFailure >= top ? null : search(lastFailure, Math.min(2 * lastFailure, top));
    if (next === null) break;
    candidate = next;
  }
  const above = [...probes.keys()].filter((k) => k > found).sort((a, b) => a - b);
  result.failing_above = above.filter((k) => !probes.get(k)!.passes).map((k) => k * grain);
  result.monotone = result.failing_above.length === 0;
  result.tried_above = above.length;
  result.steady_size = steady === null ? null : steady * grain;
  result.runs = probes.size;
  return result;
}

/** The sizes (in grains) tried above `k`: every grain step up to DENSE_STEPS, then k plus quarters of k; none above `top`. */
export function sampleAbove(k: number, top: number): number[] {
  const ks = new Set<number>();
  for (let i = 1; i <= DENSE_STEPS; i++) ks.add(k + i);
  for (let i = 1; i <= SPREAD; i++) ks.add(k + Math.ceil((k * i) / SPREAD));
  return [...ks].filter((x) => x <= top).sort((a, b) => a - b);
}
