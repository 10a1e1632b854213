/**
 * Shrinking a failing operation sequence (`emu repro --shrink`): delta debugging over the operations
 * (ddmin, Zeller & Hildebrandt 2002), with the candidates kept consistent by a repair step, and the
 * id discipline of alloc/free/realloc sequences as the default repair.
 *
 * Nothing here knows about heaps or scenarios: the caller supplies the test ("the same fault kind on
 * the same heap") and, for ops that are not `{kind, id}` objects, how to read kinds and ids.
 *
 * Deterministic: no randomness, fixed chunk order, every candidate a subsequence of the input in its
 * original order (the same objects, not copies).
 */

/** One operation of a sequence being shrunk: what it does to ids (any payload besides). */
export interface ShrinkOp {
  kind: string;
  id: string | null;
}

/** What an op does to ids. */
export type IdRole = 'allocates' | 'frees' | 'references' | 'none';

/**
 * Which kinds allocate, free or reference ids, and how to read an op's kind and ids. The defaults
 * (DEFAULT_ID_SPEC) fit ops shaped `{kind, id}`, as emu's expanded scenario ops and imported field
 * ops are.
 */
export interface IdSpec<T = ShrinkOp> {
  /** Kinds that make their id live (an allocation). */
  allocates: readonly string[];
  /** Kinds that end their id's life (a free). */
  frees: readonly string[];
  /** Kinds that need their ids live and leave them live (realloc, a failed realloc, an access). */
  references: readonly string[];
  /** The op's kind; default `op.kind`. */
  kindOf?: (op: T) => string;
  /** The id an op allocates or frees, or the ids it references (several for a copy); default `[op.id]` without nulls. */
  idsOf?: (op: T) => readonly string[];
}

export const DEFAULT_ID_SPEC: IdSpec<ShrinkOp> = {
  allocates: ['alloc'],
  frees: ['free'],
  references: ['realloc', 'failed', 'read', 'write', 'access'],
};

function kindOf<T>(op: T, spec: IdSpec<T>): string {
  return spec.kindOf ? spec.kindOf(op) : (op as unknown as ShrinkOp).kind;
}

function idsOf<T>(op: T, spec: IdSpec<T>): readonly string[] {
  if (spec.idsOf) return spec.idsOf(op);
  const id = (op as unknown as ShrinkOp).id;
  return id === null || id === undefined ? [] : [id];
}

/** What `op` does to ids under `spec`; an op that names no id is 'none' whatever its kind. */
export function idRole<T>(op: T, spec: IdSpec<T> = DEFAULT_ID_SPEC as unknown as IdSpec<T>): IdRole {
  if (idsOf(op, spec).length === 0) return 'none';
  const kind = kindOf(op, spec);
  if (spec.allocates.includes(kind)) return 'allocates';
  if (spec.frees.includes(kind)) return 'frees';
  if (spec.references.includes(kind)) return 'references';
  return 'none';
}

/**
 * The ops of `ops` that keep the id discipline, in order: every reference and free names an id that
 * an earlier kept op allocated and no kept free has released since; no id is allocated twice while
 * live; ops without ids are always kept.
 *
 * An id is a name for a sequence of incarnations (alloc ... free, then maybe alloc again). Whatever
 * is dropped, a kept op never acts on a different incarnation than it did in the original:
 * - a free or reference of an id that is not live is dropped (its alloc was removed);
 * - an alloc of an id that is still live (the free of the previous incarnation was removed) is
 *   dropped, and so is everything that names that id up to and including the free that ends this
 *   unborn incarnation; after it the id is the old incarnation's again (still live, to be freed by
 *   nothing, or shadowed again by the next alloc).
 * Linear in the number of ops (times ids per op).
 */
