/**
 * `emu rebase MODULE.wasm --scenario S --component NAME [-o OUT.wasm] [--relocations OUT.json]`: the
 * module rewritten so that its memory is the component's segment of the scenario's arena (see
 * src/wasm/rebase.ts), validated by Binaryen and written; the relocation table lists every
 * instruction rewritten, by function and byte offset in the input module.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { FileError, UsageError } from '../input/errors.js';
import { buildLayout } from '../layout/layout.js';
import { loadScenario } from '../scenario/parse.js';
import { formatBytes, group, hex } from '../util/text.js';
import { readModule, WasmFormatError } from '../wasm/decode.js';
import { PAGE, RebaseError, rebaseModule, type Placement, type RebaseResult } from '../wasm/rebase.js';
import { EXIT } from './exit.js';
import { checkOutputPath, writeOutput } from './options.js';

export interface RebaseOptions {
  scenario: string;
  component: string;
  out?: string;
  relocations?: string;
}

/** The relocation table as `--relocations` writes it. */
export function relocationTable(module: string, place: Placement, result: RebaseResult): Record<string, unknown> {
  return {
    format: 'emu-relocations',
    version: 1,
    module,
    component: place.component,
    arena: { base: place.arenaBase, size: place.arenaSize, memory: 'emu.arena', pages: Math.ceil(place.arenaSize / PAGE) },
    segment: { base: place.segmentBase, size: place.segmentSize, shift: result.shift, initial_pages: result.initialPages, max_pages: result.maxPages },
    relocations: result.relocations,
  };
}

/** Where the component's segment and the arena are in the scenario's layout. */
export function placementOf(scenarioFile: string, component: string): Placement {
  const scenario = loadScenario(scenarioFile);
  const layout = buildLayout(scenario);
  if (layout.failure) throw new UsageError(`${scenarioFile}: the layout fails (${layout.failure.kind}, line ${layout.failure.line}): ${layout.failure.detail}`);
  const segments = layout.placed.filter((p) => p.what === 'segment');
  const segment = segments.find((p) => p.name === component);
  const unplaced = scenario.layout?.components.some((c) => c.name === component);
  if (!segment && unplaced) throw new UsageError(`${scenarioFile}: component ${component} has no segment at the start (its dynamic layout places it with a segment step); emu rebase needs a segment the layout places`);
  if (!segment) throw new UsageError(`${scenarioFile} has no component '${component}'${segments.length ? ` (components: ${segments.map((s) => s.name).join(', ')})` : ' (it has no layout components)'}`);
  const arena = layout.placed.find((p) => p.what === 'arena')!;
  return { component, arenaBase: arena.addr, arenaSize: arena.size, segmentBase: segment.addr, segmentSize: segment.size };
}

export async function rebaseCommand(module: string, options: RebaseOptions): Promise<number> {
  // The command line's check of repeated options lets `scenario` through (emu run's positionals go by that name).
  if (Array.isArray(options.scenario)) throw new UsageError(`--scenario is given ${options.scenario.length} times; give it once`);
  if (!existsSync(module) || statSync(module).isDirectory()) throw new UsageError(`no module file ${module}`);
  const bytes = new Uint8Array(readFileSync(module));
  try {
    readModule(bytes);
  } catch (e) {
    if (e instanceof WasmFormatError) throw new FileError(`${module}: ${e.message}`);
    throw e;
  }
  const out = options.out ?? `${basename(module, extname(module))}.${options.component}.wasm`;
  checkOutputPath('-o', out);
  if (options.relocations !== undefined) checkOutputPath('--relocations', options.relocations);
  const place = placementOf(options.scenario, options.component);
  const binaryen = (await import('binaryen')).default;
  let result: RebaseResult;
  try {
    result = rebaseModule(binaryen, bytes, place);
  } catch (e) {
    if (e instanceof RebaseError || e instanceof WasmFormatError) throw new FileError(`${module}: ${e.message}`);
    throw e;
  }
  writeOutput(out, result.binary);
  if (options.relocations !== undefined) writeOutput(options.relocations, JSON.stringify(relocationTable(module, place, result), null, 2) + '\n');
  const count = (change: string) => result.relocations.filter((r) => r.change === change).length;
  const lines = [
    `rebased ${module} into segment ${place.component} (${hex(place.segmentBase)}, ${formatBytes(place.segmentSize)}; ${group(result.shift)} bytes into the arena at ${hex(place.arenaBase)})`,
    `  memory: imported as emu.arena (${Math.ceil(place.arenaSize / PAGE)} pages); the module's own pages: ${result.initialPages} at the start, at most ${result.maxPages}`,
    `  rewritten: ${result.relocations.length} (${count('constant')} constant addresses, ${count('offset')} static offsets, ${count('operand')} bulk-memory operands, ${count('replaced')} memory.size/grow, ${count('data-offset')} data segments)`,
    `  wrote ${out} (${group(result.binary.length)} bytes)${options.relocations ? ` and ${options.relocations}` : ''}`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  return EXIT.pass;
}
