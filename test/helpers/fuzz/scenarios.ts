/**
 * Fuzz kind `scenario`: a seed input (a shipped scenario, or a small scenario on a small target file)
 * with text mutations of the scenario or of its target, run in-process as `emu run` would: parse, run
 * (its trace written and read back). Runs are cut at OP_BUDGET operations: a mutation may well ask
 * for 10^9.
 */
import fc from 'fast-check';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseScenario } from '../../../src/scenario/parse.js';
import { inputOutcome, REPO, runBounded, withScratch } from './common.js';
import { mutateText, textMutation, type TextMutation } from './mutate.js';

export const SMALL_TARGET = `name: fuzz-target
cpu: {arch: arm, clock_hz: 1000000, endian: little, word: 4, alignment: strict}
protection: {mpu: {regions: 8, min_size: 32, rule: armv7m}}
cache: {size: 4K, line: 32, ways: 2, write_back: true}
regions:
  - {name: ram, base: 0x20000000, size: 64K, kind: ram, read: 1, write: 1, bus: 4, cached: true}
  - {name: sram, base: 0x30000000, size: 32K, kind: ram, read: 2, write: 2, bus: 4}
partitions:
  - {name: part, region: ram, offset: 0x1000, size: 16K}
`;

/** The small scenario on SMALL_TARGET (written beside it as fuzz-target.yaml); the main heap's allocator is a parameter. */
export const smallScenario = (allocator = 'tlsf', seed = 7) => `target: ./fuzz-target.yaml
seed: ${seed}
heaps:
  - {name: main, allocator: ${allocator}, in: ram, size: 32K}
  - {name: side, allocator: buddy, in: part, size: 8K}
steps:
  - alloc: {id: a, heap: main, size: 100, align: 8}
  - write: {id: a, offset: 0, len: 64}
  - read: {id: a, offset: 32, len: 8, width: 4}
  - copy: {from: {id: a, offset: 0}, to: {addr: 0x30000000}, len: 16}
  - repeat:
      times: 20
      var: i
      steps:
        - alloc: {id: "b\${i}", heap: side, size: 48}
        - free: "b\${i}"
  - random: {heap: main, count: 200, size: {uniform: [16, 512]}, max_live: 10}
  - realloc: {id: a, size: 300}
  - free: a
  - check
  - sample
expect:
  faults: []
`;

export interface ScenarioSeed {
  file: string;
  text: string;
  /** The small scenario's target file text; null for a shipped scenario, which names its own. */
  target: string | null;
}

/** Seeds: the small scenario on its target file, and every shipped scenario with its own target. */
/**
 * Shipped scenarios too slow for a seed in the fuzz budget: psp-game-wasm's module makes 2.7 million
 * checked accesses (seconds a case, most of the budget under load); the other wasm scenarios keep
 * the wasm step's parsing and running in the fuzz.
 */
const SLOW_SEEDS = ['psp-game-wasm.yaml'];

export function scenarioSeeds(): ScenarioSeed[] {
  const dir = join(REPO, 'scenarios');
  const shipped = readdirSync(dir).filter((f) => f.endsWith('.yaml') && !SLOW_SEEDS.includes(f)).sort().map((f) => ({ file: join(dir, f), text: readFileSync(join(dir, f), 'utf8'), target: null }));
  return [{ file: 'scenario.yaml', text: smallScenario(), target: SMALL_TARGET }, ...shipped];
}

/** Values that have broken parsers before: sizes at the edges, wrong types, YAML oddities. */
const SCENARIO_TOKENS = ['0', '-1', '1', '3', '1.5', '1e9', '4294967296', '9007199254740993', '16G', '0x', '0xFFFFFFFF', '4K', '64M', 'abc', 'null', '~', '[]', '{}', '""', "''", 'true', '*a', '&a x', '${i}', '${j}', '- ', ': ', '{', '[', '#', '\t', '\n', '\n  ', 'tlsf', 'bump', 'pool', 'main', 'ram', 'uniform', 'NaN', '.inf', '-0', '<<'];

export interface ScenarioCase {
  seed: number;
  /** Which file the mutations apply to: the scenario, or (for the small seed) its target. */
  inTarget: boolean;
  mutations: TextMutation[];
}

export const scenarioCase: fc.Arbitrary<ScenarioCase> = fc.record({ seed: fc.nat(), inTarget: fc.boolean(), mutations: fc.array(textMutation, { minLength: 1, maxLength: 4 }) });

export type ScenarioOutcome = 'ran' | 'cut' | 'input-error' | 'usage-error';

/** Runs one case; throws (an internal error) when the outcome is none of the allowed ones. */
export function runScenarioCase(c: ScenarioCase, seeds: ScenarioSeed[]): ScenarioOutcome {
  const seed = seeds[c.seed % seeds.length];
  return withScratch((dir) => {
    let text = seed.text;
    let target = seed.target;
    for (const m of c.mutations) {
      if (c.inTarget && target !== null) target = mutateText(target, m, SCENARIO_TOKENS);
      else text = mutateText(text, m, SCENARIO_TOKENS);
    }
    const file = seed.target === null ? seed.file : join(dir, seed.file);
    if (target !== null) {
      writeFileSync(join(dir, 'fuzz-target.yaml'), target);
      writeFileSync(file, text);
    }
    return inputOutcome(() => runBounded(parseScenario(file, text, 'fuzz'), join(dir, 'run.trace')));
  });
}
