/** Renders a trace comparison for a terminal or a pull request. */
import { group } from '../util/text.js';
import type { Comparison, FirstDifference } from '../trace/compare.js';
import { formatEvent, formatValue } from './format.js';

const METRICS_SHOWN = 12;

export function formatComparison(c: Comparison, expectedName: string, actualName: string): string {
  const lines: string[] = [];
  for (const note of c.headerNotes) lines.push(`  note: ${note}`);
  if (c.first) {
    const f = c.first;
    lines.push(`  ${describeFirstDifference(f)}`);
    for (const e of f.before) lines.push(`      ${formatEvent(e)}`);
    lines.push(`    - ${expectedName}: ${f.expected ? formatEvent(f.expected) : '(trace ends)'}`);
    lines.push(`    + ${actualName}: ${f.actual ? formatEvent(f.actual) : '(trace ends)'}`);
  }
  if (c.expectedEvents !== c.actualEvents) lines.push(`  events: ${group(c.expectedEvents)} -> ${group(c.actualEvents)}`);
  if (c.metrics.length > 0) {
    lines.push(`  changed metrics (${c.metrics.length}):`);
    for (const m of c.metrics.slice(0, METRICS_SHOWN)) {
      lines.push(`    ${m.metric}: ${show(m.metric, m.expected)} -> ${show(m.metric, m.actual)}${delta(m.expected, m.actual)}`);
    }
    if (c.metrics.length > METRICS_SHOWN) lines.push(`    ... ${c.metrics.length - METRICS_SHOWN} more`);
  }
  return lines.join('\n');
}

/** The first differing event: its index, operation and scenario line, and the fields that differ. */
export function describeFirstDifference(f: FirstDifference): string {
  const at = f.expected ?? f.actual!;
  return `first difference at event ${group(f.index)} (op ${group(at.op)}${typeof at.line === 'number' ? `, scenario line ${at.line}` : ''}): ${f.fields.join(', ')}`;
}

function show(metric: string, value: unknown): string {
  if (value === undefined) return '(none)';
  return typeof value === 'number' ? (metric.endsWith('base') ? formatValue('addr', value) : group(value)) : formatValue(metric, value);
}

function delta(expected: unknown, actual: unknown): string {
  if (typeof expected !== 'number' || typeof actual !== 'number' || expected === 0) return '';
  const pct = ((actual - expected) / Math.abs(expected)) * 100;
  return ` (${pct >= 0 ? '+' : ''}${pct.toFixed(1)}%)`;
}
