/**
 * Static layout: the target's regions and partitions, the fixed sections, the component segments
 * with guard gaps and shared regions, and the heaps, each placed without overlap. A layout that does
 * not fit is not an input error but a finding: `section-overflow` or `layout-invalid`.
 */
import { formatBytes, hex } from '../util/text.js';
import { InputError } from '../input/errors.js';
import type { Placement, Scenario } from '../scenario/types.js';
import { DEFAULT_SECTIONS, type Region, type Target } from '../target/types.js';
import { guardProtection, type GuardProtection } from './guards.js';
import { alignUp } from '../util/bits.js';
import { isRefusal, SegmentArena, type SegmentRules } from './segments.js';
import { Space } from './space.js';

export type ContainerKind = 'region' | 'partition' | 'section' | 'arena' | 'segment' | 'shared' | 'heap';

export interface Container {
  name: string;
  kind: ContainerKind;
  /** The region the container's memory belongs to (for timing and DMA capability). */
  region: Region;
  space: Space;
}

/** One placement, as it goes into the trace. */
export interface Placed {
  what: 'section' | 'arena' | 'segment' | 'guard' | 'shared' | 'heap';
  name: string;
  in: string;
  addr: number;
  size: number;
  line: number;
  /** For guards: how the target enforces it (an MMU page, an MPU region, or a canary band). */
  protection?: GuardProtection;
}

export interface LayoutFailure {
  kind: 'section-overflow' | 'layout-invalid';
  line: number;
  detail: string;
}

export interface Layout {
  containers: Map<string, Container>;
  placed: Placed[];
  /** Where each heap landed, by heap name (a heap in a dynamic segment not placed yet has none). */
  heaps: Map<string, { base: number; size: number; region: Region }>;
  failure: LayoutFailure | null;
  /** A dynamic layout's segment allocator, with the segments placed at the start (null for a static layout). */
  dynamic: DynamicLayout | null;
}

/** What a dynamic layout hands the run: its segment allocator, the arena's region and its placement line. */
export interface DynamicLayout {
  segments: SegmentArena;
  region: Region;
  line: number;
}

const SECTION_ALIGN = 16;
const HEAP_ALIGN = 16;

class LayoutStop extends Error {
  constructor(readonly failure: LayoutFailure) {
    super(failure.detail);
  }
}

export function buildLayout(scenario: Scenario): Layout {
  const layout: Layout = { containers: new Map(), placed: [], heaps: new Map(), failure: null, dynamic: null };
  try {
    placeTarget(scenario.target, layout);
    placeSections(effectiveSections(scenario), layout);
    placeComponents(scenario, layout);
    placeHeaps(scenario, layout);
    checkUserMode(scenario, layout);
  } catch (e) {
    if (!(e instanceof LayoutStop)) throw e;
    layout.failure = e.failure;
  }
  return layout;
}

/**
 * A target whose own sections do not fit its regions and partitions is a bad target file: exit 2 at
 * the section, as the loader's other checks. Every caller of loadTarget runs it.
 */
export function checkTargetFits(target: Target): Target {
  const misfit = layOutTarget(target);
  if (!misfit) return target;
  const section = target.sections.find((s) => s.line === misfit.line);
  throw new InputError({ file: target.file, line: misfit.line, col: section?.col ?? 1 }, `the target's ${misfit.detail}`);
}

/** A target's own sections placed alone (its map without a scenario); the target has passed checkTargetFits. */
export function targetPlacement(target: Target): Placed[] {
  const layout: Layout = { containers: new Map(), placed: [], heaps: new Map(), failure: null, dynamic: null };
  layOutTarget(target, layout);
  return layout.placed;
}

/** Lays out a target's own sections alone: the check that they fit. */
function layOutTarget(target: Target, layout: Layout = { containers: new Map(), placed: [], heaps: new Map(), failure: null, dynamic: null }): LayoutFailure | null {
  try {
    placeTarget(target, layout);
    placeSections(target.sections, layout);
  } catch (e) {
    if (!(e instanceof LayoutStop)) throw e;
    return e.failure;
  }
  return null;
}

