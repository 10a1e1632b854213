/**
 * `wasm` steps: a module's accesses go through emu's memory model. Faults name the function and the
 * byte offset; a write into another component's segment is an access-violation; a module's loads and
 * stores cost what the same accesses cost as read and write steps; emu_malloc/emu_free use an emu heap.
 */
import test from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../src/input/errors.js';
import { run } from '../src/engine/engine.js';
import { loadScenario } from '../src/scenario/parse.js';
import { EventCollector } from '../src/trace/writer.js';
import type { TraceEvent } from '../src/trace/schema.js';
import { emu, ofType, REPO, runText, tempDir } from './helpers/scenario.js';
import { module, POKE } from './helpers/wasm.js';
import { decodeModule } from '../src/wasm/decode.js';

function runFile(file: string): TraceEvent[] {
  const collector = new EventCollector();
  run(loadScenario(file), { sinks: [collector] });
  return collector.events;
}

/** Two 64 KiB components with a 4 KiB guard between them, and a shared region after. */
function twoSegments(target: string, arenaIn: string, steps: string, extra = ''): string {
  return `
target: ${target}
leak_check: false
layout:
  arena: {in: ${arenaIn}, size: 1M}
  guard: 4K
  align: 4K
  components: [{name: ui, size: 64K}, {name: net, size: 128K}]
  shared: [{name: buf, size: 4K, access: {ui: w, net: r}}]
${extra}
steps:
${steps}`;
}

test('an off-by-one past the segment: precise on QNX naming function and byte offset, delayed on the PSP', (t) => {
  const bytes = readFileSync(join(REPO, 'wasm/overflow.wasm'));
  t.is(bytes[0x49], 0x36); // the i32.store the faults name
  const qnx = runFile(join(REPO, 'scenarios/wasm-overflow-qnx.yaml'));
  const [trap] = ofType(qnx, 'fault');
  t.like(trap, { kind: 'guard-hit', detected: 'precise', line: 25, wasm_function: 'fill', wasm_offset: 0x49 });
  t.regex(trap.detail as string, /^write of 4 bytes at 0x85810000 \(wasm \.\.\/wasm\/overflow\.wasm, function fill, i32\.store at byte offset 0x49\): 4 bytes into the guard guard:net/);
  const calls = ofType(qnx, 'wasm');
  t.like(calls[0], { call: 'fill', args: [63], result: 85344, loads: 64, stores: 64 });
  t.like(calls[1], { call: 'fill', args: [64], result: null, stores: 64, trap: 'guard-hit at fill+0x49' });

  const psp = runFile(join(REPO, 'scenarios/wasm-overflow-psp.yaml'));
  const [canary] = ofType(psp, 'fault');
  t.like(canary, { kind: 'canary-corrupt', detected: 'delayed', line: 28, cause_op: 3, cause_line: 27, wasm_function: 'fill', wasm_offset: 0x49 });
  t.regex(canary.detail as string, /function fill, i32\.store at byte offset 0x49\) \(op 3, line 27\) overwrote the canary band guard:net/);
  t.like(ofType(psp, 'wasm')[1], { result: 85344, stores: 65 }); // nothing stopped it
});

