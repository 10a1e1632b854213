/**
 * The lockset state machine (src/sync/lockset.ts, after Eraser, Savage et al. 1997) and the lock table
 * (src/sync/locks.ts), without the engine: the cases the race checks must get right, then properties
 * over random access sequences.
 */
import test from 'ava';
import fc from 'fast-check';
import { LockTable } from '../src/sync/locks.js';
import { RaceDetector, RegionLockset, raceDetail, type Race, type SharedAccess } from '../src/sync/lockset.js';

/** A little script of accesses to one region: `A w L1,L2` is a write by A holding L1 and L2. */
function play(script: string[]): { region: RegionLockset; races: (Race & { at: number })[] } {
  const region = new RegionLockset('ring');
  const races: (Race & { at: number })[] = [];
  script.forEach((step, i) => {
    const [component, rw, locks] = step.split(' ');
    const race = region.access(access(component, rw === 'w', i + 1, locks ? locks.split(',').sort() : []));
    if (race) races.push({ ...race, at: i + 1 });
  });
  return { region, races };
}

function access(component: string, write: boolean, op: number, locks: readonly string[] = []): SharedAccess {
  return { component, write, how: write ? 'write' : 'read', op, line: 100 + op, locks };
}

/** Races as `op: component/earlier component@earlier op`. */
function pairs(races: (Race & { at: number })[]): string[] {
  return races.map((r) => `${r.at}: ${r.access.component}/${r.earlier.component}@${r.earlier.op}`);
}

test('one component alone never races, with or without locks', (t) => {
  const { region, races } = play(['A w', 'A r', 'A w L', 'A r', 'A w']);
  t.deepEqual(races, []);
  t.is(region.state, 'exclusive');
  t.is(region.lockset, null); // Exclusive keeps no lockset
});

test('two readers never race; nor do many, whatever locks they hold', (t) => {
  const { region, races } = play(['A r', 'B r', 'A r L', 'C r', 'B r M']);
  t.deepEqual(races, []);
  t.is(region.state, 'shared');
  t.deepEqual(region.lockset, []); // empty, but a read-only region is never reported
});

test('a writer and a reader holding a common lock do not race', (t) => {
  const { region, races } = play(['W w L', 'R r L', 'W w L', 'R r L,M', 'W w L,N']);
  t.deepEqual(races, []);
  t.is(region.state, 'shared-modified');
  t.deepEqual(region.lockset, ['L']);
});

test('without a common lock they race, reported once per region and pair', (t) => {
  const { races } = play(['W w', 'R r', 'W w', 'R r', 'W w', 'R r']);
  // Exclusive(W) -> Shared at R's read (C = {}), -> Shared-Modified at W's second write: the race.
  t.deepEqual(pairs(races), ['3: W/R@2']);
  t.is(races[0].region, 'ring');
  // A third component writing makes two new pairs, each reported once.
  const three = play(['W w', 'R r', 'W w', 'X w', 'X w', 'R r', 'W w']);
  t.deepEqual(pairs(three.races), ['3: W/R@2', '4: X/W@3', '5: X/R@2']);
});

test('a lock released between accesses still protects: only what is held at each access counts', (t) => {
  const locks = new LockTable([{ name: 'ring', lock: 'ring' }]);
  const races = new RaceDetector();
  const found: Race[] = [];
  let op = 0;
  const locked = (component: string, write: boolean) => {
    t.is(locks.take('ring', component, ++op, op), null);
    const race = races.access('ring', access(component, write, ++op, locks.held(component)));
    if (race) found.push(race);
    t.is(locks.release('ring', component), null);
    t.deepEqual(locks.held(component), []);
  };
  for (let i = 0; i < 3; i++) {
    locked('producer', true);
    locked('consumer', false);
    locked('consumer', true); // the consumer advances the tail
  }
  t.deepEqual(found, []);
  t.is(races.state('ring'), 'shared-modified');
  // One access without the lock empties the lockset: the race names the other side's latest access.
  const race = races.access('ring', access('consumer', false, ++op));
  t.is(race?.earlier.component, 'producer');
  t.deepEqual(race?.earlier.locks, ['ring']);
});

