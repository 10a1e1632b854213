/**
 * The memory map an access is checked against: the target's regions with their mirrors and views
 * (resolved to one canonical address), and the layout's areas (component segments with their owner,
 * shared regions with per-component rights, and guard gaps with the protection that covers them).
 */
import type { GuardProtection } from '../layout/guards.js';
import type { Layout } from '../layout/layout.js';
import type { Access, Scenario } from '../scenario/types.js';
import type { Region, Target } from '../target/types.js';
import { regionWindows, type Window } from '../target/windows.js';


export interface Area {
  name: string;
  /** `released`: where a dynamic layout's segment was, until something is placed there again. */
  kind: 'segment' | 'shared' | 'guard' | 'released';
  start: number;
  end: number;
  /** The component that owns a segment. */
  owner: string | null;
  /** A shared region's rights per component. */
  rights: ReadonlyMap<string, Access>;
  protection: GuardProtection | null;
  line: number;
  /** For a released segment: the operation that released it (its line is `line`). */
  releasedAt?: number;
}

/** An address resolved to its region: the canonical address (the region's own base) and caching. */
export interface Resolved {
  region: Region;
  addr: number;
  cached: boolean;
  /** How the address was reached: the region's name, or `region/view`, or `region mirror`. */
  via: string;
}

export class MemoryMap {
  /** Layout areas by start address, for lookups of a range. */
  private areas: Area[];
  private readonly windows: (Window & { region: Region })[] = [];

  constructor(
    readonly target: Target,
    areas: Area[],
  ) {
    this.areas = [...areas].sort((a, b) => a.start - b.start);
    for (const region of target.regions) {
      // Device memory is never cached, whatever window reaches it.
      for (const w of regionWindows(region)) this.windows.push({ ...w, region, cached: w.cached && !region.device });
    }
  }

  /**
   * A dynamic layout's areas after a segment was placed, resized or released: they appear, grow,
   * shrink and disappear at run time, and the map is given them all again (a few, rarely).
   */
  setAreas(areas: readonly Area[]): void {
    this.areas = [...areas].sort((a, b) => a.start - b.start || a.end - b.end);
  }

  /** Every layout area, lowest first. */
  allAreas(): readonly Area[] {
    return this.areas;
  }

  /** The region holding `addr` through any of its windows, or null. */
  resolve(addr: number): Resolved | null {
    for (const w of this.windows) {
      if (addr >= w.base && addr < w.end) return { region: w.region, addr: w.region.base + (addr - w.base), cached: w.cached, via: w.via };
    }
    return null;
  }

  /** The layout areas that [start, end) overlaps (canonical addresses), lowest first. */
  overlapping(start: number, end: number): Area[] {
    const found: Area[] = [];
    for (const a of this.areas) {
      if (a.start >= end) break;
      if (a.end > start) found.push(a);
    }
    return found;
  }

  /** The segment or shared region containing `addr`, if any. */
  areaAt(addr: number): Area | null {
    return this.overlapping(addr, addr + 1)[0] ?? null;
  }
}

/** The memory map of a laid-out scenario. */
export function memoryMap(scenario: Scenario, layout: Layout): MemoryMap {
  const areas: Area[] = [];
  const spec = scenario.layout;
  const none = new Map<string, Access>();
  for (const p of layout.placed) {
    if (p.what === 'segment') areas.push({ name: p.name, kind: 'segment', start: p.addr, end: p.addr + p.size, owner: p.name, rights: none, protection: null, line: p.line });
    if (p.what === 'shared') {
      const shared = spec!.shared.find((s) => s.name === p.name)!;
      const rights = new Map(shared.access.map((a) => [a.component, a.access]));
      areas.push({ name: p.name, kind: 'shared', start: p.addr, end: p.addr + p.size, owner: null, rights, protection: null, line: p.line });
    }
    if (p.what === 'guard') areas.push({ name: p.name, kind: 'guard', start: p.addr, end: p.addr + p.size, owner: null, rights: none, protection: p.protection ?? 'canary', line: p.line });
  }
  return new MemoryMap(scenario.target, areas);
}
