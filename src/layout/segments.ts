/**
 * The segment allocator of a dynamic layout: component segments placed, resized and released at run
 * time in the layout's arena.
 *
 * Every segment has a guard gap before and after it (the layout's `guard`, rounded to whole pages on
 * an MMU target, as static guards are); the trailing guard starts on the page boundary after the
 * segment's end (the rest of its last page is its own, unguarded). A guard may serve two neighbours:
 * between two segments there is at least one guard, never less. The arena's edges count as
 * neighbours, so the first segment starts a guard above the arena's base and the last one ends a
 * guard (and the page rounding) below its end: a dynamic layout guards its segments from whatever lies
 * around the arena too.
 *
 * A segment's footprint is its guards, its body and the page rounding after it: [start - guard,
 * pageUp(end) + guard). The arena's free ranges are what no footprint covers inside [base + guard,
 * end - guard): a new segment's body (rounded to pages) must lie in one of them, its guards then
 * falling on its neighbours' guards or on more free space. Placement is address-ordered first fit by
 * default (the lowest free range where the aligned body fits), or best fit (the smallest such range,
 * the lowest on ties). A segment never moves (nothing on a no-MMU machine can rebase the pointers into
 * it): it grows in place into the free range after it, until its page-rounded end reaches the next
 * segment's leading guard (its own trailing guard then is that guard) or the last guard's room below
 * the arena's end; one byte more would put it in that guard, and the growth is refused. It shrinks in
 * place. Refusals are `oom` (fewer free bytes in the whole arena than needed) or `fragmented` (enough,
 * not there), with the arena's numbers. The invariants (check()) are asserted after every change.
 *
 * Nothing here reads the clock or iterates unordered state: segments are kept in address order.
 */
import { alignUp } from '../util/bits.js';
import { formatBytes, hex } from '../util/text.js';

export const PLACEMENTS = ['first-fit', 'best-fit'] as const;
export type SegmentPlacement = (typeof PLACEMENTS)[number];

/** The arena and the rules every segment in it follows. */
export interface SegmentRules {
  /** The arena. */
  base: number;
  size: number;
  /** Bytes of a guard gap, already whole pages on an MMU target (0: no guards). */
  guard: number;
  /** The MMU's page (1 without an MMU): segment ends are rounded to it before their trailing guard. */
  page: number;
  /** Every segment's start is a multiple of it (at least the page). */
  align: number;
  placement: SegmentPlacement;
}

export interface Segment {
  name: string;
  /** A component's segment, or a shared region (placed once, never resized). */
  kind: 'segment' | 'shared';
  start: number;
  size: number;
}

/** A guard gap as it stands now: before a segment, after one, or between two. */
export interface GuardBand {
  /** `guard:NAME` before segment NAME (also between two segments), `guard:NAME:end` after the last one before free space. */
  name: string;
  start: number;
  end: number;
  /** The segments it borders (one or two). */
  after: string | null;
  before: string | null;
}

/** Why a segment could not be created or grown: the arena's numbers. */
export interface SegmentRefusal {
  refused: true;
  /** `oom`: fewer free bytes in the whole arena than the request needs; `fragmented`: enough in total, but not in one place (or not after the segment). */
  kind: 'oom' | 'fragmented';
  /** Bytes the request needed (the body, or its growth, rounded to pages). */
  needed: number;
  free: number;
  largest: number;
  /** For a growth: the largest size the segment could have in place. */
  room: number | null;
  detail: string;
}

export class SegmentArena {
  /** Live segments in address order. */
  private readonly list: Segment[] = [];
  private peakUsed = 0;

  constructor(readonly rules: SegmentRules) {
    this.peakUsed = this.used();
  }

  get end(): number {
    return this.rules.base + this.rules.size;
  }

  get(name: string): Segment | undefined {
    return this.list.find((s) => s.name === name);
  }

  /** The live segments, lowest first. */
  segments(): readonly Segment[] {
    return this.list;
  }

  /** Places a new segment of `size` bytes (> 0); a refusal says why, with the arena's numbers. */
  create(name: string, kind: Segment['kind'], size: number): Segment | SegmentRefusal {
    if (this.get(name)) throw new Error(`segment ${name} exists`);
    const start = this.where(size);
    if (start === null) return this.refusal(`no free range of the arena holds a ${formatBytes(size)} segment at ${formatBytes(this.rules.align)} alignment`, this.pageUp(size), null);
    const segment = { name, kind, start, size };
    let i = 0;
    while (i < this.list.length && this.list[i].start < start) i++;
    this.list.splice(i, 0, segment);
    this.afterChange();
    return segment;
  }

  /** The start a new segment of `size` bytes would get, or null. */
  where(size: number): number | null {
    let best: { start: number; room: number } | null = null;
    for (const [from, to] of this.freeRanges()) {
      const start = alignUp(from, this.rules.align);
      if (start + size > this.pageDown(to)) continue;
      if (this.rules.placement === 'first-fit') return start;
      if (!best || to - from < best.room) best = { start, room: to - from };
    }
    return best?.start ?? null;
  }

  /** Resizes a live segment in place: a shrink always works, a growth only into the free range after it. */
  resize(name: string, size: number): Segment | SegmentRefusal {
    const segment = this.get(name)!;
    const room = this.roomOf(segment);
    if (size > room) {
      const needed = this.pageUp(segment.start + size) - this.pageUp(segment.start + segment.size);
      return this.refusal(`${name} (${formatBytes(segment.size)} at ${hex(segment.start)}) can grow in place to ${formatBytes(room)}, up to ${hex(segment.start + room)} (${this.boundOf(segment)})`, needed, room);
    }
    segment.size = size;
    this.afterChange();
    return segment;
  }

