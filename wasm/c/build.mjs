// Builds every wasm/c/*.c into wasm/c/*.wasm with clang for wasm32 and wasm-ld, no libc: the C
// versions of the programs in wasm/*.wat. The committed .wasm files were built by Debian clang 14.0.6
// and wasm-ld from lld 14 (Debian 12: apt-get install -y clang lld); another version may give other
// bytes. Run: node wasm/c/build.mjs [--check] (with --check nothing is written: it exits 1 if a .wasm
// differs from what its source builds to). Each module is built, in wasm/c, by exactly:
//
//   clang --target=wasm32 -O2 -ffreestanding -c -o NAME.o NAME.c
//   wasm-ld --no-entry --stack-first -z stack-size=4096 --initial-memory=65536 --max-memory=65536 -o NAME.wasm NAME.o
//
// Compiled and linked apart: clang's driver, linking, runs wasm-opt on the module when it finds one
// in PATH (binaryen's, in node_modules/.bin under npm), which changes the bytes. Relative source
// paths and no debug information: nothing of the machine ends up in the module. One 64 KiB page of
// memory, its first 4 KiB the stack; exports are marked in the sources (export_name), imports name
// their module (import_module "env"), so no undefined symbol is left to the linker.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export const CLANG_FLAGS = ['--target=wasm32', '-O2', '-ffreestanding', '-c'];
export const WASM_LD_FLAGS = ['--no-entry', '--stack-first', '-z', 'stack-size=4096', '--initial-memory=65536', '--max-memory=65536'];

export const INSTALL = 'apt-get install -y clang lld';

/** clang's version line, or null when there is no clang to run. */
export function clangVersion() {
  const r = spawnSync('clang', ['--version'], { encoding: 'utf8' });
  return r.error || r.status !== 0 ? null : r.stdout.split('\n')[0];
}

/** Every C program here: name, source, committed module. */
export function programs(dir = here) {
  return readdirSync(dir).filter((f) => f.endsWith('.c')).sort().map((f) => ({ name: f.slice(0, -2), c: join(dir, f), wasm: join(dir, `${f.slice(0, -2)}.wasm`) }));
}

/** Builds `NAME.c` of `dir` into `out` (a path; the object file goes beside it); throws with the tool's message when it fails. */
export function build(dir, name, out) {
  const object = out.replace(/\.wasm$/, '.o');
  run('clang', [...CLANG_FLAGS, '-o', object, `${name}.c`], dir);
  run('wasm-ld', [...WASM_LD_FLAGS, '-o', out, object], dir);
  rmSync(object);
  return readFileSync(out);
}

function run(tool, args, cwd) {
  const r = spawnSync(tool, args, { cwd, encoding: 'utf8' });
  if (r.error) throw new Error(`${tool} cannot run (${r.error.message}); install clang and lld: ${INSTALL}`);
  if (r.status !== 0) throw new Error(`${tool} failed: ${tool} ${args.join(' ')}\n${r.stderr}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (clangVersion() === null) {
    console.error(`clang is not installed; install it with lld: ${INSTALL}`);
    process.exit(2);
  }
  const check = process.argv.includes('--check');
  const scratch = mkdtempSync(join(tmpdir(), 'emu-clang-'));
  let stale = 0;
  for (const p of programs()) {
    let old = null;
    try { old = readFileSync(p.wasm); } catch {}
    const bytes = build(here, p.name, check ? join(scratch, `${p.name}.wasm`) : p.wasm);
    const same = old !== null && Buffer.compare(old, bytes) === 0;
    if (check && !same) { stale++; console.log(`${p.name}.wasm differs from what ${p.name}.c builds to`); }
    if (!check && !same) console.log(`wrote ${p.name}.wasm (${bytes.length} bytes)`);
  }
  rmSync(scratch, { recursive: true });
  process.exit(stale ? 1 : 0);
}