function placeTarget(target: Target, layout: Layout): void {
  for (const region of target.regions) {
    const space = new Space(region.base, region.size);
    for (const r of region.reserved) space.takeAt(r.offset, r.size, `reserved (${r.why || 'target'})`);
    layout.containers.set(region.name, { name: region.name, kind: 'region', region, space });
  }
  for (const p of target.partitions) {
    const parent = layout.containers.get(p.region)!;
    const at = parent.space.takeAt(p.offset, p.size, `partition ${p.name}`);
    if ('conflict' in at) throw new LayoutStop({ kind: 'layout-invalid', line: p.line, detail: `partition ${p.name} overlaps ${at.conflict}` });
    const space = new Space(at.addr, p.size);
    for (const r of p.reserved) space.takeAt(r.offset, r.size, `reserved (${r.why || 'target'})`);
    layout.containers.set(p.name, { name: p.name, kind: 'partition', region: parent.region, space });
  }
}

/**
 * In user mode nothing of the program's may sit in a kernel-only partition: the OS refuses the
 * allocation with its error code (the PSP's sceKernelAllocPartitionMemory in partition 1 returns
 * 0x800200D6; pspautotests tests/sysmem/partition.expected).
 */
function checkUserMode(scenario: Scenario, layout: Layout): void {
  const privilege = scenario.target.privilege;
  if (!privilege || scenario.mode === 'kernel') return;
  for (const kernel of privilege.kernelPartitions) {
    const space = layout.containers.get(kernel.name)!.space;
    const end = space.base + space.size;
    const inside = layout.placed.find((p) => p.what !== 'guard' && p.addr < end && p.addr + p.size > space.base);
    if (!inside) continue;
    throw new LayoutStop({
      kind: 'layout-invalid',
      line: inside.line,
      detail: `${inside.what} ${inside.name} (${hex(inside.addr)}..${hex(inside.addr + inside.size - 1)}) lies in the kernel partition ${kernel.name}, which user-mode code may not use (error ${hex(privilege.error)}; ${kernel.why}); give the scenario 'mode: kernel' if it runs in kernel mode`,
    });
  }
}

/** The target's sections, with the scenario's overrides applied (or the seed's defaults). */
export function effectiveSections(scenario: Scenario): { name: string; in: string; size: number; line: number }[] {
  const overrides = scenario.sections;
  const fallbackIn = scenario.target.sections[0]?.in ?? scenario.target.regions.find((r) => r.kind === 'ram')?.name ?? scenario.target.regions[0].name;
  const line = overrides?.line ?? scenario.targetLine;
  const sections = scenario.target.sections.map((s) => ({ name: s.name, in: s.in, size: s.size, line }));
  if (overrides?.defaults) {
    return DEFAULT_SECTIONS.map((d) => ({ name: d.name, in: sections.find((s) => s.name === d.name)?.in ?? fallbackIn, size: d.size, line }));
  }
  for (const o of overrides?.overrides ?? []) {
    const s = sections.find((x) => x.name === o.name);
    if (s) Object.assign(s, { in: o.in ?? s.in, size: o.size ?? s.size, line: o.line });
    else sections.push({ name: o.name, in: o.in ?? fallbackIn, size: o.size ?? 0, line: o.line });
  }
  return sections;
}

function placeSections(sections: readonly { name: string; in: string; size: number; line: number }[], layout: Layout): void {
  for (const s of sections) {
    const parent = layout.containers.get(s.in)!;
    const addr = parent.space.take(s.size, SECTION_ALIGN, `section ${s.name}`);
    if (addr === null) {
      throw new LayoutStop({
        kind: 'section-overflow',
        line: s.line,
        detail: `section ${s.name} (${formatBytes(s.size)}) does not fit in ${s.in}: ${formatBytes(parent.space.remaining())} of ${formatBytes(parent.space.size)} left`,
      });
    }
    add(layout, { what: 'section', name: s.name, in: s.in, addr, size: s.size, line: s.line }, 'section', parent.region);
  }
}

