/**
 * Data races, found as the Eraser lockset algorithm finds them: S. Savage, M. Burrows, G. Nelson,
 * P. Sobalvarro and T. Anderson, "Eraser: A Dynamic Data Race Detector for Multithreaded Programs",
 * SOSP 1997 and ACM Transactions on Computer Systems 15(4), 1997, section 2.
 *
 * Eraser's lock discipline: every shared variable is protected by some lock, held on every access.
 * For each variable v it keeps the candidate set C(v), the locks held on every access so far, refined
 * (intersected) at each access; when C(v) becomes empty no lock protects v. Its section 2.2 state
 * machine keeps initialisation and read-only sharing from being reported:
 *
 *   Virgin          no access yet; the first access makes the accessing component its owner:
 *   Exclusive       accessed by its owner only, no lockset kept (initialisation needs no lock);
 *                   a read by another component goes to Shared, a write to Shared-Modified, and
 *                   C(v) starts as the locks held on that access
 *   Shared          read by several components since the owner; C(v) is refined, never reported
 *                   (data written once and then only read needs no lock); a write goes on to
 *   Shared-Modified written while shared; C(v) is refined, and an access that leaves it empty is a
 *                   race.
 *
 * emu's variable is a shared region (the unit a lock guards here), not Eraser's memory word: any two
 * accesses to one region are to the same variable. Eraser enters Exclusive on the first write; emu
 * on the first access of either kind (a region read before anyone writes it is read by its owner).
 * A race is reported in Shared-Modified at an access that finds C(v) empty, for a pair of components:
 * it and another component's latest access that conflicts with it (one of the two writes), one
 * without a lock in common with it first, then the latest. Each region reports each pair once. An
 * access that empties C(v) while conflicting with nobody (a read, where the others only read) is not
 * reported itself; the next conflicting access is, and its detail names the access that emptied C(v).
 */
import { compareNames, invariant } from './locks.js';

export type LocksetState = 'virgin' | 'exclusive' | 'shared' | 'shared-modified';

/** One access to a shared region by a component (a CPU access, or a DMA transfer it started). */
export interface SharedAccess {
  component: string;
  write: boolean;
  /** How it was made, for details: `read`, `write`, `DMA read`, `DMA write`. */
  how: string;
  op: number;
  line: number;
  /** The locks the component held, sorted. */
  locks: readonly string[];
}

/** An access that found the region's lockset empty, and the other component's access it conflicts with. */
export interface Race {
  region: string;
  access: SharedAccess;
  earlier: SharedAccess;
  /** The access that emptied the lockset, when it is neither of the two. */
  emptiedBy: SharedAccess | null;
}

/** A component's latest access to a region, and its latest write. */
interface Latest {
  any: SharedAccess;
  write: SharedAccess | null;
}

/** One shared region's Eraser state. */
export class RegionLockset {
  private current: LocksetState = 'virgin';
  /** Exclusive's component (and the first component ever, after it). */
  private owner: string | null = null;
  /** C(v), sorted; null until the region leaves Exclusive. */
  private candidates: readonly string[] | null = null;
  /** Each component's latest accesses, in order of first access (a Map keeps insertion order). */
  private readonly latest = new Map<string, Latest>();
  /** Pairs already reported, as `a\0b` with a < b. */
  private readonly reported = new Set<string>();
  /** The access that left C(v) empty. */
  private emptiedBy: SharedAccess | null = null;

  constructor(readonly region: string) {}

  get state(): LocksetState {
    return this.current;
  }

  /** C(v): the locks held on every access since the region left Exclusive (null before). */
  get lockset(): readonly string[] | null {
    return this.candidates;
  }

  /** An access: the state moves on, C(v) is refined, and a race is returned when it is one. */
  access(a: SharedAccess): Race | null {
    invariant(isSorted(a.locks), `the locks of ${a.component}'s ${a.how} are not sorted`);
    this.advance(a);
    const earlier = this.current === 'shared-modified' && this.candidates!.length === 0 ? this.partner(a) : null;
    if (earlier) this.reported.add(pairKey(a.component, earlier.component));
    this.remember(a);
    this.checkInvariants();
    if (!earlier) return null;
    // Which access emptied the lockset is worth saying only when it is neither of the two named.
    const emptiedBy = this.emptiedBy === a || this.emptiedBy === earlier ? null : this.emptiedBy;
    return { region: this.region, access: a, earlier, emptiedBy };
  }

