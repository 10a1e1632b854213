/** Loads and checks a target file: schema, numbers, and a memory map without overlaps. */
import { isPow2 } from '../util/bits.js';
import { hex } from '../util/text.js';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { readInput } from '../input/chunks.js';
import { basename, dirname, extname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError, type SourcePos } from '../input/errors.js';
import { readYaml, suggest, type Node } from '../input/yaml.js';
import { regionWindows } from './windows.js';
import {
  REGION_KINDS,
  type AlignmentRules,
  type Cache,
  type DmaChannel,
  type Partition,
  type Privilege,
  type Protection,
  type Region,
  type Reserved,
  type SectionSpec,
  type Target,
} from './types.js';

/**
 * Cache geometry a real part could have: emu models each line, so these also bound the memory a
 * target costs (64 MiB of 32-byte lines is 2 M lines, about 60 MB of state).
 */
const MAX_CACHE = 64 * 1024 * 1024;
const MAX_CACHE_LINE = 4096;
const MAX_CACHE_LINES = 2 ** 21;

/** The targets/ folder shipped with emu. */
export const BUILTIN_TARGETS = resolve(dirname(fileURLToPath(import.meta.url)), '../../../targets');

/**
 * Resolves a scenario's `target:` value: a path relative to the scenario (when it names a file that
 * exists or ends in .yaml), else a target name looked up in targets/.
 */
export function resolveTarget(ref: string, relativeTo: string): string | null {
  const local = resolve(relativeTo, ref);
  if (ref.endsWith('.yaml') || ref.includes('/')) return isFile(local) ? local : null;
  const builtin = resolve(BUILTIN_TARGETS, `${ref}.yaml`);
  return isFile(builtin) ? builtin : null;
}

function isFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile();
}

/** The names of the shipped targets: the files in targets/. */
export function knownTargets(): string[] {
  return readdirSync(BUILTIN_TARGETS).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -'.yaml'.length)).sort();
}

/**
 * The target as a scenario configures it. A cache that can serve as RAM (the SH-4's OCRAM, CCR.ORA)
 * is either all cache, and its RAM region does not exist, or a smaller cache beside that region: the
 * two never coexist at full size (KOS dc/cache.h; flycast sh4_mmr.cpp).
 */
export function configureTarget(target: Target, options: { cacheAsRam: boolean }): Target {
  const asRam = target.cache?.asRam;
  if (!asRam) return target;
  if (!options.cacheAsRam) return { ...target, regions: target.regions.filter((r) => r.name !== asRam.region) };
  return { ...target, cache: { ...target.cache!, size: target.cache!.size - asRam.size } };
}

export function loadTarget(file: string): Target {
  const bytes = readInput(file);
  return parseTarget(file, bytes.toString('utf8'), createHash('sha256').update(bytes).digest('hex'));
}

/** `$schema` names the JSON Schema an editor checks the file against (schemas/); emu ignores it. */
const TOP_KEYS = ['$schema', 'name', 'description', 'cpu', 'protection', 'cache', 'regions', 'partitions', 'dma', 'sections', 'budget', 'privilege'];

export function parseTarget(file: string, text: string, hash: string): Target {
  const root = readYaml(file, text).map(TOP_KEYS);
  root.get('$schema')?.str(); // a string if given; nothing else reads it
  const nameNode = root.req('name');
  const name = nameNode.name();
  const stem = basename(file, extname(file));
  if (name !== stem) nameNode.fail(`target name '${name}' must match the file name '${stem}'`);

  const regions = root.req('regions').seq().map(readRegion);
  const partitions = (root.get('partitions')?.seq() ?? []).map(readPartition);
  const regionNames = regions.map((r) => r.name);
  const target: Target = {
    name,
    description: root.get('description')?.str() ?? '',
    file,
    hash,
    cpu: readCpu(root.req('cpu')),
    protection: readProtection(root.get('protection'), regionNames),
    cache: readCache(root.get('cache'), regionNames),
    regions,
    partitions,
    dma: (root.get('dma')?.seq() ?? []).map(readChannel),
    sections: (root.get('sections')?.seq() ?? []).map(readSection),
    budget: null,
    privilege: null,
  };
  const budget = root.get('budget');
  if (budget) {
    const b = budget.map(['total', 'runtime', 'user', 'margin_percent', 'runtime_in']);
    target.budget = {
      total: b.req('total').size(),
      runtime: b.req('runtime').size(),
      user: b.req('user').size(),
      marginPercent: b.req('margin_percent').int(0, 100),
      runtimeIn: b.get('runtime_in')?.seq().map((n) => n.name()) ?? ['.wrt_runtime', '.wrt_scratch'],
    };
  }
  const privilege = root.get('privilege');
  if (privilege) target.privilege = readPrivilege(privilege, partitions.map((p) => p.name));
  checkMap(target, root.node);
  applyBootRegions(target);
  return target;
}

