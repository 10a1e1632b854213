/**
 * Fuzz kind `cli`: command lines for every command, built from a grammar (each command's positionals
 * and options) with values drawn from pools of good, bad and edge values (numbers, ranges, paths,
 * names), options written in every form yargs reads (`--x v`, `--x=v`, `--x` with its value missing,
 * repeated, negated) and some arguments no command takes. They run in-process through the command
 * line's own entry (commands.ts: main, reportError) on a fresh scratch project; a few also through
 * the real `emu` binary (main.ts, under the interrupt supervisor where the command is). Every outcome
 * must be exit 0, 1 or 2 with no stack trace, never 3 (an internal error).
 *
 * Every path a command line names is absolute and inside the scratch project (or names a target or
 * allocator): a command line must never reach the repository's own scenarios or goldens, which
 * `emu test --update` run from the repository would rewrite.
 */
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { main, reportError } from '../../../src/cli/commands.js';
import { checkScenario } from '../../../src/harness/check.js';
import { captured, CLI, REPO, withScratch } from './common.js';
import { someOf } from './mutate.js';

const SMALL = `target: bare-metal
seed: 1
heaps: [{name: main, allocator: first-fit, in: {in: sram, size: 4K}}]
steps:
  - alloc: {id: a, heap: main, size: 64}
  - write: {id: a, len: 64}
  - free: a
`;

/** Faults (oom) under most seeds: something for repro and --until-fault to find. */
const OOM = `target: bare-metal
seed: 6
heaps: [{name: main, allocator: first-fit, in: {in: sram, size: 1300}}]
steps:
  - random: {heap: main, count: 12, size: {uniform: [64, 512]}, max_live: 4, free_order: fifo}
`;

/** For `emu rebase`: a static layout with components ui and net, a dynamic one where ghost has no segment yet. */
const LAYOUT = `target: psp
layout:
  arena: {in: user, size: 1M}
  guard: 4K
  components: [{name: ui, size: 64K}, {name: net, size: 128K}]
steps: [check]
`;
const DYNAMIC = `target: qnx
layout:
  strategy: dynamic
  arena: {in: wasm_memory, size: 1M}
  guard: 4K
  align: 64K
  components: [{name: ui, size: 64K}, {name: ghost}]
steps: [check]
`;

/** Hand-made modules (sections under 128 bytes): good for the decoder, bad for the rest. */
const HEADER = [0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0];
const section = (id: number, bytes: number[]) => [id, bytes.length, ...bytes];
const text = (s: string) => [s.length, ...Buffer.from(s)];
const MODULES: Record<string, number[]> = {
  'nomem.wasm': HEADER,
  // Its memory starts at 100 pages: more than any segment here.
  'big.wasm': [...HEADER, ...section(5, [1, 0, 100])],
  // Decodes, but does not validate: i32.add with nothing on the stack.
  'invalid.wasm': [...HEADER, ...section(1, [1, 0x60, 0, 0]), ...section(3, [1, 0]), ...section(5, [1, 0, 1]), ...section(10, [1, 3, 0, 0x6a, 0x0b])],
  // A data segment at an imported global's offset, which emu does not rebase.
  'global-data.wasm': [...HEADER, ...section(2, [1, ...text('env'), ...text('g'), 3, 0x7f, 0]), ...section(5, [1, 0, 1]), ...section(11, [1, 0, 0x23, 0, 0x0b, 2, 0x41, 0x42])],
};

const LOG = '= Start\n@ ./prog:[0x401000] + 0x10010 0x20\n@ ./prog:[0x401100] + 0x10050 0x40\n@ ./prog:[0x401100] - 0x10010\n= End\n';

/** The scratch project a command line runs on: scenarios with a golden, a log, traces, a folder. */
function makeProject(dir: string): void {
  mkdirSync(join(dir, 'scenarios'));
  mkdirSync(join(dir, 'folder'));
  writeFileSync(join(dir, 'scenarios', 'small.yaml'), SMALL);
  writeFileSync(join(dir, 'scenarios', 'oom.yaml'), OOM);
  checkScenario(join(dir, 'scenarios', 'small.yaml'), { update: true, ci: false });
  copyFileSync(join(dir, 'golden', 'small.trace'), join(dir, 'run.trace'));
  const trace = readFileSync(join(dir, 'run.trace'));
  writeFileSync(join(dir, 'cut.trace'), trace.subarray(0, trace.length - 5));
  writeFileSync(join(dir, 'field.mtrace'), LOG);
  copyFileSync(join(dir, 'scenarios', 'oom.yaml'), join(dir, 'loose.yml'));
  // emu rebase's, in a folder of their own (emu test of scenarios/ must not run them).
  mkdirSync(join(dir, 'wasm'));
  writeFileSync(join(dir, 'wasm', 'layout.yaml'), LAYOUT);
  writeFileSync(join(dir, 'wasm', 'dynamic.yaml'), DYNAMIC);
  const overflow = readFileSync(join(REPO, 'wasm', 'overflow.wasm'));
  writeFileSync(join(dir, 'wasm', 'overflow.wasm'), overflow);
  writeFileSync(join(dir, 'wasm', 'cut.wasm'), overflow.subarray(0, overflow.length - 9));
  for (const [name, bytes] of Object.entries(MODULES)) writeFileSync(join(dir, 'wasm', name), Uint8Array.from(bytes));
}

