/**
 * `emu rebase` and src/wasm/rebase.ts: the rebased module validates, each access lands at the
 * segment's offset plus its original address (instruction by instruction, against the relocation
 * table), and a module's results are the same before and after. Bad input exits 2.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { decodeModule } from '../src/wasm/decode.js';
import { rebaseModule, type Placement, type RebaseResult } from '../src/wasm/rebase.js';
import { emu, REPO, tempDir } from './helpers/scenario.js';

type Binaryen = Parameters<typeof rebaseModule>[0];
/** Binaryen and the WAT compiler load asynchronously; tests are declared first (ava), then await them. */
const tools = Promise.all([import('binaryen'), import(pathToFileURL(join(REPO, 'wasm/build.mjs')).href)]);
let binaryen: Binaryen;
async function compileWat(name: string, text: string): Promise<Uint8Array> {
  const [b, build] = await tools;
  binaryen = b.default;
  return (build as { compileWat(name: string, text: string): Promise<Uint8Array> }).compileWat(name, text);
}

/** Every kind of memory instruction, with constant and computed addresses. */
const OPS = `(module
  (memory (export "memory") 2 5)
  (data (i32.const 40) "\\01\\02\\03\\04\\05\\06\\07\\08")
  (data $words "ABCDEFGH")
  (func $mix (export "mix") (param $p i32) (result i32)
    (i32.store offset=8 (local.get $p) (i32.const 0x11223344))
    (i32.store16 (i32.const 200) (i32.const 0x5566))
    (i32.store8 offset=3 (local.get $p) (i32.const 0x77))
    (i64.store offset=16 (local.get $p) (i64.const 0x0102030405060708))
    (i64.store32 (i32.const 300) (i64.const -1))
    (i64.store16 (i32.const 310) (i64.const 7))
    (i64.store8 (i32.const 312) (i64.const 9))
    (f32.store (i32.const 320) (f32.const 1.5))
    (f64.store offset=328 (local.get $p) (f64.const 2.25))
    (memory.fill (i32.add (local.get $p) (i32.const 400)) (i32.const 0xAB) (i32.const 32))
    (memory.copy (i32.const 500) (i32.const 40) (i32.const 8))
    (memory.init $words (local.get $p) (i32.const 2) (i32.const 4))
    (i32.add
      (i32.add (i32.load offset=8 (local.get $p)) (i32.load16_u (i32.const 200)))
      (i32.add
        (i32.add (i32.load8_s offset=3 (local.get $p)) (i32.wrap_i64 (i64.load offset=16 (local.get $p))))
        (i32.add
          (i32.add (i32.wrap_i64 (i64.load32_u (i32.const 300))) (i32.wrap_i64 (i64.load16_s (i32.const 310))))
          (i32.add
            (i32.add (i32.wrap_i64 (i64.load8_u (i32.const 312))) (i32.trunc_f32_s (f32.load (i32.const 320))))
            (i32.add
              (i32.add (i32.trunc_f64_s (f64.load offset=328 (local.get $p))) (i32.load8_u offset=410 (local.get $p)))
              (i32.add (i32.load (i32.const 500)) (i32.load (local.get $p)))))))))
  (func $pages (export "pages") (param $n i32) (result i32)
    (i32.add (i32.mul (memory.grow (local.get $n)) (i32.const 1000)) (memory.size)))
  (func $far (export "far") (result i32)
    (i32.store (i32.const 0x1FFFC) (i32.const 42))
    (i32.load (i32.const 0x1FFFC)))
)`;

const place: Placement = { component: 'c', arenaBase: 0x80000000, arenaSize: 1 << 20, segmentBase: 0x80000000 + 0x34000, segmentSize: 256 * 1024 };

function arenaMemory(p = place) {
  const pages = Math.ceil(p.arenaSize / 65536);
  return new WebAssembly.Memory({ initial: pages, maximum: pages });
}

function instantiate(bytes: Uint8Array, imports: WebAssembly.Imports = {}) {
  return new WebAssembly.Instance(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), imports).exports as Record<string, (...a: number[]) => number> & { memory: WebAssembly.Memory };
}