/**
 * Regions an MPU boot region names become Normal memory with the cacheability it gives; Device
 * memory left without one is never cached (ARMv7-M ARM B3.1, the default memory map).
 */
function applyBootRegions(target: Target): void {
  const boot = target.protection.kind === 'mpu' ? target.protection.boot : [];
  for (const region of target.regions) {
    const set = boot.find((b) => b.region === region.name);
    if (set) Object.assign(region, { device: false, cached: set.cached });
    else if (region.device) region.cached = false;
  }
}

/** A name that must be one of `known` (a region or partition the target defines). */
function oneOfNames(node: Node, known: readonly string[], what: string): string {
  const name = node.name();
  if (!known.includes(name)) node.fail(`${what}: unknown ${name === '' ? 'name' : `'${name}'`}${suggest(name, known)} (known: ${known.join(', ')})`);
  return name;
}

function readPrivilege(node: Node, partitions: readonly string[]): Privilege {
  const m = node.map(['kernel_only', 'error']);
  const privilege: Privilege = { kernelWindows: [], kernelPartitions: [], error: m.req('error').size() };
  for (const entry of m.req('kernel_only').seq()) {
    const e = entry.map(['base', 'size', 'partition', 'why']);
    const why = e.req('why').str();
    const partition = e.get('partition');
    if (partition) {
      if (e.has('base') || e.has('size')) entry.fail('kernel_only: give either a partition or base and size');
      privilege.kernelPartitions.push({ name: oneOfNames(partition, partitions, 'privilege.kernel_only.partition'), why });
    } else {
      const base = e.req('base').size();
      privilege.kernelWindows.push({ base, end: base + e.req('size').size(), why });
    }
  }
  return privilege;
}

function readCpu(node: Node): Target['cpu'] {
  const m = node.map(['arch', 'clock_hz', 'endian', 'word', 'alignment']);
  return {
    arch: m.req('arch').str(),
    clockHz: m.req('clock_hz').int(1),
    endian: m.req('endian').oneOf(['little', 'big'] as const),
    word: m.req('word').int(1, 16),
    alignment: readAlignment(m.req('alignment')),
  };
}

/** The natural alignment of each width: what `fault` (and `strict`) asks for. */
const NATURAL: AlignmentRules = { halfword: 2, word: 4, doubleword: 8, multiple: 4 };

function readAlignment(node: Node): AlignmentRules {
  if (!node.isMap()) {
    const strict = node.oneOf(['strict', 'relaxed'] as const) === 'strict';
    return strict ? { ...NATURAL } : { halfword: 1, word: 1, doubleword: 1, multiple: 1 };
  }
  const m = node.map(['halfword', 'word', 'doubleword', 'multiple']);
  const rule = (key: keyof AlignmentRules): number => {
    const n = m.req(key);
    if (n.value === 'allowed') return 1;
    if (n.value === 'fault') return NATURAL[key];
    const bytes = n.size();
    if (!isPow2(bytes) || bytes > NATURAL[key]) n.fail(`alignment.${key}: expected allowed, fault or a power of two up to ${NATURAL[key]}, got ${bytes}`);
    return bytes;
  };
  return { halfword: rule('halfword'), word: rule('word'), doubleword: rule('doubleword'), multiple: rule('multiple') };
}

function readProtection(node: Node | undefined, regionNames: readonly string[]): Protection {
  if (!node || !node.isMap()) {
    node?.oneOf(['none']);
    return { kind: 'none' };
  }
  const m = node.map(['mpu', 'mmu']);
  const mpu = m.get('mpu');
  const mmu = m.get('mmu');
  if ((mpu ? 1 : 0) + (mmu ? 1 : 0) !== 1) node.fail('protection: give exactly one of mpu or mmu');
  if (mpu) {
    const p = mpu.map(['regions', 'min_size', 'rule', 'boot']);
    const regions = p.req('regions').int(1, 32);
    const boot = (p.get('boot')?.seq() ?? []).map((b) => {
      const bm = b.map(['region', 'cached', 'why']);
      return { region: oneOfNames(bm.req('region'), regionNames, 'protection.mpu.boot'), cached: bm.req('cached').bool(), why: bm.get('why')?.str() ?? '' };
    });
    if (boot.length > regions) p.req('boot').fail(`protection.mpu.boot: ${boot.length} boot regions, but the MPU has ${regions}`);
    return { kind: 'mpu', regions, minSize: p.req('min_size').size(), rule: p.req('rule').oneOf(['armv7m', 'armv8m'] as const), boot };
  }
  const page = mmu!.map(['page']).req('page');
  const size = page.size();
  if (!isPow2(size)) page.fail(`protection.mmu.page: ${size} is not a power of two`);
  return { kind: 'mmu', page: size };
}