/** The project's files by relative path (null for a folder), made once: recording its golden every case was most of a case's time. */
let template: Map<string, Buffer | null> | undefined;

function project(dir: string): void {
  template ??= withScratch((scratch) => {
    makeProject(scratch);
    const files = new Map<string, Buffer | null>();
    for (const entry of readdirSync(scratch, { recursive: true, withFileTypes: true }).sort((a, b) => join(a.parentPath, a.name).localeCompare(join(b.parentPath, b.name)))) {
      const path = join(entry.parentPath, entry.name);
      files.set(relative(scratch, path), entry.isDirectory() ? null : readFileSync(path));
    }
    return files;
  });
  for (const [path, bytes] of template) {
    if (bytes === null) mkdirSync(join(dir, path), { recursive: true });
    else writeFileSync(join(dir, path), bytes);
  }
}

/** A value of an option or a positional: text as typed, or a path in the project (`@name`). */
type Value = string;

const at = (name: string): Value => `@${name}`;

/** Paths in the project, good and bad; none leaves it. */
const SCENARIOS = [at('scenarios/small.yaml'), at('scenarios/oom.yaml'), at('loose.yml'), at('field.mtrace'), at('missing.yaml'), at('folder'), at('run.trace')];
const FOLDERS = [at('scenarios'), at('folder'), at(''), at('scenarios/small.yaml'), at('nowhere')];
const TRACES = [at('run.trace'), at('cut.trace'), at('golden/small.trace'), at('scenarios/small.yaml'), at('missing.trace'), at('folder'), at('field.mtrace')];
const LOGS = [at('field.mtrace'), at('scenarios/small.yaml'), at('run.trace'), at('missing.log'), at('folder'), 'psp'];
const INPUTS = [at('scenarios/small.yaml'), at('scenarios/oom.yaml'), at('field.mtrace'), at('run.trace'), at('missing.log'), at('folder'), 'bare-metal', 'psp', 'nope'];
const OUTPUTS = [at('new.yaml'), at('new.trace'), at('folder'), at('nowhere/x.yaml'), at('scenarios/small.yaml'), at('run.trace/x'), '', at('golden/small.trace')];

const NUMBERS = ['0', '1', '2', '3', '7', '-1', 'abc', '1.5', '4294967295', '4294967296', '1e3', ' 3', '0x10', '', '99999999999999999999', '+1', '3 '];
const RANGES = ['1..3', '0..0', '3..1', 'a..b', '1..', '..', '5', '4294967295..4294967295', '4294967296..4294967297', '9007199254740992..9007199254740993', '0..2', '1 ..2', '-1..2'];
const SHARDS = ['1/1', '1/2', '2/2', '0/1', '3/2', '1/0', 'x', '1/', '/2', '99999999999999999999/99999999999999999999'];
const FORMATS = ['mtrace', 'android', 'csapp', 'native', 'bogus', ''];
const TARGETS = ['bare-metal', 'psp', 'nope', '', at('scenarios/small.yaml'), at('folder'), at('missing.yaml')];
const ALLOCATOR = ['first-fit', 'tlsf', 'nope', '', 'pool', 'bump', 'wasm'];
const ALLOCATORS = ['first-fit', 'tlsf,buddy', 'nope', '', ',', 'first-fit,first-fit', 'tlsf,,buddy', 'pool'];
const HEAPS = ['main', 'nope', '', 'first-fit'];
const PLACES = ['sram', '.wrt_instances', 'nope', ''];
const REPORTERS = ['text', 'json', 'junit', 'xml', ''];
const MODULE_FILES = [at('wasm/overflow.wasm'), at('wasm/nomem.wasm'), at('wasm/big.wasm'), at('wasm/invalid.wasm'), at('wasm/global-data.wasm'), at('wasm/cut.wasm'), at('field.mtrace'), at('missing.wasm'), at('folder')];
const LAYOUTS = [at('wasm/layout.yaml'), at('wasm/dynamic.yaml'), at('scenarios/small.yaml'), at('field.mtrace'), at('missing.yaml'), at('folder'), at('wasm/overflow.wasm')];
const COMPONENTS = ['ui', 'net', 'ghost', 'nope', ''];
const WASM_OUTPUTS = [at('out.wasm'), at('out.json'), at('folder'), at('nowhere/x.wasm'), at('wasm/overflow.wasm'), ''];
/** Boolean options: present, negated, or given a value. */
const FLAG = null;