test("a write into another component's segment is an access-violation; shared rights hold", async (t) => {
  const file = await module('poke', POKE);
  // net starts 64 KiB + 4 KiB past ui's base: the module's address 0x11010 is in net.
  const steps = `  - wasm: {component: ui, module: ${file}, call: poke, args: [0x11010]}
  - wasm: {component: ui, module: ${file}, call: poke, args: [{shared: buf, offset: 8}]}
  - wasm: {component: ui, module: ${file}, call: peek, args: [{shared: buf}]}
  - wasm: {component: net, module: ${file}, call: peek, args: [0x20000]}`;
  const qnx = runText(twoSegments('qnx', 'wasm_memory', steps)).events;
  const faults = ofType(qnx, 'fault');
  t.deepEqual(faults.map((f) => [f.kind, f.detected, f.line, f.wasm_function]), [
    ['access-violation', 'precise', 12, 'poke'],
    ['access-violation', 'precise', 14, 'peek'],
    ['guard-hit', 'precise', 15, 'peek'],
  ]);
  t.regex(faults[0].detail as string, /^write of 4 bytes at 0x85811010 \(wasm .*poke\.wasm, function poke, i32\.store at byte offset 0x[0-9a-f]+\) by ui: segment net belongs to net$/);
  t.regex(faults[1].detail as string, /ui may only write the shared region buf/);
  // net's segment is 128 KiB: its module's address 0x20000 is the guard after it.
  t.regex(faults[2].detail as string, /into the guard guard:buf/);
  const calls = ofType(qnx, 'wasm');
  t.deepEqual(calls.map((c) => c.trap ?? null), [`access-violation at poke+0x${(faults[0].wasm_offset as number).toString(16)}`, null, `access-violation at peek+0x${(faults[1].wasm_offset as number).toString(16)}`, `guard-hit at peek+0x${(faults[1].wasm_offset as number).toString(16)}`]);
  // The shared region, passed as an address of the module's own: its offset from ui's base, plus 8.
  const placed = (name: string) => ofType(qnx, 'place').find((p) => p.name === name)!.addr as number;
  t.deepEqual(calls[1].args, [placed('buf') - placed('ui') + 8]);
  // On the PSP nothing stops it: silent, and the write happens.
  const psp = ofType(runText(twoSegments('psp', 'user', steps)).events, 'fault');
  t.deepEqual(psp.slice(0, 1).map((f) => [f.kind, f.detected]), [['access-violation', 'silent']]);
});

test("cycles of a module's loads and stores equal those of the same accesses as read and write steps", async (t) => {
  const file = await module('poke', POKE);
  const base = 0x08d84000; // ui's segment on the PSP
  const wasm = runText(twoSegments('psp', 'user', `  - wasm: {component: ui, module: ${file}, call: fill, args: [40]}
  - wasm: {component: ui, module: ${file}, call: sum, args: [40]}`)).events;
  const writes = Array.from({ length: 40 }, (_, i) => `  - write: {addr: ${base + 0x100 + 4 * i}, len: 4, width: 4, by: ui}`);
  const reads = Array.from({ length: 40 }, (_, i) => `  - read: {addr: ${base + 0x100 + 4 * i}, len: 4, width: 4, by: ui}`);
  const steps = runText(twoSegments('psp', 'user', [...writes, ...reads].join('\n'))).events;
  const access = ofType(steps, 'access').map((e) => e.cycles as number);
  const [fill, sum] = ofType(wasm, 'wasm');
  t.like(fill, { stores: 40, loads: 0, bytes: 160 });
  t.like(sum, { loads: 40, stores: 0, result: 780 });
  t.is(fill.cycles, access.slice(0, 40).reduce((a, b) => a + b, 0));
  t.is(sum.cycles, access.slice(40).reduce((a, b) => a + b, 0));
  t.true((fill.cycles as number) > 40); // line fills, not only hits
  const end = (events: TraceEvent[]) => events.at(-1)!.cycle;
  t.is(end(wasm), end(steps));
});

test("the CPU's alignment rule: a word load at an odd address is misaligned on the PSP, unless the module says align=1", async (t) => {
  const file = await module('poke', POKE);
  const events = runText(twoSegments('psp', 'user', `  - wasm: {component: ui, module: ${file}, call: peek, args: [0x102]}
  - wasm: {component: ui, module: ${file}, call: peek_any, args: [0x102]}`)).events;
  const faults = ofType(events, 'fault');
  t.deepEqual(faults.map((f) => [f.kind, f.detected, f.line]), [['misaligned', 'precise', 12]]);
  t.regex(faults[0].detail as string, /a 4-byte access must be 4-byte aligned on /);
  t.like(ofType(events, 'wasm')[1], { result: 0, loads: 1, bytes: 4 });
});

test('memory.grow grows within the segment and fails past it; memory.size answers the pages', async (t) => {
  const file = await module('poke', POKE);
  const events = runText(twoSegments('psp', 'user', `  - wasm: {component: net, module: ${file}, call: grow, args: [1]}
  - wasm: {component: net, module: ${file}, call: grow, args: [1]}
  - wasm: {component: net, module: ${file}, call: size}`)).events;
  t.deepEqual(ofType(events, 'wasm').map((e) => e.result), [1, -1, 2]);
  t.deepEqual(ofType(events, 'fault').map((f) => [f.kind, f.line]), [['grow-failed', 13]]);
});

