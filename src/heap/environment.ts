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

/** One share's bytes in use, their peak, and its budget line. */
interface Share {
  use: number;
  peak: number;
  readonly limit: number;
  readonly what: string;
}

export class EnvironmentBudget {
  private readonly shares: Record<BudgetShare, Share>;
  private peakInUse = 0;
  /** The safety margin in bytes: what must stay free of the total. */
  private readonly margin: number;
  private readonly breached = new Set<string>();

  constructor(private readonly budget: Budget) {
    this.shares = {
      runtime: { use: 0, peak: 0, limit: budget.runtime, what: 'the runtime' },
      user: { use: 0, peak: 0, limit: budget.user, what: 'the user modules' },
    };
    this.margin = Math.ceil((budget.total * budget.marginPercent) / 100);
  }

  /** Which share memory in or named `where` belongs to. */
  shareOf(where: readonly string[]): BudgetShare {
    return where.some((name) => this.budget.runtimeIn.includes(name)) ? 'runtime' : 'user';
  }

  /** `bytes` more (or fewer) in use by `share`; the budget lines this change crosses for the first time. */
  add(share: BudgetShare, bytes: number): readonly BudgetBreach[] {
    const s = this.shares[share];
    s.use += bytes;
    if (bytes <= 0) return NO_BREACHES;
    if (s.use > s.peak) s.peak = s.use;
    const inUse = this.shares.runtime.use + this.shares.user.use;
    if (inUse > this.peakInUse) this.peakInUse = inUse;
    const total = this.budget.total;
    const over = s.use > s.limit;
    const short = total - inUse < this.margin;
    if (!over && !short) return NO_BREACHES;
    const breaches: BudgetBreach[] = [];
    if (over && this.first(share)) breaches.push({ kind: 'budget-exceeded', detail: `${s.what} use ${s.use} bytes, over their budget of ${s.limit}` });
    if (short && this.first('margin')) {
      breaches.push({ kind: 'margin-violated', detail: `${inUse} bytes in use leave ${total - inUse} of ${total} free, less than the ${this.budget.marginPercent}% safety margin (${this.margin} bytes)` });
    }
    return breaches;
  }

  usage(): EnvironmentUsage {
    const b = this.budget;
    return {
      total: b.total,
      margin_percent: b.marginPercent,
      runtime: { peak: this.shares.runtime.peak, limit: this.shares.runtime.limit },
      user: { peak: this.shares.user.peak, limit: this.shares.user.limit },
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