interface OptionSpec {
  name: string;
  /** The values drawn for it; FLAG for a boolean. */
  values: readonly Value[] | typeof FLAG;
}

interface CommandSpec {
  name: string;
  /** Each positional's pool; `rest` pools may repeat (run's scenarios, test's paths). */
  positionals: (readonly Value[])[];
  rest?: readonly Value[];
  options: OptionSpec[];
  /** What a complete command line gives (`emu import` needs a format, ...), for cases that go past the checks. */
  complete?: Record<string, Value>;
}

const flag = (name: string): OptionSpec => ({ name, values: FLAG });

/** The commands as commands.ts declares them, with their positionals' and options' pools. */
const COMMANDS: CommandSpec[] = [
  {
    name: 'run',
    positionals: [SCENARIOS],
    rest: SCENARIOS,
    options: [flag('update'), { name: 'seed', values: NUMBERS }, flag('json'), { name: 'trace', values: OUTPUTS }, { name: 'chrome', values: OUTPUTS }, { name: 'seeds', values: RANGES }, flag('until-fault')],
  },
  { name: 'test', positionals: [FOLDERS], rest: FOLDERS, options: [flag('update'), { name: 'jobs', values: NUMBERS }, { name: 'shard', values: SHARDS }, { name: 'reporter', values: REPORTERS }] },
  { name: 'inspect', positionals: [TRACES], options: [flag('ndjson')] },
  { name: 'diff', positionals: [TRACES, TRACES], options: [] },
  { name: 'map', positionals: [INPUTS], options: [{ name: 'svg', values: OUTPUTS }] },
  { name: 'report', positionals: [SCENARIOS], options: [{ name: 'out', values: OUTPUTS }] },
  {
    name: 'import',
    positionals: [LOGS],
    complete: { format: 'mtrace', target: 'bare-metal', heap: 'first-fit' },
    options: [{ name: 'format', values: FORMATS }, flag('stats'), { name: 'target', values: TARGETS }, { name: 'heap', values: ALLOCATOR }, { name: 'in', values: PLACES }, { name: 'out', values: OUTPUTS }, flag('force')],
  },
  {
    name: 'repro',
    positionals: [INPUTS],
    complete: { format: 'mtrace', target: 'bare-metal', heap: 'first-fit' },
    options: [{ name: 'format', values: FORMATS }, { name: 'target', values: TARGETS }, { name: 'heap', values: ALLOCATOR }, flag('shrink'), { name: 'seed', values: NUMBERS }, { name: 'out', values: OUTPUTS }, flag('force')],
  },
  {
    name: 'size',
    positionals: [INPUTS],
    options: [{ name: 'allocators', values: ALLOCATORS }, { name: 'heap', values: HEAPS }, { name: 'target', values: TARGETS }, { name: 'in', values: PLACES }, { name: 'format', values: FORMATS }, flag('json'), { name: 'jobs', values: NUMBERS }],
  },
  {
    name: 'rebase',
    positionals: [MODULE_FILES],
    complete: { scenario: at('wasm/layout.yaml'), component: 'ui' },
    options: [{ name: 'scenario', values: LAYOUTS }, { name: 'component', values: COMPONENTS }, { name: 'o', values: WASM_OUTPUTS }, { name: 'out', values: WASM_OUTPUTS }, { name: 'relocations', values: WASM_OUTPUTS }],
  },
];

/** Arguments no command takes, or that are special to the parser. */
const STRAYS = ['--bogus', '-x', '--help', '-h', '--version', '--', 'extra', '--seed', '--=', '-', '--no-such', '--json=maybe'];

/** How an option is written: mostly as people do, sometimes wrong. */
type Form = 'separate' | 'equals' | 'missing' | 'negated' | 'twice';
const FORMS: readonly Form[] = [...Array<Form>(8).fill('separate'), 'equals', 'equals', 'missing', 'negated', 'twice'];

export interface CliCase {
  command: number;
  /** Each positional's draw; how many are written (some missing, some extra) is `positionalCount`. */
  positionals: number[];
  positionalCount: number;
  /** With the options the command needs (its `complete` ones) first. */
  complete: boolean;
  options: { option: number; value: number; form: number }[];
  strays: { at: number; stray: number }[];
  /** Also through the real binary (a child process: slow, so a few cases only). */
  child: boolean;
}

