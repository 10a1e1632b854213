/**
 * Lazy step expansion: turns the step tree into a stream of operations, one at a time, so that a
 * scenario of a hundred million operations runs in memory bounded by its live blocks, not its length.
 */
import { isPow2 } from '../util/bits.js';
import { drawSize, type Rng, type Streams } from '../rng/streams.js';
import type { FieldOp } from '../import/ops.js';
import { readLog } from '../import/read.js';
import { ALLOC_OP, blockId, FREE_OP, type OpBuffer, type OpStream } from '../import/stream.js';
import type { DmaEnd, FreeOrder, Location, Step } from './types.js';

/** Steps that pass through as operations once their block ids are filled in. */
type AccessStep = Extract<Step, { kind: 'read' | 'write' | 'copy' | 'dma' | 'cache' }>;
/** Lock steps pass through as they are. */
type LockStep = Extract<Step, { kind: 'lock' | 'unlock' }>;

export type Op =
  | { kind: 'alloc'; line: number; id: string; heap: string; size: number; align: number; budget: string | null; mode: number | null; at: number | null; log?: number; caller?: string }
  | { kind: 'free'; line: number; id: string; heap?: string | null; log?: number; caller?: string }
  | { kind: 'realloc'; line: number; id: string; size: number; log?: number; caller?: string }
  /** What a replayed log says besides operations: its problems, refused requests, the device's faults. */
  | { kind: 'log-note'; line: number; log: number; what: string; detail: string }
  /** A block the log shows handed out twice: the host heap was corrupt there (heap-corrupt on `heap`, naming the live block `id`). */
  | { kind: 'log-overlap'; line: number; log: number; heap: string; id: string; detail: string; caller?: string }
  | { kind: 'scope-enter'; line: number; heap: string; budget: number | null }
  | { kind: 'scope-exit'; line: number; heap: string }
  | { kind: 'grow'; line: number; heap: string; pages: number }
  | { kind: 'segment'; line: number; component: string; size: number }
  | AccessStep
  | LockStep
  | { kind: 'check'; line: number }
  | { kind: 'sample'; line: number }
  | { kind: 'idle'; line: number; cycles: number }
  | { kind: 'wait'; line: number; channel: string }
  | { kind: 'frame'; line: number; budget: number | null }
  | Extract<Step, { kind: 'wasm' }>;

type Vars = { name: string; value: number }[];

/** Operations, or a source that yields a run of them (a random workload), to be drained in place. */
export type OpItem = Op | OpSource;
export interface OpSource {
  readonly source: true;
  next(): Op | null;
  /** Releases what the source holds open (a replay's log file), whether or not it was drained. */
  close?(): void;
}

/** Every operation of a source, then the source closed (also when an operation throws). */
export function drain(item: OpSource, each: (op: Op) => void): void {
  try {
    for (let op = item.next(); op; op = item.next()) each(op);
  } finally {
    item.close?.();
  }
}

/** The operations of `steps`, one at a time. */
export function* expand(steps: readonly Step[], streams: Streams): Generator<Op> {
  for (const item of expandItems(steps, streams)) {
    if (!('source' in item)) {
      yield item;
      continue;
    }
    try {
      for (let op = item.next(); op; op = item.next()) yield op;
    } finally {
      item.close?.();
    }
  }
}

/**
 * The operations of `steps`, with each random workload as one source the caller drains itself: a
 * workload of millions of operations then costs no generator hop per operation.
 */
export function* expandItems(steps: readonly Step[], streams: Streams, vars: Vars = []): Generator<OpItem> {
  for (const step of steps) {
    switch (step.kind) {
      case 'alloc':
        yield { kind: 'alloc', line: step.line, id: fill(step.id, vars), heap: step.heap, size: drawSize(step.size, streams.get(step.stream)), align: step.align, budget: step.budget, mode: step.mode, at: step.at };
        break;
      case 'free':
        yield { kind: 'free', line: step.line, id: fill(step.id, vars), heap: step.heap };
        break;
      case 'realloc':
        yield { kind: 'realloc', line: step.line, id: fill(step.id, vars), size: drawSize(step.size, streams.get(step.stream)) };
        break;
      case 'scope':
        yield { kind: 'scope-enter', line: step.line, heap: step.heap, budget: step.budget };
        yield* expandItems(step.steps, streams, vars);
        yield { kind: 'scope-exit', line: step.line, heap: step.heap };
        break;
      case 'repeat':
        for (let i = 0; i < step.times; i++) {
          yield* expandItems(step.steps, streams, [...vars, { name: step.variable, value: i }]);
        }
        break;
      case 'replay':
        yield new Replay(step);
        break;
      case 'random':
        yield new RandomWorkload(step, step.workload ? streams.fresh(`workload/${step.stream}`) : streams.get(step.stream));
        break;
      case 'read':
      case 'write':
      case 'cache':
        yield vars.length ? { ...step, at: locate(step.at, vars) } : step;
        break;
      case 'copy':
        yield vars.length ? { ...step, from: locate(step.from, vars), to: locate(step.to, vars) } : step;
        break;
      case 'dma':
        yield vars.length ? { ...step, from: locate(step.from, vars), to: locate(step.to, vars) } : step;
        break;
      default:
        yield step;
    }
  }
}

