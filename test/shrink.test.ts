/**
 * ddmin over operation sequences (src/repro/shrink.ts): a toy ordered-marks predicate on 10,000 ops,
 * a first-fit heap model on a 10,000-op alloc/free/realloc log ending in a refused allocation, the id
 * repair, 1-minimality, determinism and the caching, and the test budget.
 */
import test from 'ava';
import seedrandom from 'seedrandom';
import { candidateKey, consistentIds, ddmin, DEFAULT_ID_SPEC, idRepair, idRole, type IdSpec } from '../src/repro/shrink.js';

// ---------------------------------------------------------------------------------------------
// A toy: marks A, B, C at seeded positions among 10,000 unmarked ops.

interface Marked {
  n: number;
  mark: string | null;
}

function marked(length: number, seed: string): { ops: Marked[]; at: number[] } {
  const rng = seedrandom(seed);
  const at = new Set<number>();
  while (at.size < 3) at.add(Math.floor(rng() * length));
  const positions = [...at].sort((a, b) => a - b);
  const ops: Marked[] = Array.from({ length }, (_, n) => ({ n, mark: null }));
  positions.forEach((p, k) => (ops[p]!.mark = 'ABC'[k]!));
  return { ops, at: positions };
}

/** True when the sequence holds A, B and C in this order. */
function inOrder(ops: Marked[]): boolean {
  let want = 0;
  for (const op of ops) if (op.mark === 'ABC'[want]) want++;
  return want === 3;
}

test('toy: 10,000 ops shrink to exactly A, B, C', (t) => {
  const { ops, at } = marked(10_000, 'shrink-toy');
  const r = ddmin(ops, inOrder);
  t.deepEqual(r.ops.map((o) => o.mark), ['A', 'B', 'C']);
  t.deepEqual(r.indices, at);
  t.true(r.ops.every((o, k) => o === ops[at[k]!]));
  t.false(r.exhausted);
  // Measured: 74 tests (positions 517, 8311, 9058 of 10,000).
  t.log(`positions ${at.join(', ')}: ${r.tests} tests`);
  t.true(r.tests <= 100, `${r.tests} tests`);

  // Knowing where the fault happened (C) cuts the tail at once.
  const cut = ddmin(ops, inOrder, { faultIndex: at[2] });
  t.deepEqual(cut.indices, at);
  // Measured: 62 tests.
  t.log(`with faultIndex: ${cut.tests} tests`);
  t.true(cut.tests <= 100, `${cut.tests} tests`);
});

test('toy: adjacent marks, marks at both ends, and a single relevant op', (t) => {
  const n = 10_000;
  const make = (pos: number[]) => {
    const ops: Marked[] = Array.from({ length: n }, (_, i) => ({ n: i, mark: null }));
    pos.forEach((p, k) => (ops[p]!.mark = 'ABC'[k]!));
    return ops;
  };
  for (const pos of [[0, 1, 2], [0, 5000, 9999], [9997, 9998, 9999], [4999, 5000, 5001]]) {
    const r = ddmin(make(pos), inOrder);
    t.deepEqual(r.indices, pos);
    t.true(r.tests <= 100, `${pos}: ${r.tests} tests`);
  }
  const one = make([]);
  one[7777]!.mark = 'X';
  const r = ddmin(one, (c) => c.some((o) => o.mark === 'X'));
  t.deepEqual(r.indices, [7777]);
  t.true(r.tests <= 40, `${r.tests} tests`);
});

// ---------------------------------------------------------------------------------------------
// A heap model: first-fit over a 4 KiB arena, 16-byte granules.

type HeapOp =
  | { n: number; kind: 'alloc'; id: string; size: number }
  | { n: number; kind: 'free'; id: string }
  | { n: number; kind: 'realloc'; id: string; size: number };

const ARENA = 4096;
const GRANULE = 16;

/** Live blocks, sorted by start. */
class FirstFit {
  private blocks: { start: number; size: number; id: string }[] = [];

  get liveBytes(): number {
    return this.blocks.reduce((s, b) => s + b.size, 0);
  }

  has(id: string): boolean {
    return this.blocks.some((b) => b.id === id);
  }