export const cliCase: fc.Arbitrary<CliCase> = fc.record({
  command: fc.nat(),
  // Half of them the pool's first, good, value.
  positionals: fc.array(fc.oneof(fc.constant(0), fc.nat()), { minLength: 3, maxLength: 3 }),
  positionalCount: fc.oneof({ arbitrary: fc.constant(-1), weight: 12 }, { arbitrary: fc.integer({ min: 0, max: 3 }), weight: 1 }),
  complete: fc.boolean(),
  options: fc.array(fc.record({ option: fc.nat(), value: fc.nat(), form: fc.nat() }), { maxLength: 4 }),
  strays: someOf(fc.record({ at: fc.nat(), stray: fc.nat() }), 2, 4, 1),
  child: fc.oneof({ arbitrary: fc.constant(false), weight: 24 }, { arbitrary: fc.constant(true), weight: 1 }),
});

/** The case's command line, its paths in the project at `dir`. */
export function argvOf(c: CliCase, dir: string): string[] {
  const spec = COMMANDS[c.command % COMMANDS.length];
  const path = (v: Value) => (v.startsWith('@') ? join(dir, v.slice(1)) : v);
  const pick = <T>(pool: readonly T[], n: number) => pool[n % pool.length];
  const positionals: string[] = [];
  // -1: as many as the command takes; else that many (none, too few, too many).
  const count = c.positionalCount < 0 ? spec.positionals.length : c.positionalCount;
  for (let i = 0; i < count; i++) {
    const pool = spec.positionals[i] ?? spec.rest ?? SCENARIOS;
    positionals.push(path(pick(pool, c.positionals[i % c.positionals.length] + i)));
  }
  // `emu test` with no path runs the folder scenarios/ of the working folder: the repository's.
  if (spec.name === 'test' && positionals.length === 0) positionals.push(path(FOLDERS[0]));
  // Each option once (a later draw replaces an earlier one), unless its form repeats it.
  const options = new Map<string, string[]>();
  if (c.complete) for (const [name, value] of Object.entries(spec.complete ?? {})) options.set(name, [`--${name}`, path(value)]);
  for (const o of c.options) {
    if (spec.options.length === 0) break;
    const option = pick(spec.options, o.option);
    const value = option.values === FLAG ? pick(['true', 'false', 'yes', ''], o.value) : path(pick(option.values, o.value));
    const form = pick(FORMS, o.form);
    const name = `--${option.name}`;
    let written: string[];
    if (option.values === FLAG) written = [form === 'negated' ? `--no-${option.name}` : form === 'equals' ? `${name}=${value}` : name];
    else if (form === 'equals') written = [`${name}=${value}`];
    else if (form === 'missing') written = [name];
    else if (form === 'twice') written = [name, value, name, path(pick(option.values, o.value + 1))];
    else written = [name, value];
    options.set(option.name, written);
  }
  // emu rebase writes MODULE.COMPONENT.wasm in the working folder unless told where: in-process, the repository.
  if (spec.name === 'rebase' && !options.has('o') && !options.has('out')) options.set('o', ['-o', path(at('out.wasm'))]);
  const argv = [spec.name, ...positionals, ...[...options.values()].flat()];
  for (const s of c.strays) argv.splice(1 + (s.at % argv.length), 0, pick(STRAYS, s.stray));
  return argv;
}

export type CliOutcome = `exit ${0 | 1 | 2}` | `child exit ${0 | 1 | 2}`;

/** Checks an exit code and what was printed; throws on an internal error. */
function checked(code: number | null, stderr: string, argv: string[], where: string): 0 | 1 | 2 {
  if (code !== 0 && code !== 1 && code !== 2) throw new Error(`${where}: exit ${code} for emu ${JSON.stringify(argv)}\n${stderr}`);
  if (/internal error|\n\s+at /.test(stderr)) throw new Error(`${where}: a stack trace for emu ${JSON.stringify(argv)}\n${stderr}`);
  if (code === 2 && !/^(emu: \S|\S.*:\d+:\d+: error: \S)/m.test(stderr)) throw new Error(`${where}: exit 2 without a message for emu ${JSON.stringify(argv)}: ${JSON.stringify(stderr)}`);
  return code;
}

export async function runCliCase(c: CliCase): Promise<CliOutcome> {
  const code = await withScratch(async (dir) => {
    project(dir);
    const argv = argvOf(c, dir);
    const r = await captured(() => main(argv).catch(reportError));
    return checked(r.value, r.stderr, argv, 'in-process');
  });
  if (!c.child) return `exit ${code}`;
  return withScratch(async (dir) => {
    project(dir);
    const argv = argvOf(c, dir);
    const r = spawnSync(process.execPath, [CLI, ...argv], { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: '' }, timeout: 120_000 });
    if (r.error) throw r.error;
    return `child exit ${checked(r.status, r.stderr, argv, 'emu binary')}` as const;
  });
}
