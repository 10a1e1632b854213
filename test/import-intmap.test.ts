import test from 'ava';
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { IntMap } from '../src/import/intmap.js';

/** A step; key SAME is the key of the step before (IntMap remembers where its last key was). */
type Step = { op: 'get' | 'set' | 'delete'; key: number; value: number };
const SAME = -1;

test('property: IntMap agrees with a Map through any mix of gets, sets and deletes', (t) => {
  // Few distinct keys, so that probe runs collide, and often the same key twice in a row; keys up to
  // 2^53 - 1, aligned like heap addresses or not.
  const key = fc.oneof(
    fc.constant(SAME),
    fc.integer({ min: 0, max: 40 }),
    fc.integer({ min: 0, max: 40 }).map((k) => 0x55ebe8cfb000 + k * 16),
    fc.constantFrom(0, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53 - 2),
  );
  const step: fc.Arbitrary<Step> = fc.record({ op: fc.constantFrom('get', 'set', 'set', 'delete'), key, value: fc.integer({ min: -5, max: 5 }) });
  fc.assert(
    fc.property(fc.array(step, { maxLength: 400 }), (steps) => {
      const map = new IntMap();
      const model = new Map<number, number>();
      let key = 0;
      for (const step of steps) {
        const { op, value } = step;
        if (step.key !== SAME) key = step.key;
        if (op === 'get') assert.equal(map.get(key), model.get(key));
        else if (op === 'set') {
          map.set(key, value);
          model.set(key, value);
        } else assert.equal(map.delete(key), model.delete(key));
        assert.equal(map.size, model.size);
      }
      const entries: [number, number][] = [];
      map.forEach((value, key) => entries.push([key, value]));
      assert.deepEqual(entries.sort((a, b) => a[0] - b[0]), [...model].sort((a, b) => a[0] - b[0]));
    }),
    { numRuns: 500, seed: 12 },
  );
  t.pass();
});

test('IntMap: a key deleted and set again, or deleted twice, leaves the entry moved into its slot alone', (t) => {
  // Every pair of small keys: the pairs that share a probe run move the second into the first's slot.
  let wrong = 0;
  for (let a = 0; a < 64; a++) {
    for (let b = 0; b < 64; b++) {
      if (a === b) continue;
      const map = new IntMap();
      map.set(a, 1);
      map.set(b, 2);
      map.delete(a);
      map.set(a, 3);
      if (map.get(b) !== 2 || map.get(a) !== 3 || map.size !== 2) wrong++;
      map.delete(b);
      if (map.delete(b) || map.get(a) !== 3 || map.size !== 1) wrong++;
    }
  }
  t.is(wrong, 0);
});

test('IntMap: a table grown to many thousand entries and emptied again finds every key on the way', (t) => {
  const map = new IntMap();
  const n = 20_000;
  for (let i = 0; i < n; i++) map.set(0x7f0000000000 + i * 48, i);
  for (let i = 0; i < n; i += 2) t.true(map.delete(0x7f0000000000 + i * 48));
  let found = 0;
  for (let i = 0; i < n; i++) if (map.get(0x7f0000000000 + i * 48) === (i % 2 === 0 ? undefined : i)) found++;
  t.is(found, n);
  t.is(map.size, n / 2);
});
