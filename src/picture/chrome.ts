/**
 * A run as a Chrome Trace Event Format file (the JSON object form), which ui.perfetto.dev and
 * chrome://tracing open. Format: "Trace Event Format", Google, docs.google.com/document/d/
 * 1CvAClvFfyA5R-PhYUmn5OOQtYMH4h6I0nSsKchNAySU: phases B/E (a slice on a thread, begun and ended), i
 * (an instant), C (a counter, one series per args key), M (process and thread names and order).
 *
 * Tracks: a process per heap whose threads are lanes of block lifetimes (a block from its allocation
 * to its release; blocks that overlap in time go on different lanes, so slices on a thread never
 * overlap), with counters of its bytes in use and of its `sample` metrics; a process for frames and
 * faults; a process for DMA, a thread per channel and one for the CPU time each channel costs.
 * Timestamps are cycles converted to microseconds at the target's clock.
 */
import { hex } from '../util/text.js';
import type { Block, HeapTrack, Timeline } from './timeline.js';

/** Beyond this many allocations (or this many lanes in a heap) blocks are aggregated per step. */
export const ALLOCATION_LIMIT = 100_000;
export const LANE_LIMIT = 256;

interface TraceEventOut {
  name: string;
  cat?: string;
  ph: 'B' | 'E' | 'i' | 'C' | 'M';
  ts?: number;
  pid: number;
  tid?: number;
  s?: 't' | 'p' | 'g';
  cname?: string;
  args?: Record<string, unknown>;
}

export interface ChromeOptions {
  allocationLimit?: number;
  laneLimit?: number;
}

const RUN_PID = 1;
const DMA_PID = 2;
const FIRST_HEAP_PID = 10;
const FRAMES_TID = 1;
const FAULTS_TID = 2;

export function chromeTrace(timeline: Timeline, clockHz: number, options: ChromeOptions = {}): string {
  return new ChromeWriter(timeline, clockHz, options).write();
}

class ChromeWriter {
  private readonly out: TraceEventOut[] = [];
  private readonly allocationLimit: number;
  private readonly laneLimit: number;

  constructor(
    private readonly timeline: Timeline,
    private readonly clockHz: number,
    options: ChromeOptions,
  ) {
    this.allocationLimit = options.allocationLimit ?? ALLOCATION_LIMIT;
    this.laneLimit = options.laneLimit ?? LANE_LIMIT;
  }

  /** Microseconds at the target's clock, to 0.1 ns (fixed digits: the same bytes on every machine). */
  private ts(cycle: number): number {
    return Number(((cycle * 1e6) / this.clockHz).toFixed(4));
  }

  write(): string {
    const t = this.timeline;
    const allocations = t.heaps.reduce((n, h) => n + h.blocks.length, 0);
    const lanes = t.heaps.map((h) => packLanes(h.blocks.map((b) => [b.start, this.endOf(b)]), this.laneLimit));
    const aggregated = allocations > this.allocationLimit || lanes.some((l) => l === null);
    this.runTracks(aggregated, allocations);
    this.dmaTracks();
    t.heaps.forEach((heap, i) => this.heapTracks(heap, FIRST_HEAP_PID + i, aggregated ? null : lanes[i]!));
    const h = t.header;
    const otherData = {
      scenario: h.scenario, target: h.target, seed: h.seed, clock_hz: this.clockHz, cycles: t.cycles, allocations,
      allocations_shown: aggregated ? `aggregated per step (more than ${this.allocationLimit} allocations or ${this.laneLimit} blocks live at once in a heap)` : 'one slice per block',
    };
    const lines = this.out.map((e) => JSON.stringify(e));
    return `{"displayTimeUnit":"ns","otherData":${JSON.stringify(otherData)},"traceEvents":[\n${lines.join(',\n')}\n]}\n`;
  }

  private endOf(b: Block): number {
    return b.end ?? this.timeline.cycles;
  }

  private meta(pid: number, name: string, sort: number, threads: [number, string][]): void {
    this.out.push({ name: 'process_name', ph: 'M', pid, args: { name } }, { name: 'process_sort_index', ph: 'M', pid, args: { sort_index: sort } });
    for (const [tid, thread] of threads) this.out.push({ name: 'thread_name', ph: 'M', pid, tid, args: { name: thread } }, { name: 'thread_sort_index', ph: 'M', pid, tid, args: { sort_index: tid } });
  }

