/** Test helpers: run scenario text in memory and collect its events. */
import { spawnSync } from 'node:child_process';
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, type RunResult } from '../../src/engine/engine.js';
import { parseScenario } from '../../src/scenario/parse.js';
import type { TraceEvent } from '../../src/trace/schema.js';
import { EventCollector } from '../../src/trace/writer.js';

export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
export const REPO = fileURLToPath(new URL('../../../', import.meta.url));

export function runText(text: string): { result: RunResult; events: TraceEvent[] } {
  const scenario = parseScenario('/virtual/scenario.yaml', text, 'test');
  const collector = new EventCollector();
  const result = run(scenario, { sinks: [collector] });
  return { result, events: collector.events };
}

export function ofType(events: TraceEvent[], type: string): TraceEvent[] {
  return events.filter((e) => e.type === type);
}

/** The folders tempDir made in this test file, removed when its tests are done. */
const made: string[] = [];
test.after.always('remove the temporary folders', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'emu-test-'));
  made.push(dir);
  return dir;
}

export function emu(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) {
  return spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    cwd: options.cwd ?? REPO,
    env: { ...process.env, CI: '', ...options.env },
  });
}