  /** Releases a live segment: its footprint becomes free (its guards stay where a neighbour needs them). */
  release(name: string): Segment {
    const i = this.list.findIndex((s) => s.name === name);
    const [segment] = this.list.splice(i, 1);
    return segment;
  }

  /** The largest size `segment` can have in place now: up to the next footprint (or the arena's end), less its trailing guard. */
  roomOf(segment: Segment): number {
    const i = this.list.indexOf(segment);
    const next = this.list[i + 1];
    const limit = (next ? next.start : this.end) - this.rules.guard;
    return Math.max(segment.size, this.pageDown(limit) - segment.start);
  }

  /** What stops `segment` growing: the next segment's guard, or the arena's end. */
  boundOf(segment: Segment): string {
    const next = this.list[this.list.indexOf(segment) + 1];
    if (this.rules.guard === 0) return next ? `segment ${next.name} at ${hex(next.start)}` : `the arena's end at ${hex(this.end)}`;
    return next ? `room for its guard before guard:${next.name} at ${hex(next.start - this.rules.guard)}` : `room for its guard before the arena's end at ${hex(this.end)}`;
  }

  /**
   * The guard gaps now, lowest first: each segment's guard before and after it, one band where two
   * neighbours' guards meet or overlap (reaching from the first one's page-rounded end to the second
   * one's start, so no unguarded padding sits between them).
   */
  guards(): GuardBand[] {
    const g = this.rules.guard;
    if (g === 0) return [];
    const bands: GuardBand[] = [];
    let previous: Segment | null = null;
    for (const s of this.list) {
      const lead = { start: s.start - g, end: s.start };
      const last = bands[bands.length - 1];
      if (previous && last && last.after === previous.name && last.end >= lead.start) {
        bands[bands.length - 1] = { name: `guard:${s.name}`, start: last.start, end: s.start, after: previous.name, before: s.name };
      } else {
        bands.push({ name: `guard:${s.name}`, start: lead.start, end: lead.end, after: null, before: s.name });
      }
      const tail = this.pageUp(s.start + s.size);
      bands.push({ name: `guard:${s.name}:end`, start: tail, end: tail + g, after: s.name, before: null });
      previous = s;
    }
    return bands;
  }

  /** The guard bands bordering `name` (before and after it), lowest first. */
  guardsOf(name: string): GuardBand[] {
    return this.guards().filter((b) => b.after === name || b.before === name);
  }

  /** Free ranges for segment bodies: [base + guard, end - guard) less every footprint, lowest first. */
  freeRanges(): Array<[number, number]> {
    const g = this.rules.guard;
    const ranges: Array<[number, number]> = [];
    let cursor = this.rules.base + g;
    const top = this.end - g;
    for (const s of this.list) {
      const from = s.start - g;
      if (from > cursor) ranges.push([cursor, Math.min(from, top)]);
      cursor = Math.max(cursor, this.pageUp(s.start + s.size) + g);
    }
    if (top > cursor) ranges.push([cursor, top]);
    return ranges.filter(([a, b]) => b > a);
  }

  /** Bytes free for segment bodies, in all free ranges together. */
  free(): number {
    return this.freeRanges().reduce((sum, [a, b]) => sum + b - a, 0);
  }

  largestFree(): number {
    return this.freeRanges().reduce((largest, [a, b]) => Math.max(largest, b - a), 0);
  }

  /** Bytes the segments take: bodies, page rounding and guards (the arena's edges' guards included). */
  used(): number {
    return this.rules.size - this.free();
  }

  peak(): number {
    return this.peakUsed;
  }

  /** The segment allocator's invariants; one message per one broken. */
  check(): string[] {
    const problems: string[] = [];
    const g = this.rules.guard;
    let floor = this.rules.base + g;
    let previous: Segment | null = null;
    for (const s of this.list) {
      if (s.size <= 0) problems.push(`segment ${s.name} has size ${s.size}`);
      if (s.start % this.rules.align !== 0) problems.push(`segment ${s.name} at ${hex(s.start)} is not ${this.rules.align}-aligned`);
      if (s.start < floor) problems.push(`segment ${s.name} at ${hex(s.start)} starts inside ${previous ? `${previous.name}'s footprint` : "the arena's first guard"} (which ends at ${hex(floor)})`);
      floor = this.pageUp(s.start + s.size) + g;
      previous = s;
    }
    if (floor > this.end) problems.push(`the last segment's footprint ends at ${hex(floor)}, past the arena's end ${hex(this.end)}`);
    return problems;
  }

  private afterChange(): void {
    const problems = this.check();
    if (problems.length) throw new Error(`segment allocator: ${problems.join('; ')}`);
    this.peakUsed = Math.max(this.peakUsed, this.used());
  }

  private refusal(why: string, needed: number, room: number | null): SegmentRefusal {
    const free = this.free();
    const largest = this.largestFree();
    const kind = free >= needed ? 'fragmented' : 'oom';
    const detail = `${why}; the arena (${formatBytes(this.rules.size)} at ${hex(this.rules.base)}) has ${formatBytes(free)} free in ${this.freeRanges().length} range(s), the largest ${formatBytes(largest)}, ${formatBytes(needed)} needed`;
    return { refused: true, kind, needed, free, largest, room, detail };
  }

  private pageUp(addr: number): number {
    return alignUp(addr, this.rules.page);
  }

  private pageDown(addr: number): number {
    return Math.floor(addr / this.rules.page) * this.rules.page;
  }
}

export function isRefusal(r: Segment | SegmentRefusal): r is SegmentRefusal {
  return 'refused' in r;
}
