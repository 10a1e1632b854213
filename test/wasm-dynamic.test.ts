/**
 * `wasm` steps in a dynamic layout: the module's memory is its segment as it stands, memory.grow grows
 * the segment in place (an `auto` segment event) and returns -1 exactly when the next segment's guard
 * blocks it; a released segment takes its instance with it, and a module's memory never shrinks.
 */
import test from 'ava';
import { ofType, runText } from './helpers/scenario.js';
import { module, POKE } from './helpers/wasm.js';

/**
 * QNX (4 KiB pages), 64 KiB alignment, 4 KiB guards, a 1 MiB arena at 0x85800000: a at 0x85810000
 * (64 KiB), b at 0x85830000 (256 KiB), c at 0x85880000 (64 KiB). Steps start at line 11.
 */
function dynamic(steps: string): string {
  return `
target: qnx
leak_check: false
layout:
  strategy: dynamic
  arena: {in: wasm_memory, size: 1M}
  guard: 4K
  align: 64K
  components: [{name: a, size: 64K}, {name: b, size: 256K}, {name: c, size: 64K}]
steps:
${steps}`;
}

const A = 0x85810000;
const KiB = 1024;

test('memory.grow grows the segment in place, and returns -1 exactly when the next guard blocks it', async (t) => {
  const file = await module('poke', POKE);
  const call = (fn: string, arg?: number) => `  - wasm: {component: a, module: ${file}, call: ${fn}${arg === undefined ? '' : `, args: [${arg}]`}}`;
  // b's guard at 0x8582F000 leaves a 124 KiB: a second page (128 KiB) does not fit.
  const tight = runText(dynamic([call('grow', 0), call('grow', 1), call('size')].join('\n'))).events;
  t.deepEqual(ofType(tight, 'wasm').map((e) => e.result), [1, -1, 1]);
  const [refused] = ofType(tight, 'segment');
  t.like(refused, { line: 12, component: 'a', action: 'resize', refused: true, auto: true, old_addr: A, old_size: 64 * KiB, addr: A, size: 64 * KiB, requested: 128 * KiB });
  const [failed] = ofType(tight, 'fault');
  t.like(failed, { kind: 'grow-failed', detected: 'precise', line: 12 });
  t.is(failed.detail, `memory.grow(1) by ${file} returned -1: 1 pages are in use; segment a cannot grow in place: a (64 KiB at 0x85810000) can grow in place to 124 KiB, up to 0x8582F000 (room for its guard before guard:b at 0x8582F000); the arena (1 MiB at 0x85800000) has 608 KiB free in 4 range(s), the largest 440 KiB, 64 KiB needed`);

  // b released: a reaches c's guard at 0x8587F000, 444 KiB: 6 pages fit, a 7th does not.
  const roomy = runText(dynamic([`  - segment: {component: b, size: 0}`, call('grow', 5), call('grow', 1), call('size'), call('poke', 0x5fffc), call('peek', 0x5fffc), call('poke', 0x60000)].join('\n'))).events;
  t.deepEqual(ofType(roomy, 'wasm').map((e) => e.result), [1, -1, 6, null, 7, null]);
  const [, grown, blocked] = ofType(roomy, 'segment');
  t.like(grown, { line: 12, component: 'a', action: 'resize', auto: true, old_size: 64 * KiB, addr: A, size: 384 * KiB, requested: 384 * KiB, cycles: 0 });
  t.false('refused' in grown);
  t.deepEqual(grown.guards, [{ name: 'guard:a', addr: A - 4 * KiB, size: 4 * KiB, protection: 'mmu' }, { name: 'guard:a:end', addr: A + 384 * KiB, size: 4 * KiB, protection: 'mmu' }]);
  t.like(blocked, { line: 13, refused: true, auto: true, old_size: 384 * KiB, size: 384 * KiB, requested: 448 * KiB });
  // The grown pages are the module's; the byte after them is the guard.
  const faults = ofType(roomy, 'fault');
  t.deepEqual(faults.map((f) => [f.kind, f.line, f.wasm_function ?? null]), [['grow-failed', 13, null], ['guard-hit', 17, 'poke']]);
  t.regex(faults[1].detail as string, /^write of 4 bytes at 0x85870000 /);
});