test('emu_malloc and emu_free: a TLSF heap serves the module, blocks are emu blocks, state persists between calls', (t) => {
  const events = runFile(join(REPO, 'scenarios/wasm-tlsf.yaml'));
  t.deepEqual(ofType(events, 'wasm').map((e) => [e.call, e.result]), [['build', 100], ['sum', 5050], ['release', 100], ['build', 50], ['sum', 1275], ['release', 50], ['release', 0]]);
  const allocs = ofType(events, 'alloc');
  t.is(allocs.length, 150);
  t.like(allocs[0], { heap: 'logic', id: 'logic.malloc#1', size: 12, addr: 0x08d94c78, block: 16 });
  t.is(ofType(events, 'free').length, 150);
  t.deepEqual(ofType(events, 'fault'), []);
});

test('a module that frees a block twice: double-free on its heap', async (t) => {
  const file = await module('twice', `(module
    (import "env" "emu_malloc" (func $malloc (param i32) (result i32)))
    (import "env" "emu_free" (func $free (param i32)))
    (memory 1)
    (func (export "twice") (local $p i32)
      (local.set $p (call $malloc (i32.const 32)))
      (call $free (local.get $p))
      (call $free (local.get $p))
      (call $free (i32.const 0))))`);
  const events = runText(twoSegments('psp', 'user', `  - wasm: {component: net, module: ${file}, call: twice}`, 'heaps: [{name: h, allocator: tlsf, in: {in: net, offset: 64K}}]')).events;
  t.deepEqual(ofType(events, 'fault').map((f) => [f.kind, f.heap, f.id]), [['double-free', 'h', 'net.malloc#1']]);
});

test('bad wasm steps are input errors at their line', async (t) => {
  const file = await module('poke', POKE);
  const noMemory = await module('nomem', '(module (func (export "f")))');
  const importer = await module('imp', '(module (import "env" "clock" (func (result i32))) (memory 1) (func (export "f")))');
  const allocating = await module('alloc', '(module (import "env" "emu_malloc" (func (param i32) (result i32))) (memory 1) (func (export "f")))');
  const notWasm = join(REPO, 'package.json');
  const invalid = join(tempDir(), 'invalid.wasm');
  writeFileSync(invalid, new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0, 5, 3, 1, 0, 1, 10, 5, 1, 3, 0, 0x6a, 0x0b]));
  const cases: [string, RegExp][] = [
    [`  - wasm: {component: ui, module: ${notWasm}, call: f}`, /wasm: .*package\.json: not a WebAssembly module: it does not start with the magic bytes/],
    [`  - wasm: {component: ui, module: ${noMemory}, call: f}`, /has no memory: there is nothing to place in segment ui/],
    [`  - wasm: {component: ui, module: ${invalid}, call: f}`, /invalid\.wasm: not a valid WebAssembly module: Compiling function #0 failed/],
    [`  - wasm: {component: ui, module: ${file}, call: pook, args: [1]}`, /exports no function 'pook' \(its functions: poke, peek, peek_any, sum, fill, grow, size\)/],
    [`  - wasm: {component: ui, module: ${file}, call: poke}`, /wasm: poke takes 1 argument \(i32\), given 0/],
    [`  - wasm: {component: ui, module: ${file}, call: size, args: [1, 2]}`, /wasm: size takes 0 arguments \(none\), given 2/],
    [`  - wasm: {component: uii, module: ${file}, call: size}`, /wasm: unknown component 'uii'/],
    [`  - wasm: {component: ui, module: ${importer}, call: f}`, /imports func env\.clock, which emu does not provide/],
    [`  - wasm: {component: ui, module: ${allocating}, call: f}`, /imports env\.emu_malloc; name its heap with 'heap:' \(segment ui holds no heap\)/],
    [`  - wasm: {component: ui, module: ${file}, call: poke, args: [1.5]}`, /expected a whole number/],
    [`  - wasm: {component: ui, module: ${file}, call: size}\n  - wasm: {component: ui, module: ${noMemory}, call: f}`, /component ui already runs .*poke\.wasm \(line 12\)/],
  ];
  for (const [steps, message] of cases) {
    const error = t.throws(() => runText(twoSegments('psp', 'user', steps)), { instanceOf: InputError });
    t.regex(error!.message, message);
  }
  // From the command line: exit 2, file:line:col.
  const dir = tempDir();
  const scenario = join(dir, 'bad.yaml');
  writeFileSync(scenario, twoSegments('psp', 'user', `  - wasm: {component: ui, module: ${file}, call: poke}`));
  const r = emu(['run', scenario]);
  t.is(r.status, 2);
  t.regex(r.stderr, /bad\.yaml:12:\d+: error: wasm: poke takes 1 argument \(i32\), given 0/);
});

