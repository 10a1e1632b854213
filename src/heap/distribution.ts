/**
 * An exact distribution of integer samples (cycle counts) in memory bounded by the number of distinct
 * values, not the number of samples: costs repeat, so this stays small over millions of operations.
 */
export interface DistributionSummary {
  count: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Small values (most cycle counts) are counted in an array; the rare larger ones in a map. */
const SMALL = 4096;

export class Distribution {
  private small: Float64Array | null = null;
  private readonly counts = new Map<number, number>();
  private n = 0;
  private sum = 0;

  add(value: number): void {
    if (value >= 0 && value < SMALL && Number.isInteger(value)) (this.small ??= new Float64Array(SMALL))[value]++;
    else this.counts.set(value, (this.counts.get(value) ?? 0) + 1);
    this.n++;
    this.sum += value;
  }

  summary(): DistributionSummary {
    if (this.n === 0) return { count: 0, min: 0, p50: 0, p90: 0, p99: 0, max: 0, mean: 0 };
    if (this.small) {
      for (let v = 0; v < SMALL; v++) if (this.small[v] > 0) this.counts.set(v, (this.counts.get(v) ?? 0) + this.small[v]);
      this.small = null;
    }
    const values = [...this.counts.keys()].sort((a, b) => a - b);
    // Nearest-rank percentiles: the smallest value with at least p% of samples at or below it.
    const at = (p: number) => {
      const rank = Math.ceil((p / 100) * this.n);
      let seen = 0;
      for (const v of values) {
        seen += this.counts.get(v)!;
        if (seen >= rank) return v;
      }
      return values[values.length - 1];
    };
    return { count: this.n, min: values[0], p50: at(50), p90: at(90), p99: at(99), max: values[values.length - 1], mean: Math.round(this.sum / this.n) };
  }
}
