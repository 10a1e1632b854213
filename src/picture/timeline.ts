/**
 * A run's trace gathered into what its pictures draw: block lifetimes per heap, frames, DMA transfers
 * and CPU stalls, heap samples, faults and the end summary. Read once, in trace order; every list is
 * in the order its events came, so everything drawn from it is as deterministic as the trace.
 */
import { readTrace } from '../trace/reader.js';
import type { TraceEvent, TraceHeader } from '../trace/schema.js';

/** One block from its allocation to its release (or the end of the run). */
export interface Block {
  heap: string;
  id: string | null;
  size: number;
  /** Bytes the allocator took. */
  block: number;
  addr: number;
  line: number;
  /** Cycle the allocation began at, and the cycles it took. */
  start: number;
  allocCycles: number;
  /** Cycle it was released at (a free, a moving realloc, a scope exit), or null: live at the end. */
  end: number | null;
  /** How it ended: 'free', 'realloc' (moved), 'scope-exit'. */
  endedBy: string | null;
  freeCycles: number | null;
}

export interface Frame {
  frame: number;
  /** Cycle it began and ended at. */
  start: number;
  end: number;
  budget: number | null;
  line: number;
}

export interface Transfer {
  channel: string;
  start: number;
  cycles: number;
  stall: number;
  waited: number;
  len: number;
  line: number;
}

/** CPU time lost to DMA: a stall beside a transfer, or a wait for a channel. */
export interface Stall {
  channel: string;
  start: number;
  cycles: number;
  why: 'stall' | 'wait';
  line: number;
}

export interface HeapSample {
  cycle: number;
  inUse: number;
  largestFree: number;
  extFragPpm: number;
}

export interface Fault {
  cycle: number;
  op: number;
  line: number;
  kind: string;
  detected: string;
  heap: string | null;
  id: string | null;
  detail: string;
  causeOp: number | null;
  causeLine: number | null;
}

/** A heap's placement and everything that happened on it. */
export interface HeapTrack {
  name: string;
  addr: number;
  size: number;
  blocks: Block[];
  /** Allocations that failed: cycle, size and line. */
  failed: { cycle: number; size: number; line: number }[];
  samples: HeapSample[];
  /** Bytes the allocator holds (blocks in use) after each change: [cycle, bytes]. */
  usage: [number, number][];
}

export interface Timeline {
  header: TraceHeader;
  heaps: HeapTrack[];
  frames: Frame[];
  transfers: Transfer[];
  stalls: Stall[];
  faults: Fault[];
  /** The cycle of the last event. */
  cycles: number;
  /** The end event's summary (the run's metrics), or null for a trace cut off before it. */
  summary: Record<string, unknown> | null;
}

/** Reads a trace's events into a Timeline. */
export function gatherTimeline(header: TraceHeader, events: Iterable<TraceEvent>): Timeline {
  return new Gatherer(header).read(events);
}

class Gatherer {
  private readonly timeline: Timeline;
  private readonly heaps = new Map<string, HeapTrack>();
  /** Live blocks by heap and address. */
  private readonly live = new Map<string, Block>();
  /** Per heap, the open bump scopes, each with the blocks allocated in it. */
  private readonly scopes = new Map<string, Block[][]>();
  private readonly inUse = new Map<string, number>();

  constructor(header: TraceHeader) {
    this.timeline = { header, heaps: [], frames: [], transfers: [], stalls: [], faults: [], cycles: 0, summary: null };
  }

  read(events: Iterable<TraceEvent>): Timeline {
    for (const e of events) {
      this.timeline.cycles = e.cycle;
      this.event(e);
    }
    return this.timeline;
  }

  private event(e: TraceEvent): void {
    switch (e.type) {
      case 'place':
        if (e.what === 'heap') this.heap(e.name as string, e.addr as number, e.size as number);
        return;
      case 'alloc':
        return this.alloc(e);
      case 'free':
        return this.free(e);
      case 'realloc':
        return this.realloc(e);
      case 'scope-enter':
        if (e.entered) this.scopeStack(e.heap as string).push([]);
        return;
      case 'scope-exit':
        return this.scopeExit(e);
      case 'frame': {
        const end = e.cycle;
        this.timeline.frames.push({ frame: e.frame as number, start: end - (e.cycles as number), end, budget: e.budget as number | null, line: e.line as number });
        return;
      }
      case 'dma':
        return this.dma(e);
      case 'wait':
        if ((e.cycles as number) > 0) this.timeline.stalls.push({ channel: e.channel as string, start: e.cycle, cycles: e.cycles as number, why: 'wait', line: e.line as number });
        return;
      case 'sample':
        for (const h of e.heaps as Record<string, number | string>[]) {
          this.heap(h.name as string).samples.push({ cycle: e.cycle, inUse: h.in_use as number, largestFree: h.largest_free as number, extFragPpm: h.ext_frag_ppm as number });
        }
        return;
      case 'fault':
        this.timeline.faults.push({
          cycle: e.cycle, op: e.op, line: e.line as number, kind: e.kind as string, detected: e.detected as string, heap: e.heap as string | null, id: e.id as string | null,
          detail: e.detail as string, causeOp: (e.cause_op as number | undefined) ?? null, causeLine: (e.cause_line as number | undefined) ?? null,
        });
        return;
      case 'end':
        this.timeline.summary = e.summary as Record<string, unknown>;
        return;
    }
  }

