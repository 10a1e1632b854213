/** `emu size`'s answer: a table for a terminal or a pull request, or JSON with a format version. */
import { formatBytes, group } from '../util/text.js';
import { MEMORY_FAULTS, type FaultSeen, type SizeResult } from './search.js';

/** The JSON answer's format version: bumped when a field changes meaning or goes away. */
export const SIZE_FORMAT_VERSION = 1;

export interface SizeReport {
  /** The input as given: a scenario file or a field log. */
  input: string;
  scenario: string;
  target: string;
  heap: string;
  /** The field log's format, when the input is a log (imported as `emu import` would, on one heap 'main'). */
  log_format: string | null;
  /** The heap as the scenario has it: its allocator (null for a log), where it is placed and its size. */
  heap_allocator: string | null;
  heap_in: string;
  scenario_size: number;
  /** The largest size, in bytes, the layout has room for. */
  room: number;
  results: SizeResult[];
}

export function sizeJson(r: SizeReport): object {
  return { format: 'emu-size', version: SIZE_FORMAT_VERSION, ...withoutResults(r), memory_faults: MEMORY_FAULTS, allocators: r.results };
}

function withoutResults(r: SizeReport): Omit<SizeReport, 'results'> {
  const { results: _results, ...rest } = r;
  return rest;
}

/** The phrase for an allocator that passes at no size the layout has room for. */
export function noPassingSize(result: SizeResult): string {
  return `no passing size up to the region's capacity (${group(result.room)} bytes)`;
}

function where(f: FaultSeen): string {
  return f.log_line !== null ? `log line ${group(f.log_line)}` : `line ${f.line}`;
}

function bytesOrDash(n: number | null): string {
  return n === null ? '-' : group(n);
}

export function formatSize(r: SizeReport): string {
  const lines: string[] = [];
  const what = r.log_format === null ? `heap ${r.heap} of ${r.scenario} on ${r.target}: ${r.heap_allocator}` : `${r.input} (${r.log_format} log) replayed on ${r.target}: heap ${r.heap}`;
  lines.push(`${what}, ${formatBytes(r.scenario_size)} in ${r.heap_in} (room there for ${group(r.room)} bytes)`);
  const kinds = `${MEMORY_FAULTS.slice(0, -1).join(', ')} or ${MEMORY_FAULTS[MEMORY_FAULTS.length - 1]}`;
  lines.push(`the smallest size at each allocator's grain with no ${kinds} on the heap: it passes, one grain less fails`);
  lines.push('');
  const rows = [['allocator', 'grain', 'size  ', 'peak live', 'size/live', 'Robson', 'own bound', 'alloc cycles max', 'one grain less']];
  const notes: string[] = [];
  for (const s of r.results) {
    if (s.size === null) {
      rows.push([s.allocator, group(s.grain), 'none', '-', '-', '-', '-', '-', '-']);
      const f = s.fault_at_room;
      notes.push(`${s.allocator}: ${noPassingSize(s)}${f ? `; there the first is ${f.kind} at ${where(f)} (op ${group(f.op)})` : ''}`);
      continue;
    }
    const ratio = s.overhead_ratio_ppm === null ? '-' : `${(s.overhead_ratio_ppm / 1_000_000).toFixed(2)}x`;
    const below = s.below ? `${s.below.fault.kind} (${where(s.below.fault)})` : '- (one grain)';
    rows.push([s.allocator, group(s.grain), group(s.size) + (s.monotone ? '  ' : ' *'), group(s.peak_live ?? 0), ratio, bytesOrDash(s.robson), bytesOrDash(s.own_bound), group(s.alloc_cycles_max ?? 0), below]);
    if (!s.monotone) {
      const failing = s.failing_above.slice(0, 5).map(group).join(', ') + (s.failing_above.length > 5 ? ` and ${s.failing_above.length - 5} more` : '');
      const steady = s.steady_size === null ? `no size tried above them passes with every larger size tried` : `every size tried from ${group(s.steady_size)} up passes`;
      notes.push(`* ${s.allocator}: not monotone: ${failing} fail${s.failing_above.length === 1 ? 's' : ''} (${s.tried_above} sizes tried above ${group(s.size)}); ${steady}`);
    }
  }
  lines.push(aligned(rows, [1, 2, 3, 4, 5, 6, 7]));
  const own = r.results.find((s) => s.allocator === r.heap_allocator && Object.keys(s.options).length > 0);
  if (own) notes.push(`${own.allocator} runs with the heap's options (${Object.entries(own.options).map(([k, v]) => `${k} ${String(v)}`).join(', ')}); other allocators with their defaults`);
  lines.push('', 'size/live: the size over the peak live (requested) bytes; Robson and own bound: the worst-case heap sizes for that run (emu run explains them)');
  if (notes.length > 0) lines.push(...notes);
  return lines.join('\n') + '\n';
}

/** Columns padded to their widest cell, the `right` ones aligned right (numbers), the header row included. */
function aligned(rows: string[][], right: number[]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (right.includes(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd()).join('\n');
}