function readCache(node: Node | undefined, regions: readonly string[]): Cache | null {
  if (!node || !node.isMap()) {
    node?.oneOf(['none']);
    return null;
  }
  const m = node.map(['size', 'line', 'ways', 'write_back', 'invalidate_align', 'as_ram']);
  const cache: Cache = { size: m.req('size').size(MAX_CACHE), line: m.req('line').size(MAX_CACHE_LINE), ways: m.req('ways').int(1, 64), writeBack: m.req('write_back').bool(), invalidateAlign: null, asRam: null };
  if (cache.size === 0) m.req('size').fail('cache.size: must be greater than 0');
  if (cache.size / Math.max(cache.line, 1) > MAX_CACHE_LINES) m.req('line').fail(`cache: ${cache.size} bytes in ${cache.line}-byte lines is more than ${MAX_CACHE_LINES} lines; real caches have longer lines`);
  if (!isPow2(cache.line) || cache.size % (cache.line * cache.ways) !== 0) {
    node.fail('cache: line must be a power of two and size a multiple of line x ways');
  }
  const invalidate = m.get('invalidate_align');
  if (invalidate) {
    const im = invalidate.map(['bytes', 'error']);
    cache.invalidateAlign = { bytes: im.req('bytes').size(), error: im.req('error').size() };
  }
  const asRam = m.get('as_ram');
  if (asRam) {
    const am = asRam.map(['region', 'size']);
    cache.asRam = { region: oneOfNames(am.req('region'), regions, 'cache.as_ram'), size: am.req('size').size() };
    if (cache.asRam.size >= cache.size || (cache.size - cache.asRam.size) % (cache.line * cache.ways) !== 0) {
      am.req('size').fail(`cache.as_ram: ${cache.asRam.size} bytes must leave a smaller cache that is still a multiple of line x ways`);
    }
  }
  return cache;
}

const REGION_KEYS = ['name', 'base', 'size', 'kind', 'read', 'write', 'bus', 'cpu_mapped', 'dma', 'cached', 'memory', 'views', 'mirrors', 'reserved'];

function readRegion(node: Node): Region {
  const m = node.map(REGION_KEYS);
  const size = m.req('size').size();
  if (size === 0) m.req('size').fail('region size must be greater than 0');
  const region: Region = {
    name: m.req('name').name(),
    base: m.req('base').size(),
    size,
    kind: m.req('kind').oneOf(REGION_KINDS),
    read: m.req('read').int(0, 10_000),
    write: m.req('write').int(0, 10_000),
    bus: m.req('bus').int(1, 64),
    cpuMapped: m.get('cpu_mapped')?.bool() ?? true,
    dma: m.get('dma')?.bool() ?? false,
    cached: m.get('cached')?.bool() ?? false,
    device: (m.get('memory')?.oneOf(['normal', 'device'] as const) ?? 'normal') === 'device',
    views: (m.get('views')?.seq() ?? []).map((v) => {
      const vm = v.map(['name', 'base', 'cached']);
      return { name: vm.req('name').name(), base: vm.req('base').size(), cached: vm.req('cached').bool() };
    }),
    mirrors: (m.get('mirrors')?.seq() ?? []).map((v) => v.size()),
    reserved: readReserved(m.get('reserved'), size, 'region'),
    line: node.line,
    col: node.pos.col,
  };
  if (region.base + region.size > 2 ** 32) m.req('size').fail(`region '${region.name}' runs past the 32-bit address space`);
  return region;
}

function readReserved(node: Node | undefined, size: number, what: string): Reserved[] {
  return (node?.seq() ?? []).map((v) => {
    const rm = v.map(['offset', 'size', 'why']);
    const r = { offset: rm.req('offset').size(), size: rm.req('size').size(), why: rm.get('why')?.str() ?? '' };
    if (r.offset + r.size > size) v.fail(`reserved range ${r.offset}+${r.size} runs past the end of the ${what} (${size} bytes)`);
    return r;
  });
}

function readPartition(node: Node): Partition {
  const m = node.map(['name', 'region', 'offset', 'size', 'reserved']);
  const size = m.req('size').size();
  return { name: m.req('name').name(), region: m.req('region').name(), offset: m.req('offset').size(), size, reserved: readReserved(m.get('reserved'), size, 'partition'), line: node.line, col: node.pos.col };
}