/**
 * The largest size and alignment a replay asks for. A log's may go beyond them (a damaged line, a
 * 64-bit size read as a double), which no heap could serve and no trace integer holds: such a
 * request is noted with what the log says, and made with these, which fail the same way.
 */
const MAX_REQUEST = Number.MAX_SAFE_INTEGER;
const MAX_ALIGN = 2 ** 52;

/**
 * A field log as operations on one heap, streamed from the file; each keeps the log line it came from.
 * Alignments the log states are kept (rounded up to a power of two); others take the step's. The
 * log's allocations and frees, nearly all of it, are made straight from the stream's columns (no
 * FieldOp, no generator hop per operation); everything else goes through its FieldOp (replayed).
 */
class Replay implements OpSource {
  readonly source = true;
  private readonly stream: OpStream;
  /** The ops taken from the stream and not made yet: [at, end) of its buffer. */
  private at = 0;
  private end = 0;
  /** Ops made from one FieldOp and not handed out yet. */
  private readonly pending: Op[] = [];

  constructor(private readonly step: Extract<Step, { kind: 'replay' }>) {
    this.stream = readLog(step.file, step.format);
  }

  next(): Op | null {
    if (this.pending.length > 0) return this.pending.shift()!;
    if (this.at === this.end) {
      const from = this.stream.take();
      if (from < 0) return null;
      this.at = from;
      this.end = this.stream.ops.length;
    }
    const ops = this.stream.ops;
    const i = this.at++;
    const kind = ops.kinds[i];
    const { line, heap } = this.step;
    if (kind === FREE_OP) return { kind: 'free', line, id: blockId(ops.blocks[i]), log: ops.lines[i], caller: callerOf(ops, i) };
    if (kind === ALLOC_OP) {
      const size = ops.sizes[i];
      const align = alignOf(ops.aligns[i], this.step.align);
      if (size <= MAX_REQUEST && align <= MAX_ALIGN) return { kind: 'alloc', line, id: blockId(ops.blocks[i]), heap, size, align, budget: null, mode: null, at: null, log: ops.lines[i], caller: callerOf(ops, i) };
    }
    replayed(this.step, ops.at(i), this.pending);
    return this.next();
  }

  close(): void {
    this.stream.return(0);
  }
}

/** The caller of op i, where the log names one. */
function callerOf(ops: OpBuffer, i: number): string | undefined {
  const caller = ops.callers[i];
  return caller >= 0 ? ops.callerNames[caller] : undefined;
}

/** The alignment a replayed allocation asks for: the log's rounded up to a power of two, else the step's. */
function alignOf(logged: number, stepAlign: number): number {
  return logged > 0 ? (isPow2(logged) ? logged : 2 ** Math.ceil(Math.log2(logged))) : stepAlign;
}