/** Runs an instrumented module with hooks that record each access's site and arena offset. */
function traced(result: RebaseResult, arena: WebAssembly.Memory, pages: { n: number; max: number }) {
  const seen: { site: number; offset: number; arena: number }[] = [];
  const exports = instantiate(result.binary, {
    emu: {
      arena,
      // Instrumented, the active data segments are the host's to write, at their rebased offsets.
      init: () => result.data.forEach((d) => new Uint8Array(arena.buffer).set(d.bytes, d.arenaOffset)),
      access: (ptr: number, site: number) => {
        seen.push({ site, offset: result.sites[site].offset, arena: (ptr >>> 0) + result.sites[site].staticOffset });
        return ptr;
      },
      bulk: (dest: number, src: number, len: number, site: number) => {
        if (result.sites[site].kind === 'copy') seen.push({ site, offset: result.sites[site].offset, arena: src >>> 0 });
        seen.push({ site, offset: result.sites[site].offset, arena: dest >>> 0 });
      },
      memory_size: () => pages.n,
      memory_grow: (n: number) => (pages.n + n > pages.max ? -1 : ((pages.n += n), pages.n - n)),
    },
  });
  return { exports, seen, data: result.data };
}

test('rebasing gives a valid module; every memory instruction is in the relocation table, at its opcode', async (t) => {
  const bytes = await compileWat('ops.wat', OPS);
  const result = rebaseModule(binaryen, bytes, place);
  t.true(WebAssembly.validate(result.binary as Uint8Array<ArrayBuffer>));
  t.is(result.shift, 0x34000);
  const info = decodeModule(bytes);
  const ops = info.functions.flatMap((f) => f.memOps.map((op) => ({ ...op, fn: f.name })));
  t.is(ops.length, 28);
  for (const op of ops) {
    const relocs = result.relocations.filter((r) => r.offset === op.at);
    t.is(relocs.length, op.op === 'memory.copy' ? 2 : 1, `${op.op} at ${op.at}`);
    for (const r of relocs) {
      t.is(r.function, op.fn);
      t.is(r.instruction, op.op);
    }
    const opcode = bytes[op.at];
    if (op.op.startsWith('memory.')) t.true([0x3f, 0x40, 0xfc].includes(opcode), op.op);
    else t.true(opcode >= 0x28 && opcode <= 0x3e, op.op);
  }
  // Constant addresses move by the shift; computed ones get it in their static offset.
  const at = (instruction: string) => result.relocations.filter((r) => r.instruction === instruction);
  t.deepEqual(at('i32.store16').map((r) => [r.address, r.change, r.from, r.to]), [['constant', 'constant', 200, 200 + 0x34000]]);
  t.deepEqual(at('i32.store').map((r) => [r.address, r.change, r.from, r.to]), [['computed', 'offset', 8, 8 + 0x34000], ['constant', 'constant', 0x1fffc, 0x1fffc + 0x34000]]);
  t.deepEqual(at('memory.copy').map((r) => [r.operand, r.address, r.to]), [['dest', 'constant', 0x34000], ['source', 'constant', 0x34000]]);
  t.deepEqual(at('memory.init').map((r) => [r.operand, r.address]), [['dest', 'computed']]);
  t.deepEqual(at('memory.grow').map((r) => r.change), ['replaced']);
  t.deepEqual(at('data segment 0').map((r) => [r.change, r.from, r.to, bytes[r.offset]]), [['data-offset', 40, 40 + 0x34000, 0x41]]);
  t.deepEqual([result.initialPages, result.maxPages], [2, 4]); // the module's own max is 5; the segment holds 4
});

