/**
 * The JSON Schemas editors check scenarios and targets with (schemas/*.schema.json) against the
 * loaders: every shipped file is valid, broken ones are invalid (and refused by the loader too), and
 * whatever the loader accepts, mutated shipped files included, the schema accepts: a key the loader
 * takes and the schema lacks fails here.
 */
import test from 'ava';
import { Ajv, type ValidateFunction } from 'ajv';
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse } from 'yaml';
import { ALLOCATORS } from '../src/alloc/registry.js';
import { InputError } from '../src/input/errors.js';
import { FAULT_KINDS } from '../src/memory/faults.js';
import { readLog } from '../src/import/read.js';
import { importedScenarioText } from '../src/import/scenario.js';
import { computeStats } from '../src/import/stats.js';
import { parseScenario } from '../src/scenario/parse.js';
import { loadTarget, parseTarget } from '../src/target/load.js';
import { REGION_KINDS } from '../src/target/types.js';
import { REPO } from './helpers/fuzz/common.js';
import { mutateText, textMutation } from './helpers/fuzz/mutate.js';

type Schema = { definitions: Record<string, unknown>; properties: Record<string, unknown> };
const schemaOf = (kind: string): Schema => JSON.parse(readFileSync(join(REPO, 'schemas', `${kind}.schema.json`), 'utf8')) as Schema;
// strictRequired off: the schemas say "one of id or addr" with `required` in branches, as JSON Schema intends.
const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false });
const validateScenario = ajv.compile(schemaOf('scenario'));
const validateTarget = ajv.compile(schemaOf('target'));

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}
const scenarioFiles = yamlFiles(join(REPO, 'scenarios'));
const targetFiles = yamlFiles(join(REPO, 'targets'));

function errorsOf(validate: ValidateFunction, text: string): string[] {
  return validate(parse(text)) ? [] : validate.errors!.map((e) => `${e.instancePath || '/'} ${e.message}`);
}

/** Whether the loader refuses the text with an input error (anything else it throws is a bug). */
function loaderRefuses(load: () => unknown): boolean {
  try {
    load();
    return false;
  } catch (e) {
    if (e instanceof InputError) return true;
    throw e;
  }
}

test('every shipped scenario and target is valid against its schema', (t) => {
  t.true(scenarioFiles.length >= 30);
  t.is(targetFiles.length, 5);
  for (const file of scenarioFiles) t.deepEqual(errorsOf(validateScenario, readFileSync(file, 'utf8')), [], relative(REPO, file));
  for (const file of targetFiles) t.deepEqual(errorsOf(validateTarget, readFileSync(file, 'utf8')), [], relative(REPO, file));
});

const SCENARIO = `target: psp
heaps:
  - {name: main, allocator: tlsf, in: user, size: 64K, options: {sl_log2: 4}}
steps:
  - alloc: {id: a, heap: main, size: 4K}
  - write: {id: a, offset: 8, len: 16, width: 4}
  - free: a
`;

/** Broken scenarios: each one edit of SCENARIO, with the path the schema reports it at. */
const BROKEN_SCENARIOS: [string, string, string][] = [
  ['an unknown top-level key', `${SCENARIO}polcy: std\n`, '/'],
  ['a missing steps list', SCENARIO.slice(0, SCENARIO.indexOf('steps:')), '/'],
  ['an unknown allocator', SCENARIO.replace('allocator: tlsf', 'allocator: tlfs'), '/heaps/0/allocator'],
  ["another allocator's option", SCENARIO.replace('sl_log2: 4', 'min_block: 16'), '/heaps/0/options'],
  ['a bad size literal', SCENARIO.replace('size: 4K', 'size: 4 kB'), '/steps/0'],
  ['a misspelled step', SCENARIO.replace('- free: a', '- fre: a'), '/steps/2'],
  ['a step with two keys', SCENARIO.replace('- free: a', '- {free: a, check: null}'), '/steps/2'],
  ['an access at both id and addr', SCENARIO.replace('{id: a, offset: 8,', '{id: a, addr: 0x08804000,'), '/steps/1'],
  ['a width of 3', SCENARIO.replace('width: 4', 'width: 3'), '/steps/1'],
  ['an unknown fault kind', `${SCENARIO}expect: {faults: [{kind: out-of-memory}]}\n`, '/expect/faults/0/kind'],
];

for (const [what, text, at] of BROKEN_SCENARIOS) {
  test(`a scenario with ${what} is invalid, and the loader refuses it`, (t) => {
    const errors = errorsOf(validateScenario, text);
    t.true(errors.some((e) => e.startsWith(`${at} `)), errors.join('\n'));
    t.true(loaderRefuses(() => parseScenario(join(REPO, 'scenarios', 'broken.yaml'), text, 'test')));
  });
}

test('the unbroken scenario and a $schema key are valid, for the schema and the loader', (t) => {
  const text = `# yaml-language-server: $schema=../schemas/scenario.schema.json\n$schema: ../schemas/scenario.schema.json\n${SCENARIO}`;
  t.deepEqual(errorsOf(validateScenario, text), []);
  t.is(parseScenario(join(REPO, 'scenarios', 'ok.yaml'), text, 'test').heaps[0].options.sl_log2, 4);
  const psp = join(REPO, 'targets', 'psp.yaml');
  const target = `$schema: ../schemas/target.schema.json\n${readFileSync(psp, 'utf8')}`;
  t.deepEqual(errorsOf(validateTarget, target), []);
  t.is(parseTarget(psp, target, 'test').name, 'psp');
});

