/**
 * The environment budget of seed 000 ("Memory Budget Allocation"): the runtime's memory, the user
 * modules' memory, and a safety margin of the total that must stay free. What the program lays out
 * counts at its size (sections, component arenas); a heap placed straight in a region or partition
 * counts at the bytes its allocator has in use, so the run's peak is what the budget is checked at.
 * Memory inside a section or arena is already counted with it.
 */
import type { Budget } from '../target/types.js';

export type BudgetShare = 'runtime' | 'user';

export interface EnvironmentUsage {
  total: number;
  margin_percent: number;
  runtime: { peak: number; limit: number };
  user: { peak: number; limit: number };
  /** Runtime and user memory together at their peak, and what that left free of the total. */
  peak_in_use: number;
  free_at_peak: number;
}

/** A budget line crossed: which one, by how much, when first. */
export interface BudgetBreach {
  kind: 'budget-exceeded' | 'margin-violated';
  detail: string;
}

/** No breach: the answer to nearly every change, shared so that a change allocates nothing (not frozen: see NONE in memory/access.ts). */
const NO_BREACHES: readonly BudgetBreach[] = [];

export class EnvironmentBudget {
  private readonly use = { runtime: 0, user: 0 };
  private readonly peak = { runtime: 0, user: 0 };
  private peakInUse = 0;
  private readonly breached = new Set<string>();

  constructor(private readonly budget: Budget) {}

  /** Which share memory in or named `where` belongs to. */
  shareOf(where: readonly string[]): BudgetShare {
    return where.some((name) => this.budget.runtimeIn.includes(name)) ? 'runtime' : 'user';
  }

  /** `bytes` more (or fewer) in use by `share`; the budget lines this change crosses for the first time. */
  add(share: BudgetShare, bytes: number): readonly BudgetBreach[] {
    this.use[share] += bytes;
    if (bytes <= 0) return NO_BREACHES;
    this.peak[share] = Math.max(this.peak[share], this.use[share]);
    const inUse = this.use.runtime + this.use.user;
    this.peakInUse = Math.max(this.peakInUse, inUse);
    const limit = share === 'runtime' ? this.budget.runtime : this.budget.user;
    const margin = Math.ceil((this.budget.total * this.budget.marginPercent) / 100);
    const over = this.use[share] > limit;
    const short = this.budget.total - inUse < margin;
    if (!over && !short) return NO_BREACHES;
    const breaches: BudgetBreach[] = [];
    if (over && this.first(share)) {
      breaches.push({ kind: 'budget-exceeded', detail: `the ${share === 'runtime' ? 'runtime' : 'user modules'} use ${this.use[share]} bytes, over their budget of ${limit}` });
    }
    if (short && this.first('margin')) {
      breaches.push({ kind: 'margin-violated', detail: `${inUse} bytes in use leave ${this.budget.total - inUse} of ${this.budget.total} free, less than the ${this.budget.marginPercent}% safety margin (${margin} bytes)` });
    }
    return breaches;
  }

  usage(): EnvironmentUsage {
    const b = this.budget;
    return {
      total: b.total,
      margin_percent: b.marginPercent,
      runtime: { peak: this.peak.runtime, limit: b.runtime },
      user: { peak: this.peak.user, limit: b.user },
      peak_in_use: this.peakInUse,
      free_at_peak: b.total - this.peakInUse,
    };
  }

  /** True the first time a line is crossed: each is reported once a run. */
  private first(line: string): boolean {
    if (this.breached.has(line)) return false;
    this.breached.add(line);
    return true;
  }
}
