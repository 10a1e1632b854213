/** Bit helpers every layer uses: powers of two and alignment. */

export function isPow2(n: number): boolean {
  return Number.isInteger(n) && n > 0 && 2 ** Math.round(Math.log2(n)) === n;
}

/** `n` rounded up to a multiple of `align` (any positive integer). */
export function alignUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}

