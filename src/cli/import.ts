/**
 * `emu import LOG --format F`: a field log's statistics (`--stats`), or a scenario that replays it on
 * a target and allocator. The scenario references the log through a `replay` step: a log of millions
 * of lines is streamed when the scenario runs, never turned into YAML.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { ALLOCATORS } from '../alloc/registry.js';
import { UsageError } from '../input/errors.js';
import { formatBytes } from '../input/literals.js';
import { suggest } from '../input/yaml.js';
import { readLog } from '../import/read.js';
import { computeStats, formatStats, type ImportStats } from '../import/stats.js';
import { group } from '../report/format.js';
import { knownTargets, loadTarget, resolveTarget } from '../target/load.js';
import type { Target } from '../target/types.js';
import { EXIT } from './exit.js';

export interface ImportOptions {
  log: string;
  format: string;
  stats: boolean;
  target?: string;
  heap?: string;
  in?: string;
  out?: string;
  force: boolean;
}

/** Heaps are sized for twice the log's peak live bytes, at least this much. */
const MIN_HEAP = 64 * 1024;

export function importCommand(o: ImportOptions): number {
  const stats = computeStats(readLog(o.log, o.format));
  if (o.stats) {
    process.stdout.write(formatStats(stats, o.format === 'native' ? 'record' : 'line'));
    return EXIT.pass;
  }
  if (!o.target || !o.heap) throw new UsageError('emu import: give --target and --heap (an allocator) to write a scenario, or --stats for the statistics only');
  const targetFile = resolveTarget(o.target, process.cwd());
  if (!targetFile) throw new UsageError(`unknown target '${o.target}'${suggest(o.target, knownTargets())} (known: ${knownTargets().join(', ')}, or a path to a target file)`);
  if (!ALLOCATORS.has(o.heap)) throw new UsageError(`unknown allocator '${o.heap}'${suggest(o.heap, [...ALLOCATORS.keys()])} (available: ${[...ALLOCATORS.keys()].join(', ')})`);
  const target = loadTarget(targetFile);
  const out = resolve(o.out ?? join(dirname(o.log), `${basename(o.log, extname(o.log))}.yaml`));
  if (existsSync(out) && !o.force) throw new UsageError(`${out} exists; pass --force to replace it, or --out for another file`);
  const needed = Math.max(MIN_HEAP, Math.ceil((2 * stats.peak_live_bytes) / MIN_HEAP) * MIN_HEAP);
  const place = o.in ?? container(target, needed);
  const text = scenarioText(o, target.name, place, needed, relative(dirname(out), resolve(o.log)), stats);
  writeFileSync(out, text);
  process.stdout.write(`wrote ${out}: replays ${group(stats.allocs)} allocations, ${group(stats.frees)} frees and ${group(stats.reallocs)} reallocs on ${target.name} with ${o.heap} (${formatBytes(needed)} heap in ${place})\nrun it with: emu run ${relative(process.cwd(), out)}\n`);
  return EXIT.pass;
}

/**
 * Where the heap goes unless --in says: the instances section when it is big enough, else the
 * largest partition or RAM region (the layout then places the heap after what already sits there).
 */
function container(target: Target, needed: number): string {
  const instances = target.sections.find((s) => s.name === '.wrt_instances');
  if (instances && instances.size >= needed) return instances.name;
  const candidates = [...target.partitions.map((p) => ({ name: p.name, size: p.size })), ...target.regions.filter((r) => r.kind === 'ram' && r.cpuMapped).map((r) => ({ name: r.name, size: r.size }))];
  candidates.sort((a, b) => b.size - a.size);
  return candidates[0]?.name ?? target.regions[0].name;
}

function scenarioText(o: ImportOptions, target: string, place: string, size: number, logPath: string, s: ImportStats): string {
  const problems = Object.entries(s.problems).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`);
  const lines = [
    `# Imported by: emu import ${basename(o.log)} --format ${o.format} --target ${target} --heap ${o.heap}`,
    `# The log: ${group(s.lines)} lines, ${group(s.allocs)} allocations, ${group(s.frees)} frees, ${group(s.reallocs)} reallocs,`,
    `# ${group(s.failed)} refused; peak ${group(s.peak_live_bytes)} bytes live (line ${s.peak_live_bytes_line}), largest request ${group(s.largest_request)} bytes;`,
    `# ${group(s.live_at_end.blocks)} blocks (${group(s.live_at_end.bytes)} bytes) still live at its end${problems.length ? `; problems: ${problems.join(', ')}` : ''}.`,
    `# The heap is twice the peak live bytes; change it, the allocator or the target and run again.`,
    `description: ${JSON.stringify(`Field log ${basename(o.log)} replayed on ${target} with ${o.heap}`)}`,
    `target: ${target}`,
    // Blocks the program still held when the log ended are the log's, not a finding of the replay.
    `leak_check: ${s.live_at_end.blocks === 0}`,
    `heaps:`,
    `  - {name: main, allocator: ${o.heap}, in: ${JSON.stringify(place)}, size: ${size}}`,
    `steps:`,
    `  - replay: {file: ${JSON.stringify(logPath)}, format: ${o.format}, heap: main}`,
  ];
  return lines.join('\n') + '\n';
}
