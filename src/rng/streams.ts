/**
 * Seeded random streams. Each named stream has its own generator seeded from the scenario seed and
 * the stream's name, so adding a random step does not shift the numbers another step draws.
 */
import seedrandom from 'seedrandom';
import type { SizeSpec } from '../scenario/types.js';

export interface Rng {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [lo, hi], both inclusive. */
  int(lo: number, hi: number): number;
}

export class Streams {
  private readonly streams = new Map<string, Rng>();
  constructor(private readonly seed: number) {}

  get(name: string): Rng {
    let rng = this.streams.get(name);
    if (!rng) {
      rng = this.fresh(name);
      this.streams.set(name, rng);
    }
    return rng;
  }

  /** A new generator at the start of `name`'s sequence, shared with nobody (a named workload). */
  fresh(name: string): Rng {
    // alea: fast, and its output is fixed by seedrandom's published algorithm.
    const alea = seedrandom.alea(`${this.seed}/${name}`);
    return {
      next: () => alea(),
      int: (lo, hi) => lo + Math.floor(alea() * (hi - lo + 1)),
    };
  }
}

/** Draws a request size. */
export function drawSize(spec: SizeSpec, rng: Rng): number {
  switch (spec.kind) {
    case 'fixed':
      return spec.bytes;
    case 'uniform':
      return rng.int(spec.lo, spec.hi);
    case 'pow2':
      return 2 ** rng.int(Math.log2(spec.lo), Math.log2(spec.hi));
    case 'choice':
      return spec.options[rng.int(0, spec.options.length - 1)];
  }
}
