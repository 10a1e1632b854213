/**
 * The writer's side of the intern ring (schema.ts, coding `name?`): which slot holds a string, found
 * without a Map. A replay interns a fresh block id at every allocation, so the ring turns over all
 * the time; a Map keyed by string piles up a deleted entry per replaced slot and rebuilds its whole
 * table every few thousand of them, which cost several times the rest of the record. Here the index
 * is an open-addressing table of slot numbers (linear probing, deletion by backward shift, so no
 * tombstones) keyed by a hash of the string's characters, kept beside each slot.
 */
import { RING_SLOTS } from './schema.js';

/** Table entries: four per slot, so a probe sequence is short and a miss ends at an empty entry soon. */
const TABLE_SIZE = RING_SLOTS * 4;
const MASK = TABLE_SIZE - 1;
const EMPTY = -1;
/** Call sites remembered (a record's field positions). */
const SITES = 16;

export class InternRing {
  /** Slot numbers by hash position, EMPTY where none. */
  private readonly table = new Int32Array(TABLE_SIZE).fill(EMPTY);
  /** Each slot's string and its hash. */
  private readonly strings: (string | undefined)[] = new Array<string | undefined>(RING_SLOTS).fill(undefined);
  private readonly hashes = new Int32Array(RING_SLOTS);
  /** The slot the next new string takes. */
  private next = 0;
  /**
   * The string each call site (`site` < SITES: a field's position in its record) last asked for, and
   * its slot: a heap name or a caller comes back record after record, and is found without hashing
   * while its slot still holds it.
   */
  private readonly recent: (string | undefined)[] = new Array<string | undefined>(SITES).fill(undefined);
  private readonly recentSlots = new Int32Array(SITES);

  /**
   * The slot holding `s`; or, when the ring does not hold it, -1, and `s` is put in the next slot,
   * replacing what was there (the record then carries the string itself).
   */
  intern(s: string, site: number): number {
    const known = this.recentSlots[site];
    if (this.recent[site] === s && this.strings[known] === s) return known;
    const hash = hashOf(s);
    const at = this.find(s, hash);
    const slot = at >= 0 ? this.table[at] : this.add(s, hash, ~at);
    this.recent[site] = s;
    this.recentSlots[site] = slot;
    return at >= 0 ? slot : -1;
  }

  /** Puts `s` (not in the ring; `empty` is where find left it) in the next slot, replacing what was there. */
  private add(s: string, hash: number, empty: number): number {
    const slot = this.next;
    const old = this.strings[slot];
    // Removing the old string moves entries back: the empty position for `s` is found again after.
    if (old !== undefined) {
      this.remove(this.find(old, this.hashes[slot]));
      empty = ~this.find(s, hash);
    }
    this.strings[slot] = s;
    this.hashes[slot] = hash;
    this.table[empty] = slot;
    this.next = (slot + 1) % RING_SLOTS;
    return slot;
  }

  /** The slot holding `s`, or -1 (a lookup that changes nothing). */
  slotOf(s: string): number {
    const at = this.find(s, hashOf(s));
    return at < 0 ? -1 : this.table[at];
  }

  /** The table position holding `s`'s slot, or ~(the empty position where it would go). */
  private find(s: string, hash: number): number {
    const { table, hashes, strings } = this;
    for (let at = hash & MASK; ; at = (at + 1) & MASK) {
      const slot = table[at];
      if (slot === EMPTY) return ~at;
      if (hashes[slot] === hash && strings[slot] === s) return at;
    }
  }

  /** Empties position `at`, moving later entries of its run back so that every probe still finds them. */
  private remove(at: number): void {
    const { table, hashes } = this;
    let hole = at;
    for (let at2 = (hole + 1) & MASK; ; at2 = (at2 + 1) & MASK) {
      const slot = table[at2];
      if (slot === EMPTY) break;
      const home = hashes[slot] & MASK;
      // The entry may move into the hole unless its home lies cyclically in (hole, at2].
      if (((at2 - home) & MASK) >= ((at2 - hole) & MASK)) {
        table[hole] = slot;
        hole = at2;
      }
    }
    table[hole] = EMPTY;
  }
}

/** FNV-1a over the UTF-16 code units: ids and heap names are short, so this costs a few nanoseconds. */
function hashOf(s: string): number {
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
}