/** The operations one FieldOp of a replayed log makes, added to `out`. */
function replayed(step: Extract<Step, { kind: 'replay' }>, f: FieldOp, out: Op[]): void {
  const { line, heap } = step;
  // `align` is the alignment rounded up to a power of two, `asked` the log's.
  const oversized = (f: { size: number; line: number }, align = 0, asked = align): Op => ({
    kind: 'log-note',
    line,
    log: f.line,
    what: 'oversized',
    detail: `the log asks for ${f.size} bytes${align > MAX_ALIGN ? ` aligned to ${asked}` : ''}; replayed as a request of ${Math.min(f.size, MAX_REQUEST)} bytes${align > MAX_ALIGN ? ` aligned to ${MAX_ALIGN}` : ''}`,
  });
  switch (f.kind) {
    case 'alloc': {
      const align = alignOf(f.align, step.align);
      if (f.size > MAX_REQUEST || align > MAX_ALIGN) out.push(oversized(f, align, f.align));
      out.push({ kind: 'alloc', line, id: f.id, heap, size: Math.min(f.size, MAX_REQUEST), align: Math.min(align, MAX_ALIGN), budget: null, mode: null, at: null, log: f.line, caller: f.caller });
      break;
    }
    case 'free':
      out.push({ kind: 'free', line, id: f.id, log: f.line, caller: f.caller });
      break;
    case 'realloc':
      if (f.size > MAX_REQUEST) out.push(oversized(f));
      out.push({ kind: 'realloc', line, id: f.id, size: Math.min(f.size, MAX_REQUEST), log: f.line, caller: f.caller });
      break;
    case 'failed':
      out.push({ kind: 'log-note', line, log: f.line, what: 'refused', detail: `the host refused ${f.size} bytes${f.id ? ` for a realloc of ${f.id}` : ''}; not replayed` });
      break;
    case 'fault':
      out.push({ kind: 'log-note', line, log: f.line, what: 'device-fault', detail: `the device recorded ${f.fault}${f.addr === null ? '' : ` at 0x${f.addr.toString(16)}`}${f.time === null ? '' : ` at time ${f.time}`}` });
      break;
    case 'problem':
      // The program's bad call is made, for the engine to report as the fault it is; the log's own problems are noted.
      if (f.call?.kind === 'free') out.push({ kind: 'free', line, id: f.call.id, heap, log: f.line, caller: f.call.caller });
      // The engine stops at the realloc's fault; the alloc that follows carries the size the host gave.
      else if (f.call?.kind === 'realloc') out.push({ kind: 'realloc', line, id: f.call.id, size: 0, log: f.line, caller: f.call.caller });
      else if (f.call?.kind === 'overlap') out.push({ kind: 'log-overlap', line, log: f.line, heap, id: f.call.id, detail: f.detail, caller: f.call.caller });
      else out.push({ kind: 'log-note', line, log: f.line, what: f.what, detail: f.detail });
      break;
  }
}

/** A location with its block id's `${var}` filled in. */
function locate<T extends Location | DmaEnd>(at: T, vars: Vars): T {
  return at.kind === 'block' ? { ...at, id: fill(at.id, vars) } : at;
}

/** `${i}` in an id becomes the value of the enclosing repeat's variable. */
function fill(template: string, vars: Vars): string {
  if (!template.includes('${')) return template;
  return template.replace(/\$\{([^}]*)\}/g, (_, name: string) => {
    for (let k = vars.length - 1; k >= 0; k--) if (vars[k].name === name) return String(vars[k].value);
    return '';
  });
}

/**
 * A seeded alloc/free mix: `count` operations keeping at most `maxLive` blocks, freed in fifo, lifo or
 * random order, then (with drain) frees of what is left. Ids are `stream#slot` with slots reused, so
 * ids stay bounded like the live set.
 */
class RandomWorkload implements OpSource {
  readonly source = true;
  private readonly live: LiveSlots;
  private readonly freeSlots: number[] = [];
  private nextSlot = 0;
  private done = 0;
  /** One string per slot, made once: the block table hashes it once, not at every operation. */
  private readonly ids: string[] = [];

  constructor(
    private readonly step: Extract<Step, { kind: 'random' }>,
    private readonly rng: Rng,
  ) {
    this.live = new LiveSlots(step.freeOrder, rng);
  }

  next(): Op | null {
    const { step, live, rng } = this;
    if (this.done < step.count) {
      this.done++;
      if (live.size === 0 || (live.size < step.maxLive && rng.next() < 0.5)) {
        const slot = this.freeSlots.length ? this.freeSlots.pop()! : this.nextSlot++;
        live.add(slot);
        return { kind: 'alloc', line: step.line, id: this.slotId(slot), heap: step.heap, size: drawSize(step.size, rng), align: step.align, budget: null, mode: null, at: null };
      }
      const slot = live.take();
      this.freeSlots.push(slot);
      return { kind: 'free', line: step.line, id: this.slotId(slot) };
    }
    if (step.drain && live.size > 0) return { kind: 'free', line: step.line, id: this.slotId(live.take()) };
    return null;
  }

  private slotId(slot: number): string {
    return (this.ids[slot] ??= `${this.step.ids}#${slot}`);
  }
}

/** The live slots of a random workload, taken in the step's free order. */
class LiveSlots {
  private items: number[] = [];
  private head = 0;
  constructor(
    private readonly order: FreeOrder,
    private readonly rng: Rng,
  ) {}

  get size(): number {
    return this.items.length - this.head;
  }

  add(slot: number): void {
    this.items.push(slot);
  }

  take(): number {
    if (this.order === 'lifo') return this.items.pop()!;
    if (this.order === 'fifo') {
      const slot = this.items[this.head++];
      if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
      return slot;
    }
    const i = this.rng.int(0, this.items.length - 1);
    const slot = this.items[i];
    this.items[i] = this.items[this.items.length - 1];
    this.items.pop();
    return slot;
  }
}