test('each access lands at the segment offset plus its original address, instruction by instruction', async (t) => {
  const bytes = await compileWat('ops.wat', OPS);
  // The original, instrumented in place (shift 0), gives each instruction's own addresses.
  const flat = { ...place, segmentBase: place.arenaBase };
  const before = traced(rebaseModule(binaryen, bytes, flat, { instrument: true }), arenaMemory(), { n: 2, max: 4 });
  const rebased = rebaseModule(binaryen, bytes, place, { instrument: true });
  const after = traced(rebased, arenaMemory(), { n: 2, max: 4 });
  t.is(before.exports.mix(1000), after.exports.mix(1000));
  t.is(before.exports.far(), 42);
  t.is(after.exports.far(), 42);
  t.is(after.seen.length, before.seen.length);
  t.true(after.seen.length > 25);
  for (let i = 0; i < after.seen.length; i++) {
    const a = after.seen[i];
    const b = before.seen[i];
    t.is(a.offset, b.offset);
    t.is(a.arena, b.arena + 0x34000, `access ${i} at byte offset ${a.offset}`);
    // The relocation table names this instruction.
    t.true(rebased.relocations.some((r) => r.offset === a.offset), `offset ${a.offset} in the table`);
  }
  // The original addresses are what the module asked for: mix(1000) stores at 1000 + 8 first.
  t.deepEqual([before.seen[0].arena, after.seen[0].arena], [1008, 1008 + 0x34000]);
  // The data segment, written by the host: at its offset (40) plus the shift, pointing at its offset constant.
  const dataOffset = rebased.relocations.find((r) => r.change === 'data-offset')!.offset;
  t.deepEqual(rebased.data.map((d) => [d.index, d.at, d.arenaOffset]), [[0, dataOffset, 40 + 0x34000]]);
  t.deepEqual(before.data.map((d) => d.arenaOffset), [40]);
});

test("a module's results are the same before and after rebasing, and its memory is the segment's bytes", async (t) => {
  for (const [name, calls] of [
    ['ops', [['mix', 1000], ['mix', 2048], ['far'], ['pages', 1], ['pages', 1], ['pages', 1], ['pages', 0]]],
    ['physics', [['init', 300], ['step', 0x8000], ['step', 0x8000], ['step', 0x9000]]],
    ['overflow', [['fill', 10], ['fill', 63]]],
  ] as const) {
    const ops = await compileWat('ops.wat', OPS);
    const bytes = name === 'ops' ? ops : new Uint8Array(readFileSync(join(REPO, `wasm/${name}.wasm`)));
    const original = instantiate(bytes);
    const arena = arenaMemory();
    // A segment of 8 pages: the module's own maximum (5 pages for ops) is what limits memory.grow.
    const rebased = instantiate(rebaseModule(binaryen, bytes, { ...place, segmentSize: 8 * 65536 }).binary, { emu: { arena } });
    for (const [fn, ...args] of calls) t.is(rebased[fn](...args), original[fn](...args), `${name}.${fn}(${args.join(', ')})`);
    // The module's memory, byte for byte, is the segment's first bytes of the arena; the rest is untouched.
    const own = new Uint8Array(original.memory.buffer);
    const all = new Uint8Array(arena.buffer);
    t.true(Buffer.from(all.subarray(0x34000, 0x34000 + own.length)).equals(Buffer.from(own)), name);
    t.true(all.subarray(0, 0x34000).every((b) => b === 0));
    t.true(all.subarray(0x34000 + 8 * 65536).every((b) => b === 0));
  }
});

test('emu rebase writes the module and the relocation table; the shipped programs rebuild to the same bytes', (t) => {
  const dir = tempDir();
  const out = join(dir, 'physics.rebased.wasm');
  const table = join(dir, 'physics.json');
  const r = emu(['rebase', 'wasm/physics.wasm', '--scenario', 'scenarios/psp-game-wasm.yaml', '--component', 'audio', '-o', out, '--relocations', table]);
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /rebased wasm\/physics.wasm into segment audio \(0x09986000, 2 MiB; 12,591,104 bytes into the arena at 0x08D84000\)/);
  t.regex(r.stdout, /rewritten: 13 \(0 constant addresses, 13 static offsets/);
  const json = JSON.parse(readFileSync(table, 'utf8'));
  t.is(json.format, 'emu-relocations');
  t.is(json.segment.shift, 0x09986000 - 0x08d84000);
  t.deepEqual(json.relocations[0], { function: 'init', function_index: 0, offset: 112, instruction: 'i32.store', address: 'computed', change: 'offset', from: 0, to: json.segment.shift });
  t.true(WebAssembly.validate(readFileSync(out)));
  // `node wasm/build.mjs --check`: every shipped .wasm is what its .wat builds to, byte for byte.
  const rebuilt = spawnSync(process.execPath, [join(REPO, 'wasm/build.mjs'), '--check'], { encoding: 'utf8', cwd: REPO });
  t.is(rebuilt.status, 0, rebuilt.stdout + rebuilt.stderr);
});

