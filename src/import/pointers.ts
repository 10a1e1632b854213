/** Host pointers as map keys. */

/**
 * A pointer as a key: the address as a number when it is exact as one (up to 2^53 - 1, every user
 * space address), else its lowercase hex digits without leading zeros, so that each address has one
 * key and 64-bit (or longer) addresses stay exact. 0 is the null pointer.
 */
export type PointerKey = number | string;

/** A pointer key as hex digits, for messages (`0x${pointerHex(key)}`); '' for the null pointer. */
export function pointerHex(key: PointerKey): string {
  if (typeof key === 'string') return key;
  return key === 0 ? '' : key.toString(16);
}
