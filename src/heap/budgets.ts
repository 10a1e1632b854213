/**
 * Crate budgets (seed 003's BudgetTracker): an allocation charged to a crate either fits the crate's
 * remaining budget in full or fails and charges nothing; a free returns the charge.
 */
export class BudgetTracker {
  private readonly remaining = new Map<string, number>();
  private readonly limits = new Map<string, number>();

  constructor(budgets: readonly { name: string; bytes: number }[]) {
    for (const b of budgets) {
      this.remaining.set(b.name, b.bytes);
      this.limits.set(b.name, b.bytes);
    }
  }

  /** Charges `bytes` to `crate`; false (and nothing charged) when they do not fit. */
  charge(crate: string, bytes: number): boolean {
    const left = this.remaining.get(crate)!;
    if (bytes > left) return false;
    this.remaining.set(crate, left - bytes);
    return true;
  }

  release(crate: string, bytes: number): void {
    this.remaining.set(crate, this.remaining.get(crate)! + bytes);
  }

  left(crate: string): number {
    return this.remaining.get(crate)!;
  }

  limit(crate: string): number {
    return this.limits.get(crate)!;
  }

  /** Bytes charged per crate, in declaration order. */
  usage(): { crate: string; used: number; limit: number }[] {
    return [...this.limits].map(([crate, limit]) => ({ crate, used: limit - this.remaining.get(crate)!, limit }));
  }
}