export function consistentIds<T>(ops: readonly T[], spec: IdSpec<T> = DEFAULT_ID_SPEC as unknown as IdSpec<T>): T[] {
  const kept: T[] = [];
  const live = new Set<string>();
  /** Ids whose current incarnation was dropped (its alloc came while an older one was live). */
  const shadowed = new Set<string>();
  for (const op of ops) {
    const role = idRole(op, spec);
    const ids = idsOf(op, spec);
    switch (role) {
      case 'none':
        kept.push(op);
        break;
      case 'allocates': {
        if (ids.some((id) => live.has(id))) {
          for (const id of ids) if (live.has(id)) shadowed.add(id);
          break;
        }
        for (const id of ids) live.add(id);
        kept.push(op);
        break;
      }
      case 'frees': {
        if (ids.some((id) => shadowed.has(id))) {
          for (const id of ids) shadowed.delete(id);
          break;
        }
        if (!ids.every((id) => live.has(id))) break;
        for (const id of ids) live.delete(id);
        kept.push(op);
        break;
      }
      case 'references':
        if (ids.every((id) => live.has(id) && !shadowed.has(id))) kept.push(op);
        break;
    }
  }
  return kept;
}

/** A repair function for ddmin keeping `spec`'s id discipline. */
export function idRepair<T>(spec: IdSpec<T> = DEFAULT_ID_SPEC as unknown as IdSpec<T>): (candidate: T[]) => T[] {
  return (candidate) => consistentIds(candidate, spec);
}

export interface DdminOptions<T> {
  /**
   * Makes a candidate consistent before it is tested; must return a subsequence of its argument
   * (it may only drop ops). Default: none. For `{kind, id}` ops pass `consistentIds` or `idRepair(spec)`.
   */
  repair?: (candidate: T[]) => T[];
  /** At most this many calls of `test` (cache hits are free); default 10,000. */
  maxTests?: number;
  /**
   * The index of the op at which the fault happened, when the caller knows it (a replay that stops at
   * the first fault): the first candidate is the prefix that ends with it.
   */
  faultIndex?: number;
  /** Called after every successful reduction with the new size and the tests used so far. */
  onProgress?: (size: number, tests: number) => void;
}

export interface DdminResult<T> {
  /** The smallest failing subsequence found, in original order, the original objects. */
  ops: T[];
  /** Their indices into the input, ascending. */
  indices: number[];
  /** Calls of `test` made. */
  tests: number;
  /** True when the budget ran out before the result was 1-minimal. */
  exhausted: boolean;
}

/** A sorted index list as runs ("a-b,c,d-e", base 36): unique per subset, short for chunked candidates. */
export function candidateKey(indices: readonly number[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < indices.length) {
    let j = i;
    while (j + 1 < indices.length && indices[j + 1] === indices[j]! + 1) j++;
    parts.push(i === j ? indices[i]!.toString(36) : `${indices[i]!.toString(36)}-${indices[j]!.toString(36)}`);
    i = j + 1;
  }
  return parts.join(',');
}

class BudgetSpent extends Error {}

/**
 * ddmin over `ops`: a 1-minimal subsequence (dropping any single op, then repairing, makes `test`
 * false) for which `test(candidate)` is still true. `test` is true for a candidate that still fails
 * the way the input does.
 *
 * The algorithm, on indices into `ops` (so the result keeps the original order and objects):
 * 1. Start from the prefix ending at `faultIndex` if given and it fails, else from the whole input
 *    (repaired). If that does not fail either, or repairs to nothing, throws: nothing to shrink.
 * 2. Chunk removal, largest chunks first: with chunk size s = ceil(len/2), walk the current sequence
 *    chunk by chunk, removing each chunk (the complement test of ddmin) if the repaired rest still
 *    fails. A removal keeps the walk where it is: the next chunk is the one after the removed one, so
 *    no chunk is retried at this size and nothing before it is re-tested. Then halve s.
 *    For a fault caused by k ops among n this costs about 2k tests per halving, O(k log n) in all,
 *    instead of ddmin's restart-after-each-success.
 * 3. At s = 1, repeat one-at-a-time passes until one removes nothing: the result is 1-minimal.
 * Subset tests of classic ddmin are left out: a chunk that alone fails is reached by removing the
 * others at the same size, at no more tests.
 * Every tested candidate is cached by its (repaired) index set, so none is tested twice; candidates
 * repaired to nothing are not tested. When `maxTests` runs out, returns the smallest failing
 * sequence found so far (`exhausted: true`).
 */
