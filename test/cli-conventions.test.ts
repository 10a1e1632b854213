/**
 * The conventions a command-line user expects: short flags (-h, -u, -j, -o), the nearest command or
 * option named for a typo, and JSON outputs that carry their format and version and name every key
 * in one style (snake_case).
 */
import test from 'ava';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { emu, REPO, tempDir } from './helpers/scenario.js';

const SMALL = `target: psp
heaps: [{name: h, allocator: first-fit, in: user, size: 64K}]
steps:
  - alloc: {id: a, heap: h, size: 100}
  - free: a
  - free: a
`;

function project(): { dir: string; scenario: string } {
  const dir = tempDir();
  mkdirSync(join(dir, 'scenarios'));
  const scenario = join(dir, 'scenarios', 'small.yaml');
  writeFileSync(scenario, SMALL);
  return { dir, scenario };
}

/** Exit 2 and exactly this message, with the usage hint. */
function usage(t: import('ava').ExecutionContext, args: string[], message: string): void {
  const r = emu(args);
  t.is(r.status, 2, r.stderr);
  t.is(r.stderr, `emu: ${message}\nRun 'emu --help' for usage.\n`, args.join(' '));
}

test('-h prints the usage of emu and of each command, and lists the short flags', (t) => {
  const top = emu(['-h']);
  t.is(top.status, 0);
  t.regex(top.stdout, /^emu <command> \[options\]/);
  for (const [command, flags] of [['run', ['-u, --update', '-o, --trace']], ['test', ['-u, --update', '-j, --jobs']], ['size', ['-j, --jobs']], ['import', ['-o, --out']], ['repro', ['-o, --out']], ['rebase', ['-o, --out']], ['map', []]] as const) {
    const r = emu([command, '-h']);
    t.is(r.status, 0, `${command}: ${r.stderr}`);
    t.regex(r.stdout, new RegExp(`^emu ${command} `), command);
    for (const flag of [...flags, '-h, --help']) t.true(r.stdout.includes(flag), `${command}: ${flag}`);
  }
});

test('-u records the golden, -o writes the trace, -j runs in parallel', (t) => {
  const { dir, scenario } = project();
  t.is(emu(['run', '-u', scenario]).status, 0);
  t.true(existsSync(join(dir, 'golden', 'small.trace')));
  const trace = join(dir, 'copy.trace');
  t.is(emu(['run', scenario, '-o', trace]).status, 0);
  t.is(emu(['diff', trace, join(dir, 'golden', 'small.trace')]).status, 0);
  const parallel = emu(['test', '-j', '2', 'scenarios'], { cwd: dir });
  t.is(parallel.status, 0, parallel.stderr);
  const out = join(dir, 'imported.yaml');
  const imported = emu(['import', join(REPO, 'test', 'fixtures', 'double-free.mtrace'), '--format', 'mtrace', '--target', 'psp', '--heap', 'tlsf', '-o', out]);
  t.is(imported.status, 0, imported.stderr);
  t.true(existsSync(out));
});

test('an unknown command or option names the nearest one and exits 2', (t) => {
  const { scenario } = project();
  usage(t, ['tset'], 'unknown command tset; did you mean test? (commands: run, test, inspect, diff, map, report, import, repro, size, rebase)');
  usage(t, ['frobnicate'], 'unknown command frobnicate (commands: run, test, inspect, diff, map, report, import, repro, size, rebase)');
  usage(t, ['test', '--updat'], 'unknown option --updat; did you mean --update?');
  usage(t, ['run', scenario, '--sed', '3', '--jsno'], 'unknown option --sed; did you mean --seed?\nunknown option --jsno; did you mean --json?');
  usage(t, ['size', scenario, '--job=2'], 'unknown option --job; did you mean --jobs?');
  usage(t, ['map', 'psx', '--zzz'], 'unknown option --zzz');
  usage(t, ['test', '--reporter', 'junti'], '--reporter junti: unknown reporter "junti"; did you mean junit? (reporters: text, json, junit, each optionally =FILE)');
  usage(t, ['diff', 'a', 'b', 'c'], 'unexpected argument c');
  // --reporter takes one value each time: the folder after it is a path.
  t.regex(emu(['test', '--reporter', 'json', 'nowhere']).stderr, /cannot read nowhere/);
});

test('numbers are checked as typed: exit 2 naming the value', (t) => {
  const { scenario } = project();
  usage(t, ['run', scenario, '--seed', 'abc'], '--seed: expected a whole number from 0 to 4294967295, got "abc"');
  usage(t, ['test', scenario, '-j', '0'], '--jobs: expected a whole number of at least 1, got "0"');
  usage(t, ['test', scenario, '--shard', '3/2'], '--shard 3/2: expected K/N with 1 <= K <= N');
});

test('input errors read FILE:LINE:COL: error: MESSAGE, as editors and CI problem matchers link them', (t) => {
  const { scenario } = project();
  writeFileSync(scenario, SMALL.replace('first-fit', 'frist-fit'));
  const r = emu(['run', scenario]);
  t.is(r.status, 2);
  t.is(r.stderr, `${scenario}:2:30: error: heap 'h': unknown allocator 'frist-fit' (did you mean 'first-fit'?) (available: bump, tlsf, first-fit, best-fit, buddy, half-fit, dlmalloc, pool, psp-sysmem, wasm)\n`);
});

/** Every key of a JSON value and the path to it, but not the keys of maps keyed by data (fault kinds). */
function keys(value: unknown, path = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v) => keys(v, `${path}[]`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => (path.endsWith('summary.faults') ? [] : [`${path}.${k}`, ...keys(v, `${path}.${k}`)]));
}

test('every --json output carries its format and version, and names its keys in snake_case', (t) => {
  const { dir, scenario } = project();
  emu(['run', '-u', scenario]);
  const outputs = {
    run: emu(['run', scenario, '--json']).stdout,
    test: emu(['test', '--reporter', 'json', 'scenarios'], { cwd: dir }).stdout,
    size: emu(['size', scenario, '--json', '--allocators', 'first-fit']).stdout,
    inspect: emu(['inspect', '--ndjson', join(dir, 'golden', 'small.trace')]).stdout.split('\n')[0],
  };
  const expected = { run: ['emu-run', 1], test: ['emu-test', 1], size: ['emu-size', 1], inspect: ['emu-trace', 2] };
  for (const [command, text] of Object.entries(outputs)) {
    const json = JSON.parse(text) as { format: string; version: number };
    t.deepEqual([json.format, json.version], expected[command as keyof typeof expected], command);
    const all = keys(json);
    t.true(all.length > 3, command);
    t.deepEqual(all.filter((k) => !/^[a-z][a-z0-9_]*$/.test(k.split('.').pop()!)), [], command);
  }
  // The double free is a fault with its log line, in snake_case like the rest.
  const run = JSON.parse(outputs.run) as { scenarios: { faults: Record<string, unknown>[]; summary: { faults: Record<string, number> } }[] };
  t.deepEqual(Object.keys(run.scenarios[0].faults[0]).sort(), ['caller', 'cause', 'detail', 'detected', 'heap', 'id', 'kind', 'line', 'log_line', 'op']);
  t.deepEqual(run.scenarios[0].summary.faults, { 'double-free': 1 });
});
