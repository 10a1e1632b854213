/** Text formatting shared by the summary, inspect and diff output. Locale-independent on purpose. */
import { group, hex } from '../util/text.js';
import { ADDRESS_FIELDS, type TraceEvent } from '../trace/schema.js';

/** Parts per million as a percentage with two decimals. */
export function percent(ppm: number): string {
  return `${(ppm / 10_000).toFixed(2)}%`;
}

const SKIP = new Set(['seq', 'op', 'cycle', 'type', 'line', 'summary']);

/** One event on one line: `#12 op 5 @1,234 L17 alloc heap=main id=a size=64 addr=0x08800010 ...`. */
export function formatEvent(e: TraceEvent): string {
  const parts = [`#${e.seq}`, `op ${e.op}`, `@${group(e.cycle)}`];
  if (typeof e.line === 'number') parts.push(`L${e.line}`);
  parts.push(e.type === 'fault' ? `FAULT ${String(e.kind)}` : e.type);
  for (const [key, value] of Object.entries(e)) {
    if (SKIP.has(key) || (e.type === 'fault' && key === 'kind')) continue;
    parts.push(`${key}=${formatValue(key, value)}`);
  }
  return parts.join(' ');
}

export function formatValue(key: string, value: unknown): string {
  if (typeof value === 'number' && (ADDRESS_FIELDS.has(key) || key.endsWith('addr'))) return hex(value);
  if (typeof value === 'string') return /\s/.test(value) ? JSON.stringify(value) : value;
  if (value !== null && typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** Lays out rows as aligned columns; the first row is the header. Numbers align right. */
export function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows
    .map((r) => r.map((cell, c) => (/^[\d,.%/ -]+$/.test(cell) && cell.trim() !== '-' && c > 0 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd())
    .join('\n');
}