  ids(): string[] {
    return this.blocks.map((b) => b.id);
  }

  /** False when no gap fits. */
  alloc(id: string, size: number): boolean {
    if (this.has(id)) throw new Error(`alloc of live id ${id}`);
    const need = Math.ceil(size / GRANULE) * GRANULE;
    let at = 0;
    let k = 0;
    for (; k <= this.blocks.length; k++) {
      const limit = k < this.blocks.length ? this.blocks[k]!.start : ARENA;
      if (limit - at >= need) break;
      if (k < this.blocks.length) at = this.blocks[k]!.start + this.blocks[k]!.size;
    }
    if (k > this.blocks.length) return false;
    this.blocks.splice(k, 0, { start: at, size: need, id });
    return true;
  }

  free(id: string): number {
    const k = this.blocks.findIndex((b) => b.id === id);
    if (k < 0) throw new Error(`free of a dead id ${id}`);
    const size = this.blocks[k]!.size;
    this.blocks.splice(k, 1);
    return size;
  }

  /** Moves the block (free, then first fit); false, with the block back in place, when nothing fits. */
  realloc(id: string, size: number): boolean {
    const k = this.blocks.findIndex((b) => b.id === id);
    if (k < 0) throw new Error(`realloc of a dead id ${id}`);
    const old = this.blocks[k]!;
    this.blocks.splice(k, 1);
    if (this.alloc(id, size)) return true;
    this.blocks.splice(k, 0, old);
    return false;
  }
}

/** Replays until the first fault: its kind ('alloc' or 'realloc' refused) and op position, or null. */
function replay(ops: readonly HeapOp[]): { kind: string; at: number } | null {
  const heap = new FirstFit();
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    if (op.kind === 'alloc' && !heap.alloc(op.id, op.size)) return { kind: 'alloc', at: i };
    if (op.kind === 'realloc' && !heap.realloc(op.id, op.size)) return { kind: 'realloc', at: i };
    if (op.kind === 'free') heap.free(op.id);
  }
  return null;
}

/** "The same fault kind on the same heap": the first fault is a refused allocation. */
const allocFails = (ops: HeapOp[]) => replay(ops)?.kind === 'alloc';

type Rng = () => number;
/** Request sizes 16..512 bytes, uniform. */
const UNIFORM = (rng: Rng) => GRANULE * (1 + Math.floor(rng() * 32));
/** Request sizes 16..512 bytes, mostly small. */
const SKEWED = (rng: Rng) => GRANULE * (1 + Math.floor(rng() * rng() * 32));

/**
 * `length` ops of random alloc/free/realloc traffic that never faults, ids reused from 64 slots,
 * then 256-byte allocations until one is refused (the last op).
 */
function heapLog(length: number, seed: string, sizes: (rng: Rng) => number): HeapOp[] {
  const rng = seedrandom(seed);
  const heap = new FirstFit();
  const ops: HeapOp[] = [];
  const size = () => sizes(rng);
  const pick = () => {
    const ids = heap.ids();
    return ids[Math.floor(rng() * ids.length)]!;
  };
  const freeSlot = () => {
    for (;;) {
      const id = `s${Math.floor(rng() * 64)}`;
      if (!heap.has(id)) return id;
    }
  };
  while (ops.length < length) {
    const r = rng();
    const live = heap.ids().length;
    if (live > 0 && (r < 0.4 || live >= 48)) {
      const id = pick();
      heap.free(id);
      ops.push({ n: ops.length, kind: 'free', id });
    } else if (live > 0 && r < 0.5) {
      const id = pick();
      const s = size();
      if (heap.realloc(id, s)) ops.push({ n: ops.length, kind: 'realloc', id, size: s });
    } else {
      const id = freeSlot();
      const s = size();
      if (heap.alloc(id, s)) ops.push({ n: ops.length, kind: 'alloc', id, size: s });
    }
  }
  for (;;) {
    const id = heap.ids().length < 64 ? freeSlot() : `big${ops.length}`;
    const s = 256;
    const ok = heap.alloc(id, s);
    ops.push({ n: ops.length, kind: 'alloc', id, size: s });
    if (!ok) return ops;
  }
}