  /** Eraser's transitions (section 2.2, figure 4), with C(v) refined where the state keeps it. */
  private advance(a: SharedAccess): void {
    switch (this.current) {
      case 'virgin':
        this.current = 'exclusive';
        this.owner = a.component;
        return;
      case 'exclusive':
        if (a.component === this.owner) return;
        this.candidates = a.locks;
        if (a.locks.length === 0) this.emptiedBy = a;
        this.current = a.write ? 'shared-modified' : 'shared';
        return;
      case 'shared':
        this.refine(a);
        if (a.write) this.current = 'shared-modified';
        return;
      case 'shared-modified':
        this.refine(a);
    }
  }

  /** C(v) := C(v) ∩ the locks `a` held: it only ever shrinks. */
  private refine(a: SharedAccess): void {
    const before = this.candidates!;
    if (before.length === 0) return;
    this.candidates = before.filter((l) => a.locks.includes(l));
    invariant(this.candidates.length <= before.length, `region ${this.region}: C(v) grew`);
    if (this.candidates.length === 0) this.emptiedBy = a;
  }

  /**
   * The other component's access this one races with: the latest access of each other component
   * that conflicts with it (either one writes) and whose pair is not reported yet; one without a lock
   * in common with it first, then the latest (ops of different components never coincide).
   */
  private partner(a: SharedAccess): SharedAccess | null {
    let best: SharedAccess | null = null;
    let bestDisjoint = false;
    for (const [component, latest] of this.latest) {
      if (component === a.component || this.reported.has(pairKey(a.component, component))) continue;
      const other = a.write ? latest.any : latest.write;
      if (!other) continue;
      const disjoint = !other.locks.some((l) => a.locks.includes(l));
      if (!best || (disjoint && !bestDisjoint) || (disjoint === bestDisjoint && other.op > best.op)) {
        best = other;
        bestDisjoint = disjoint;
      }
    }
    return best;
  }

  private remember(a: SharedAccess): void {
    const latest = this.latest.get(a.component);
    if (latest) {
      latest.any = a;
      if (a.write) latest.write = a;
    } else {
      this.latest.set(a.component, { any: a, write: a.write ? a : null });
    }
  }

  private checkInvariants(): void {
    const where = `region ${this.region} (${this.current})`;
    invariant(this.current !== 'virgin', `${where}: still virgin after an access`);
    invariant(this.owner !== null && this.latest.has(this.owner), `${where}: no owner`);
    if (this.current === 'exclusive') {
      invariant(this.candidates === null, `${where}: a lockset before the region is shared`);
      invariant(this.latest.size === 1, `${where}: accessed by ${[...this.latest.keys()].join(', ')}`);
    } else {
      invariant(this.candidates !== null && isSorted(this.candidates), `${where}: no sorted lockset`);
      invariant(this.latest.size >= 2, `${where}: shared by one component`);
    }
    if (this.current === 'shared') {
      // Nobody but the owner (before it was shared) has written: a write would have moved it on.
      for (const [component, latest] of this.latest) invariant(component === this.owner || latest.write === null, `${where}: ${component} wrote`);
    }
    invariant(this.reported.size === 0 || this.current === 'shared-modified', `${where}: a race reported before a shared write`);
    invariant((this.emptiedBy !== null) === (this.candidates?.length === 0), `${where}: the access that emptied C(v) is not known`);
  }
}

/** Every shared region's Eraser state, made at its first access. */
export class RaceDetector {
  private readonly regions = new Map<string, RegionLockset>();

  access(region: string, a: SharedAccess): Race | null {
    let state = this.regions.get(region);
    if (!state) this.regions.set(region, (state = new RegionLockset(region)));
    return state.access(a);
  }

  /** The region's state (virgin when never accessed). */
  state(region: string): LocksetState {
    return this.regions.get(region)?.state ?? 'virgin';
  }
}

/** A race's fault detail: the region, both components, both accesses with the locks each held. */
export function raceDetail(race: Race): string {
  const held = (a: SharedAccess) => (a.locks.length === 0 ? 'holding no lock' : `holding lock${a.locks.length === 1 ? '' : 's'} ${a.locks.join(', ')}`);
  const { access: a, earlier: e, emptiedBy: x } = race;
  const emptied = x ? `; ${x.component}'s ${x.how} at op ${x.op} (line ${x.line}, ${held(x)}) emptied it` : '';
  return (
    `data race on shared region ${race.region}: ${a.component}'s ${a.how} (${held(a)}) and ${e.component}'s ${e.how} at op ${e.op} (line ${e.line}, ${held(e)}); ` +
    `no lock was held on every access since the region was shared (its lockset is empty${emptied})`
  );
}

function pairKey(a: string, b: string): string {
  return compareNames(a, b) < 0 ? `${a}\0${b}` : `${b}\0${a}`;
}

function isSorted(names: readonly string[]): boolean {
  for (let i = 1; i < names.length; i++) if (compareNames(names[i - 1], names[i]) >= 0) return false;
  return true;
}