test("Eraser's initialisation: the owner writes without a lock, then everyone locks", (t) => {
  t.deepEqual(play(['A w', 'A w', 'B r L', 'A w L', 'B w L']).races, []);
  // Written once, then only read by others without any lock: read-only sharing, no race.
  t.deepEqual(play(['A w', 'B r', 'C r', 'B r']).races, []);
});

test('a write by a second component straight from Exclusive is Shared-Modified at once', (t) => {
  const { region, races } = play(['A w', 'B w']);
  t.is(region.state, 'shared-modified');
  t.deepEqual(pairs(races), ['2: B/A@1']);
  // With a lock, the lockset starts as the locks of that access and is refined from there.
  const locked = play(['A w', 'B w L,M', 'A r M']);
  t.deepEqual(locked.races, []);
  t.deepEqual(locked.region.lockset, ['M']);
});

test('the lockset only shrinks: a lock taken later does not bring protection back', (t) => {
  const { races, region } = play(['A w', 'B r', 'A w L', 'B r L', 'A w L']);
  // B's first read (no lock) left Shared with C = {}: every later access is unprotected.
  t.deepEqual(pairs(races), ['3: A/B@2']);
  t.deepEqual(region.lockset, []);
});

test('an access that empties the lockset but conflicts with nobody waits for one that does', (t) => {
  // A writes and reads; B only reads, holding L. A's read without L empties C(v), but a read and
  // B's reads do not conflict: the race is reported at B's next read, against A's write, naming the
  // read that emptied the lockset.
  const { races } = play(['A r', 'B r L', 'A w L', 'A r', 'B r L', 'A w L']);
  t.deepEqual(pairs(races), ['5: B/A@3']);
  t.is(races[0].emptiedBy?.op, 4);
  t.regex(raceDetail(races[0]), /its lockset is empty; A's read at op 4 \(line 104, holding no lock\) emptied it\)$/);
});

test('the partner named is one without a common lock first, then the latest', (t) => {
  // X initialises; A{L1}, B{L1,L2}, C{L2}: C(v) goes {L1}, {L1}, {} at C's write. A shares no lock with C.
  const { races } = play(['X w', 'A w L1', 'B w L1,L2', 'C w L2']);
  t.deepEqual(pairs(races), ['4: C/A@2']);
  t.is(races[0].emptiedBy, null); // C's own write emptied it
  // B writes again: A and C each share a lock with it, X none.
  const more = play(['X w', 'A w L1', 'B w L1,L2', 'C w L2', 'B w L1,L2']);
  t.deepEqual(pairs(more.races), ['4: C/A@2', '5: B/X@1']);
});

test('regions are independent: a race on one says nothing about another', (t) => {
  const races = new RaceDetector();
  t.is(races.access('a', access('P', true, 1)), null);
  t.is(races.access('b', access('Q', true, 2)), null);
  t.is(races.access('a', access('Q', true, 3))?.region, 'a');
  t.is(races.access('b', access('Q', false, 4)), null);
  t.is(races.state('b'), 'exclusive');
  t.is(races.state('c'), 'virgin');
});

test("a race's detail names the region, both components, both accesses and their locks", (t) => {
  const { races } = play(['decoder w ring', 'mixer r', 'decoder w ring']);
  t.is(
    raceDetail(races[0]),
    "data race on shared region ring: decoder's write (holding lock ring) and mixer's read at op 2 (line 102, holding no lock); no lock was held on every access since the region was shared (its lockset is empty)",
  );
});

test('unsorted lock sets are refused: they would make the output depend on order', (t) => {
  t.throws(() => new RegionLockset('r').access(access('A', true, 1, ['b', 'a'])), { message: /not sorted/ });
});

// ---- the lock table ----

test('locks: a region guarded by its own lock, or by one named and shared with other regions', (t) => {
  const locks = new LockTable([
    { name: 'ring', lock: 'ring' },
    { name: 'texpages', lock: 'gpu' },
    { name: 'clut', lock: 'gpu' },
  ]);
  t.is(locks.lock('ring'), 'ring');
  t.is(locks.lock('clut'), 'gpu');
  t.is(locks.describe('ring'), 'lock ring');
  t.is(locks.describe('gpu'), 'lock gpu (guarding texpages, clut)');
  t.is(locks.take('clut', 'renderer', 1, 10), null);
  // The same lock through the other region: taken twice.
  t.regex(locks.take('texpages', 'renderer', 2, 11)!, /renderer takes lock gpu \(guarding texpages, clut\) again: it already holds it \(taken at op 1, line 10\)/);
  t.is(locks.take('ring', 'renderer', 3, 12), null);
  t.deepEqual(locks.held('renderer'), ['gpu', 'ring']);
  t.is(locks.release('texpages', 'renderer'), null); // released through either region
  t.deepEqual(locks.held('renderer'), ['ring']);
  t.throws(() => locks.lock('nowhere'), { message: /no shared region nowhere/ });
});

test('locks: taken twice, released by a non-holder, held at the end', (t) => {
  const locks = new LockTable([{ name: 'b', lock: 'b' }, { name: 'a', lock: 'a' }]);
  t.is(locks.take('b', 'P', 1, 10), null);
  t.regex(locks.take('b', 'Q', 2, 11)!, /Q takes lock b, which P holds \(taken at op 1, line 10\): taken twice without a release/);
  t.deepEqual(locks.held('Q'), []); // a refused take changes nothing
  t.is(locks.release('b', 'Q'), 'Q releases lock b, which it does not hold (it is held by P, taken at op 1, line 10)');
  t.is(locks.release('a', 'Q'), 'Q releases lock a, which it does not hold (it is free)');
  t.is(locks.take('a', 'Q', 3, 12), null);
  t.deepEqual(
    locks.stillHeld().map((s) => s.detail),
    ['lock a is still held by Q at the end (taken at op 3, line 12)', 'lock b is still held by P at the end (taken at op 1, line 10)'],
  );
  t.is(locks.release('a', 'Q'), null);
  t.is(locks.release('b', 'P'), null);
  t.deepEqual(locks.stillHeld(), []);
});

// ---- properties ----

const script = fc.array(
  fc.record({ component: fc.constantFrom('A', 'B', 'C'), write: fc.boolean(), locks: fc.subarray(['L', 'M', 'N']) }),
  { maxLength: 60 },
);

function runScript(steps: { component: string; write: boolean; locks: string[] }[]): Race[] {
  const region = new RegionLockset('r');
  const races: Race[] = [];
  steps.forEach((s, i) => {
    const race = region.access(access(s.component, s.write, i + 1, [...s.locks].sort()));
    if (race) races.push(race);
  });
  return races;
}

test('property: every race is a pair of components, one of them writing, reported once per pair', (t) => {
  fc.assert(
    fc.property(script, (steps) => {
      const races = runScript(steps);
      const seen = new Set<string>();
      for (const r of races) {
        if (r.access.component === r.earlier.component || !(r.access.write || r.earlier.write) || r.earlier.op >= r.access.op) return false;
        const key = [r.access.component, r.earlier.component].sort().join('/');
        if (seen.has(key)) return false;
        seen.add(key);
      }
      return true;
    }),
  );
  t.pass();
});

test('property: one lock on every access, one component, or reads only never race', (t) => {
  fc.assert(
    fc.property(script, (steps) => {
      const everyL = steps.map((s) => ({ ...s, locks: s.locks.includes('L') ? s.locks : [...s.locks, 'L'] }));
      const alone = steps.map((s) => ({ ...s, component: 'A' }));
      const reads = steps.map((s) => ({ ...s, write: false }));
      return runScript(everyL).length === 0 && runScript(alone).length === 0 && runScript(reads).length === 0;
    }),
  );
  t.pass();
});

test('property: two components with no locks race exactly once, if a write comes once both have been there', (t) => {
  fc.assert(
    fc.property(script, (steps) => {
      const two = steps.map((s) => ({ ...s, component: s.component === 'C' ? 'B' : s.component, locks: [] }));
      // Exclusive until the second component's first access; a write from then on is Shared-Modified
      // with an empty lockset, and its partner (the other component) has always accessed already.
      const second = two.findIndex((s) => s.component !== two[0].component);
      const raced = second >= 0 && two.slice(second).some((s) => s.write);
      return runScript(two).length === (raced ? 1 : 0);
    }),
  );
  t.pass();
});
