/**
 * The pictures on the command line: `emu report` (one self-contained HTML file), and the files
 * `emu run --chrome` and `emu map --svg` write.
 */
import { dirname, join } from 'node:path';
import { rmSync } from 'node:fs';
import { run } from '../engine/engine.js';
import { scratchDir, settled } from '../harness/temps.js';
import { chromeTrace } from '../picture/chrome.js';
import { htmlReport } from '../picture/html-report.js';
import { mapSvg, scenarioMapInput, type MapInput } from '../picture/svg-map.js';
import { timelineOf } from '../picture/timeline.js';
import { loadScenario } from '../scenario/parse.js';
import { TraceFileWriter } from '../trace/writer.js';
import { EXIT } from './exit.js';
import { checkOutputPath, writeOutput } from './options.js';

/** `--chrome FILE`: the trace of a scenario's run as a Chrome/Perfetto timeline; `announce`: say where (not under --json). */
export function writeChrome(scenarioFile: string, tracePath: string, out: string, announce: boolean): void {
  const clockHz = loadScenario(scenarioFile).target.cpu.clockHz;
  writeOutput(out, chromeTrace(timelineOf(tracePath), clockHz));
  if (announce) process.stdout.write(`timeline: ${out} (open it in ui.perfetto.dev or chrome://tracing)\n`);
}

/** `--svg FILE`: the memory map as a picture. */
export function writeMapSvg(input: MapInput, out: string): void {
  writeOutput(out, mapSvg(input));
}

/** A scratch folder for a trace nobody asked to keep, removed after `use`. */
export async function withScratchTrace<T>(use: (tracePath: string) => T | Promise<T>): Promise<T> {
  const dir = scratchDir();
  try {
    return await use(join(dir, 'run.trace'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
    settled(dir);
  }
}

/** `emu report S [-o FILE]`: runs the scenario (its golden is not compared) and writes the report. */
export async function reportCommand(file: string, out: string | undefined): Promise<number> {
  const scenario = loadScenario(file);
  // Beside the scenario, as import and repro write beside their input.
  const target = out ?? join(dirname(file), `${scenario.name}-report.html`);
  checkOutputPath('-o', target);
  const html = await withScratchTrace((tracePath) => {
    const writer = new TraceFileWriter(tracePath);
    try {
      run(scenario, { sinks: [writer] });
    } finally {
      writer.close();
    }
    return htmlReport({ timeline: timelineOf(tracePath), map: mapSvg(scenarioMapInput(scenario)), scenario });
  });
  writeOutput(target, html);
  process.stdout.write(`report: ${target}\n`);
  return EXIT.pass;
}
