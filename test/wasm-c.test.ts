/**
 * The C programs (wasm/c/*.c, built by clang for wasm32 with no libc into the committed wasm/c/*.wasm):
 * clang rebuilds them to the same bytes (this test fails, saying how to install clang, where there is
 * none), and each behaves as its WAT twin in the shipped scenarios: the same physics checksums
 * through phys2render, the off-by-one caught in the guard, the list allocated on the TLSF heap.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ofType, REPO, runText, tempDir } from './helpers/scenario.js';
import type { TraceEvent } from '../src/trace/schema.js';

interface CBuild {
  CLANG_FLAGS: string[];
  INSTALL: string;
  clangVersion(): string | null;
  programs(): { name: string; c: string; wasm: string }[];
  build(dir: string, name: string, out: string): Buffer;
}
const tools = import(pathToFileURL(join(REPO, 'wasm/c/build.mjs')).href) as Promise<CBuild>;

test('clang rebuilds every C program to the committed .wasm, byte for byte', async (t) => {
  const c = await tools;
  const version = c.clangVersion();
  if (version === null) {
    t.fail(`clang is not installed, so the C programs in wasm/c cannot be rebuilt and checked; install clang and wasm-ld: ${c.INSTALL} (Debian 12; the .wasm files were built by Debian clang 14.0.6)`);
    return;
  }
  const programs = c.programs();
  t.deepEqual(programs.map((p) => p.name), ['alloc', 'overflow', 'physics']);
  const dir = tempDir();
  for (const p of programs) {
    const bytes = c.build(join(REPO, 'wasm/c'), p.name, join(dir, `${p.name}.wasm`));
    t.true(Buffer.compare(bytes, readFileSync(p.wasm)) === 0, `${p.name}.c does not build to the committed ${p.name}.wasm with ${version} (they were built by Debian clang 14.0.6: rebuild with node wasm/c/build.mjs if the source changed)`);
  }
});

/** A shipped scenario with its WAT module swapped for the C one. */
function withC(scenario: string, wat: string, c: string): TraceEvent[] {
  const text = readFileSync(join(REPO, 'scenarios', scenario), 'utf8');
  return runText(text.replaceAll(wat, join(REPO, 'wasm/c', c))).events;
}

function original(scenario: string): TraceEvent[] {
  const text = readFileSync(join(REPO, 'scenarios', scenario), 'utf8');
  return runText(text.replaceAll('../wasm/', `${join(REPO, 'wasm')}/`)).events;
}

test('physics in C: the same checksums as physics.wat, frame by frame, written through phys2render', (t) => {
  const results = (events: TraceEvent[]) => ofType(events, 'wasm').map((e) => [e.call, e.result]);
  const c = withC('psp-game-wasm.yaml', '../wasm/physics.wasm', 'physics.wasm');
  const wat = original('psp-game-wasm.yaml');
  t.true(ofType(c, 'wasm').length > 10);
  t.deepEqual(results(c), results(wat));
  t.deepEqual(ofType(c, 'fault').map((f) => f.kind), ofType(wat, 'fault').map((f) => f.kind));
  // 512 bodies a step, each an 8-byte position in phys2render: 1024 word stores there at least.
  const step = ofType(c, 'wasm').find((e) => e.call === 'step')!;
  t.true((step.stores as number) >= 512 * 2 + 512 * 3);
});

test('the off-by-one in C: a guard-hit in fill on QNX, a canary found at the frame end on the PSP', (t) => {
  const stores = ofType(withC('wasm-overflow-qnx.yaml', '../wasm/overflow.wasm', 'overflow.wasm'), 'fault');
  t.deepEqual(stores.map((f) => [f.kind, f.detected, f.line, f.wasm_function]), [['guard-hit', 'precise', 25, 'fill']]);
  const bytes = readFileSync(join(REPO, 'wasm/c/overflow.wasm'));
  t.is(bytes[stores[0].wasm_offset as number], 0x36); // an i32.store
  t.regex(stores[0].detail as string, /^write of 4 bytes at 0x85810000 \(wasm .*overflow\.wasm, function fill, i32\.store at byte offset 0x[0-9a-f]+\): 4 bytes into the guard guard:net/);
  const psp = withC('wasm-overflow-psp.yaml', '../wasm/overflow.wasm', 'overflow.wasm');
  t.deepEqual(ofType(psp, 'fault').map((f) => [f.kind, f.detected, f.line, f.cause_line, f.wasm_function]), [['canary-corrupt', 'delayed', 28, 27, 'fill']]);
  t.deepEqual(ofType(psp, 'wasm').map((e) => e.result), [85344, 85344]);
});

test('emu_malloc from C: the list on the TLSF heap, as alloc.wat', (t) => {
  const c = withC('wasm-tlsf.yaml', '../wasm/alloc.wasm', 'alloc.wasm');
  t.deepEqual(ofType(c, 'wasm').map((e) => [e.call, e.result]), [['build', 100], ['sum', 5050], ['release', 100], ['build', 50], ['sum', 1275], ['release', 50], ['release', 0]]);
  t.like(ofType(c, 'alloc')[0], { heap: 'logic', id: 'logic.malloc#1', size: 12, addr: 0x08d94c78 });
  t.is(ofType(c, 'free').length, 150);
  t.deepEqual(ofType(c, 'fault'), []);
});
