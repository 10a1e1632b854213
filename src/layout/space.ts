import { alignUp } from '../util/bits.js';
/** An address range that things are placed into without overlapping: a region, section, arena... */

export interface Taken {
  start: number;
  end: number;
  name: string;
}

export class Space {
  private readonly taken: Taken[] = [];
  constructor(
    readonly base: number,
    readonly size: number,
  ) {}

  get end(): number {
    return this.base + this.size;
  }

  /** The lowest aligned address where `size` bytes fit, or null. Placements fill from the start. */
  take(size: number, align: number, name: string): number | null {
    let candidate = alignUp(this.base, align);
    for (const t of this.taken) {
      if (candidate + size <= t.start) break;
      if (t.end > candidate) candidate = alignUp(t.end, align);
    }
    if (candidate + size > this.end) return null;
    this.insert({ start: candidate, end: candidate + size, name });
    return candidate;
  }

  /** Places at a fixed offset; returns the name of what it would overlap instead, if anything. */
  takeAt(offset: number, size: number, name: string): { addr: number } | { conflict: string } {
    const start = this.base + offset;
    const end = start + size;
    if (end > this.end) return { conflict: `the end of the container (${this.size} bytes)` };
    const clash = this.taken.find((t) => t.start < end && start < t.end);
    if (clash) return { conflict: clash.name };
    this.insert({ start, end, name });
    return { addr: start };
  }

  /** The largest free gap, placed; null when the space is full. */
  takeRest(align: number, name: string): { addr: number; size: number } | null {
    let best: { addr: number; size: number } | null = null;
    let cursor = this.base;
    for (const t of [...this.taken, { start: this.end, end: this.end, name: '' }]) {
      const start = alignUp(cursor, align);
      if (t.start > start && (!best || t.start - start > best.size)) best = { addr: start, size: t.start - start };
      cursor = Math.max(cursor, t.end);
    }
    if (best) this.insert({ start: best.addr, end: best.addr + best.size, name });
    return best;
  }

  /** Bytes not yet taken. */
  remaining(): number {
    return this.size - this.taken.reduce((sum, t) => sum + (t.end - t.start), 0);
  }

  private insert(t: Taken): void {
    let i = this.taken.length;
    while (i > 0 && this.taken[i - 1].start > t.start) i--;
    this.taken.splice(i, 0, t);
  }
}
