/**
 * One name, one golden: a scenario's golden is golden/NAME.trace (and NAME.md), NAME its `name:` key
 * or else its file name. Two scenarios of one run that would share a golden are refused before
 * anything runs, and a whole-folder `emu test` lists the goldens no scenario of the folder uses.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join, relative, resolve, sep } from 'node:path';
import { InputError, UsageError } from '../input/errors.js';
import { readYaml } from '../input/yaml.js';
import { goldenDirFor } from './check.js';
import { onceEach } from './suite.js';

export interface ScenarioName {
  file: string;
  name: string;
  /** Where the `name:` key's value is (file:line:col), or null when the name is the file's. */
  at: string | null;
  /** The golden trace the name gives (golden/NAME.trace beside the scenarios). */
  golden: string;
  /**
   * False when the file cannot be read or parsed, or its `name:` is no valid name: the run reports
   * that, and until then the file name stands in (so that its golden is not called unused).
   */
  known: boolean;
}

/** The name a scenario runs under, read as loadScenario reads it. */
export function scenarioName(file: string): ScenarioName {
  const named = (name: string, at: string | null, known: boolean) => ({ file, name, at, golden: join(goldenDirFor(file), `${name}.trace`), known });
  try {
    const node = readYaml(file, readFileSync(file, 'utf8')).map(null).get('name');
    if (!node) return named(basename(file, extname(file)), null, true);
    const { line, col } = node.pos;
    return named(node.name(), `${file}:${line}:${col}`, true);
  } catch (e) {
    if (e instanceof InputError || (e as NodeJS.ErrnoException)?.code) return named(basename(file, extname(file)), null, false);
    throw e;
  }
}

/** Refused names: a usage error with exit 2, printed as it is (it names its files itself). */
export class NameClash extends UsageError {}

/**
 * Throws NameClash when two scenarios would write one golden: the same name with the same golden
 * folder. The same file given twice is one scenario, not a clash. Every clash is listed, each with
 * its files in the order given.
 */
export function refuseNameClashes(scenarios: ScenarioName[]): void {
  const byGolden = new Map<string, ScenarioName[]>();
  for (const named of onceEach(scenarios, (s) => s.file)) {
    if (!named.known) continue;
    const key = resolve(named.golden);
    byGolden.set(key, [...(byGolden.get(key) ?? []), named]);
  }
  const clashes = [...byGolden.values()].filter((group) => group.length > 1);
  if (clashes.length === 0) return;
  const lines: string[] = [];
  for (const group of clashes) {
    lines.push(`${group.length} scenarios are named '${group[0].name}', and a name has one golden (${shownPath(group[0].golden)}):`);
    for (const s of group) lines.push(`  ${s.at ? `${s.at} (name: ${s.name})` : `${s.file} (its file name)`}`);
  }
  lines.push('give each its own name (the name: key, or the file name where there is none); nothing was run');
  throw new NameClash(lines.join('\n'));
}

export interface UnusedGolden {
  /** The golden file, as shown (relative to the working directory when inside it). */
  path: string;
  /** The scenario name it belongs to. */
  name: string;
}

/** How an unused golden is reported, in every report. */
export function unusedMessage(u: UnusedGolden): string {
  return `unused golden: ${u.path} (no scenario named ${u.name})`;
}

/**
 * Files in the golden folders (golden/NAME.trace and golden/NAME.md, NAME possibly with folders in it)
 * that no scenario of `scenarios` would write. Nothing is deleted: a stray golden is most likely a
 * renamed scenario's, and only its author knows.
 */
export function unusedGoldens(goldenDirs: string[], scenarios: ScenarioName[]): UnusedGolden[] {
  const used = new Set(scenarios.map((s) => resolve(s.golden)));
  const unused: UnusedGolden[] = [];
  for (const dir of [...new Set(goldenDirs.map((d) => resolve(d)))]) {
    for (const file of filesUnder(dir)) {
      const ext = extname(file);
      if (ext !== '.trace' && ext !== '.md') continue;
      const stem = file.slice(0, -ext.length);
      if (!used.has(`${stem}.trace`)) unused.push({ path: shownPath(file), name: relative(dir, stem).split(sep).join('/') });
    }
  }
  return unused.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * The golden folders of the folders among `paths` and of their subfolders that hold scenarios (`files`,
 * as found): a file given alone, or by a glob, says nothing of its folder.
 */
export function folderGoldenDirs(paths: string[], files: string[]): string[] {
  const folders = paths.filter((p) => existsSync(p) && statSync(p).isDirectory()).map((p) => resolve(p));
  const below = files.filter((f) => folders.some((folder) => resolve(f).startsWith(folder + sep)));
  return [...folders.map((dir) => goldenDirFor(join(dir, 'scenario.yaml'))), ...below.map(goldenDirFor)];
}

/** Every file below `dir` (none when it does not exist). */
function filesUnder(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? filesUnder(full) : [full];
  });
}

/** A path relative to the working directory when it lies inside it, else as it is. */
export function shownPath(path: string): string {
  const near = relative(process.cwd(), path);
  return near && !near.startsWith('..') ? near : path;
}
