/**
 * A map from integers (0 to 2^53 - 1) to numbers, in two typed arrays: the pointer and block tables of
 * the import path, which look a key up several times for every log line. A Map boxes each key beyond
 * 2^31 (every 64-bit heap address) in an object, and each entry costs it a slot object the garbage
 * collector walks; here an entry is two doubles.
 *
 * Open addressing with linear probing; a key's home slot is the top bits of a multiplicative hash of
 * its two 32-bit halves (heap addresses differ in their middle bits, their low ones are alignment
 * zeros). Deleting shifts the entries after the hole back (no tombstones), so lookups never slow down
 * with churn. The table doubles when half full, which keeps probe runs short.
 */

/** An empty slot's key: no key is negative. */
const EMPTY = -1;

/** The smallest table: 2^MIN_BITS slots. */
const MIN_BITS = 4;

/** 2^-32, to split a key into 32-bit halves (a multiplication by a power of two is exact, and cheaper than a division). */
const TWO_MINUS_32 = 2 ** -32;

export class IntMap {
  /** Entries held. */
  size = 0;
  private bits = MIN_BITS;
  private keys = new Float64Array(1 << MIN_BITS).fill(EMPTY);
  private values = new Float64Array(1 << MIN_BITS);
  /**
   * The key of the last get or set, and its slot: where the key is, or the empty slot where it would
   * go. A set or delete of the same key, which tends to follow, starts there; every change that can
   * move entries forgets it (lastKey EMPTY).
   */
  private lastKey = EMPTY;
  private lastSlot = 0;

  /** The value at `key`, undefined if it has none. */
  get(key: number): number | undefined {
    const s = this.probe(key);
    return this.keys[s] === EMPTY ? undefined : this.values[s];
  }

  set(key: number, value: number): void {
    const s = key === this.lastKey ? this.lastSlot : this.probe(key);
    const keys = this.keys;
    this.values[s] = value;
    if (keys[s] !== EMPTY) return;
    keys[s] = key;
    if (++this.size > keys.length >>> 1) this.grow();
  }

  /** Removes `key`; false if it had no value. */
  delete(key: number): boolean {
    let hole = key === this.lastKey ? this.lastSlot : this.probe(key);
    const keys = this.keys;
    if (keys[hole] === EMPTY) return false;
    this.lastKey = EMPTY;
    const values = this.values;
    const mask = keys.length - 1;
    // Each entry after the hole, up to the run's end, moves back into it unless that would put it
    // before its home slot (then a lookup, starting at its home, would not find it).
    for (let s = (hole + 1) & mask; keys[s] !== EMPTY; s = (s + 1) & mask) {
      if (((s - this.home(keys[s])) & mask) >= ((s - hole) & mask)) {
        keys[hole] = keys[s];
        values[hole] = values[s];
        hole = s;
      }
    }
    keys[hole] = EMPTY;
    this.size--;
    return true;
  }

  /** Calls `f` with each entry (in no particular order: callers must not depend on it). */
  forEach(f: (value: number, key: number) => void): void {
    const keys = this.keys;
    for (let s = 0; s < keys.length; s++) if (keys[s] !== EMPTY) f(this.values[s], keys[s]);
  }

  /** The slot of `key`, or the empty slot that ends its probe (where it would go); remembered as the last. */
  private probe(key: number): number {
    const keys = this.keys;
    const mask = keys.length - 1;
    let s = this.home(key);
    while (keys[s] !== EMPTY && keys[s] !== key) s = (s + 1) & mask;
    this.lastKey = key;
    this.lastSlot = s;
    return s;
  }

  /** The slot where a key's probe starts. */
  private home(key: number): number {
    const low = key >>> 0;
    const high = (key * TWO_MINUS_32) >>> 0;
    return Math.imul(low ^ Math.imul(high, 0x85ebca6b), 0x9e3779b1) >>> (32 - this.bits);
  }

  private grow(): void {
    const keys = this.keys;
    const values = this.values;
    this.bits++;
    this.keys = new Float64Array(1 << this.bits).fill(EMPTY);
    this.values = new Float64Array(1 << this.bits);
    this.size = 0;
    this.lastKey = EMPTY;
    for (let s = 0; s < keys.length; s++) if (keys[s] !== EMPTY) this.set(keys[s], values[s]);
    this.lastKey = EMPTY;
  }
}
