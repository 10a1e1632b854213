/**
 * How a reader hands its ops on: in columns, a batch at a time, with no object per op.
 *
 * A log of millions of lines is millions of ops; made as objects, each would cost an allocation (and
 * its id a string) that the garbage collector then sweeps. A reader writes its ops to an OpBuffer
 * instead: typed-array columns, filled a batch at a time and reused for the next. An OpStream is the
 * log's ops as a Generator<FieldOp, number>, making each FieldOp only when it is asked for, and lets a
 * consumer that can read columns (computeStats) take them a batch at a time.
 *
 * The columns name a block by its number n: the block PointerIds numbered n, id `p<n>` (blockId).
 * Ops without such a block (problems, faults, a CS:APP trace's named blocks) are kept as FieldOp
 * objects (OBJECT_OP): a log names its blocks one way, by number in the columns or by id in objects,
 * so that a consumer keying blocks by either never sees one block under two keys.
 */
import type { FieldOp } from './ops.js';

/** An op's kind in OpBuffer.kinds. */
export const ALLOC_OP = 0;
export const FREE_OP = 1;
export const REALLOC_OP = 2;
/** A refused request: of block blocks[i], or of none (NO_BLOCK). */
export const FAILED_OP = 3;
/** An op kept as its object (see OpBuffer.object). */
export const OBJECT_OP = 4;

/** The block of a refused allocation: none (blocks are numbered from 1). */
export const NO_BLOCK = 0;

/** The id of block number n, as FieldOps name it. */
export function blockId(n: number): string {
  return `p${n}`;
}

/** A time in the `times` column: NaN for none (a log's times are integers, never NaN). */
const NO_TIME = NaN;

/** Ops a buffer holds before it grows: a batch (BATCH) and what the line that ends it adds. */
const INITIAL_CAPACITY = 1 << 12;

/**
 * Ops in columns: op i is kinds[i], blocks[i], ... (sizes and aligns where its kind has them; -1 in
 * `callers` for no caller). Emptied by resetting `length`; columns grow when a batch outgrows them, so
 * a consumer reads them after each refill (see OpStream.take).
 */
export class OpBuffer {
  length = 0;
  kinds = new Uint8Array(INITIAL_CAPACITY);
  /** The block's number; for an OBJECT_OP nothing. */
  blocks = new Float64Array(INITIAL_CAPACITY);
  sizes = new Float64Array(INITIAL_CAPACITY);
  aligns = new Float64Array(INITIAL_CAPACITY);
  /** NO_TIME for none. */
  times = new Float64Array(INITIAL_CAPACITY);
  /** The log line (native: record) of every op, objects included. */
  lines = new Float64Array(INITIAL_CAPACITY);
  /** The caller's number in callerNames, -1 for none. */
  callers = new Int32Array(INITIAL_CAPACITY);
  /** The objects of OBJECT_OPs, at their op's index. */
  private objects: (FieldOp | undefined)[] = new Array<FieldOp | undefined>(INITIAL_CAPACITY).fill(undefined);
  /** Whether the batch holds objects (to drop them when it is emptied). */
  private holdsObjects = false;
  /** The log's callers, numbered as first seen; they outlive the batches. */
  readonly callerNames: string[] = [];

  /** Numbers a caller name (the reader decides when a name is new: it numbers each once). */
  addCaller(name: string): number {
    this.callerNames.push(name);
    return this.callerNames.length - 1;
  }

  alloc(block: number, size: number, align: number, time: number | null, line: number, caller: number): void {
    this.add(ALLOC_OP, block, size, align, time, line, caller);
  }

  free(block: number, time: number | null, line: number, caller: number): void {
    this.add(FREE_OP, block, 0, 0, time, line, caller);
  }

  realloc(block: number, size: number, time: number | null, line: number, caller: number): void {
    this.add(REALLOC_OP, block, size, 0, time, line, caller);
  }

  /** A refused request: an allocation (block NO_BLOCK) or a realloc of `block`. */
  failed(block: number, size: number, align: number, time: number | null, line: number, caller: number): void {
    this.add(FAILED_OP, block, size, align, time, line, caller);
  }

  /** An op kept as its object. */
  push(op: FieldOp): void {
    const i = this.length;
    this.add(OBJECT_OP, 0, 0, 0, null, op.line, -1);
    this.objects[i] = op;
    this.holdsObjects = true;
  }

  /** An op or a list of them, as objects. */
  emit(ops: FieldOp | FieldOp[]): void {
    if (!Array.isArray(ops)) this.push(ops);
    else for (const op of ops) this.push(op);
  }

  /** The object of op i, an OBJECT_OP. */
  object(i: number): FieldOp {
    return this.objects[i]!;
  }