  private slice(pid: number, tid: number, name: string, cat: string, start: number, end: number, args: Record<string, unknown>, endArgs?: Record<string, unknown>, cname?: string): void {
    this.out.push({ name, cat, ph: 'B', ts: this.ts(start), pid, tid, ...(cname ? { cname } : {}), args });
    this.out.push({ name, cat, ph: 'E', ts: this.ts(end), pid, tid, ...(endArgs ? { args: endArgs } : {}) });
  }

  /** Frames (a deadline miss marked in its name, colour and args) and faults as instants. */
  private runTracks(aggregated: boolean, allocations: number): void {
    const t = this.timeline;
    this.meta(RUN_PID, `${t.header.scenario} on ${t.header.target}`, 0, [[FRAMES_TID, 'frames'], [FAULTS_TID, 'faults']]);
    if (aggregated) {
      this.out.push({ name: `allocations aggregated per step: ${allocations} allocations`, cat: 'note', ph: 'i', ts: 0, pid: RUN_PID, tid: FAULTS_TID, s: 'g', args: { allocations, limit: this.allocationLimit } });
    }
    for (const f of t.frames) {
      const cycles = f.end - f.start;
      const missed = f.budget !== null && cycles > f.budget;
      this.slice(RUN_PID, FRAMES_TID, missed ? `frame ${f.frame} (over budget)` : `frame ${f.frame}`, 'frame', f.start, f.end, { frame: f.frame, cycles, budget: f.budget, deadline_miss: missed, line: f.line }, undefined, missed ? 'terrible' : undefined);
    }
    for (const f of t.faults) {
      const args: Record<string, unknown> = { kind: f.kind, detected: f.detected, detail: f.detail, line: f.line, op: f.op };
      if (f.heap !== null) args.heap = f.heap;
      if (f.id !== null) args.id = f.id;
      if (f.causeOp !== null) args.cause = `op ${f.causeOp}, line ${f.causeLine}`;
      this.out.push({ name: `${f.kind} (${f.detected})`, cat: 'fault', ph: 'i', ts: this.ts(f.cycle), pid: RUN_PID, tid: FAULTS_TID, s: 't', args });
    }
  }

  /** A thread per channel (lanes if its transfers overlap) and one per channel for the CPU time it costs. */
  private dmaTracks(): void {
    const t = this.timeline;
    const channels = [...new Set([...t.transfers.map((x) => x.channel), ...t.stalls.map((x) => x.channel)])];
    if (channels.length === 0) return;
    const threads: [number, string][] = [];
    channels.forEach((channel, c) => {
      const transfers = t.transfers.filter((x) => x.channel === channel);
      const lanes = packLanes(transfers.map((x) => [x.start, x.start + x.cycles]), Infinity)!;
      const laneCount = Math.max(1, ...lanes.map((l) => l + 1));
      const tid = (lane: number) => 1 + c * 100 + lane;
      for (let lane = 0; lane < laneCount; lane++) threads.push([tid(lane), lane === 0 ? `DMA ${channel}` : `DMA ${channel} (${lane + 1})`]);
      transfers.forEach((x, i) => this.slice(DMA_PID, tid(lanes[i]), `${channel} ${x.len} bytes`, 'dma', x.start, x.start + x.cycles, { channel, bytes: x.len, cycles: x.cycles, stall: x.stall, waited: x.waited, line: x.line }));
      const stalls = t.stalls.filter((x) => x.channel === channel);
      threads.push([tid(99), `CPU stalled by ${channel}`]);
      for (const s of stalls) this.slice(DMA_PID, tid(99), s.why === 'wait' ? `wait for ${channel}` : `stall for ${channel}`, 'stall', s.start, s.start + s.cycles, { channel, cycles: s.cycles, line: s.line });
    });
    threads.sort((a, b) => a[0] - b[0]);
    this.meta(DMA_PID, 'DMA', 1, threads);
  }

