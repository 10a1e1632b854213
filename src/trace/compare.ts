/**
 * Semantic trace comparison: walks two traces side by side, stops at the first differing event and
 * keeps a little context, then reads both to their `end` events to compare the summary metrics.
 * Memory stays bounded whatever the traces' length.
 */
import type { TraceEvent, TraceHeader } from './schema.js';
import { readTrace, type TraceStream } from './reader.js';

export interface FirstDifference {
  index: number;
  /** Up to CONTEXT events that matched, just before the difference. */
  before: TraceEvent[];
  expected: TraceEvent | null;
  actual: TraceEvent | null;
  fields: string[];
}

export interface MetricChange {
  metric: string;
  expected: unknown;
  actual: unknown;
}

export interface Comparison {
  same: boolean;
  /** Header fields that differ (hashes: the inputs changed; the events decide). */
  headerNotes: string[];
  first: FirstDifference | null;
  metrics: MetricChange[];
  expectedEvents: number;
  actualEvents: number;
}

const CONTEXT = 3;

export function compareTraces(expectedPath: string, actualPath: string): Comparison {
  // Both files are closed however the comparison ends: a damaged trace stops it with the other half read.
  const expected = readTrace(expectedPath);
  try {
    const actual = readTrace(actualPath);
    try {
      return compareStreams(expected, actual);
    } finally {
      actual.close();
    }
  } finally {
    expected.close();
  }
}

function compareStreams(expected: TraceStream, actual: TraceStream): Comparison {
  const result: Comparison = { same: true, headerNotes: compareHeaders(expected.header, actual.header), first: null, metrics: [], expectedEvents: 0, actualEvents: 0 };
  const before: TraceEvent[] = [];
  let lastExpected: TraceEvent | null = null;
  let lastActual: TraceEvent | null = null;
  for (let index = 0; ; index++) {
    const e = expected.events.next();
    const a = actual.events.next();
    if (!e.done) [lastExpected, result.expectedEvents] = [e.value, result.expectedEvents + 1];
    if (!a.done) [lastActual, result.actualEvents] = [a.value, result.actualEvents + 1];
    if (e.done && a.done) break;
    if (result.first) continue; // read on to the end events
    const ev = e.done ? null : e.value;
    const av = a.done ? null : a.value;
    const fields = differingFields(ev, av);
    if (fields.length === 0) {
      before.push(ev!);
      if (before.length > CONTEXT) before.shift();
      continue;
    }
    result.same = false;
    result.first = { index, before: [...before], expected: ev, actual: av, fields };
  }
  result.metrics = compareSummaries(summaryOf(lastExpected), summaryOf(lastActual));
  if (result.metrics.length > 0) result.same = false;
  return result;
}

function summaryOf(event: TraceEvent | null): Record<string, unknown> {
  return event?.type === 'end' ? ((event.summary as Record<string, unknown>) ?? {}) : {};
}

function compareHeaders(expected: TraceHeader, actual: TraceHeader): string[] {
  const notes: string[] = [];
  for (const key of Object.keys(expected) as (keyof TraceHeader)[]) {
    if (expected[key] === actual[key]) continue;
    if (key === 'scenario_sha256') notes.push('the scenario file changed since the golden was written');
    else if (key === 'target_sha256') notes.push('the target file changed since the golden was written');
    else notes.push(`header ${key}: ${JSON.stringify(expected[key])} -> ${JSON.stringify(actual[key])}`);
  }
  return notes;
}

/** The fields whose values differ; the end events' summaries are compared metric by metric instead. */
function differingFields(e: TraceEvent | null, a: TraceEvent | null): string[] {
  if (!e || !a) return ['(missing event)'];
  const keys = new Set([...Object.keys(e), ...Object.keys(a)]);
  const fields: string[] = [];
  for (const key of keys) {
    if (e.type === 'end' && a.type === 'end' && key === 'summary') continue;
    if (JSON.stringify(e[key]) !== JSON.stringify(a[key])) fields.push(key);
  }
  return fields;
}

/** Flattens both summaries to dotted paths (heaps by name) and lists every changed value. */
export function compareSummaries(expected: Record<string, unknown>, actual: Record<string, unknown>): MetricChange[] {
  const e = flatten(expected);
  const a = flatten(actual);
  const changes: MetricChange[] = [];
  for (const metric of [...new Set([...e.keys(), ...a.keys()])]) {
    if (e.get(metric) !== a.get(metric)) changes.push({ metric, expected: e.get(metric), actual: a.get(metric) });
  }
  return changes;
}

/** `heaps.main.peak_in_use`, `faults.oom`, `cycles`: the names metrics go by in reports and `expect`. */
export function flatten(value: unknown, prefix = '', out = new Map<string, unknown>()): Map<string, unknown> {
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      const name = (item as { name?: string; crate?: string })?.name ?? (item as { crate?: string })?.crate ?? String(i);
      flatten(item, prefix ? `${prefix}.${name}` : name, out);
    });
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'name' || k === 'crate') continue;
      flatten(v, prefix ? `${prefix}.${k}` : k, out);
    }
  } else {
    out.set(prefix, value);
  }
  return out;
}