test('a segment step makes room first: memory.grow takes it with no segment event, then grows the segment', async (t) => {
  const file = await module('poke', POKE);
  const events = runText(dynamic(`  - segment: {component: b, size: 0}
  - segment: {component: a, size: 200K}
  - wasm: {component: a, module: ${file}, call: grow, args: [1]}
  - wasm: {component: a, module: ${file}, call: grow, args: [1]}
  - wasm: {component: a, module: ${file}, call: grow, args: [1]}`)).events;
  t.deepEqual(ofType(events, 'wasm').map((e) => e.result), [1, 2, 3]);
  // 200 KiB holds three pages; the fourth (256 KiB) grows the segment.
  t.deepEqual(ofType(events, 'segment').map((e) => [e.line, e.action, e.auto ?? false, e.size, e.requested]), [[11, 'release', false, 0, 0], [12, 'resize', false, 200 * KiB, 200 * KiB], [15, 'resize', true, 256 * KiB, 256 * KiB]]);
  t.deepEqual(ofType(events, 'fault'), []);
});

test("a module's memory never shrinks: a segment step cutting into it is refused", async (t) => {
  const file = await module('poke', POKE);
  const events = runText(dynamic(`  - segment: {component: a, size: 120K}
  - wasm: {component: a, module: ${file}, call: size}
  - segment: {component: a, size: 64K}
  - segment: {component: a, size: 32K}`)).events;
  t.deepEqual(ofType(events, 'segment').map((e) => [e.line, e.refused ?? false, e.size]), [[11, false, 120 * KiB], [13, false, 64 * KiB], [14, true, 64 * KiB]]);
  const faults = ofType(events, 'fault');
  t.deepEqual(faults.map((f) => [f.kind, f.line, f.id]), [['layout-invalid', 14, 'a']]);
  t.regex(faults[0].detail as string, /the wasm module running in it has 64 KiB of memory, which never shrinks/);
});

test('a released segment takes its instance: a call then faults and does not run; created again, a fresh instance', async (t) => {
  const file = await module('poke', POKE);
  const events = runText(dynamic(`  - wasm: {component: a, module: ${file}, call: grow, args: [1]}
  - wasm: {component: b, module: ${file}, call: poke, args: [0x10]}
  - segment: {component: b, size: 0}
  - wasm: {component: b, module: ${file}, call: peek, args: [0x10]}
  - segment: {component: b, size: 64K}
  - wasm: {component: b, module: ${file}, call: peek, args: [0x10]}
  - wasm: {component: b, module: ${file}, call: size}`)).events;
  t.deepEqual(ofType(events, 'wasm').map((e) => [e.line, e.call, e.result]), [[11, 'grow', -1], [12, 'poke', null], [16, 'peek', 0], [17, 'size', 1]]);
  const faults = ofType(events, 'fault');
  t.deepEqual(faults.map((f) => [f.kind, f.detected, f.line]), [['grow-failed', 'precise', 11], ['use-after-free', 'precise', 14]]);
  t.is(faults[1].detail, `wasm call peek of ${file}: segment b was released at op 3 (line 13), its module instance with it (its pages are unmapped: a page fault)`);
  // Created again at b's old place: the new instance's memory reads zeros, not the old 7.
  t.like(ofType(events, 'segment')[2], { line: 15, action: 'create', addr: 0x85830000 });
});

test('a component without a segment yet: unmapped, the call does not run', async (t) => {
  const file = await module('poke', POKE);
  const text = dynamic(`  - wasm: {component: d, module: ${file}, call: size}
  - segment: {component: d, size: 32K}
  - wasm: {component: d, module: ${file}, call: size}`).replace('{name: c, size: 64K}]', '{name: c, size: 64K}, {name: d}]');
  const events = runText(text).events;
  t.deepEqual(ofType(events, 'wasm'), []);
  const faults = ofType(events, 'fault');
  t.deepEqual(faults.map((f) => [f.kind, f.line]), [['unmapped', 11], ['layout-invalid', 13]]);
  t.is(faults[0].detail, `wasm call size of ${file}: segment d has not been created (no segment step has placed it)`);
  t.regex(faults[1].detail as string, /memory starts at 1 pages \(65536 bytes\), more than segment d's 32768 bytes; the module is not instantiated$/);
});
