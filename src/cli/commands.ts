/**
 * The emu commands (yargs), loaded by main.ts once it knows a command runs. Exit codes: 0 passed; 1 a
 * regression, failed expectation or golden mismatch; 2 bad input or usage (file:line:col, no stack
 * trace); 3 an internal error.
 */
import yargs from 'yargs';
import { NameClash } from '../harness/names.js';
import { FileError, InputError, UsageError } from '../input/errors.js';
import { EXIT } from './exit.js';
import { FORMATS } from '../import/read.js';
import { closest } from '../util/text.js';
// Only run's module is loaded here; the other commands' modules are loaded when they run, so that a
// run does not pay for the pictures, the size search or the rebase.
import { runCommand } from './run.js';
import { defaultAllocators } from '../size/search.js';
import { parseReporters, wholeNumber } from './options.js';
import { MAX_SEED } from '../scenario/types.js';

const seedOption = (typed: string | undefined) => wholeNumber('--seed', typed, 0, MAX_SEED);
const jobsOption = (typed: string) => wholeNumber('--jobs', typed, 1)!;

/** The commands, as `emu --help` lists them (an unknown one is matched against these). */
const COMMANDS = ['run', 'test', 'inspect', 'diff', 'map', 'report', 'import', 'repro', 'size', 'rebase'];

/** The options of the command being parsed (with their aliases), known once its builder has run. */
let commandOptions: { key: Record<string, unknown> } | null = null;

/** Records the options a command's builder declared, for the suggestion when a flag is mistyped. */
function learned<Y>(y: Y): Y {
  commandOptions = (y as { getOptions(): { key: Record<string, unknown> } }).getOptions();
  return y;
}

/**
 * yargs says `Unknown argument: updat`; emu names the flag as typed and the nearest one the command
 * has (`unknown option --updat; did you mean --update?`), or the nearest command.
 */
