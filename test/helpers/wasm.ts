/** WebAssembly modules for tests: WAT compiled with wabt (wasm/build.mjs) into temporary files. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO, tempDir } from './scenario.js';

const tools = import(pathToFileURL(join(REPO, 'wasm/build.mjs')).href) as Promise<{ compileWat(name: string, text: string): Promise<Uint8Array> }>;

/** Compiles WAT into a file of a temporary folder; its absolute path. */
export async function module(name: string, wat: string): Promise<string> {
  const file = join(tempDir(), `${name}.wasm`);
  writeFileSync(file, await (await tools).compileWat(`${name}.wat`, wat));
  return file;
}

/** A module of one page that stores, loads, sums, fills and grows: addresses are its own. */
export const POKE = `(module (memory 1)
  (func (export "poke") (param $a i32) (i32.store (local.get $a) (i32.const 7)))
  (func (export "peek") (param $a i32) (result i32) (i32.load (local.get $a)))
  (func (export "peek_any") (param $a i32) (result i32) (i32.load align=1 (local.get $a)))
  (func (export "sum") (param $n i32) (result i32) (local $i i32) (local $s i32)
    (block $d (loop $l (br_if $d (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $s (i32.add (local.get $s) (i32.load offset=0x100 (i32.shl (local.get $i) (i32.const 2)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1))) (br $l)))
    (local.get $s))
  (func (export "fill") (param $n i32) (local $i i32)
    (block $d (loop $l (br_if $d (i32.ge_u (local.get $i) (local.get $n)))
      (i32.store offset=0x100 (i32.shl (local.get $i) (i32.const 2)) (local.get $i))
      (local.set $i (i32.add (local.get $i) (i32.const 1))) (br $l))))
  (func (export "grow") (param $n i32) (result i32) (memory.grow (local.get $n)))
  (func (export "size") (result i32) (memory.size)))`;