test("concurrent components: a module's unlocked write to a shared region is a data-race naming its instruction", async (t) => {
  const file = await module('poke', POKE);
  const layout = (steps: string) => `
target: psp
leak_check: false
layout:
  arena: {in: user, size: 1M}
  guard: 4K
  align: 4K
  concurrent: true
  components: [{name: a, size: 64K}, {name: b, size: 64K}]
  shared: [{name: ring, size: 4K, access: {a: rw, b: rw}}]
steps:
${steps}`;
  const racy = ofType(runText(layout(`  - wasm: {component: a, module: ${file}, call: poke, args: [{shared: ring}]}
  - wasm: {component: b, module: ${file}, call: poke, args: [{shared: ring}]}`)).events, 'fault');
  t.deepEqual(racy.map((f) => [f.kind, f.detected, f.line, f.wasm_function]), [['data-race', 'silent', 13, 'poke']]);
  const locked = ofType(runText(layout(`  - lock: {region: ring, by: a}
  - wasm: {component: a, module: ${file}, call: poke, args: [{shared: ring}]}
  - unlock: {region: ring, by: a}
  - lock: {region: ring, by: b}
  - wasm: {component: b, module: ${file}, call: poke, args: [{shared: ring}]}
  - unlock: {region: ring, by: b}`)).events, 'fault');
  t.deepEqual(locked, []);
});

test('data segments are written at instantiation through the memory model: checked, timed, counted in the first call', async (t) => {
  // A start function copies the data's first word to 0x200: it runs after the data is written.
  const file = await module('data', `(module (memory 1)
    (data (i32.const 0x100) "\\01\\02\\03\\04\\05\\06\\07\\08\\09\\0a\\0b\\0c\\0d\\0e\\0f\\10")
    (func $init (i32.store (i32.const 0x200) (i32.load (i32.const 0x100))))
    (start $init)
    (func (export "peek") (param $a i32) (result i32) (i32.load (local.get $a))))`);
  const base = 0x08d84000; // ui's segment on the PSP
  const wasm = runText(twoSegments('psp', 'user', `  - wasm: {component: ui, module: ${file}, call: peek, args: [0x10c]}
  - wasm: {component: ui, module: ${file}, call: peek, args: [0x200]}`)).events;
  const [first, second] = ofType(wasm, 'wasm');
  // The data (one 16-byte write), the start function's load and store, the call's load.
  t.like(first, { result: 0x100f0e0d, stores: 2, loads: 2, bytes: 16 + 4 + 4 + 4 });
  t.like(second, { result: 0x04030201, stores: 0, loads: 1, bytes: 4 });
  const steps = runText(twoSegments('psp', 'user', `  - write: {addr: ${base + 0x100}, len: 16, width: 1, by: ui}
  - read: {addr: ${base + 0x100}, len: 4, width: 4, by: ui}
  - write: {addr: ${base + 0x200}, len: 4, width: 4, by: ui}
  - read: {addr: ${base + 0x10c}, len: 4, width: 4, by: ui}`)).events;
  t.is(first.cycles, ofType(steps, 'access').reduce((sum, e) => sum + (e.cycles as number), 0));
  t.true((first.cycles as number) > 0);
});