function unknownWithSuggestion(message: string, argv: string[]): string | null {
  const m = /^Unknown arguments?: (.+)$/.exec(message);
  if (!m) return null;
  const parts = m[1].split(', ').map((name) => {
    const typed = argv.find((a) => a === `--${name}` || a.startsWith(`--${name}=`) || a === `-${name}` || a.startsWith(`-${name}=`));
    if (typed !== undefined) {
      const flag = typed.split('=')[0];
      const nearest = closest(name, Object.keys(commandOptions?.key ?? {}));
      return `unknown option ${flag}${nearest ? `; did you mean ${nearest.length === 1 ? '-' : '--'}${nearest}?` : ''}`;
    }
    if (commandOptions === null && name === argv[0]) {
      const nearest = closest(name, COMMANDS);
      return `unknown command ${name}${nearest ? `; did you mean ${nearest}?` : ''} (commands: ${COMMANDS.join(', ')})`;
    }
    return `unexpected argument ${name}`;
  });
  return parts.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  argv = withoutEndOfOptions(argv);
  commandOptions = null;
  let code: number = EXIT.pass;
  const done = (c: number) => {
    code = c;
  };
  await yargs(argv)
    .scriptName('emu')
    .usage('$0 <command> [options]\n\nA deterministic, cycle-approximate emulator of embedded memory systems.')
    .command(
      'run <scenario..>',
      'run scenarios, print their summaries and compare them with their goldens',
      (y) => learned(
        y
          .positional('scenario', { type: 'string', array: true, demandOption: true, describe: 'scenario files' })
          .option('update', { alias: 'u', type: 'boolean', default: false, describe: 'write the golden trace and summary (never in CI)' })
          .option('seed', { type: 'string', describe: 'override the scenario seed (the golden is then not compared)' })
          .option('json', { type: 'boolean', default: false, describe: 'print the results as JSON' })
          .option('trace', { alias: 'o', type: 'string', describe: 'also write the trace to this file (one scenario only)' })
          .option('chrome', { alias: 'perfetto', type: 'string', describe: 'also write the run as a Chrome/Perfetto timeline (JSON) to this file (one scenario only)' })
          .option('seeds', { type: 'string', describe: 'run one scenario under seeds A..B instead (no golden)' })
          .option('until-fault', { type: 'boolean', default: false, describe: 'with --seeds: stop at the first seed that faults and print the command that replays it' })),
      async (args) => done(await runCommand(args.scenario as string[], { ...args, seed: seedOption(args.seed), untilFault: args['until-fault'] })),
    )
    .command(
      'test [paths..]',
      'run every scenario against its golden (the CI command)',
      (y) => learned(
        y
          .positional('paths', { type: 'string', array: true, default: ['scenarios'], describe: 'scenario files, folders (searched recursively for .yaml and .yml) or globs' })
          .option('update', { alias: 'u', type: 'boolean', default: false, describe: 'rewrite the goldens that differ (never in CI)' })
          .option('jobs', { alias: 'j', type: 'string', default: '1', describe: 'scenarios run in parallel' })
          .option('shard', { type: 'string', describe: 'run only shard K of N, as K/N' })
          // Not an array option: that would take the paths after it (`--reporter json scenarios`) as reporters.
          .option('reporter', { type: 'string', default: 'text', describe: 'text, json or junit, to stdout or with =FILE to a file; give it several times for several reports' })),
      async (args) => done(await (await import('./test.js')).testCommand(args.paths as string[], { update: args.update, shard: args.shard, jobs: jobsOption(args.jobs), reporters: parseReporters([args.reporter].flat()) })),
    )
    .command(
      'inspect <trace>',
      'decode a trace',
      (y) => learned(y.positional('trace', { type: 'string', demandOption: true }).option('ndjson', { type: 'boolean', default: false, describe: 'one JSON event a line' })),
      async (args) => done((await import('./trace-commands.js')).inspectCommand(args.trace, args.ndjson)),
    )
    .command(
      'diff <a> <b>',
      'compare two traces: the first differing event and the changed metrics',
      (y) => learned(y.positional('a', { type: 'string', demandOption: true }).positional('b', { type: 'string', demandOption: true })),
      async (args) => done((await import('./trace-commands.js')).diffCommand(args.a, args.b)),
    )
    .command(
      'map <input>',
      'print the memory map of a target, or the layout of a scenario',
      (y) => learned(
        y
          .positional('input', { type: 'string', demandOption: true, describe: 'a target name or file, or a scenario file' })
          .option('pack', { type: 'boolean', default: false, describe: "suggest an order and alignment of a static layout's components that wastes fewer bytes (the scenario is not changed)" })
          .option('svg', { type: 'string', describe: 'also write the map as an SVG picture to this file' })),
      async (args) => done((await import('./map.js')).mapCommand(args.input, args.pack, args.svg)),
    )
    .command(
      'report <scenario>',
      'run a scenario and write one self-contained HTML report: summary, memory map, heap usage, alloc cycles, frames, DMA, faults',
      (y) => learned(y.positional('scenario', { type: 'string', demandOption: true, describe: 'the scenario file' }).option('o', { alias: 'out', type: 'string', describe: 'the HTML file (default: NAME-report.html beside the scenario)' })),
      async (args) => done(await (await import('./report.js')).reportCommand(args.scenario, args.o)),
    )
    .command(
      'import <log>',
      'read a field allocation log: its statistics, or a scenario that replays it',
      (y) => learned(
        y
          .positional('log', { type: 'string', demandOption: true, describe: 'the log file' })
          .option('format', { type: 'string', demandOption: true, choices: FORMATS, describe: 'the log format' })
          .option('stats', { type: 'boolean', default: false, describe: 'print the statistics only' })
          .option('target', { type: 'string', describe: 'the target to replay on' })
          .option('heap', { type: 'string', describe: 'the allocator to replay with' })
          .option('in', { type: 'string', describe: 'where the heap goes (a section, partition or region)' })
          .option('out', { alias: 'o', type: 'string', describe: 'the scenario file to write (default: beside the log)' })
          .option('force', { type: 'boolean', default: false, describe: 'replace an existing scenario file' })),
      async (args) => done((await import('./import.js')).importCommand({ log: args.log, format: args.format, stats: args.stats, target: args.target, heap: args.heap, in: args.in, out: args.out, force: args.force })),
    )
    .command(
      'repro <input>',
      'replay a scenario or a field log to its first fault; --shrink writes the smallest scenario that still gives it',
      (y) => learned(
        y
          .positional('input', { type: 'string', demandOption: true, describe: 'a scenario file, or a field log (with --format, --target, --heap)' })
          .option('format', { type: 'string', choices: FORMATS, describe: 'the log format' })
          .option('target', { type: 'string', describe: 'the target to replay the log on' })
          .option('heap', { type: 'string', describe: 'the allocator to replay the log with' })
          .option('shrink', { type: 'boolean', default: false, describe: 'shrink to the fewest operations with the same fault, as a scenario with its golden' })
          .option('seed', { type: 'string', describe: "run the scenario under this seed instead of its own (as emu run --seed; the shrunk scenario keeps it)" })
          .option('out', { alias: 'o', type: 'string', describe: 'the shrunk scenario file (default: beside the input, NAME-repro.yaml)' })
          .option('force', { type: 'boolean', default: false, describe: 'replace an existing shrunk scenario' })),
      async (args) => done((await import('./repro.js')).reproCommand({ input: args.input, format: args.format, target: args.target, heap: args.heap, shrink: args.shrink, seed: seedOption(args.seed), out: args.out, force: args.force })),
    )
    .command(
      'size <input>',
      'the smallest size of a heap on which a scenario or field log runs with no memory fault on it, for each allocator',
      (y) => learned(
        y
          .positional('input', { type: 'string', demandOption: true, describe: 'a scenario file, or a field log (with --format and --target)' })
          .option('allocators', { type: 'string', describe: `allocators to size with, as a,b,... (default: the general-purpose ones that free blocks and serve any size with default options: ${defaultAllocators().join(', ')})` })
          .option('heap', { type: 'string', describe: "the scenario's heap to size (needed when it has several)" })
          .option('target', { type: 'string', describe: 'the target to replay the log on' })
          .option('in', { type: 'string', describe: "where the log's heap goes (a section, partition or region)" })
          .option('format', { type: 'string', choices: FORMATS, describe: 'the log format' })
          .option('json', { type: 'boolean', default: false, describe: 'print the results as JSON' })
          .option('jobs', { alias: 'j', type: 'string', default: '1', describe: 'allocators sized in parallel (worker threads); the results do not depend on it' })),
      async (args) => done(await (await import('./size.js')).sizeCommand({ input: args.input, allocators: args.allocators, heap: args.heap, target: args.target, in: args.in, format: args.format, json: args.json, jobs: jobsOption(args.jobs) })),
    )
    .command(
      'rebase <module>',
      "rewrite a WebAssembly module so that its memory is a component's segment of the scenario's arena",
      (y) => learned(
        y
          .positional('module', { type: 'string', demandOption: true, describe: 'the .wasm file' })
          .option('scenario', { type: 'string', demandOption: true, describe: 'the scenario whose layout places the component' })
          .option('component', { type: 'string', demandOption: true, describe: "the component whose segment becomes the module's memory" })
          .option('o', { alias: 'out', type: 'string', describe: 'the rebased module (default: MODULE.COMPONENT.wasm here)' })
          .option('relocations', { type: 'string', describe: 'also write the relocation table (JSON) here' })),
      async (args) => done(await (await import('./rebase.js')).rebaseCommand(args.module, { scenario: args.scenario, component: args.component, out: args.o, relocations: args.relocations })),
    )
    .demandCommand(1, `name a command: ${COMMANDS.slice(0, -1).join(', ')} or ${COMMANDS[COMMANDS.length - 1]}`)
    .middleware(refuseRepeatedOptions, true)
    .strict()
    .help()
    .alias('h', 'help')
    .version(false)
    // --help prints and returns: the command may run in the supervisor's worker or in a test's process,
    // where process.exit would end that thread with no exit code sent (main.ts reported exit 3).
    .exitProcess(false)
    .wrap(Math.min(110, process.stdout.columns ?? 110))
    .fail((message, error) => {
      throw error ?? new UsageError(unknownWithSuggestion(message, argv) ?? message);
    })
    .parseAsync();
  return code;
}