  /** Op i as a FieldOp (made now, unless it is kept as one). */
  at(i: number): FieldOp {
    const kind = this.kinds[i];
    if (kind === OBJECT_OP) return this.objects[i]!;
    const t = this.times[i];
    const time = Number.isNaN(t) ? null : t;
    const line = this.lines[i];
    const block = this.blocks[i];
    let op: Exclude<FieldOp, { kind: 'fault' | 'problem' }>;
    // Each shape's keys in the order the readers always made them (a JSON dump shows the order).
    if (kind === ALLOC_OP) op = { kind: 'alloc', id: blockId(block), size: this.sizes[i], align: this.aligns[i], time, line };
    else if (kind === FREE_OP) op = { kind: 'free', id: blockId(block), time, line };
    else if (kind === REALLOC_OP) op = { kind: 'realloc', id: blockId(block), size: this.sizes[i], time, line };
    else op = { kind: 'failed', id: block === NO_BLOCK ? null : blockId(block), size: this.sizes[i], align: this.aligns[i], time, line };
    const caller = this.callers[i];
    if (caller >= 0) op.caller = this.callerNames[caller];
    return op;
  }

  /** Drops the ops from `length` on (those of a line that did not finish). */
  truncate(length: number): void {
    this.length = Math.min(this.length, length);
  }

  clear(): void {
    if (this.holdsObjects) this.objects.fill(undefined, 0, this.length);
    this.holdsObjects = false;
    this.length = 0;
  }

  private add(kind: number, block: number, size: number, align: number, time: number | null, line: number, caller: number): void {
    const i = this.length;
    if (i === this.kinds.length) this.grow();
    this.kinds[i] = kind;
    this.blocks[i] = block;
    this.sizes[i] = size;
    this.aligns[i] = align;
    this.times[i] = time === null ? NO_TIME : time;
    this.lines[i] = line;
    this.callers[i] = caller;
    this.length = i + 1;
  }

  private grow(): void {
    const n = 2 * this.kinds.length;
    this.kinds = grown(new Uint8Array(n), this.kinds);
    this.blocks = grown(new Float64Array(n), this.blocks);
    this.sizes = grown(new Float64Array(n), this.sizes);
    this.aligns = grown(new Float64Array(n), this.aligns);
    this.times = grown(new Float64Array(n), this.times);
    this.lines = grown(new Float64Array(n), this.lines);
    this.callers = grown(new Int32Array(n), this.callers);
    while (this.objects.length < n) this.objects.push(undefined);
  }
}

function grown<T extends Uint8Array | Int32Array | Float64Array>(bigger: T, old: T): T {
  bigger.set(old);
  return bigger;
}

/** What an OpStream reads: a log, parsed a batch at a time into one OpBuffer. */
export interface OpSource {
  /**
   * Reads on until the buffer holds at least `want` ops or the log is over; false once it is over
   * (its last ops added). An error that stops the log is thrown once the ops before it are handed
   * on: a source that meets it mid-batch keeps those ops and throws at its next fill.
   */
  fill(want: number): boolean;
  /** The lines (native: records) read: all of them once fill has returned false. */
  readonly count: number;
  /** Stops early: releases the input. */
  close(): void;
}

/** How many ops a batch holds (at least): enough that a refill costs little per op, few enough to stay in cache. */
export const BATCH = 1 << 10;

/**
 * A log's ops, lazily: a Generator<FieldOp, number> (returning the number of lines, or native
 * records, read) over the batches a source fills, and those batches themselves (take) for a consumer
 * that reads columns. The input is opened by the first read and released at its end, at an error,
 * or by return().
 */
export class OpStream implements Generator<FieldOp, number> {
  /** The next unread op in `ops`. */
  private cursor = 0;
  /** The source has nothing more to read. */
  private over = false;
  /** The generator is done: it returned (its line count, or return()'s value) or threw. */
  private finished = false;

  constructor(
    readonly ops: OpBuffer,
    private readonly source: OpSource,
  ) {}

  /**
   * Where the unread ops start in `ops` (reading a batch first when all are read), all of them now
   * counted as read: the caller reads ops[from, ops.length). -1 at the end of the log.
   */
  take(): number {
    if (!this.unread()) return -1;
    const from = this.cursor;
    this.cursor = this.ops.length;
    return from;
  }

  /** The lines (native: records) read so far: all of them at the end. */
  get count(): number {
    return this.source.count;
  }

  next(): IteratorResult<FieldOp, number> {
    // As a generator's: the line count once, then no value.
    if (this.finished) return { value: undefined as unknown as number, done: true };
    if (this.unread()) return { value: this.ops.at(this.cursor++), done: false };
    this.finished = true;
    return { value: this.source.count, done: true };
  }

  return(value: number): IteratorResult<FieldOp, number> {
    this.stop();
    return { value, done: true };
  }

  throw(e: unknown): IteratorResult<FieldOp, number> {
    this.stop();
    throw e;
  }

  [Symbol.iterator](): this {
    return this;
  }

  /** Whether an op is unread, reading batches until one is or the log is over. */
  private unread(): boolean {
    while (this.cursor === this.ops.length) {
      if (this.over) return false;
      this.ops.clear();
      this.cursor = 0;
      try {
        this.over = !this.source.fill(BATCH);
      } catch (e) {
        this.stop();
        throw e;
      }
    }
    return true;
  }

  private stop(): void {
    this.over = true;
    this.finished = true;
    this.ops.clear();
    this.cursor = 0;
    this.source.close();
  }
}