test('a data segment past the segment: a guard-hit that stops the instantiation on QNX, a canary found later on the PSP', async (t) => {
  const file = await module('spill', `(module (memory 1)
    (data (i32.const 0xfff8) "0123456789abcdef")
    (func (export "peek") (param $a i32) (result i32) (i32.load (local.get $a))))`);
  const at = decodeModule(readFileSync(file)).data[0].offset!.at;
  const steps = `  - wasm: {component: ui, module: ${file}, call: peek, args: [0xfff8]}
  - wasm: {component: ui, module: ${file}, call: peek, args: [0xfff8]}
  - check`;
  const qnx = runText(twoSegments('qnx', 'wasm_memory', steps)).events;
  const faults = ofType(qnx, 'fault');
  t.deepEqual(faults.map((f) => [f.kind, f.detected, f.line, f.wasm_function, f.wasm_offset]), [['guard-hit', 'precise', 12, null, at], ['guard-hit', 'precise', 13, null, at]]);
  t.regex(faults[0].detail as string, new RegExp(`^write of 16 bytes at 0x8580FFF8 \\(wasm .*spill\\.wasm, data segment 0 at byte offset 0x${at.toString(16)}, written at instantiation\\): 8 bytes into the guard guard:net`));
  // Not instantiated: each call tries again, and stops at the same write.
  t.deepEqual(ofType(qnx, 'wasm').map((e) => [e.result, e.trap, e.stores]), [[null, `guard-hit at data segment at 0x${at.toString(16)}`, 0], [null, `guard-hit at data segment at 0x${at.toString(16)}`, 0]]);
  const psp = runText(twoSegments('psp', 'user', steps)).events;
  t.like(ofType(psp, 'wasm')[0], { result: 0x33323130, stores: 1, bytes: 20 });
  const [canary] = ofType(psp, 'fault');
  t.like(canary, { kind: 'canary-corrupt', detected: 'delayed', line: 14, cause_line: 12, wasm_function: null, wasm_offset: at });
});

test('a trap that is not a memory fault is a wasm-trap fault, precise, naming its function; the run goes on', async (t) => {
  const file = await module('traps', `(module (memory 1)
    (func $boom (export "boom") (unreachable))
    (func $ratio (export "ratio") (param $a i32) (param $b i32) (result i32) (i32.div_s (local.get $a) (local.get $b)))
    (func $deep (export "deep") (param $n i32) (result i32) (i32.add (call $deep (i32.add (local.get $n) (i32.const 1))) (i32.const 1)))
    (func (export "outer") (call $boom)))`);
  const events = runText(twoSegments('qnx', 'wasm_memory', `  - wasm: {component: ui, module: ${file}, call: ratio, args: [7, 2]}
  - wasm: {component: ui, module: ${file}, call: boom}
  - wasm: {component: ui, module: ${file}, call: ratio, args: [7, 0]}
  - wasm: {component: ui, module: ${file}, call: ratio, args: [-2147483648, -1]}
  - wasm: {component: ui, module: ${file}, call: outer}
  - wasm: {component: ui, module: ${file}, call: deep, args: [0]}`)).events;
  const faults = ofType(events, 'fault');
  t.deepEqual(faults.map((f) => [f.kind, f.detected, f.line, f.wasm_function, 'wasm_offset' in f]), [
    ['wasm-trap', 'precise', 13, 'boom', false],
    ['wasm-trap', 'precise', 14, 'ratio', false],
    ['wasm-trap', 'precise', 15, 'ratio', false],
    ['wasm-trap', 'precise', 16, 'boom', false], // where it happened, not the export called
    ['wasm-trap', 'precise', 17, 'deep', false],
  ]);
  t.is(faults[0].detail, `WebAssembly trap in ${file}, function boom: unreachable; the call stops`);
  t.regex(faults[1].detail as string, /function ratio: divide by zero; the call stops$/);
  t.regex(faults[2].detail as string, /function ratio: divide result unrepresentable; the call stops$/);
  t.regex(faults[4].detail as string, /function deep: Maximum call stack size exceeded; the call stops$/);
  t.deepEqual(ofType(events, 'wasm').map((e) => [e.result, e.trap ?? null]), [
    [3, null], [null, 'WebAssembly trap: unreachable'], [null, 'WebAssembly trap: divide by zero'],
    [null, 'WebAssembly trap: divide result unrepresentable'], [null, 'WebAssembly trap: unreachable'], [null, 'WebAssembly trap: Maximum call stack size exceeded'],
  ]);
});