/** Every free and realloc names a live id, no alloc names a live id. */
function isConsistent(ops: readonly HeapOp[]): boolean {
  const live = new Set<string>();
  for (const op of ops) {
    if (op.kind === 'alloc') {
      if (live.has(op.id)) return false;
      live.add(op.id);
    } else if (!live.has(op.id)) return false;
    else if (op.kind === 'free') live.delete(op.id);
  }
  return true;
}

const LOG = heapLog(10_000, 'shrink-heap', UNIFORM);

test('heap model: the log is 10,000+ consistent ops ending in a refused allocation', (t) => {
  t.true(LOG.length > 10_000);
  t.true(isConsistent(LOG));
  t.deepEqual(replay(LOG), { kind: 'alloc', at: LOG.length - 1 });
  t.true(LOG.some((o) => o.kind === 'realloc'));
});

test('heap model: 10,000 ops shrink to at most 20 consistent ops that still refuse an allocation', (t) => {
  const r = ddmin(LOG, allocFails, { repair: consistentIds, faultIndex: LOG.length - 1 });
  t.true(r.ops.length <= 20, `${r.ops.length} ops`);
  t.true(allocFails(r.ops));
  t.true(isConsistent(r.ops));
  t.false(r.exhausted);
  t.deepEqual(r.indices, [...r.indices].sort((a, b) => a - b));
  t.true(r.ops.every((o, k) => o === LOG[r.indices[k]!]));
  // 1-minimal under repair: dropping any op (and what depends on it) no longer refuses an allocation.
  for (let k = 0; k < r.ops.length; k++) {
    const without = consistentIds([...r.ops.slice(0, k), ...r.ops.slice(k + 1)]);
    t.false(allocFails(without), `still fails without op ${k}`);
  }
  // Measured: 10,004 ops -> 17 in 63 tests: 16 allocs holding 3,744 bytes, then a 368-byte request
  // from the random traffic (not the log's last op: any refused allocation is the same fault here).
  t.is(r.ops.at(-1)!.kind, 'alloc');
  t.log(`${LOG.length} ops -> ${r.ops.length} (${r.ops.map((o) => `${o.kind} ${o.id}${'size' in o ? ' ' + o.size : ''}`).join('; ')}) in ${r.tests} tests`);
  t.true(r.tests <= 100, `${r.tests} tests`);
});

test('heap model: without repair, almost every candidate is inconsistent and the budget goes first', (t) => {
  // A test that itself refuses inconsistent sequences: chunk removals nearly always cut an alloc from
  // its free, so ddmin crawls. Measured: 500 tests leave 8,754 of 10,004 ops; 10,000 tests leave 8,219.
  const strict = (ops: HeapOp[]) => isConsistent(ops) && allocFails(ops);
  const r = ddmin(LOG, strict, { faultIndex: LOG.length - 1, maxTests: 500 });
  t.true(r.exhausted);
  t.true(strict(r.ops));
  t.log(`no repair, 500 tests: ${LOG.length} ops -> ${r.ops.length}`);
});

test('heap model: an arena filled by many small blocks needs more ops, still 1-minimal', (t) => {
  // Mostly small requests: refusing a 256-byte request takes ~4 KiB of mostly small live blocks,
  // so a 1-minimal sequence is longer. Measured: 10,001 ops -> 30 in 147 tests.
  const log = heapLog(10_000, 'shrink-heap', SKEWED);
  const r = ddmin(log, allocFails, { repair: consistentIds, faultIndex: log.length - 1 });
  t.true(allocFails(r.ops) && isConsistent(r.ops));
  for (let k = 0; k < r.ops.length; k++) t.false(allocFails(consistentIds([...r.ops.slice(0, k), ...r.ops.slice(k + 1)])));
  t.log(`${log.length} ops -> ${r.ops.length} in ${r.tests} tests`);
  t.true(r.ops.length <= 40 && r.tests <= 200, `${r.ops.length} ops, ${r.tests} tests`);
});

// ---------------------------------------------------------------------------------------------
// The repair.

const a = (id: string, n = 0) => ({ n, kind: 'alloc', id, size: 16 });
const f = (id: string, n = 0) => ({ n, kind: 'free', id });
const re = (id: string, n = 0) => ({ n, kind: 'realloc', id, size: 32 });