/**
 * `--` ends the options, as in other tools; yargs would drop what follows it from a command's
 * positionals (`emu test -- DIR` ran ./scenarios instead of DIR). emu's positionals are paths and
 * names, so what follows is passed on as positionals, and one that looks like an option is refused.
 */
function withoutEndOfOptions(argv: string[]): string[] {
  const end = argv.indexOf('--');
  if (end < 0) return argv;
  const after = argv.slice(end + 1);
  const dashed = after.find((arg) => arg.startsWith('-'));
  if (dashed !== undefined) throw new UsageError(`${dashed} after --: write ./${dashed} for a file of that name`);
  return [...argv.slice(0, end), ...after];
}

/** The arguments that take several values: the positionals and --reporter; every other option takes one. */
const VARIADIC = new Set(['_', 'scenario', 'paths', 'reporter']);

/**
 * yargs makes an option given twice an array, which no command expects (`--trace a --trace b` reached
 * path functions as an array): refused, naming the option.
 */
function refuseRepeatedOptions(args: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(args)) {
    if (Array.isArray(value) && !VARIADIC.has(key)) throw new UsageError(`--${key} is given ${value.length} times; give it once`);
  }
}

/** File-system errors on a path the user gave (the errors that name it), as they are reported. */
const FILE_ERRORS: Record<string, string> = { ENOENT: 'no such file or directory', ENOTDIR: 'a part of the path is a file, not a folder', EACCES: 'permission denied' };

/** Prints what went wrong and gives the exit code: bad input and usage are 2 (no stack trace), the rest 3. */
export function reportError(error: unknown): number {
  if (error instanceof InputError) {
    process.stderr.write(`${error.diagnostic()}\n`);
    return EXIT.input;
  }
  if (error instanceof NameClash) {
    process.stderr.write(`emu: ${error.message}\n`);
    return EXIT.input;
  }
  if (error instanceof FileError) {
    process.stderr.write(`emu: ${error.message}\n`);
    return EXIT.input;
  }
  if (error instanceof UsageError) {
    process.stderr.write(`emu: ${error.message}\nRun 'emu --help' for usage.\n`);
    return EXIT.input;
  }
  const { code, path } = (error ?? {}) as NodeJS.ErrnoException;
  if (typeof code === 'string' && code in FILE_ERRORS && typeof path === 'string') {
    process.stderr.write(`emu: cannot read ${path}: ${FILE_ERRORS[code]}\n`);
    return EXIT.input;
  }
  process.stderr.write(`emu: internal error: ${(error as Error)?.stack ?? String(error)}\n`);
  return EXIT.internal;
}