function placeComponents(scenario: Scenario, layout: Layout): void {
  const spec = scenario.layout;
  if (!spec) return;
  if (spec.strategy === 'dynamic') return placeDynamic(scenario, layout);
  const protection = scenario.target.protection;
  // With an MMU a guard is whole pages, and segments start on page boundaries.
  const page = protection.kind === 'mmu' ? protection.page : 1;
  const guard = Math.ceil(spec.guard / page) * page;
  const align = Math.max(spec.align, page);
  const arena = placeIn(layout, spec.arena, 'arena', 'arena', align);
  const arenaRegion = arena.region;
  const items = [...spec.components.map((c) => ({ ...c, what: 'segment' as const })), ...spec.shared.map((s) => ({ ...s, dma: false, what: 'shared' as const }))];
  items.forEach((item, i) => {
    if (item.dma && !arenaRegion.dma) {
      throw new LayoutStop({ kind: 'layout-invalid', line: item.line, detail: `component ${item.name} needs DMA-capable memory, but region ${arenaRegion.name} is not reachable by DMA` });
    }
    let guarded: Placed | null = null;
    if (i > 0 && guard > 0) {
      // An MMU guards whole pages: the guard starts on a page boundary (the rest of the previous
      // segment's last page is its own, unguarded).
      const g = arena.space.take(guard, page, `guard before ${item.name}`);
      if (g === null) throw overflow(item.name, guard, arena, item.line, 'guard before ');
      guarded = { what: 'guard', name: `guard:${item.name}`, in: 'arena', addr: g, size: guard, line: item.line };
      layout.placed.push(guarded);
    }
    const addr = arena.space.take(item.size, align, `${item.what} ${item.name}`);
    if (addr === null) throw overflow(item.name, item.size, arena, item.line, '');
    if (guarded && addr > guarded.addr + guarded.size) {
      // The guard reaches up to the aligned segment, so no unguarded padding sits between them.
      arena.space.takeAt(guarded.addr + guarded.size - arena.space.base, addr - guarded.addr - guarded.size, `guard before ${item.name}`);
      guarded.size = addr - guarded.addr;
    }
    add(layout, { what: item.what, name: item.name, in: 'arena', addr, size: item.size, line: item.line }, item.what, arenaRegion);
  });
  const guards = layout.placed.filter((p) => p.what === 'guard');
  guardProtection(scenario.target, guards).forEach((protection, i) => (guards[i].protection = protection));
}

/** The rules a dynamic layout's segments follow: guards in whole pages on an MMU target, starts on pages. */
export function segmentRules(scenario: Scenario, arena: { base: number; size: number }): SegmentRules {
  const spec = scenario.layout!;
  const protection = scenario.target.protection;
  const page = protection.kind === 'mmu' ? protection.page : 1;
  return { base: arena.base, size: arena.size, guard: alignUp(spec.guard, page), page, align: Math.max(spec.align, page), placement: spec.placement };
}

/**
 * A dynamic layout at the start: the arena, then the components that start with a size and the shared
 * regions, in that order, placed by the segment allocator (segments.ts); the guards as they stand then.
 * Components without a size are placed by their first segment step.
 */
