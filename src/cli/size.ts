/**
 * `emu size SCENARIO|LOG`: the smallest size of a heap on which the scenario (or the field log,
 * imported as `emu import` would) runs without a memory fault on it, for each allocator asked for.
 */
import { existsSync } from 'node:fs';
import { readInput } from '../input/chunks.js';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { UsageError } from '../input/errors.js';
import { suggest } from '../input/yaml.js';
import { readLog } from '../import/read.js';
import { importedScenarioText } from '../import/scenario.js';
import { computeStats } from '../import/stats.js';
import { parseSource, sizeAll, type ScenarioSource } from '../size/jobs.js';
import { formatSize, sizeJson, type SizeReport } from '../size/report.js';
import { allocatorList, checkCompatible, heapToSize, roomFor, scenarioSize } from '../size/search.js';
import { replayTarget } from './import.js';
import { clearProgress, EXIT } from './exit.js';
import { isCI } from './options.js';
import { group } from '../util/text.js';

export interface SizeOptions {
  input: string;
  allocators?: string;
  heap?: string;
  target?: string;
  in?: string;
  format?: string;
  json: boolean;
  jobs: number;
}

export async function sizeCommand(o: SizeOptions): Promise<number> {
  const allocators = allocatorList(o.allocators);
  const { source, heap: heapName, log } = sourceOf(o, allocators[0]);
  const scenario = parseSource(source);
  const heap = heapToSize(scenario, heapName);
  // Every allocator is checked against the heap's steps before anything runs.
  for (const allocator of allocators) checkCompatible(scenario, heap.name, allocator);
  const room = roomFor(scenario, heap);
  const progress = process.stderr.isTTY && !isCI()
    ? (allocator: string, runs: number, failing: number, passing: number | null) =>
        process.stderr.write(`\r\x1b[Ksizing heap ${heap.name}: ${allocator}, run ${runs}, between ${group(failing)} and ${passing === null ? '?' : group(passing)} bytes`)
    : undefined;
  const results = await sizeAll(source, heap.name, allocators, room, o.jobs, progress);
  if (progress) clearProgress();
  const report: SizeReport = {
    input: o.input,
    scenario: scenario.name,
    target: scenario.target.name,
    heap: heap.name,
    log_format: log ? o.format! : null,
    heap_allocator: log ? null : heap.allocator,
    heap_in: heap.place.in,
    scenario_size: scenarioSize(scenario, heap),
    room,
    results,
  };
  process.stdout.write(o.json ? JSON.stringify(sizeJson(report), null, 2) + '\n' : formatSize(report));
  return results.every((r) => r.size !== null) ? EXIT.pass : EXIT.fail;
}

/** The scenario to size: the file itself, or the log imported onto the target (nothing is written). */
function sourceOf(o: SizeOptions, allocator: string): { source: ScenarioSource; heap: string | undefined; log: boolean } {
  const input = resolve(o.input);
  if (!existsSync(input)) throw new UsageError(`${o.input}: no such file`);
  if (/\.ya?ml$/.test(input)) {
    const given = (['target', 'in', 'format'] as const).filter((k) => o[k] !== undefined);
    if (given.length > 0) throw new UsageError(`${given.map((k) => `--${k}`).join(', ')}: for a field log only; a scenario names its own target and places its heaps`);
    return { source: { file: input, text: readInput(input).toString('utf8') }, heap: o.heap, log: false };
  }
  if (!o.format || !o.target) throw new UsageError('emu size LOG needs --format and --target; or give a scenario file (.yaml)');
  if (o.heap !== undefined && o.heap !== 'main') throw new UsageError(`--heap ${o.heap}: an imported log replays on one heap, 'main' (the allocators to try are --allocators)`);
  const target = replayTarget(o.target, allocator);
  if (o.in !== undefined) {
    const places = [...target.regions.map((r) => r.name), ...target.partitions.map((p) => p.name), ...target.sections.map((s) => s.name)];
    if (!places.includes(o.in)) throw new UsageError(`--in: target ${target.name} has no region, partition or section '${o.in}'${suggest(o.in, places)} (${places.join(', ')})`);
  }
  const stats = computeStats(readLog(input, o.format));
  // The scenario lives beside the log, so the replay names the log by its file name.
  const file = join(dirname(input), `${basename(input, extname(input))}.yaml`);
  return { source: { file, text: importedScenarioText({ log: input, format: o.format, allocator, target, in: o.in, logPath: basename(input), stats }) }, heap: 'main', log: true };
}
