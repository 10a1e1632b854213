/**
 * ARCHITECTURE.md's rules, checked against the sources: each folder of src/ imports at run time only
 * from the folders its code map row allows, runtime imports form no cycle between files, and no
 * folder but the command line reads the clock, and none an unseeded random number.
 */
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { REPO } from './helpers/fuzz/common.js';

const SRC = join(REPO, 'src');
const files = readdirSync(SRC, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')).sort();
const folderOf = (file: string) => (file.includes('/') ? file.slice(0, file.indexOf('/')) : null);

/** Each file's runtime imports of other files of src/ (`import type` is erased: no edge). */
function runtimeImports(file: string): string[] {
  const text = readFileSync(join(SRC, file), 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^(?:import|export)\s+(type\s+)?[^;]*?\sfrom\s+'(\.[^']+)'/gms)) {
    if (m[1]) continue;
    out.push(relative(SRC, resolve(dirname(join(SRC, file)), m[2])).replace(/\.js$/, '.ts'));
  }
  return out;
}
const imports = new Map(files.map((f) => [f, runtimeImports(f)]));

/** The code map: folder -> the folders it may import. */
function codeMap(): Map<string, string[]> {
  const text = readFileSync(join(REPO, 'ARCHITECTURE.md'), 'utf8');
  const rows = [...text.matchAll(/^\| `([a-z]+)\/` \| [^\n]* \| ([a-z, -]+) \|$/gm)];
  return new Map(rows.map((r) => [r[1], r[2] === '-' ? [] : r[2].split(', ')]));
}

test('the code map names every folder of src/, and each imports only what its row allows', (t) => {
  const map = codeMap();
  const folders = [...new Set(files.map(folderOf).filter((f) => f !== null))].sort();
  t.deepEqual([...map.keys()].sort(), folders);
  for (const [file, targets] of imports) {
    const from = folderOf(file);
    if (from === null) continue;
    for (const target of targets) {
      const to = folderOf(target);
      if (to !== from) t.true(to !== null && map.get(from)!.includes(to), `${file} imports ${target}: ${from}/ may import ${map.get(from)!.join(', ') || 'nothing'}`);
    }
  }
});

test('runtime imports form no cycle between files', (t) => {
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const visit = (file: string, path: string[]) => {
    state.set(file, 'open');
    for (const next of imports.get(file) ?? []) {
      if (state.get(next) === 'open') cycles.push([...path.slice(path.indexOf(next)), next].join(' -> '));
      else if (!state.has(next)) visit(next, [...path, next]);
    }
    state.set(file, 'done');
  };
  for (const file of files) if (!state.has(file)) visit(file, [file]);
  t.deepEqual(cycles, []);
});

test('only cli/ reads the clock; nothing reads an unseeded random number', (t) => {
  const clock = /\bDate\.now\(|\bnew Date\(|performance\.now\(|process\.hrtime/;
  for (const file of files) {
    const text = readFileSync(join(SRC, file), 'utf8');
    t.false(/\bMath\.random\(/.test(text), `${file} uses Math.random`);
    if (folderOf(file) !== 'cli') t.false(clock.test(text), `${file} reads the clock`);
  }
});