export function ddmin<T>(ops: readonly T[], test: (candidate: T[]) => boolean, options: DdminOptions<T> = {}): DdminResult<T> {
  const maxTests = options.maxTests ?? 10_000;
  const repair = options.repair;
  const cache = new Map<string, boolean>();
  let tests = 0;

  /** Repairs a candidate given as indices; the repaired indices, ascending. */
  const repaired = (indices: number[]): number[] => {
    if (!repair) return indices;
    const candidate = indices.map((i) => ops[i]!);
    const out = repair(candidate);
    // Map back by identity, greedily in order: correct even when the same object occurs twice.
    const kept: number[] = [];
    let j = 0;
    for (const i of indices) if (j < out.length && ops[i] === out[j]) (kept.push(i), j++);
    if (j !== out.length) throw new Error('ddmin: repair must return a subsequence of its argument');
    return kept;
  };

  /** Tests repaired indices, through the cache. */
  const fails = (indices: number[]): boolean => {
    const key = candidateKey(indices);
    const known = cache.get(key);
    if (known !== undefined) return known;
    if (tests >= maxTests) throw new BudgetSpent();
    tests++;
    const outcome = test(indices.map((i) => ops[i]!));
    cache.set(key, outcome);
    return outcome;
  };

  // 1. The starting point.
  const all = ops.map((_, i) => i);
  let current: number[] | null = null;
  try {
    if (options.faultIndex !== undefined && options.faultIndex >= 0 && options.faultIndex < ops.length - 1) {
      const prefix = repaired(all.slice(0, options.faultIndex + 1));
      if (prefix.length > 0 && fails(prefix)) current = prefix;
    }
    if (current === null) {
      const whole = repaired(all);
      if (whole.length === 0) throw new Error('ddmin: the input repairs to nothing: nothing to shrink');
      if (!fails(whole)) throw new Error('ddmin: the input does not fail (after repair): nothing to shrink');
      current = whole;
    }
  } catch (e) {
    if (e instanceof BudgetSpent) return { ops: [...ops], indices: all, tests, exhausted: true };
    throw e;
  }
  if (current.length < ops.length) options.onProgress?.(current.length, tests);

  // 2 and 3. Chunk removal, halving the chunk size, then one-at-a-time passes to a fixpoint.
  let exhausted = false;
  try {
    let size = Math.ceil(current.length / 2);
    while (current.length > 1) {
      let removed = false;
      let pos = 0;
      while (pos < current.length) {
        const end = Math.min(pos + size, current.length);
        if (pos === 0 && end === current.length) break; // removing everything: not a candidate
        const first = current[pos]!;
        const candidate = repaired([...current.slice(0, pos), ...current.slice(end)]);
        if (candidate.length > 0 && fails(candidate)) {
          current = candidate;
          removed = true;
          options.onProgress?.(current.length, tests);
          // Continue with the chunk after the removed one: the first kept index past it.
          pos = lowerBound(current, first);
        } else {
          pos = end;
        }
      }
      if (size === 1) {
        if (!removed) break;
      } else {
        size = Math.max(1, Math.min(size >> 1, Math.ceil(current.length / 2)));
      }
    }
  } catch (e) {
    if (!(e instanceof BudgetSpent)) throw e;
    exhausted = true;
  }
  return { ops: current.map((i) => ops[i]!), indices: current, tests, exhausted };
}

/** The first position in ascending `xs` whose value is >= x. */
function lowerBound(xs: readonly number[], x: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