  private heapTracks(heap: HeapTrack, pid: number, lanes: number[] | null): void {
    const laneCount = lanes === null ? 1 : Math.max(1, ...lanes.map((l) => l + 1));
    const threads: [number, string][] = [];
    for (let lane = 0; lane < laneCount; lane++) threads.push([1 + lane, lanes === null ? 'allocations per step' : `blocks (${lane + 1})`]);
    if (heap.failed.length > 0) threads.push([laneCount + 1, 'failed allocations']);
    this.meta(pid, heap.size > 0 ? `heap ${heap.name} (${heap.size} bytes at ${hex(heap.addr)})` : `heap ${heap.name}`, pid, threads);
    if (lanes === null) this.aggregatedBlocks(heap, pid);
    else heap.blocks.forEach((b, i) => this.blockSlice(b, pid, 1 + lanes[i]));
    for (const f of heap.failed) this.out.push({ name: `alloc of ${f.size} bytes failed`, cat: 'alloc', ph: 'i', ts: this.ts(f.cycle), pid, tid: laneCount + 1, s: 't', args: { size: f.size, line: f.line } });
    this.counters(heap, pid, lanes === null);
  }

  private blockSlice(b: Block, pid: number, tid: number): void {
    const args = { id: b.id, size: b.size, block: b.block, addr: hex(b.addr), cycles: b.allocCycles, line: b.line };
    const endArgs = b.endedBy === null ? { released: 'live at the end' } : { released: b.endedBy, cycles: b.freeCycles };
    this.slice(pid, tid, b.id ?? `${b.size} bytes`, 'alloc', b.start, this.endOf(b), args, endArgs);
  }

  /**
   * Runs of allocations made by the same step, cut at frame ends: one slice each, from the first
   * allocation's start to the last one's end, with their count, bytes and cycles.
   */
  private aggregatedBlocks(heap: HeapTrack, pid: number): void {
    const frameEnds = this.timeline.frames.map((f) => f.end);
    let frame = 0;
    let run: Block[] = [];
    const flush = () => {
      if (run.length === 0) return;
      const last = run.at(-1)!;
      const cycles = run.map((b) => b.allocCycles);
      this.slice(pid, 1, `line ${run[0].line}: ${run.length} allocations`, 'alloc', run[0].start, last.start + last.allocCycles, {
        line: run[0].line, allocations: run.length, bytes: run.reduce((n, b) => n + b.size, 0), cycles: cycles.reduce((n, c) => n + c, 0), max_cycles: Math.max(...cycles),
      });
      run = [];
    };
    for (const b of heap.blocks) {
      let crossed = false;
      while (frame < frameEnds.length && frameEnds[frame] <= b.start) {
        frame++;
        crossed = true;
      }
      if (crossed || (run.length > 0 && run[0].line !== b.line)) flush();
      run.push(b);
    }
    flush();
  }

  /** Bytes in use after every change (at most one point per 1/4000 of the run when aggregated, the peak of its span), and the sampled metrics. */
  private counters(heap: HeapTrack, pid: number, thin: boolean): void {
    const span = thin ? Math.max(1, Math.floor(this.timeline.cycles / 4000)) : 0;
    let pending: [number, number] | null = null;
    for (const [cycle, bytes] of heap.usage) {
      if (pending && cycle - pending[0] < span) {
        pending[1] = Math.max(pending[1], bytes);
        continue;
      }
      if (pending) this.counter(pid, 'in use', 'bytes', pending[0], pending[1]);
      pending = [cycle, bytes];
    }
    if (pending) this.counter(pid, 'in use', 'bytes', pending[0], pending[1]);
    for (const s of heap.samples) {
      this.counter(pid, 'sampled in use', 'bytes', s.cycle, s.inUse);
      this.counter(pid, 'largest free block', 'bytes', s.cycle, s.largestFree);
      this.counter(pid, 'external fragmentation', 'percent', s.cycle, s.extFragPpm / 10_000);
    }
  }

  /** A counter sample; Perfetto names the track `NAME UNIT` (the series' key), chrome://tracing shows the unit as the series. */
  private counter(pid: number, name: string, unit: string, cycle: number, value: number): void {
    this.out.push({ name, cat: 'heap', ph: 'C', ts: this.ts(cycle), pid, args: { [unit]: value } });
  }
}

/**
 * Lanes for intervals in start order: each goes on the lowest lane whose last interval ended before
 * it starts (strictly, so that no two slices on a lane share a timestamp). Null past `limit` lanes.
 */
export function packLanes(intervals: [number, number][], limit: number): number[] | null {
  const laneEnds: number[] = [];
  const lanes: number[] = [];
  for (const [start, end] of intervals) {
    let lane = laneEnds.findIndex((e) => e < start);
    if (lane < 0) {
      if (laneEnds.length >= limit) return null;
      lane = laneEnds.length;
      laneEnds.push(end);
    } else {
      laneEnds[lane] = end;
    }
    lanes.push(lane);
  }
  return lanes;
}
