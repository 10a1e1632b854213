import test from 'ava';
import { InternRing } from '../src/trace/intern.js';
import { RING_SLOTS } from '../src/trace/schema.js';

/** What the format says the ring holds: slots taken in turn, each replacing what was there. */
class ModelRing {
  private readonly slots = new Map<string, number>();
  private readonly strings: (string | undefined)[] = new Array(RING_SLOTS);
  private next = 0;

  slotOf(s: string): number {
    return this.slots.get(s) ?? -1;
  }

  add(s: string): void {
    const old = this.strings[this.next];
    if (old !== undefined) this.slots.delete(old);
    this.strings[this.next] = s;
    this.slots.set(s, this.next);
    this.next = (this.next + 1) % RING_SLOTS;
  }
}

test('a string takes the next slot and is forgotten once the ring has turned over past it', (t) => {
  const ring = new InternRing();
  t.is(ring.intern('main', 0), -1);
  t.is(ring.intern('p1', 1), -1);
  t.is(ring.intern('main', 0), 0);
  t.is(ring.intern('p1', 1), 1);
  t.is(ring.slotOf('p2'), -1);
  for (let n = 2; n < RING_SLOTS; n++) t.is(ring.intern(`p${n}`, 1), -1);
  t.is(ring.intern('main', 0), 0);
  t.is(ring.intern('p-next', 1), -1); // takes slot 0 again; site 0 still remembers 'main' there
  t.is(ring.intern('main', 0), -1); // gone, so it is put in slot 1 now
  t.is(ring.slotOf('p-next'), 0);
  t.is(ring.slotOf('main'), 1);
  t.is(ring.slotOf('p1'), -1);
  t.is(ring.intern(`p${RING_SLOTS - 1}`, 2), RING_SLOTS - 1);
});

test('the ring answers as the format model does over several turns, lookups and re-interned strings mixed', (t) => {
  const ring = new InternRing();
  const model = new ModelRing();
  let state = 7;
  const next = () => (state = (state * 1103515245 + 12345) >>> 0);
  let fresh = 0;
  let mismatches = 0;
  for (let i = 0; i < 4 * RING_SLOTS; i++) {
    // Mostly fresh ids (a replay's allocations), some older ones (frees, names forgotten and seen again).
    const s = next() % 3 === 0 ? `p${next() % (fresh + 1)}` : `p${fresh++}`;
    const site = next() % 4; // call sites remember their last string: the answer must not depend on it
    const slot = ring.intern(s, site);
    if (slot !== model.slotOf(s)) mismatches++;
    if (slot < 0) model.add(s);
  }
  // Every string the model still holds is found in its slot; forgotten ones are not.
  for (let n = 0; n < fresh; n++) if (ring.slotOf(`p${n}`) !== model.slotOf(`p${n}`)) mismatches++;
  t.is(mismatches, 0);
});
