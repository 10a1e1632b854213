/**
 * `emu map SCENARIO --pack`: an order of a static layout's components (and of its shared regions)
 * and a layout alignment the target allows that waste fewer arena bytes in padding and guards. It
 * never changes the scenario: each candidate is laid out by buildLayout itself, so the bytes it
 * reports are the bytes a run would see.
 *
 * Cost: the layout is rebuilt once per candidate. Orders are tried exhaustively up to
 * EXHAUSTIVE_ORDERS per alignment (7 items), else by pairwise swaps from the order as written until no
 * swap helps (O(n^2) layouts a pass). Ties keep the earlier candidate, so the order as written wins
 * unless another is strictly better, and the answer is the same on every machine.
 */
import { isPow2 } from '../util/bits.js';
import type { LayoutSpec, Scenario } from '../scenario/types.js';
import { buildLayout } from './layout.js';

const EXHAUSTIVE_ORDERS = 5040;

export interface Packing {
  components: string[];
  shared: string[];
  align: number;
  /** Arena bytes from its start to the end of the last segment or shared region. */
  span: number;
  /** Of the span, bytes that are neither a segment nor a shared region: guards and alignment padding. */
  waste: number;
  /** Guards a trap enforces (MMU page or MPU region), not canaries. */
  trapping: number;
}

export interface PackAdvice {
  asWritten: Packing;
  best: Packing;
  /** Layouts tried. */
  tried: number;
  /** Alignments tried, smallest first: the target's minimum up to the layout's own. */
  aligns: number[];
}

/** The packing of a scenario's static layout, or null when it has none (or it does not fit as written). */
export function packLayout(scenario: Scenario): PackAdvice | null {
  const spec = scenario.layout;
  if (!spec) return null;
  const asWritten = measure(scenario, spec);
  if (!asWritten) return null;
  const aligns = alignments(scenario, spec);
  let best = asWritten;
  let tried = 1;
  for (const align of aligns) {
    const found = bestOrder(scenario, { ...spec, align }, asWritten.trapping);
    tried += found.tried;
    if (found.best && found.best.waste < best.waste) best = found.best;
  }
  return { asWritten, best, tried, aligns };
}

/**
 * Alignments the target allows for a segment: powers of two from the least it needs up to the
 * layout's own. An MMU target needs whole pages; every target needs the CPU's word; a component that
 * needs DMA needs the strictest alignment of the target's DMA channels.
 */
function alignments(scenario: Scenario, spec: LayoutSpec): number[] {
  const target = scenario.target;
  let least = target.cpu.word;
  if (target.protection.kind === 'mmu') least = Math.max(least, target.protection.page);
  if (spec.components.some((c) => c.dma)) for (const channel of target.dma) least = Math.max(least, channel.align);
  const out: number[] = [];
  for (let a = least; a <= spec.align; a *= 2) if (isPow2(a)) out.push(a);
  return out.length ? out : [spec.align];
}

/** The best order for one alignment, keeping at least `trapping` guards enforced by a trap. */
function bestOrder(scenario: Scenario, spec: LayoutSpec, trapping: number): { best: Packing | null; tried: number } {
  let best: Packing | null = null;
  let tried = 0;
  const consider = (components: LayoutSpec['components'], shared: LayoutSpec['shared']): Packing | null => {
    tried++;
    const p = measure(scenario, { ...spec, components, shared });
    if (p && p.trapping >= trapping && (!best || p.waste < best.waste)) best = p;
    return p;
  };
  if (factorial(spec.components.length) * factorial(spec.shared.length) <= EXHAUSTIVE_ORDERS) {
    for (const components of permutations(spec.components)) for (const shared of permutations(spec.shared)) consider(components, shared);
    return { best, tried };
  }
  // Pairwise swaps within each list, first improvement taken, until a pass finds none.
  let components = spec.components;
  let shared = spec.shared;
  let current = consider(components, shared);
  for (let improved = current !== null; improved; ) {
    improved = false;
    for (const list of ['components', 'shared'] as const) {
      const items = list === 'components' ? components : shared;
      for (let i = 0; i < items.length && !improved; i++) {
        for (let j = i + 1; j < items.length && !improved; j++) {
          const swapped = [...items];
          [swapped[i], swapped[j]] = [swapped[j], swapped[i]];
          const next = list === 'components' ? consider(swapped as typeof components, shared) : consider(components, swapped as typeof shared);
          if (next && current && next.waste < current.waste) {
            current = next;
            if (list === 'components') components = swapped as typeof components;
            else shared = swapped as typeof shared;
            improved = true;
          }
        }
      }
    }
  }
  return { best, tried };
}

/** Lays the scenario out with `spec` and measures its arena; null when it does not fit. */
function measure(scenario: Scenario, spec: LayoutSpec): Packing | null {
  const layout = buildLayout({ ...scenario, layout: spec, heaps: [] });
  if (layout.failure) return null;
  const arena = layout.placed.find((p) => p.what === 'arena')!;
  const inArena = layout.placed.filter((p) => p.in === 'arena');
  const end = Math.max(arena.addr, ...inArena.map((p) => p.addr + p.size));
  const guards = inArena.filter((p) => p.what === 'guard');
  const used = inArena.filter((p) => p.what !== 'guard').reduce((sum, p) => sum + p.size, 0);
  return {
    components: spec.components.map((c) => c.name),
    shared: spec.shared.map((s) => s.name),
    align: spec.align,
    span: end - arena.addr,
    waste: end - arena.addr - used,
    trapping: guards.filter((g) => g.protection === 'mmu' || g.protection === 'mpu').length,
  };
}

function factorial(n: number): number {
  return n <= 1 ? 1 : n * factorial(n - 1);
}

/** Every order of `items`, the given order first (lexicographic by position). */
function* permutations<T>(items: readonly T[]): Generator<T[]> {
  if (items.length <= 1) {
    yield [...items];
    return;
  }
  for (let i = 0; i < items.length; i++) {
    const rest = [...items.slice(0, i), ...items.slice(i + 1)];
    for (const tail of permutations(rest)) yield [items[i], ...tail];
  }
}
