// Builds every wasm/*.wat into wasm/*.wasm with the wabt package (the JavaScript build of WABT), names
// section included (function names appear in emu's faults). Run: node wasm/build.mjs [--check]
// With --check nothing is written: it exits 1 if a .wasm differs from what its source builds to.
// The build is deterministic: the same source gives the same bytes (a test checks it).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';

const here = dirname(fileURLToPath(import.meta.url));

/** The bytes a WAT source compiles to (bulk memory and the other post-MVP features wabt knows enabled). */
export async function compileWat(name, text) {
  const wabt = await wabtInit();
  const module = wabt.parseWat(name, text, { bulk_memory: true, sign_extension: true, mutable_globals: true, sat_float_to_int: true, multi_value: true });
  try {
    module.resolveNames();
    module.validate();
    return new Uint8Array(module.toBinary({ write_debug_names: true }).buffer);
  } finally {
    module.destroy();
  }
}

/** Every source in wasm/: name, source path, module path. */
export function programs(dir = here) {
  return readdirSync(dir).filter((f) => f.endsWith('.wat')).sort().map((f) => ({ name: f.slice(0, -4), wat: join(dir, f), wasm: join(dir, f.replace(/\.wat$/, '.wasm')) }));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const p of programs()) {
    const bytes = await compileWat(`${p.name}.wat`, readFileSync(p.wat, 'utf8'));
    let old = null;
    try { old = readFileSync(p.wasm); } catch {}
    const same = old !== null && Buffer.compare(old, Buffer.from(bytes)) === 0;
    if (check) {
      if (!same) { stale++; console.log(`${p.name}.wasm differs from what ${p.name}.wat builds to`); }
    } else if (!same) {
      writeFileSync(p.wasm, bytes);
      console.log(`wrote ${p.name}.wasm (${bytes.length} bytes)`);
    }
  }
  process.exit(stale ? 1 : 0);
}
