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