test('emu rebase: bad input exits 2 with a clear message', async (t) => {
  const dir = tempDir();
  const notWasm = emu(['rebase', 'package.json', '--scenario', 'scenarios/psp-game.yaml', '--component', 'physics']);
  t.is(notWasm.status, 2);
  t.regex(notWasm.stderr, /package.json: not a WebAssembly module: it does not start with the magic bytes/);
  const noMemory = join(dir, 'nomem.wasm');
  writeFileSync(noMemory, await compileWat('nomem.wat', '(module (func (export "f") (result i32) (i32.const 1)))'));
  const r = emu(['rebase', noMemory, '--scenario', 'scenarios/psp-game.yaml', '--component', 'physics']);
  t.is(r.status, 2);
  t.regex(r.stderr, /nomem.wasm: the module has no memory: there is nothing to rebase/);
  const big = join(dir, 'big.wasm');
  writeFileSync(big, await compileWat('big.wat', '(module (memory 70))'));
  const tooBig = emu(['rebase', big, '--scenario', 'scenarios/psp-game.yaml', '--component', 'physics']);
  t.is(tooBig.status, 2);
  t.regex(tooBig.stderr, /the module's memory starts at 70 pages \(4587520 bytes\); segment physics has 4194304 bytes \(64 whole 64 KiB pages\)/);
  const unknown = emu(['rebase', 'wasm/physics.wasm', '--scenario', 'scenarios/psp-game.yaml', '--component', 'phys']);
  t.is(unknown.status, 2);
  t.regex(unknown.stderr, /has no component 'phys' \(components: physics, renderer, audio, logic\)/);
  const missing = emu(['rebase', 'wasm/none.wasm', '--scenario', 'scenarios/psp-game.yaml', '--component', 'physics']);
  t.is(missing.status, 2);
  t.regex(missing.stderr, /no module file wasm\/none.wasm/);
  t.is(emu(['rebase', 'wasm/physics.wasm', '--component', 'physics']).status, 2);
  const simd = join(dir, 'simd.wasm');
  writeFileSync(simd, new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0, 5, 3, 1, 0, 1, 10, 8, 1, 6, 0, 0xfd, 0x0c, 0, 0x1a, 0x0b]));
  const s = emu(['rebase', simd, '--scenario', 'scenarios/psp-game.yaml', '--component', 'physics']);
  t.is(s.status, 2);
  t.regex(s.stderr, /SIMD instructions are not supported/);
  // Decodes, but does not validate (i32.add with nothing on the stack): the engine's own check says so.
  const invalid = join(dir, 'invalid.wasm');
  writeFileSync(invalid, new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0, 5, 3, 1, 0, 1, 10, 5, 1, 3, 0, 0x6a, 0x0b]));
  const v = emu(['rebase', invalid, '--scenario', 'scenarios/psp-game.yaml', '--component', 'physics', '-o', join(dir, 'out.wasm')]);
  t.is(v.status, 2);
  t.regex(v.stderr, /invalid\.wasm: not a valid WebAssembly module: Compiling function #0 failed: not enough arguments on the stack for i32\.add/);
  // Outputs that cannot be written, and an option given twice: usage errors, before any work.
  const twice = emu(['rebase', 'wasm/physics.wasm', '--scenario', 'scenarios/psp-game.yaml', '--scenario', 'scenarios/psp-game.yaml', '--component', 'physics']);
  t.is(twice.status, 2);
  t.regex(twice.stderr, /--scenario is given 2 times; give it once/);
  const folder = emu(['rebase', 'wasm/physics.wasm', '--scenario', 'scenarios/psp-game.yaml', '--component', 'physics', '-o', dir]);
  t.is(folder.status, 2);
  t.regex(folder.stderr, /-o .*: is a folder; give a file name/);
  const nowhere = emu(['rebase', 'wasm/physics.wasm', '--scenario', 'scenarios/psp-game.yaml', '--component', 'physics', '-o', join(dir, 'out.wasm'), '--relocations', join(dir, 'no', 'r.json')]);
  t.is(nowhere.status, 2);
  t.regex(nowhere.stderr, /--relocations .*r\.json: cannot write there: folder .*no does not exist/);
});
