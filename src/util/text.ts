/** Text helpers every layer uses: addresses, byte counts and grouped numbers as emu prints them. */

/** An address as eight upper-case hex digits: 0x08804000. */
export function hex(addr: number): string {
  return '0x' + addr.toString(16).toUpperCase().padStart(8, '0');
}

/** Bytes in the largest binary unit that holds them to two decimals: 64 KiB, 1.5 MiB, 100 B. */
export function formatBytes(bytes: number): string {
  for (const [unit, scale] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (bytes >= scale && bytes % (scale / 1024) === 0) {
      const v = bytes / scale;
      return `${Number.isInteger(v) ? v : v.toFixed(2)} ${unit}`;
    }
  }
  return `${bytes} B`;
}

/** A whole number with thousands separators: 1,000,000. */
export function group(n: number): string {
  const sign = n < 0 ? '-' : '';
  return sign + String(Math.abs(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** The choice nearest to a mistyped word, when it is near enough to be what was meant; else null. */
export function closest(word: string, choices: readonly string[]): string | null {
  let best = '';
  let bestDistance = Infinity;
  for (const c of choices) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return bestDistance <= Math.max(1, Math.floor(word.length / 3)) ? best : null;
}

/** Edits between two words, a swap of neighbouring letters counting as one (typos like 'tlfs'). */
function editDistance(a: string, b: string): number {
  let before: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) cur[j] = Math.min(cur[j], before[j - 2] + 1);
    }
    [before, prev] = [prev, cur];
  }
  return prev[b.length];
}