function placeDynamic(scenario: Scenario, layout: Layout): void {
  const spec = scenario.layout!;
  const rules = segmentRules(scenario, { base: 0, size: 0 });
  const arena = placeIn(layout, spec.arena, 'arena', 'arena', rules.align);
  const segments = new SegmentArena({ ...rules, base: arena.space.base, size: arena.space.size });
  const items = [...spec.components.filter((c) => c.size > 0).map((c) => ({ ...c, what: 'segment' as const })), ...spec.shared.map((s) => ({ ...s, dma: false, what: 'shared' as const }))];
  const lines = new Map<string, number>();
  for (const item of spec.components) if (item.dma && !arena.region.dma) {
    throw new LayoutStop({ kind: 'layout-invalid', line: item.line, detail: `component ${item.name} needs DMA-capable memory, but region ${arena.region.name} is not reachable by DMA` });
  }
  for (const item of items) {
    const placed = segments.create(item.name, item.what, item.size);
    if (isRefusal(placed)) throw new LayoutStop({ kind: 'layout-invalid', line: item.line, detail: `${item.what === 'shared' ? 'shared region' : 'component'} ${item.name} (${formatBytes(item.size)}) does not fit in the arena: ${placed.detail}` });
    lines.set(item.name, item.line);
  }
  const guards = segments.guards();
  const protections = guardProtection(scenario.target, guards.map((g) => ({ addr: g.start, size: g.end - g.start })));
  const entries: Placed[] = [
    ...segments.segments().map((s): Placed => ({ what: s.kind, name: s.name, in: 'arena', addr: s.start, size: s.size, line: lines.get(s.name)! })),
    ...guards.map((g, i): Placed => ({ what: 'guard', name: g.name, in: 'arena', addr: g.start, size: g.end - g.start, line: lines.get(g.before ?? g.after!)!, protection: protections[i] })),
  ].sort((a, b) => a.addr - b.addr);
  for (const p of entries) {
    if (p.what === 'guard') layout.placed.push(p);
    else add(layout, p, p.what, arena.region);
  }
  layout.dynamic = { segments, region: arena.region, line: spec.line };
}

function overflow(name: string, size: number, arena: Container, line: number, prefix: string): LayoutStop {
  return new LayoutStop({
    kind: 'layout-invalid',
    line,
    detail: `${prefix}${name} (${formatBytes(size)}) does not fit in the arena: ${formatBytes(arena.space.remaining())} of ${formatBytes(arena.space.size)} left`,
  });
}

function placeHeaps(scenario: Scenario, layout: Layout): void {
  for (const heap of scenario.heaps) {
    // A heap in a dynamic segment not placed yet comes with its segment's first segment step.
    if (!layout.containers.has(heap.place.in)) continue;
    const c = placeIn(layout, heap.place, heap.name, 'heap', HEAP_ALIGN);
    layout.heaps.set(heap.name, { base: c.space.base, size: c.space.size, region: c.region });
  }
}

/** Places a named thing in the container its placement names: at an offset, a size, or the rest. */
function placeIn(layout: Layout, place: Placement, name: string, what: 'arena' | 'heap', align: number): Container {
  const parent = layout.containers.get(place.in)!;
  const label = `${what} ${name}`;
  let addr: number;
  let size: number;
  if (place.offset !== null) {
    // Past the container's end, the rest would be a negative size (which a trace cannot hold).
    if (place.offset > parent.space.size) throw new LayoutStop({ kind: 'layout-invalid', line: place.line, detail: `${label} at offset ${place.offset} starts past the end of ${place.in} (${formatBytes(parent.space.size)})` });
    size = place.size ?? parent.space.size - place.offset;
    const at = parent.space.takeAt(place.offset, size, label);
    if ('conflict' in at) throw new LayoutStop({ kind: 'layout-invalid', line: place.line, detail: `${label} at offset ${place.offset} (${formatBytes(size)}) overlaps ${at.conflict} in ${place.in}` });
    addr = at.addr;
  } else if (place.size !== null) {
    size = place.size;
    const at = parent.space.take(size, align, label);
    if (at === null) {
      throw new LayoutStop({ kind: 'layout-invalid', line: place.line, detail: `${label} (${formatBytes(size)}) does not fit in ${place.in}: ${formatBytes(parent.space.remaining())} of ${formatBytes(parent.space.size)} left` });
    }
    addr = at;
  } else {
    const rest = parent.space.takeRest(align, label);
    if (!rest) throw new LayoutStop({ kind: 'layout-invalid', line: place.line, detail: `${label}: no space left in ${place.in}` });
    ({ addr, size } = rest);
  }
  return add(layout, { what, name, in: place.in, addr, size, line: place.line }, what, parent.region);
}

function add(layout: Layout, placed: Placed, kind: ContainerKind, region: Region): Container {
  layout.placed.push(placed);
  const container: Container = { name: placed.name, kind, region, space: new Space(placed.addr, placed.size) };
  if (kind !== 'heap' && kind !== 'arena') layout.containers.set(placed.name, container);
  return container;
}