test('a scenario emu import writes is valid against the schema', (t) => {
  const log = join(REPO, 'test', 'fixtures', 'double-free.mtrace');
  const stats = computeStats(readLog(log, 'mtrace'));
  const text = importedScenarioText({ log, format: 'mtrace', allocator: 'dlmalloc', target: loadTarget(join(REPO, 'targets', 'qnx.yaml')), logPath: 'double-free.mtrace', stats });
  t.regex(text, /replay: \{file: "double-free.mtrace", format: mtrace, heap: main\}/);
  t.deepEqual(errorsOf(validateScenario, text), []);
});

const TARGET = readFileSync(join(REPO, 'targets', 'bare-metal.yaml'), 'utf8');
const BROKEN_TARGETS: [string, string, string][] = [
  ['an unknown top-level key', `${TARGET}\nclock: 1\n`, '/'],
  ['a region without its kind', TARGET.replace(/\n +kind: flash[^\n]*/, ''), '/regions/0'],
  ['an unknown region kind', TARGET.replace('kind: flash', 'kind: dram'), '/regions/0/kind'],
  ['both an MPU and an MMU', TARGET.replace(/protection:\n/, 'protection:\n  mmu: {page: 4K}\n'), '/protection'],
];

for (const [what, text, at] of BROKEN_TARGETS) {
  test(`a target with ${what} is invalid, and the loader refuses it`, (t) => {
    t.not(text, TARGET);
    const errors = errorsOf(validateTarget, text);
    t.true(errors.some((e) => e.startsWith(`${at} `)), errors.join('\n'));
    t.true(loaderRefuses(() => parseTarget(join(REPO, 'targets', 'bare-metal.yaml'), text, 'test')));
  });
}

test("the schemas' word lists are the code's: allocators and their options, fault kinds, region kinds", (t) => {
  const scenario = schemaOf('scenario');
  const heap = (scenario.properties.heaps as { items: { properties: { allocator: { enum: string[] } }; allOf: { if: { properties: { allocator: { const: string } } }; then: { properties: { options: { properties: object } } } }[] } }).items;
  t.deepEqual(heap.properties.allocator.enum, [...ALLOCATORS.keys()]);
  const options = Object.fromEntries(heap.allOf.map((c) => [c.if.properties.allocator.const, Object.keys(c.then.properties.options.properties)]));
  t.deepEqual(options, Object.fromEntries([...ALLOCATORS].map(([name, entry]) => [name, Object.keys(entry.options)])));
  t.deepEqual((scenario.definitions.faultKind as { enum: string[] }).enum, [...FAULT_KINDS]);
  const region = (schemaOf('target').properties.regions as { items: { properties: { kind: { enum: string[] } } } }).items;
  t.deepEqual(region.properties.kind.enum, [...REGION_KINDS]);
});

/**
 * Mutated shipped files (the fuzzer's text mutations, under a fixed seed): whatever the loader
 * accepts, the schema must accept. The schema may be looser (it cannot know the target's regions),
 * never stricter.
 */
const TOKENS = ['0', '-1', '1', '7', '4K', '0x100', 'true', 'null', '{}', '[]', 'multiple', 'check', 'frame', 'default', 'tlsf', 'pool', 'main', 'user', 'ram', '16.67ms', 'kernel', 'none', 'strict'];

function acceptedIsValid(files: string[], load: (file: string, text: string) => unknown, validate: ValidateFunction, seed: number) {
  const texts = files.map((f) => readFileSync(f, 'utf8'));
  let accepted = 0;
  fc.assert(
    fc.property(fc.nat(files.length - 1), fc.array(textMutation, { minLength: 1, maxLength: 2 }), (index, mutations) => {
      const text = mutations.reduce((s, m) => mutateText(s, m, TOKENS), texts[index]);
      if (loaderRefuses(() => load(files[index], text))) return true;
      accepted++;
      const errors = errorsOf(validate, text);
      if (errors.length > 0) throw new Error(`${relative(REPO, files[index])}: the loader accepts, the schema refuses: ${errors.join('; ')}\n${text}`);
      return true;
    }),
    { seed, numRuns: 200 },
  );
  return accepted;
}

test('whatever the scenario loader accepts, the schema accepts (mutated shipped scenarios)', (t) => {
  // psp-game-wasm's module is read on every parse; the other wasm scenarios keep the wasm step.
  const files = scenarioFiles.filter((f) => !f.endsWith('psp-game-wasm.yaml'));
  const accepted = acceptedIsValid(files, (file, text) => parseScenario(file, text, 'fuzz'), validateScenario, 17);
  t.true(accepted >= 30, `only ${accepted} mutated scenarios were accepted: the check saw too few`);
});

test('whatever the target loader accepts, the schema accepts (mutated shipped targets)', (t) => {
  const accepted = acceptedIsValid(targetFiles, (file, text) => parseTarget(file, text, 'fuzz'), validateTarget, 17);
  t.true(accepted >= 30, `only ${accepted} mutated targets were accepted: the check saw too few`);
});

/** Every property name anywhere in a schema. */
function keysOf(schema: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(schema)) for (const item of schema) keysOf(item, into);
  else if (schema !== null && typeof schema === 'object') {
    const properties = (schema as { properties?: unknown }).properties;
    if (properties !== null && typeof properties === 'object') for (const key of Object.keys(properties)) into.add(key);
    for (const value of Object.values(schema)) keysOf(value, into);
  }
  return into;
}

test('docs/scenario-format.md names every key of both schemas', (t) => {
  const doc = readFileSync(join(REPO, 'docs', 'scenario-format.md'), 'utf8');
  const keys = [...keysOf(schemaOf('scenario')), ...keysOf(schemaOf('target'))];
  t.true(keys.length > 100);
  t.deepEqual(keys.filter((key) => !new RegExp(`(^|[^a-z_])${key.replace('$', '\\$')}([^a-z_]|$)`, 'm').test(doc)), []);
});
