/**
 * Bounds a real target could have (issue 14): sizes beyond a 32-bit address space and cache geometry
 * no part has are input errors at their position, not allocation failures; YAML aliases are refused
 * with a message that says so.
 */
import test, { type ExecutionContext } from 'ava';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../src/input/errors.js';
import { parseScenario } from '../src/scenario/parse.js';
import { loadTarget } from '../src/target/load.js';
import { tempDir } from './helpers/scenario.js';

const TARGET = `name: t
cpu: {arch: arm, clock_hz: 1000000, endian: little, word: 4, alignment: strict}
regions:
  - {name: ram, base: 0x0, size: 64K, kind: ram, read: 1, write: 1, bus: 4}
`;

/** The InputError loading `text` as a target file gives. */
function targetError(t: ExecutionContext, text: string): InputError {
  const dir = tempDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 't.yaml');
  writeFileSync(file, text);
  const error = t.throws(() => loadTarget(file), { instanceOf: InputError }) as InputError;
  t.is(error.pos.file, file);
  return error;
}

function scenarioError(t: ExecutionContext, text: string): InputError {
  return t.throws(() => parseScenario('/virtual/s.yaml', text, 'h'), { instanceOf: InputError }) as InputError;
}

test('a 16 GiB cache is an input error at its size, not an allocation failure', (t) => {
  const e = targetError(t, TARGET + 'cache: {size: 16G, line: 32, ways: 4, write_back: true}\n');
  t.deepEqual([e.pos.line, e.pos.col], [5, 15]);
  t.regex(e.message, /cache\.size: 17179869184 bytes is more than 64 MiB, the most allowed here/);
});

test('a cache line shorter than a cached region\'s bus word is an input error at the region (its fill was -0.5 burst words: fractional cycles, an internal error)', (t) => {
  const cached = (bus: number) => `name: t
cpu: {arch: arm, clock_hz: 1000000, endian: little, word: 4, alignment: strict}
cache: {size: 4K, line: 2, ways: 2, write_back: true}
regions:
  - {name: ram, base: 0x0, size: 64K, kind: ram, read: 1, write: 1, bus: ${bus}, cached: true}
  - {name: io, base: 0x40000000, size: 64K, kind: ram, read: 1, write: 1, bus: 4}
`;
  const e = targetError(t, cached(4));
  t.deepEqual([e.pos.line, e.pos.col], [5, 5]);
  t.regex(e.message, /region 'ram': its 4-byte bus words do not make up the cache's 2-byte lines/);
  // An uncached region's bus is not the cache's concern, and a 2-byte bus fills a 2-byte line.
  const dir = tempDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 't.yaml'), cached(2));
  t.is(loadTarget(join(dir, 't.yaml')).cache?.line, 2);
});

test('cache geometry: no empty cache, no millions of tiny lines, no huge lines', (t) => {
  t.regex(targetError(t, TARGET + 'cache: {size: 0, line: 32, ways: 1, write_back: true}\n').message, /cache\.size: must be greater than 0/);
  t.regex(targetError(t, TARGET + 'cache: {size: 64M, line: 4, ways: 1, write_back: true}\n').message, /more than 2097152 lines/);
  t.regex(targetError(t, TARGET + 'cache: {size: 1M, line: 1M, ways: 1, write_back: true}\n').message, /cache\.line: 1048576 bytes is more than 4 KiB/);
  // A real geometry still loads.
  const dir = tempDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 't.yaml'), TARGET + 'cache: {size: 32K, line: 64, ways: 4, write_back: true}\n');
  t.is(loadTarget(join(dir, 't.yaml')).cache?.size, 32 * 1024);
});

test('sizes beyond a 32-bit address space are refused where they are written', (t) => {
  const e = targetError(t, TARGET.replace('size: 64K', 'size: 8G'));
  t.deepEqual([e.pos.line, e.pos.col], [4, 34]);
  t.regex(e.message, /8589934592 bytes is more than a 32-bit address space holds \(4 GiB\)/);
  const s = scenarioError(t, 'target: bare-metal\nheaps: [{name: h, allocator: bump, in: sram, size: 4K}]\nsteps:\n  - alloc: {id: a, heap: h, size: 1000G}\n');
  t.deepEqual([s.pos.line, s.pos.col], [4, 35]);
  t.regex(s.message, /more than a 32-bit address space/);
});

test('YAML aliases are refused with a message saying so, at the alias', (t) => {
  const e = scenarioError(t, 'target: bare-metal\nheaps: [{name: h, allocator: bump, in: sram, size: 4K}]\nsteps:\n  - alloc: &a {id: a, heap: h, size: 16}\n  - alloc: *a\n');
  t.deepEqual([e.pos.line, e.pos.col], [5, 12]);
  t.is(e.message, 'YAML aliases are not supported (*a): write the value out where it is used');
  const merge = targetError(t, TARGET + 'cache: {<<: *x, line: 32}\n');
  t.regex(merge.message, /YAML aliases are not supported/);
});