function readChannel(node: Node): DmaChannel {
  const m = node.map(['name', 'unit', 'align', 'misaligned', 'length_multiple', 'setup', 'cycles_per_unit', 'rate', 'stalls_cpu', 'reads', 'writes', 'writeback']);
  const unit = m.req('unit').size();
  const perUnit = m.get('cycles_per_unit');
  const rateNode = m.get('rate');
  if ((perUnit ? 1 : 0) + (rateNode ? 1 : 0) !== 1) node.fail(`dma channel: give exactly one of cycles_per_unit or rate: {cycles, units}`);
  let rate = { cycles: perUnit?.int() ?? 0, units: 1 };
  if (rateNode) {
    const rm = rateNode.map(['cycles', 'units']);
    rate = { cycles: rm.req('cycles').int(), units: rm.req('units').int(1) };
  }
  return {
    name: m.req('name').name(),
    unit,
    align: m.req('align').size(),
    misaligned: m.get('misaligned')?.oneOf(['refuse', 'truncate'] as const) ?? 'refuse',
    lengthMultiple: m.get('length_multiple')?.size() ?? unit,
    setup: m.get('setup')?.int() ?? 0,
    rate,
    stallsCpu: m.req('stalls_cpu').bool(),
    reads: (m.get('reads')?.seq() ?? []).map((n) => n.name()),
    writes: (m.get('writes')?.seq() ?? []).map((n) => n.name()),
    writeback: m.get('writeback')?.bool() ?? false,
    line: node.line,
    col: node.pos.col,
  };
}

function readSection(node: Node): SectionSpec {
  const m = node.map(['name', 'in', 'size']);
  return { name: m.req('name').name(), in: m.req('in').name(), size: m.req('size').size(), line: node.line, col: node.pos.col };
}

/** Cross-checks: unique names, no overlapping address ranges, containers that exist and fit. */
function checkMap(target: Target, root: Node): void {
  const fail = (at: { line: number; col?: number }, message: string): never => {
    throw new InputError({ ...root.pos, line: at.line, col: at.col ?? 1 } satisfies SourcePos, message);
  };
  const names = new Map<string, number>();
  const claim = (name: string, at: { line: number; col: number }) => {
    const earlier = names.get(name);
    if (earlier !== undefined) fail(at, `name '${name}' is already used on line ${earlier}`);
    names.set(name, at.line);
  };
  const ranges: { start: number; end: number; what: string; line: number; col: number }[] = [];
  for (const r of target.regions) {
    claim(r.name, r);
    // A line fill is a burst of whole bus words (timing/cache.ts): a line shorter than the bus is no cache.
    const cachedWindow = r.cached || r.views.some((v) => v.cached);
    if (target.cache && cachedWindow && target.cache.line % r.bus !== 0) fail(r, `region '${r.name}': its ${r.bus}-byte bus words do not make up the cache's ${target.cache.line}-byte lines`);
    for (const w of regionWindows(r)) {
      if (w.end > 2 ** 32) fail(r, `${w.via} (${hex(w.base)}) runs past the 32-bit address space`);
      ranges.push({ start: w.base, end: w.end, what: w.via === r.name ? `region '${r.name}'` : `'${w.via}'`, line: r.line, col: r.col });
    }
  }
  ranges.sort((a, b) => a.start - b.start || a.line - b.line);
  for (let i = 1; i < ranges.length; i++) {
    const [a, b] = [ranges[i - 1], ranges[i]];
    if (b.start < a.end) fail(b, `${b.what} (${hex(b.start)}..${hex(b.end - 1)}) overlaps ${a.what} (${hex(a.start)}..${hex(a.end - 1)})`);
  }
  const regionNames = target.regions.map((r) => r.name);
  for (const p of target.partitions) {
    claim(p.name, p);
    const region = target.regions.find((r) => r.name === p.region);
    if (!region) fail(p, `partition '${p.name}': unknown region '${p.region}' (regions: ${regionNames.join(', ')})`);
    else if (p.offset + p.size > region.size) fail(p, `partition '${p.name}' (${p.size} bytes at offset ${p.offset}) does not fit region '${region.name}' (${region.size} bytes)`);
  }
  const containers = [...regionNames, ...target.partitions.map((p) => p.name)];
  for (const s of target.sections) {
    claim(s.name, s);
    if (!containers.includes(s.in)) fail(s, `section '${s.name}': unknown region or partition '${s.in}'`);
  }
  for (const ch of target.dma) {
    for (const r of [...ch.reads, ...ch.writes]) {
      if (!regionNames.includes(r)) fail(ch, `dma channel '${ch.name}': unknown region '${r}'`);
    }
    if (!isPow2(ch.align) || !isPow2(ch.unit)) fail(ch, `dma channel '${ch.name}': unit and align must be powers of two`);
  }
}

