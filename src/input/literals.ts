/** Size and duration literals shared by targets and scenarios. */

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  K: 1024,
  KiB: 1024,
  M: 1024 ** 2,
  MiB: 1024 ** 2,
  G: 1024 ** 3,
  GiB: 1024 ** 3,
};

/**
 * Parses `4096`, `0x1000`, `4K`, `4KiB`, `1.5M`: a whole number of bytes.
 * Returns an error message instead of throwing so callers can attach a position.
 */
export function parseSize(value: unknown): number | string {
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) && value >= 0 ? value : `expected a size in bytes, got ${value}`;
  }
  if (typeof value !== 'string') return `expected a size (bytes, hex or K/M/G suffix), got ${describe(value)}`;
  const text = value.trim().replace(/_/g, '');
  const hex = /^0x([0-9a-fA-F]+)$/.exec(text);
  if (hex) return checkWhole(parseInt(hex[1], 16), value);
  const m = /^(\d+(?:\.\d+)?)\s*(K|KiB|M|MiB|G|GiB)?$/.exec(text);
  if (!m) return `bad size literal '${value}' (use bytes, hex, or a K/M/G/KiB/MiB/GiB suffix)`;
  return checkWhole(Number(m[1]) * SIZE_UNITS[m[2] ?? ''], value);
}

function checkWhole(bytes: number, literal: string): number | string {
  if (!Number.isSafeInteger(bytes)) return `size '${literal}' is not a whole number of bytes`;
  return bytes;
}

const TIME_UNITS: Record<string, number> = { s: 1, ms: 1e-3, us: 1e-6, ns: 1e-9 };

/** Parses a duration: plain cycles (`5000`, `5000cycles`) or `16.67ms`, `100us`, `1s` at `clockHz`. */
export function parseDuration(value: unknown, clockHz: number): number | string {
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) && value >= 0 ? value : `expected a whole number of cycles, got ${value}`;
  }
  if (typeof value !== 'string') return `expected a duration (cycles, or s/ms/us/ns), got ${describe(value)}`;
  const m = /^(\d+(?:\.\d+)?)\s*(cycles|s|ms|us|ns)?$/.exec(value.trim());
  if (!m) return `bad duration '${value}' (use cycles, or a s/ms/us/ns suffix)`;
  const unit = m[2] ?? 'cycles';
  if (unit === 'cycles') return checkWhole(Number(m[1]), value);
  // Rounded once, in IEEE double arithmetic: the same on every machine.
  const cycles = Math.round(Number(m[1]) * TIME_UNITS[unit] * clockHz);
  return Number.isSafeInteger(cycles) ? cycles : `duration '${value}' is too long (more than 2^53 cycles)`;
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'string') return `'${value}'`;
  return String(value);
}


