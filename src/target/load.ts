/** Loads and checks a target file: schema, numbers, and a memory map without overlaps. */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError, type SourcePos } from '../input/errors.js';
import { hex } from '../input/literals.js';
import { readYaml, type Node } from '../input/yaml.js';
import { layOutTarget } from '../layout/layout.js';
import {
  REGION_KINDS,
  type AlignmentRules,
  type Cache,
  type DmaChannel,
  type Partition,
  type Protection,
  type Region,
  type SectionSpec,
  type Target,
} from './types.js';

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

export function loadTarget(file: string): Target {
  const bytes = readFileSync(file);
  return parseTarget(file, bytes.toString('utf8'), createHash('sha256').update(bytes).digest('hex'));
}

const TOP_KEYS = ['name', 'description', 'cpu', 'protection', 'cache', 'regions', 'partitions', 'dma', 'sections', 'budget'];

export function parseTarget(file: string, text: string, hash: string): Target {
  const root = readYaml(file, text).map(TOP_KEYS);
  const nameNode = root.req('name');
  const name = nameNode.name();
  const stem = basename(file, extname(file));
  if (name !== stem) nameNode.fail(`target name '${name}' must match the file name '${stem}'`);

  const regions = root.req('regions').seq().map(readRegion);
  const target: Target = {
    name,
    description: root.get('description')?.str() ?? '',
    file,
    hash,
    cpu: readCpu(root.req('cpu')),
    protection: readProtection(root.get('protection')),
    cache: readCache(root.get('cache')),
    regions,
    partitions: (root.get('partitions')?.seq() ?? []).map(readPartition),
    dma: (root.get('dma')?.seq() ?? []).map(readChannel),
    sections: (root.get('sections')?.seq() ?? []).map(readSection),
    budget: null,
  };
  const budget = root.get('budget');
  if (budget) {
    const b = budget.map(['total', 'runtime', 'user', 'margin_percent']);
    target.budget = {
      total: b.req('total').size(),
      runtime: b.req('runtime').size(),
      user: b.req('user').size(),
      marginPercent: b.req('margin_percent').int(0, 100),
    };
  }
  checkMap(target, root.node);
  return target;
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

function readAlignment(node: Node): AlignmentRules {
  if (!node.isMap()) {
    const rule = node.oneOf(['strict', 'relaxed'] as const);
    const a = rule === 'strict' ? 'fault' : 'allowed';
    return { halfword: a, word: a, doubleword: a, multiple: a };
  }
  const m = node.map(['halfword', 'word', 'doubleword', 'multiple']);
  const rule = (key: string) => m.req(key).oneOf(['allowed', 'fault'] as const);
  return { halfword: rule('halfword'), word: rule('word'), doubleword: rule('doubleword'), multiple: rule('multiple') };
}

function readProtection(node: Node | undefined): Protection {
  if (!node || !node.isMap()) {
    node?.oneOf(['none']);
    return { kind: 'none' };
  }
  const m = node.map(['mpu', 'mmu']);
  const mpu = m.get('mpu');
  const mmu = m.get('mmu');
  if ((mpu ? 1 : 0) + (mmu ? 1 : 0) !== 1) node.fail('protection: give exactly one of mpu or mmu');
  if (mpu) {
    const p = mpu.map(['regions', 'min_size', 'rule']);
    return {
      kind: 'mpu',
      regions: p.req('regions').int(1, 32),
      minSize: p.req('min_size').size(),
      rule: p.req('rule').oneOf(['armv7m', 'armv8m'] as const),
    };
  }
  const page = mmu!.map(['page']).req('page');
  const size = page.size();
  if (!isPow2(size)) page.fail(`protection.mmu.page: ${size} is not a power of two`);
  return { kind: 'mmu', page: size };
}

function readCache(node: Node | undefined): Cache | null {
  if (!node || !node.isMap()) {
    node?.oneOf(['none']);
    return null;
  }
  const m = node.map(['size', 'line', 'ways', 'write_back']);
  const cache = { size: m.req('size').size(), line: m.req('line').size(), ways: m.req('ways').int(1, 64), writeBack: m.req('write_back').bool() };
  if (!isPow2(cache.line) || cache.size % (cache.line * cache.ways) !== 0) {
    node.fail('cache: line must be a power of two and size a multiple of line x ways');
  }
  return cache;
}

const REGION_KEYS = ['name', 'base', 'size', 'kind', 'read', 'write', 'bus', 'cpu_mapped', 'dma', 'cached', 'views', 'mirrors', 'reserved'];

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
    views: (m.get('views')?.seq() ?? []).map((v) => {
      const vm = v.map(['name', 'base', 'cached']);
      return { name: vm.req('name').name(), base: vm.req('base').size(), cached: vm.req('cached').bool() };
    }),
    mirrors: (m.get('mirrors')?.seq() ?? []).map((v) => v.size()),
    reserved: (m.get('reserved')?.seq() ?? []).map((v) => {
      const rm = v.map(['offset', 'size', 'why']);
      const r = { offset: rm.req('offset').size(), size: rm.req('size').size(), why: rm.get('why')?.str() ?? '' };
      if (r.offset + r.size > size) v.fail(`reserved range ${r.offset}+${r.size} runs past the end of the region (${size} bytes)`);
      return r;
    }),
    line: node.line,
    col: node.pos.col,
  };
  if (region.base + region.size > 2 ** 32) m.req('size').fail(`region '${region.name}' runs past the 32-bit address space`);
  return region;
}

function readPartition(node: Node): Partition {
  const m = node.map(['name', 'region', 'offset', 'size']);
  return { name: m.req('name').name(), region: m.req('region').name(), offset: m.req('offset').size(), size: m.req('size').size(), line: node.line, col: node.pos.col };
}

function readChannel(node: Node): DmaChannel {
  const m = node.map(['name', 'unit', 'align', 'length_multiple', 'setup', 'cycles_per_unit', 'burst', 'stalls_cpu', 'reads', 'writes', 'writeback']);
  const unit = m.req('unit').size();
  return {
    name: m.req('name').name(),
    unit,
    align: m.req('align').size(),
    lengthMultiple: m.get('length_multiple')?.size() ?? unit,
    setup: m.get('setup')?.int() ?? 0,
    cyclesPerUnit: m.req('cycles_per_unit').int(),
    burst: m.get('burst')?.int() ?? 0,
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
    for (const base of [r.base, ...r.mirrors]) {
      ranges.push({ start: base, end: base + r.size, what: base === r.base ? `region '${r.name}'` : `mirror of '${r.name}' at ${hex(base)}`, line: r.line, col: r.col });
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
  const misfit = layOutTarget(target);
  if (misfit) fail(target.sections.find((s) => s.line === misfit.line) ?? misfit, `the target's ${misfit.detail}`);
  for (const ch of target.dma) {
    for (const r of [...ch.reads, ...ch.writes]) {
      if (!regionNames.includes(r)) fail(ch, `dma channel '${ch.name}': unknown region '${r}'`);
    }
    if (!isPow2(ch.align) || !isPow2(ch.unit)) fail(ch, `dma channel '${ch.name}': unit and align must be powers of two`);
  }
}

export function isPow2(n: number): boolean {
  return n > 0 && Number.isInteger(Math.log2(n)) && 2 ** Math.log2(n) === n;
}
