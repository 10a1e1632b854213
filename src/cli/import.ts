/**
 * `emu import LOG --format F`: a field log's statistics (`--stats`), or a scenario that replays it on
 * a target and allocator. The scenario references the log through a `replay` step: a log of millions
 * of lines is streamed when the scenario runs, never turned into YAML.
 */
import { formatBytes, group } from '../util/text.js';
import { existsSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { ALLOCATORS } from '../alloc/registry.js';
import { checkTargetFits } from '../layout/layout.js';
import { UsageError } from '../input/errors.js';
import { suggest } from '../input/yaml.js';
import { readLog } from '../import/read.js';
import { container, heapSize, importedScenarioText } from '../import/scenario.js';
import { computeStats, formatStats } from '../import/stats.js';
import { knownTargets, loadTarget, resolveTarget } from '../target/load.js';
import type { Target } from '../target/types.js';
import { EXIT } from './exit.js';
import { checkOutputPath, writeOutput } from './options.js';

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

/** The target a log is replayed on, checked with the allocator it is replayed with. */
export function replayTarget(target: string, allocator: string): Target {
  const file = resolveTarget(target, process.cwd());
  if (!file) throw new UsageError(`unknown target '${target}'${suggest(target, knownTargets())} (known: ${knownTargets().join(', ')}, or a path to a target file)`);
  if (!ALLOCATORS.has(allocator)) throw new UsageError(`unknown allocator '${allocator}'${suggest(allocator, [...ALLOCATORS.keys()])} (available: ${[...ALLOCATORS.keys()].join(', ')})`);
  return checkTargetFits(loadTarget(file));
}

export function importCommand(o: ImportOptions): number {
  const stats = computeStats(readLog(o.log, o.format));
  if (o.stats) {
    process.stdout.write(formatStats(stats, o.format === 'native' ? 'record' : 'line'));
    return EXIT.pass;
  }
  if (!o.target || !o.heap) throw new UsageError('emu import: give --target and --heap (an allocator) to write a scenario, or --stats for the statistics only');
  const target = replayTarget(o.target, o.heap);
  const out = resolve(o.out ?? join(dirname(o.log), `${basename(o.log, extname(o.log))}.yaml`));
  if (existsSync(out) && !o.force) throw new UsageError(`${out} exists; pass --force to replace it, or --out for another file`);
  const needed = heapSize(stats);
  const place = o.in ?? container(target, needed);
  checkOutputPath('--out', out);
  writeOutput(out, importedScenarioText({ log: o.log, format: o.format, allocator: o.heap, target, in: place, logPath: relative(dirname(out), resolve(o.log)), stats }));
  process.stdout.write(`wrote ${out}: replays ${group(stats.allocs)} allocations, ${group(stats.frees)} frees and ${group(stats.reallocs)} reallocs on ${target.name} with ${o.heap} (${formatBytes(needed)} heap in ${place})\nrun it with: emu run ${relative(process.cwd(), out)}\n`);
  return EXIT.pass;
}