test('consistentIds: frees and reallocs of removed allocs are dropped, double frees too', (t) => {
  const [aa, ab, ra, fa, fb] = [a('a'), a('b'), re('a'), f('a'), f('b')];
  t.deepEqual(consistentIds([ab, ra, fa, fb]), [ab, fb]);
  t.deepEqual(consistentIds([aa, ab, ra, fa, fb]), [aa, ab, ra, fa, fb]);
  t.deepEqual(consistentIds([aa, fa, ra, fa]), [aa, fa]); // realloc after free, double free
  t.deepEqual(consistentIds([]), []);
  // Ops without ids, or of kinds that touch none, always stay.
  const tick = { kind: 'idle', id: null };
  const failed = { kind: 'failed', id: null };
  const problem = { kind: 'problem', id: 'zz' };
  t.deepEqual(consistentIds([tick, failed, problem, f('q')]), [tick, failed, problem]);
  t.deepEqual(consistentIds([{ kind: 'failed', id: 'q' }]), []);
});

test('consistentIds: an id allocated again after its free', (t) => {
  const a1 = a('x', 1);
  const f1 = f('x', 2);
  const a2 = a('x', 3);
  const r2 = re('x', 4);
  const f2 = f('x', 5);
  const a3 = a('x', 6);
  const f3 = f('x', 7);
  const all = [a1, f1, a2, r2, f2, a3, f3];
  t.deepEqual(consistentIds(all), all);
  // The first alloc removed: its free goes, the second incarnation is whole.
  t.deepEqual(consistentIds([f1, a2, r2, f2, a3, f3]), [a2, r2, f2, a3, f3]);
  // The first free removed: x is still live at the second alloc, so the second incarnation (alloc,
  // realloc, free) goes; the third alloc meets the first still live and goes too, with its free.
  t.deepEqual(consistentIds([a1, a2, r2, f2, a3, f3]), [a1]);
  // The second alloc removed: its realloc and free name a dead id and go; the third is whole.
  t.deepEqual(consistentIds([a1, f1, r2, f2, a3, f3]), [a1, f1, a3, f3]);
  // The second free removed: the third incarnation is shadowed, the second stays live.
  t.deepEqual(consistentIds([a1, f1, a2, r2, a3, f3]), [a1, f1, a2, r2]);
  t.true(isConsistent(consistentIds([a1, a2, r2, f2, a3, f3]) as HeapOp[]));
});

test('consistentIds: a spec for other shapes (keyed steps, ops naming two ids)', (t) => {
  type Step = { alloc?: string; free?: string; copy?: { from: string; to: string }; wait?: number };
  const spec: IdSpec<Step> = {
    allocates: ['alloc'],
    frees: ['free'],
    references: ['copy'],
    kindOf: (s) => Object.keys(s)[0]!,
    idsOf: (s) => (s.alloc ? [s.alloc] : s.free ? [s.free] : s.copy ? [s.copy.from, s.copy.to] : []),
  };
  const steps: Step[] = [{ alloc: 'p' }, { alloc: 'q' }, { copy: { from: 'p', to: 'q' } }, { wait: 3 }, { free: 'p' }, { copy: { from: 'q', to: 'p' } }];
  t.is(idRole(steps[0]!, spec), 'allocates');
  t.is(idRole(steps[2]!, spec), 'references');
  t.is(idRole(steps[3]!, spec), 'none');
  t.is(idRole(steps[4]!, spec), 'frees');
  t.deepEqual(consistentIds(steps, spec), steps.slice(0, 5));
  t.deepEqual(consistentIds(steps.slice(1), spec), [steps[1], steps[3]]);
  t.deepEqual(idRepair(spec)(steps.slice(1)), [steps[1], steps[3]]);
  t.is(idRole({ kind: 'realloc', id: 'x' }), 'references');
  t.is(idRole({ kind: 'free', id: null }), 'none');
  t.deepEqual(DEFAULT_ID_SPEC.allocates, ['alloc']);
});

