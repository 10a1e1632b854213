/**
 * The locks that guard shared regions, and who holds each. Every shared region has a lock of its own
 * (named as the region) unless its `shared` entry names one (`lock: NAME`), which then guards every
 * region that names it. A lock is held by at most one component and does not nest: taking a lock
 * twice without a release, releasing one the component does not hold, and holding one at the end
 * are the program's mistakes, returned here as problems for the engine to report as `lock-error`.
 *
 * Nothing here depends on the order of a hash: lock sets are sorted lists of names.
 */

/** Who holds a lock, and the step that took it. */
export interface Holder {
  component: string;
  op: number;
  line: number;
}

/** A lock still held at the end of the run. */
export interface StillHeld {
  lock: string;
  holder: Holder;
  detail: string;
}

/** The empty lock set, shared: most components hold nothing most of the time (not frozen: see NONE in memory/access.ts). */
export const NO_LOCKS: readonly string[] = [];

export class LockTable {
  /** Each shared region's lock. */
  private readonly lockOf = new Map<string, string>();
  /** Each lock's regions, in declaration order (for details). */
  private readonly regionsOf = new Map<string, string[]>();
  private readonly holders = new Map<string, Holder>();
  /** Each component's held locks, sorted (the lock set Eraser intersects). */
  private readonly heldBy = new Map<string, readonly string[]>();

  constructor(regions: readonly { name: string; lock: string }[]) {
    for (const { name, lock } of regions) {
      invariant(!this.lockOf.has(name), `shared region ${name} declared twice`);
      this.lockOf.set(name, lock);
      const guarded = this.regionsOf.get(lock) ?? [];
      guarded.push(name);
      this.regionsOf.set(lock, guarded);
    }
  }

  /** The lock that guards a shared region. */
  lock(region: string): string {
    const lock = this.lockOf.get(region);
    invariant(lock !== undefined, `no shared region ${region}`);
    return lock;
  }

  /** The locks `component` holds now, sorted. */
  held(component: string): readonly string[] {
    return this.heldBy.get(component) ?? NO_LOCKS;
  }

  /** `by` takes the lock guarding `region`: null, or why it cannot (the lock is already held). */
  take(region: string, by: string, op: number, line: number): string | null {
    const lock = this.lock(region);
    const holder = this.holders.get(lock);
    if (holder) {
      const since = `(taken at op ${holder.op}, line ${holder.line})`;
      return holder.component === by
        ? `${by} takes ${this.describe(lock)} again: it already holds it ${since}, and a lock does not nest, so ${by} waits for itself`
        : `${by} takes ${this.describe(lock)}, which ${holder.component} holds ${since}: taken twice without a release, ${by} would wait for it, and in this order nothing releases it first`;
    }
    this.holders.set(lock, { component: by, op, line });
    this.heldBy.set(by, insertSorted(this.held(by), lock));
    this.checkHolder(lock, by);
    return null;
  }

  /** `by` releases the lock guarding `region`: null, or why it cannot (it does not hold it). */
  release(region: string, by: string): string | null {
    const lock = this.lock(region);
    const holder = this.holders.get(lock);
    if (!holder || holder.component !== by) {
      const state = holder ? `held by ${holder.component}, taken at op ${holder.op}, line ${holder.line}` : 'free';
      return `${by} releases ${this.describe(lock)}, which it does not hold (it is ${state})`;
    }
    this.holders.delete(lock);
    const rest = this.held(by).filter((l) => l !== lock);
    if (rest.length === 0) this.heldBy.delete(by);
    else this.heldBy.set(by, rest);
    this.checkHolder(lock, null);
    return null;
  }

  /** Every lock held now (at the end: each a mistake), in order of the lock's name. */
  stillHeld(): StillHeld[] {
    return [...this.holders.entries()]
      .sort(([a], [b]) => compareNames(a, b))
      .map(([lock, holder]) => ({ lock, holder, detail: `${this.describe(lock)} is still held by ${holder.component} at the end (taken at op ${holder.op}, line ${holder.line})` }));
  }

  /** `lock ring`, or `lock gpu (guarding texpages, clut)` when it is not a region's own. */
  describe(lock: string): string {
    const regions = this.regionsOf.get(lock) ?? [];
    return regions.length === 1 && regions[0] === lock ? `lock ${lock}` : `lock ${lock} (guarding ${regions.join(', ')})`;
  }

  /** The holder map and the per-component sets say the same about `lock`. */
  private checkHolder(lock: string, holder: string | null): void {
    invariant((this.holders.get(lock)?.component ?? null) === holder, `lock ${lock}: holder is not ${holder}`);
    for (const [component, locks] of this.heldBy) {
      invariant(locks.length > 0, `${component} keeps an empty lock set`);
      invariant(locks.includes(lock) === (component === holder), `lock ${lock}: ${component}'s lock set disagrees with its holder`);
    }
  }
}

/** A sorted list of names with `name` added (it must not be in it). */
export function insertSorted(names: readonly string[], name: string): readonly string[] {
  invariant(!names.includes(name), `${name} is already in the set`);
  return [...names, name].sort(compareNames);
}

/** Code-unit order: the same on every machine and locale. */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A broken invariant is emu's bug (an internal error, exit 3), never the scenario's. */
export function invariant(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`sync invariant: ${message}`);
}