  /** The heap's track, made at its placement (or its first event, for a heap placed later). */
  private heap(name: string, addr = 0, size = 0): HeapTrack {
    let track = this.heaps.get(name);
    if (!track) {
      track = { name, addr, size, blocks: [], failed: [], samples: [], usage: [] };
      this.heaps.set(name, track);
      this.timeline.heaps.push(track);
    } else if (size > 0) {
      track.addr = addr;
      track.size = size;
    }
    return track;
  }

  private scopeStack(heap: string): Block[][] {
    let stack = this.scopes.get(heap);
    if (!stack) this.scopes.set(heap, (stack = []));
    return stack;
  }

  private alloc(e: TraceEvent): void {
    const heap = this.heap(e.heap as string);
    if (e.addr === null) {
      heap.failed.push({ cycle: e.cycle, size: e.size as number, line: e.line as number });
      return;
    }
    this.open(heap, e, e.size as number);
  }

  private open(heap: HeapTrack, e: TraceEvent, size: number): void {
    const block: Block = {
      heap: heap.name, id: e.id as string | null, size, block: e.block as number, addr: e.addr as number, line: e.line as number,
      start: e.cycle, allocCycles: e.cycles as number, end: null, endedBy: null, freeCycles: null,
    };
    heap.blocks.push(block);
    this.live.set(`${heap.name}\0${block.addr}`, block);
    this.scopes.get(heap.name)?.at(-1)?.push(block);
    this.use(heap, e.cycle, block.block);
  }

  private close(heap: HeapTrack, addr: number, cycle: number, endedBy: string, cycles: number | null): void {
    const key = `${heap.name}\0${addr}`;
    const block = this.live.get(key);
    if (!block) return;
    this.live.delete(key);
    block.end = cycle;
    block.endedBy = endedBy;
    block.freeCycles = cycles;
    this.use(heap, cycle, -block.block);
  }

  private free(e: TraceEvent): void {
    if (e.addr === null) return;
    this.close(this.heap(e.heap as string), e.addr as number, e.cycle, 'free', e.cycles as number);
  }

  /** In place: the block is resized; moved: the old block ends and a new one begins; null: freed or failed. */
  private realloc(e: TraceEvent): void {
    const heap = this.heap(e.heap as string);
    const oldAddr = e.old_addr as number | null;
    const addr = e.addr as number | null;
    if (addr === null) {
      if ((e.size as number) === 0 && oldAddr !== null) this.close(heap, oldAddr, e.cycle, 'free', e.cycles as number);
      else heap.failed.push({ cycle: e.cycle, size: e.size as number, line: e.line as number });
      return;
    }
    const old = oldAddr === null ? undefined : this.live.get(`${heap.name}\0${oldAddr}`);
    if (old && oldAddr === addr) {
      this.use(heap, e.cycle, (e.block as number) - old.block);
      old.size = e.size as number;
      old.block = e.block as number;
      return;
    }
    if (oldAddr !== null) this.close(heap, oldAddr, e.cycle, 'realloc', e.cycles as number);
    this.open(heap, e, e.size as number);
  }

  /** A bump scope's exit releases every block allocated in it. */
  private scopeExit(e: TraceEvent): void {
    const heap = this.heap(e.heap as string);
    const released = this.scopeStack(heap.name).pop() ?? [];
    for (const block of released) if (block.end === null) this.close(heap, block.addr, e.cycle, 'scope-exit', e.cycles as number);
  }

  private dma(e: TraceEvent): void {
    const waited = (e.waited as number | undefined) ?? 0;
    const start = e.cycle + waited;
    const transfer: Transfer = { channel: e.channel as string, start, cycles: e.cycles as number, stall: e.stall as number, waited, len: e.len as number, line: e.line as number };
    this.timeline.transfers.push(transfer);
    if (transfer.stall > 0) this.timeline.stalls.push({ channel: transfer.channel, start, cycles: transfer.stall, why: 'stall', line: transfer.line });
  }

  private use(heap: HeapTrack, cycle: number, delta: number): void {
    const bytes = (this.inUse.get(heap.name) ?? 0) + delta;
    this.inUse.set(heap.name, bytes);
    const last = heap.usage.at(-1);
    if (last && last[0] === cycle) last[1] = bytes;
    else heap.usage.push([cycle, bytes]);
  }
}

/** A trace file's timeline, read through the trace reader. */
export function timelineOf(tracePath: string): Timeline {
  const trace = readTrace(tracePath);
  return gatherTimeline(trace.header, trace.events);
}