test('ddmin: the repair is applied, and must return a subsequence', (t) => {
  const ops = [a('p', 0), a('q', 1), f('p', 2), a('r', 3), f('q', 4)];
  // Fails while q's free is there: its alloc must stay, p and r go.
  const r = ddmin(ops, (c) => c.some((o) => o.kind === 'free' && o.id === 'q'), { repair: consistentIds });
  t.deepEqual(r.ops, [ops[1], ops[4]]);
  t.throws(() => ddmin(ops, () => true, { repair: (c) => c.map((o) => ({ ...o })) }), { message: /subsequence/ });
  // The same object twice is fine.
  const x = { kind: 'tick', id: null };
  t.deepEqual(ddmin([x, x, x], (c) => c.length >= 2, { repair: (c) => c }).indices, [0, 1]);
});

test('ddmin: an input that does not fail is refused', (t) => {
  t.throws(() => ddmin([1, 2, 3], () => false), { message: /does not fail/ });
  t.throws(() => ddmin([a('p')], () => true, { repair: () => [] }), { message: /repairs to nothing/ });
});

// ---------------------------------------------------------------------------------------------
// 1-minimality, determinism, caching, budget.

test('1-minimal on a small example: dropping any op of the result passes', (t) => {
  // Fails when the kept values sum to at least 100 and an even number of them are odd: not monotone.
  const rng = seedrandom('shrink-small');
  const values = Array.from({ length: 40 }, () => 1 + Math.floor(rng() * 30));
  const fails = (c: number[]) => c.reduce((s, v) => s + v, 0) >= 100 && c.filter((v) => v % 2 === 1).length % 2 === 0;
  if (!fails(values)) values.push(1);
  t.true(fails(values));
  const r = ddmin(values, fails);
  t.true(fails(r.ops));
  for (let k = 0; k < r.ops.length; k++) t.false(fails([...r.ops.slice(0, k), ...r.ops.slice(k + 1)]), `still fails without ${k}`);
  t.log(`${values.length} values -> [${r.ops.join(', ')}] in ${r.tests} tests`);
  // Order kept: the result is the input's subsequence at r.indices.
  t.deepEqual(r.ops, r.indices.map((i) => values[i]));
});

test('deterministic, and no candidate is tested twice', (t) => {
  const run = () => {
    const seen = new Set<string>();
    let calls = 0;
    const r = ddmin(LOG, (c) => {
      calls++;
      seen.add(c.map((o) => o.n).join(','));
      return allocFails(c);
    }, { repair: consistentIds });
    return { r, seen: seen.size, calls };
  };
  const one = run();
  const two = run();
  t.deepEqual(one.r.indices, two.r.indices);
  t.is(one.r.tests, two.r.tests);
  t.is(one.calls, one.r.tests);
  t.is(one.seen, one.calls);
  t.is(two.seen, two.calls);

  const { ops } = marked(2000, 'shrink-cache');
  const seen = new Set<string>();
  let calls = 0;
  const r = ddmin(ops, (c) => (calls++, seen.add(c.map((o) => o.n).join(',')), inOrder(c)));
  t.is(seen.size, calls);
  t.is(r.tests, calls);
});

test('budget: a small maxTests still returns a failing sequence no larger than the input', (t) => {
  for (const maxTests of [0, 1, 2, 5, 20, 60]) {
    const progress: number[] = [];
    const r = ddmin(LOG, allocFails, { repair: consistentIds, maxTests, onProgress: (size) => progress.push(size) });
    t.true(r.tests <= maxTests);
    t.true(r.exhausted);
    t.true(r.ops.length <= LOG.length);
    if (maxTests > 0) t.true(allocFails(r.ops), `maxTests ${maxTests}`);
    t.true(isConsistent(r.ops));
    t.deepEqual(progress, [...progress].sort((x, y) => y - x));
    if (progress.length > 0) t.is(progress.at(-1), r.ops.length);
  }
  const enough = ddmin(LOG, allocFails, { repair: consistentIds, maxTests: 10_000 });
  t.false(enough.exhausted);
});

test('candidateKey: runs of consecutive indices', (t) => {
  t.is(candidateKey([]), '');
  t.is(candidateKey([0, 1, 2, 3, 7, 9, 10]), '0-3,7,9-a');
  t.not(candidateKey([1, 2]), candidateKey([1, 2, 3]));
});
