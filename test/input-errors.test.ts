/**
 * Malformed inputs: `emu run` must exit 2 and print `FILE:LINE:COL: error: MESSAGE` on stderr, with no
 * stack trace (DESIGN.md, "Command line"). Every case writes its own files into a fresh temporary
 * folder and runs the built CLI there, so the cases are independent and safe to run in parallel.
 *
 * Lines and columns below are 1-based and were counted by hand from the YAML in each case; the
 * comments next to the expectations show the counting.
 */
import test, { type ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cliPath = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

/** The valid minimal scenario every malformed case is derived from. */
const MINIMAL = `target: psp
heaps:
  - {name: main, allocator: first-fit, in: user, size: 64K}
steps:
  - alloc: {id: a, heap: main, size: 16}
  - free: a
`;

/** A small valid target file; `name` must match the file stem (my-target.yaml). */
const MY_TARGET = `name: my-target
cpu: {arch: arm, clock_hz: 1000000, endian: little, word: 4, alignment: strict}
regions:
  - {name: ram, base: 0x0, size: 64K, kind: ram, read: 1, write: 1, bus: 4}
  - {name: sram, base: 0x10000, size: 64K, kind: ram, read: 1, write: 1, bus: 4}
`;

/** A scenario on ./my-target.yaml. */
const ON_MY_TARGET = `target: ./my-target.yaml
heaps:
  - {name: main, allocator: first-fit, in: ram, size: 4K}
steps:
  - alloc: {id: a, heap: main, size: 16}
  - free: a
`;

interface Run {
  dir: string;
  /** Absolute path of scenario.yaml, exactly as passed to the CLI. */
  scenario: string;
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Writes `files` into a fresh temporary folder and runs `emu run [...flags] scenario.yaml` there. */
function runEmu(t: ExecutionContext, files: Record<string, string>, flags: string[] = []): Run {
  const dir = mkdtempSync(join(tmpdir(), 'emu-input-errors-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const scenario = join(dir, 'scenario.yaml');
  const r = spawnSync(process.execPath, [cliPath, 'run', ...flags, scenario], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, CI: '' },
  });
  return { dir, scenario, status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Exit 2, `FILE:LINE:COL: error: ` first on stderr (as compilers print it), the key phrase, and no stack trace. */
function assertInputError(t: ExecutionContext, r: Run, file: string, line: number, col: number, phrase: string | RegExp): void {
  const detail = `stderr was:\n${r.stderr}`;
  t.is(r.status, 2, detail);
  t.true(r.stderr.startsWith(`${file}:${line}:${col}: error: `), `expected prefix '${file}:${line}:${col}: error: '; ${detail}`);
  if (typeof phrase === 'string') t.true(r.stderr.includes(phrase), `expected ${JSON.stringify(phrase)}; ${detail}`);
  else t.regex(r.stderr, phrase, detail);
  t.false(r.stderr.includes('    at '), `stack trace on stderr; ${detail}`);
  t.false(r.stderr.includes('internal error'), detail);
}

// ---- positive controls ----

test('control: the minimal scenario runs with --update and writes its golden beside it', (t) => {
  const r = runEmu(t, { 'scenario.yaml': MINIMAL }, ['--update']);
  t.is(r.status, 0, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  t.false(r.stderr.includes('    at '));
  // Not in a folder named scenarios/, so the golden goes to <dir>/golden/.
  t.true(existsSync(join(r.dir, 'golden', 'scenario.trace')));
  t.true(existsSync(join(r.dir, 'golden', 'scenario.md')));
});

test('control: the custom target fixture is valid (so the target cases below fail for their one defect)', (t) => {
  const r = runEmu(t, { 'scenario.yaml': ON_MY_TARGET, 'my-target.yaml': MY_TARGET }, ['--update']);
  t.is(r.status, 0, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
});

test('a missing scenario file exits 2 with "cannot read"', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'emu-input-errors-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const missing = join(dir, 'nope.yaml');
  const r = spawnSync(process.execPath, [cliPath, 'run', missing], { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: '' } });
  t.is(r.status, 2, r.stderr);
  t.true(r.stderr.startsWith('emu: '), r.stderr);
  t.true(r.stderr.includes(`cannot read ${missing}`), r.stderr);
  t.false(r.stderr.includes('    at '), r.stderr);
});

// ---- YAML syntax ----

test('YAML syntax: an unclosed flow sequence', (t) => {
  const yaml = `target: psp
heaps: [{name: main, allocator: first-fit, in: user, size: 64K}
steps:
  - alloc: {id: a, heap: main, size: 16}
  - free: a
`;
  const r = runEmu(t, { 'scenario.yaml': yaml });
  // The sequence opened on line 2 must end before the next block key: line 3, column 1 ('steps').
  assertInputError(t, r, r.scenario, 3, 1, /YAML syntax: .*end with a \]/);
});

test('YAML syntax: a duplicate key', (t) => {
  const yaml = `target: psp
seed: 1
seed: 2
heaps:
  - {name: main, allocator: first-fit, in: user, size: 64K}
steps:
  - alloc: {id: a, heap: main, size: 16}
  - free: a
`;
  const r = runEmu(t, { 'scenario.yaml': yaml });
  // The second 'seed' at line 3, column 1.
  assertInputError(t, r, r.scenario, 3, 1, /YAML syntax: .*unique/);
});

test('an empty scenario file is not a map', (t) => {
  const r = runEmu(t, { 'scenario.yaml': '' });
  assertInputError(t, r, r.scenario, 1, 1, 'expected a map');
});

// ---- scenario schema ----

test('unknown top-level key, with a suggestion', (t) => {
  const yaml = MINIMAL.replace('heaps:', 'heapz:');
  const r = runEmu(t, { 'scenario.yaml': yaml });
  // 'heapz' is the key on line 2, column 1.
  assertInputError(t, r, r.scenario, 2, 1, "unknown key 'heapz' (did you mean 'heaps'?)");
});

test('unknown key inside a heap', (t) => {
  const yaml = MINIMAL.replace('size: 64K}', 'size: 64K, optoins: {}}');
  const r = runEmu(t, { 'scenario.yaml': yaml });
  // "  - {name: main, allocator: first-fit, in: user, size: 64K, optoins: {}}"
  //  '{' col 5; "name: main, " 6-17; "allocator: first-fit, " 18-39; "in: user, " 40-49;
  //  "size: 64K, " 50-60; 'optoins' at col 61.
  assertInputError(t, r, r.scenario, 3, 61, "unknown key 'optoins' (did you mean 'options'?)");
});

test('wrong type: seed: abc', (t) => {
  const yaml = MINIMAL.replace('target: psp\n', 'target: psp\nseed: abc\n');
  const r = runEmu(t, { 'scenario.yaml': yaml });
  // "seed: abc": the value at line 2, column 7.
  assertInputError(t, r, r.scenario, 2, 7, "expected a whole number, got 'abc'");
});

test('unknown target name, with a suggestion', (t) => {
  const yaml = MINIMAL.replace('target: psp', 'target: pspp');
  const r = runEmu(t, { 'scenario.yaml': yaml });
  // "target: pspp": the value at line 1, column 9.
  assertInputError(t, r, r.scenario, 1, 9, "unknown target 'pspp' (did you mean 'psp'?)");
});

test('bad size literal: size: 12Q', (t) => {
  const yaml = MINIMAL.replace('size: 64K', 'size: 12Q');
  const r = runEmu(t, { 'scenario.yaml': yaml });
  // "size: " starts at col 50 (see the heap case above), so '12Q' is at col 56.
  assertInputError(t, r, r.scenario, 3, 56, "bad size literal '12Q'");
});

test('policy must be std, no_std_alloc or no_alloc', (t) => {
  const yaml = MINIMAL.replace('target: psp\n', 'target: psp\npolicy: fast\n');
  const r = runEmu(t, { 'scenario.yaml': yaml });
  // "policy: fast": the value at line 2, column 9.
  assertInputError(t, r, r.scenario, 2, 9, "expected one of std, no_std_alloc, no_alloc, got 'fast'");
});

test('unknown allocator, with a suggestion', (t) => {
  const yaml = MINIMAL.replace('allocator: first-fit', 'allocator: first-fitt');
  const r = runEmu(t, { 'scenario.yaml': yaml });
  // "allocator: " is cols 18-28, so 'first-fitt' is at col 29.
  assertInputError(t, r, r.scenario, 3, 29, "unknown allocator 'first-fitt' (did you mean 'first-fit'?)");
});

test('a section override placed in an unknown container is an input error', (t) => {
  const yaml = MINIMAL.replace('steps:', 'sections: [{name: .wrt_runtime, in: nowhere}]\nsteps:');
  const r = runEmu(t, { 'scenario.yaml': yaml });
  // Line 4: "sections: [{name: .wrt_runtime, in: nowhere}]"
  //  "sections: " 1-10; '[' 11; '{' 12; "name: .wrt_runtime, " 13-32; "in: " 33-36; 'nowhere' at col 37.
  assertInputError(t, r, r.scenario, 4, 37, /unknown.*'nowhere'/);
});

// ---- steps ----

test('alloc without an id', (t) => {
  const yaml = MINIMAL.replace('alloc: {id: a, heap: main, size: 16}', 'alloc: {heap: main, size: 16}');
  const r = runEmu(t, { 'scenario.yaml': yaml });
  // "  - alloc: {heap: main, size: 16}": the alloc map opens at line 5, column 12.
  assertInputError(t, r, r.scenario, 5, 12, "missing required key 'id'");
});

test('unknown heap in a step, with a suggestion', (t) => {
  const yaml = MINIMAL.replace('heap: main, size: 16', 'heap: mainn, size: 16');
  const r = runEmu(t, { 'scenario.yaml': yaml });
  // "  - alloc: {id: a, heap: mainn, size: 16}": '{' 12; "id: a, " 13-19; "heap: " 20-25; 'mainn' at 26.
  assertInputError(t, r, r.scenario, 5, 26, "unknown heap 'mainn' (did you mean 'main'?)");
});

test('a step with two keys', (t) => {
  const yaml = MINIMAL.replace('  - free: a\n', '    free: a\n');
  const r = runEmu(t, { 'scenario.yaml': yaml });
  // The step map (alloc + free) starts at line 5, column 5.
  assertInputError(t, r, r.scenario, 5, 5, 'a step has exactly one key, found 2');
});

test('a step whose key is an Object.prototype name (toString) is an unknown step', (t) => {
  const yaml = MINIMAL.replace('  - free: a\n', '  - toString: a\n');
  const r = runEmu(t, { 'scenario.yaml': yaml });
  // "  - toString: a" on line 6: the step (and its key) at column 5.
  assertInputError(t, r, r.scenario, 6, 5, /unknown.*'toString'/);
  t.false(r.stderr.includes('native code'), r.stderr);
});

test('${j} in an id with no repeat at all', (t) => {
  const yaml = MINIMAL.replace('alloc: {id: a,', 'alloc: {id: "a${j}",');
  const r = runEmu(t, { 'scenario.yaml': yaml });
  // "  - alloc: {id: \"a${j}\", ...": '{' 12; "id: " 13-16; the quoted id at col 17.
  assertInputError(t, r, r.scenario, 5, 17, "'${j}' is not the variable of an enclosing repeat");
});

test('${j} in an id inside a repeat whose variable is i', (t) => {
  const yaml = `target: psp
heaps:
  - {name: main, allocator: first-fit, in: user, size: 64K}
steps:
  - repeat:
      times: 2
      steps:
        - alloc: {id: "b\${j}", heap: main, size: 16}
        - free: "b\${i}"
`;
  const r = runEmu(t, { 'scenario.yaml': yaml });
  // "        - alloc: {id: \"b${j}\", ...": '-' 9; "alloc" 11-15; '{' 18; "id: " 19-22; the id at col 23.
  assertInputError(t, r, r.scenario, 8, 23, "'${j}' is not the variable of an enclosing repeat (in scope: i)");
});

test('align that is not a power of two', (t) => {
  const yaml = MINIMAL.replace('size: 16}', 'size: 16, align: 24}');
  const r = runEmu(t, { 'scenario.yaml': yaml });
  // '{' 12; "id: a, " 13-19; "heap: main, " 20-31; "size: 16, " 32-41; "align: " 42-48; '24' at col 49.
  assertInputError(t, r, r.scenario, 5, 49, 'align: 24 is not a power of two');
});

test('uniform size with lo > hi', (t) => {
  const yaml = MINIMAL.replace('size: 16}', 'size: {uniform: [64, 16]}}');
  const r = runEmu(t, { 'scenario.yaml': yaml });
  // "size: " 32-37; '{' 38; "uniform: " 39-47; the [lo, hi] list at col 48.
  assertInputError(t, r, r.scenario, 5, 48, 'uniform: lo (64) is greater than hi (16)');
});

test('unknown crate budget in an alloc, with a suggestion', (t) => {
  const yaml = `target: psp
budgets: {gfx: 4K, audio: 2K}
heaps:
  - {name: main, allocator: first-fit, in: user, size: 64K}
steps:
  - alloc: {id: a, heap: main, size: 16, budget: audi0}
  - free: a
`;
  const r = runEmu(t, { 'scenario.yaml': yaml });
  // '{' 12; "id: a, " 13-19; "heap: main, " 20-31; "size: 16, " 32-41; "budget: " 42-49; 'audi0' at col 50.
  assertInputError(t, r, r.scenario, 6, 50, "unknown crate budget 'audi0' (did you mean 'audio'?)");
});

test('an idle duration too long to be a whole cycle count', (t) => {
  const yaml = MINIMAL.replace('  - free: a\n', '  - free: a\n  - idle: 99999999999999999999s\n');
  const r = runEmu(t, { 'scenario.yaml': yaml });
  // "  - idle: 99999999999999999999s": "idle: " 5-10; the value at line 7, column 11.
  assertInputError(t, r, r.scenario, 7, 11, '99999999999999999999s');
});

// ---- target files (target: ./my-target.yaml, relative to the scenario) ----

test('target: a path that is a folder, not a file', (t) => {
  const yaml = MINIMAL.replace('target: psp', 'target: ./');
  const r = runEmu(t, { 'scenario.yaml': yaml });
  // "target: ./": the value at line 1, column 9.
  assertInputError(t, r, r.scenario, 1, 9, /'\.\/'/);
});

test('target file with overlapping regions', (t) => {
  const target = MY_TARGET.replace('base: 0x10000', 'base: 0x8000');
  const r = runEmu(t, { 'scenario.yaml': ON_MY_TARGET, 'my-target.yaml': target });
  // 'sram' (0x8000..0x17FFF) overlaps 'ram' (0x0..0xFFFF); its entry "  - {name: sram, ..." is
  // line 5, and the region map opens at column 5.
  assertInputError(t, r, join(r.dir, 'my-target.yaml'), 5, 5, "region 'sram' (0x00008000..0x00017FFF) overlaps region 'ram'");
});

test('target file with an unknown key in a region', (t) => {
  const target = MY_TARGET.replace('base: 0x0, size: 64K, kind: ram, read: 1, write: 1, bus: 4}', 'base: 0x0, size: 64K, kind: ram, read: 1, write: 1, bus: 4, cahced: true}');
  const r = runEmu(t, { 'scenario.yaml': ON_MY_TARGET, 'my-target.yaml': target });
  // "  - {name: ram, base: 0x0, size: 64K, kind: ram, read: 1, write: 1, bus: 4, cahced: true}"
  //  '{' 5; "name: ram, " 6-16; "base: 0x0, " 17-27; "size: 64K, " 28-38; "kind: ram, " 39-49;
  //  "read: 1, " 50-58; "write: 1, " 59-68; "bus: 4, " 69-76; 'cahced' at col 77.
  assertInputError(t, r, join(r.dir, 'my-target.yaml'), 4, 77, "unknown key 'cahced' (did you mean 'cached'?)");
});

test('target file with an unknown top-level key', (t) => {
  const target = MY_TARGET.replace('regions:', 'colour: blue\nregions:');
  const r = runEmu(t, { 'scenario.yaml': ON_MY_TARGET, 'my-target.yaml': target });
  // "colour: blue" is line 3, column 1.
  assertInputError(t, r, join(r.dir, 'my-target.yaml'), 3, 1, "unknown key 'colour'");
});

test('YAML syntax error in a target file names the target file', (t) => {
  const target = `name: my-target
cpu: {arch: arm, clock_hz: 1000000
regions: []
`;
  const r = runEmu(t, { 'scenario.yaml': ON_MY_TARGET, 'my-target.yaml': target });
  // The flow map opened on line 2 must end before the next block key: line 3, column 1.
  assertInputError(t, r, join(r.dir, 'my-target.yaml'), 3, 1, /YAML syntax: .*end with a \}/);
});

// ---- the allocator family's keys ----

test('alloc with a placement mode on a heap whose allocator has none', (t) => {
  const r = runEmu(t, { 'scenario.yaml': MINIMAL.replace('size: 16}', 'size: 16, mode: high}') });
  // "  - alloc: {id: a, heap: main, size: 16, mode: high}": '{' at 12; "id: a, " 13-19;
  // "heap: main, " 20-31; "size: 16, " 32-41; "mode: " 42-47; its value 'high' at 48.
  assertInputError(t, r, r.scenario, 5, 48, "alloc: 'mode' is for allocators with placement modes (psp-sysmem); heap 'main' uses first-fit");
});

test('grow on a heap that cannot grow', (t) => {
  const r = runEmu(t, { 'scenario.yaml': MINIMAL.replace('  - free: a\n', '  - free: a\n  - grow: {heap: main, pages: 1}\n') });
  // "  - grow: {heap: main, pages: 1}": '{' at 11, 'heap' value 'main' at 18.
  assertInputError(t, r, r.scenario, 7, 18, "grow: heap 'main' uses first-fit, which cannot grow (use a wasm heap)");
});

test('an allocator option outside its range, and one that must be a power of two', (t) => {
  const range = runEmu(t, { 'scenario.yaml': MINIMAL.replace('allocator: first-fit, in: user, size: 64K}', 'allocator: wasm, in: user, size: 64K, options: {instance_limit: 200M}}') });
  // "  - {name: main, allocator: wasm, in: user, size: 64K, options: {instance_limit: 200M}}":
  // '{' 5; "name: main, " 6-17; "allocator: wasm, " 18-34; "in: user, " 35-44; "size: 64K, " 45-55;
  // "options: " 56-64; '{' 65; "instance_limit: " 66-81; the value at 82.
  assertInputError(t, range, range.scenario, 3, 82, 'wasm option instance_limit');
  t.regex(range.stderr, /209715200 is outside 0\.\.104857600/);
  const pow2 = runEmu(t, { 'scenario.yaml': MINIMAL.replace('allocator: first-fit, in: user, size: 64K}', 'allocator: buddy, in: user, size: 64K, options: {min_block: 48}}') });
  // "allocator: buddy, " 18-35; "in: user, " 36-45; "size: 64K, " 46-56; "options: " 57-65; '{' 66; "min_block: " 67-77; 48 at 78.
  assertInputError(t, pow2, pow2.scenario, 3, 78, 'buddy option min_block');
});

test('random with both a stream and a workload', (t) => {
  const r = runEmu(t, { 'scenario.yaml': MINIMAL.replace('  - free: a\n', '  - free: a\n  - random: {heap: main, count: 4, size: 16, stream: s, workload: w}\n') });
  // "  - random: {heap: main, count: 4, size: 16, stream: s, workload: w}": '{' 13; "heap: main, " 14-25;
  // "count: 4, " 26-35; "size: 16, " 36-45; "stream: s, " 46-56; "workload: " 57-66; 'w' at 67.
  assertInputError(t, r, r.scenario, 7, 67, "random: give 'stream' (a sequence that continues) or 'workload' (the same sequence each time), not both");
});

test('mode must be user or kernel', (t) => {
  const r = runEmu(t, { 'scenario.yaml': MINIMAL.replace('target: psp\n', 'target: psp\nmode: superuser\n') });
  // "mode: superuser": the value at line 2, column 7.
  assertInputError(t, r, r.scenario, 2, 7, "expected one of user, kernel, got 'superuser'");
});

test('cache_as_ram on a target whose cache cannot serve as RAM', (t) => {
  const r = runEmu(t, { 'scenario.yaml': MINIMAL.replace('target: psp\n', 'target: psp\ncache_as_ram: true\n') });
  // "cache_as_ram: true": the value at line 2, column 15.
  assertInputError(t, r, r.scenario, 2, 15, 'cache_as_ram: target psp has no cache that can serve as RAM');
});

test('wait on an unknown DMA channel, with a suggestion', (t) => {
  const r = runEmu(t, { 'scenario.yaml': MINIMAL.replace('  - free: a\n', '  - free: a\n  - wait: {channel: gee}\n') });
  // "  - wait: {channel: gee}": '{' col 11, "channel: " 12-20, the value at col 21 of line 7.
  assertInputError(t, r, r.scenario, 7, 21, "wait: target psp has no channel 'gee' (did you mean 'ge'?)");
});

test('target file whose MPU boot region names an unknown region', (t) => {
  const target = MY_TARGET.replace('regions:', 'protection:\n  mpu: {regions: 8, min_size: 32, rule: armv7m, boot: [{region: sarm, cached: true}]}\nregions:');
  const r = runEmu(t, { 'scenario.yaml': ON_MY_TARGET, 'my-target.yaml': target });
  // "  mpu: {regions: 8, min_size: 32, rule: armv7m, boot: [{region: sarm, cached: true}]}" is line 4;
  // '{' 8; "regions: 8, " 9-20; "min_size: 32, " 21-34; "rule: armv7m, " 35-48; "boot: [" 49-55;
  // '{' 56; "region: " 57-64; 'sarm' at col 65.
  assertInputError(t, r, join(r.dir, 'my-target.yaml'), 4, 65, "protection.mpu.boot: unknown 'sarm' (did you mean 'sram'?)");
});
