/** The scenario an imported field log becomes: one heap sized for the log, and a replay step. */
import { group } from '../util/text.js';
import { basename } from 'node:path';
import type { Target } from '../target/types.js';
import type { ImportStats } from './stats.js';

/** Heaps are sized for twice the log's peak live bytes, at least this much. */
export const MIN_HEAP = 64 * 1024;

export interface ImportedScenario {
  log: string;
  format: string;
  allocator: string;
  target: Target;
  /** Where the heap goes; default: see `container`. */
  in?: string;
  /** The log's path as the scenario should name it (relative to the scenario's folder). */
  logPath: string;
  stats: ImportStats;
}

export function heapSize(stats: ImportStats): number {
  return Math.max(MIN_HEAP, Math.ceil((2 * stats.peak_live_bytes) / MIN_HEAP) * MIN_HEAP);
}

/**
 * Where the heap goes unless --in says: the instances section when it is big enough, else the
 * largest partition or RAM region (the layout then places the heap after what already sits there).
 */
export function container(target: Target, needed: number): string {
  const instances = target.sections.find((s) => s.name === '.wrt_instances');
  if (instances && instances.size >= needed) return instances.name;
  const candidates = [...target.partitions.map((p) => ({ name: p.name, size: p.size })), ...target.regions.filter((r) => r.kind === 'ram' && r.cpuMapped).map((r) => ({ name: r.name, size: r.size }))];
  candidates.sort((a, b) => b.size - a.size);
  return candidates[0]?.name ?? target.regions[0].name;
}

/** The scenario's YAML text, with a header that says where it came from and what the log holds. */
export function importedScenarioText(o: ImportedScenario): string {
  const s = o.stats;
  const size = heapSize(s);
  const place = o.in ?? container(o.target, size);
  const target = o.target.name;
  const problems = Object.entries(s.problems).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`);
  const lines = [
    `# Imported by: emu import ${basename(o.log)} --format ${o.format} --target ${target} --heap ${o.allocator}`,
    `# The log: ${group(s.lines)} lines, ${group(s.allocs)} allocations, ${group(s.frees)} frees, ${group(s.reallocs)} reallocs,`,
    `# ${group(s.failed)} refused; peak ${group(s.peak_live_bytes)} bytes live (line ${s.peak_live_bytes_line}), largest request ${group(s.largest_request)} bytes;`,
    `# ${group(s.live_at_end.blocks)} blocks (${group(s.live_at_end.bytes)} bytes) still live at its end${problems.length ? `; problems: ${problems.join(', ')}` : ''}.`,
    `# The heap is twice the peak live bytes; change it, the allocator or the target and run again.`,
    `description: ${JSON.stringify(`Field log ${basename(o.log)} replayed on ${target} with ${o.allocator}`)}`,
    `target: ${target}`,
    // Blocks the program still held when the log ended are the log's, not a finding of the replay.
    `leak_check: ${s.live_at_end.blocks === 0}`,
    `heaps:`,
    `  - {name: main, allocator: ${o.allocator}, in: ${JSON.stringify(place)}, size: ${size}}`,
    `steps:`,
    `  - replay: {file: ${JSON.stringify(o.logPath)}, format: ${o.format}, heap: main}`,
  ];
  return lines.join('\n') + '\n';
}
