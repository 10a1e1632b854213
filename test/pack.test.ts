import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packLayout } from '../src/layout/pack.js';
import { parseScenario } from '../src/scenario/parse.js';
import { emu, tempDir } from './helpers/scenario.js';

/**
 * QNX: 4 KiB pages, so a guard is a page and starts on a page boundary. As written, a (5 KiB) ends
 * mid-page and wastes 3 KiB before its guard, b (8 KiB) none, c (3 KiB) is last: span 27 KiB (a
 * 0..5K, guard 8..12K, b 12..20K, guard 20..24K, c 24..27K). With a last its page end is not
 * counted: b 0..8K, guard 8..12K, c 12..15K, guard 16..20K, a 20..25K, span 25 KiB (the first such
 * order: permutations are tried a-b-c, a-c-b, b-a-c, b-c-a, ...).
 */
const UNPACKED = `target: qnx
layout:
  arena: {in: wasm_memory, size: 1M}
  guard: 4K
  align: 4K
  components:
    - {name: a, size: 5K}
    - {name: b, size: 8K}
    - {name: c, size: 3K}
steps: [check]
`;

test('packing orders the components so that less of the arena is guard and padding, guards still trapping', (t) => {
  const advice = packLayout(parseScenario('/virtual/pack.yaml', UNPACKED, 'test'))!;
  t.deepEqual(advice.aligns, [4096]); // an MMU target's segments start on pages
  t.deepEqual({ ...advice.asWritten }, { components: ['a', 'b', 'c'], shared: [], align: 4096, span: 27 * 1024, waste: 11 * 1024, trapping: 2 });
  t.deepEqual({ ...advice.best }, { components: ['b', 'c', 'a'], shared: [], align: 4096, span: 25 * 1024, waste: 9 * 1024, trapping: 2 });
  t.is(advice.tried, 1 + 6);
});

test('packing lowers the alignment where the target allows it, and keeps the order as written on a tie', (t) => {
  // A board without an MMU: word alignment (4) is all a segment needs; 1 KiB alignment pads 1000-byte segments.
  const text = `target: bare-metal
layout:
  arena: {in: sram, size: 64K}
  align: 1K
  components:
    - {name: a, size: 1000}
    - {name: b, size: 1000}
steps: [check]
`;
  const advice = packLayout(parseScenario('/virtual/pack.yaml', text, 'test'))!;
  t.is(advice.asWritten.span, 2024);
  t.deepEqual({ ...advice.best }, { components: ['a', 'b'], shared: [], align: 4, span: 2000, waste: 0, trapping: 0 });
});

test('emu map --pack prints the layout as written beside the suggestion and the bytes saved; the scenario is unchanged', (t) => {
  const dir = tempDir();
  const file = join(dir, 'pack.yaml');
  writeFileSync(file, UNPACKED);
  const out = emu(['map', file, '--pack']);
  t.is(out.status, 0, out.stderr);
  t.regex(out.stdout, /as written +a, b, c +4 KiB +27,648 +11,264 +2/);
  t.regex(out.stdout, /suggested +b, c, a +4 KiB +25,600 +9,216 +2/);
  t.regex(out.stdout, /saves 2,048 bytes of the arena; the scenario is not changed/);
  t.is(emu(['map', 'qnx', '--pack']).status, 2);
});
