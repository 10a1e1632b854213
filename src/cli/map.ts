/** `emu map`: the memory map of a target, and the layout of a scenario. */
import { formatBytes, group, hex } from '../util/text.js';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { UsageError } from '../input/errors.js';
import { ALLOCATORS } from '../alloc/registry.js';
import { buildLayout, checkTargetFits, type DynamicLayout } from '../layout/layout.js';
import { packLayout, type Packing } from '../layout/pack.js';
import { table } from '../report/format.js';
import { loadScenario } from '../scenario/parse.js';
import type { HeapSpec, Scenario } from '../scenario/types.js';
import { configureTarget, loadTarget, resolveTarget } from '../target/load.js';
import type { Target } from '../target/types.js';
import { regionWindows } from '../target/windows.js';
import { EXIT } from './exit.js';
import { checkOutputPath } from './options.js';
import { writeMapSvg } from './report.js';
import { scenarioMapInput, targetMapInput } from '../picture/svg-map.js';

export function mapCommand(input: string, pack = false, svg?: string): number {
  if (existsSync(input) && statSync(input).isDirectory()) throw new UsageError(`${input}: is a folder; give a target name or file, or a scenario file`);
  const isScenario = existsSync(input) && /^(steps|heaps|target):/m.test(readFileSync(input, 'utf8'));
  if (isScenario) {
    const scenario = loadScenario(input);
    if (svg !== undefined) checkOutputPath('--svg', svg);
    process.stdout.write(targetMap(scenario.target));
    const layout = buildLayout(scenario);
    const rows = [['what', 'name', 'start', 'end', 'size', 'in', 'protection']];
    const protection = { mmu: 'MMU page (traps)', mpu: 'MPU region (traps)', canary: 'canary band (checked later)' };
    for (const p of layout.placed) rows.push([p.what, p.name, hex(p.addr), hex(p.addr + p.size - 1), formatBytes(p.size), p.in, p.protection ? protection[p.protection] : '']);
    process.stdout.write(`\nlayout of ${scenario.name}:\n${table(rows)}\n`);
    if (layout.failure) process.stdout.write(`\nlayout fails: ${layout.failure.kind} (line ${layout.failure.line}): ${layout.failure.detail}\n`);
    else if (layout.dynamic) process.stdout.write(dynamicMap(scenario, layout.dynamic));
    if (pack) process.stdout.write(`\n${packingReport(scenario)}`);
    if (svg !== undefined) writeMapSvg(scenarioMapInput(scenario), svg);
    return EXIT.pass;
  }
  if (pack) throw new UsageError(`--pack needs a scenario with a static layout; ${input} is a target`);
  const file = resolveTarget(input, process.cwd());
  if (!file) throw new UsageError(`'${input}' is neither a scenario file nor a target`);
  if (svg !== undefined) checkOutputPath('--svg', svg);
  const target = configureTarget(checkTargetFits(loadTarget(file)), { cacheAsRam: false });
  process.stdout.write(targetMap(target));
  if (svg !== undefined) writeMapSvg(targetMapInput(target), svg);
  return EXIT.pass;
}

/** `--pack`: the layout as written beside the packing that wastes least, and the bytes saved. */
function packingReport(scenario: Scenario): string {
  if (!scenario.layout) return `packing: ${scenario.name} has no layout (no components to order)\n`;
  if (scenario.layout.strategy === 'dynamic') return `packing: ${scenario.name}'s layout is dynamic (its segments are placed at run time, in the order the scenario creates them); --pack orders static layouts\n`;
  const advice = packLayout(scenario);
  if (!advice) return 'packing: the layout does not fit as written; fix that first\n';
  const { asWritten, best } = advice;
  const order = (p: Packing) => [...p.components, ...p.shared.map((s) => `shared ${s}`)].join(', ');
  const rows = [['', 'order', 'align', 'span', 'guards and padding', 'guards trapping']];
  rows.push(['as written', order(asWritten), formatBytes(asWritten.align), group(asWritten.span), group(asWritten.waste), String(asWritten.trapping)]);
  rows.push(['suggested', order(best), formatBytes(best.align), group(best.span), group(best.waste), String(best.trapping)]);
  const saved = asWritten.waste - best.waste;
  const verdict = saved > 0 ? `saves ${group(saved)} bytes of the arena` : 'the layout as written already wastes the least';
  return `packing of ${scenario.name} (${group(advice.tried)} layouts tried, alignments ${advice.aligns.map(formatBytes).join(', ')}; no guard loses its trap):\n${table(rows)}\n${verdict}; the scenario is not changed\n`;
}

function targetMap(t: Target): string {
  const cache = t.cache ? `${formatBytes(t.cache.size)} ${t.cache.ways}-way data cache, ${t.cache.line}-byte lines` : 'no data cache';
  const protection = t.protection.kind === 'mmu' ? `MMU, ${formatBytes(t.protection.page)} pages` : t.protection.kind === 'mpu' ? `MPU, ${t.protection.regions} regions (${t.protection.rule})` : 'no memory protection';
  const lines = [`target ${t.name}: ${t.description}`, `${t.cpu.arch} at ${group(t.cpu.clockHz)} Hz, ${t.cpu.endian} endian; ${protection}; ${cache}`, ''];
  const rows = [['region', 'kind', 'start', 'end', 'size', 'read/write', 'bus', 'notes']];
  for (const r of t.regions) {
    const notes = [!r.cpuMapped && 'not CPU-mapped', r.dma && 'DMA', r.cached && 'cached', r.mirrors.length && `${r.mirrors.length} mirrors`, ...r.reserved.map((x) => `reserved ${formatBytes(x.size)} at +${hex(x.offset)}`)].filter(Boolean);
    rows.push([r.name, r.kind, hex(r.base), hex(r.base + r.size - 1), formatBytes(r.size), `${r.read}/${r.write}`, String(r.bus), notes.join(', ')]);
  }
  lines.push(table(rows));
  lines.push('', 'windows (every address that reaches a region; views and their mirrors):');
  const windows = [['window', 'start', 'end', 'caching', 'region']];
  for (const r of t.regions) {
    for (const w of regionWindows(r)) windows.push([w.via, hex(w.base), hex(w.end - 1), w.cached && !r.device ? 'cached' : 'uncached', r.name]);
  }
  lines.push(table(windows));
  const notes = [];
  if (t.privilege) notes.push(`user mode may not touch ${[...t.privilege.kernelWindows.map((w) => `${hex(w.base)}..${hex(w.end - 1)}`), ...t.privilege.kernelPartitions.map((p) => `partition ${p.name}`)].join(', ')} (scenarios run in user mode unless they say mode: kernel)`);
  for (const r of t.regions) if (r.device) notes.push(`${r.name} is Device memory: never cached, every unaligned access faults`);
  if (t.protection.kind === 'mpu') for (const b of t.protection.boot) notes.push(`MPU region set up at boot: ${b.region} as Normal ${b.cached ? 'cached' : 'uncached'} memory (${b.why}); ${t.protection.regions - t.protection.boot.length} regions left for guards`);
  if (t.cache?.asRam) notes.push(`cache_as_ram: true turns ${formatBytes(t.cache.asRam.size)} of the cache into region ${t.cache.asRam.region}`);
  if (t.cache?.invalidateAlign) notes.push(`cache invalidate needs ${t.cache.invalidateAlign.bytes}-byte aligned address and length, else error ${hex(t.cache.invalidateAlign.error)} and nothing is invalidated`);
  if (notes.length) lines.push('', ...notes);
  if (t.partitions.length) lines.push('', 'partitions: ' + t.partitions.map((p) => `${p.name} (${formatBytes(p.size)} at ${p.region}+${hex(p.offset)})`).join(', '));
  if (t.dma.length) lines.push('dma: ' + t.dma.map((c) => `${c.name} (${c.unit}-byte units, align ${c.align}, ${c.rate.units === 1 ? `${c.rate.cycles} cycles/unit` : `${c.rate.cycles} cycles per ${c.rate.units} units`}${c.stallsCpu ? ', stalls CPU' : ''}${c.misaligned === 'truncate' ? ', truncates misaligned addresses' : ''})`).join(', '));
  lines.push('sections: ' + t.sections.map((s) => `${s.name} ${formatBytes(s.size)} in ${s.in}`).join(', '));
  return lines.join('\n') + '\n';
}

/**
 * A dynamic layout: the rules its segment allocator follows, how far each segment placed at the start
 * can grow in place (a segment never moves), where the others would go, and what the heaps do when
 * their segment is resized.
 */
function dynamicMap(scenario: Scenario, dynamic: DynamicLayout): string {
  const segments = dynamic.segments;
  const r = segments.rules;
  const spec = scenario.layout!;
  const protection = scenario.target.protection.kind === 'mmu' ? 'MMU pages, trapping' : scenario.target.protection.kind === 'mpu' ? 'MPU regions where one fits and is free, else canary bands' : 'canary bands, checked later';
  const lines = [
    '',
    `dynamic layout: segments are placed, resized in place and released at run time (segment steps), ${r.placement} in the arena (${formatBytes(r.size)} at ${hex(r.base)}), starts aligned to ${formatBytes(r.align)};`,
    r.guard > 0 ? `a ${formatBytes(r.guard)} guard before and after every segment (${protection}), one guard between neighbours, the arena's edges guarded too` : 'no guards',
    '',
    'growth in place from the start (a segment never moves; it grows into the free range after it, leaving room for its guard):',
  ];
  const rows = [['component', 'start', 'size', 'in place up to', 'bounded by', 'heap']];
  for (const c of spec.components) {
    const heap = scenario.heaps.find((h) => h.place.in === c.name);
    const s = segments.get(c.name);
    const follows = heap ? `${heap.name} (${heap.allocator}): ${followsSegment(scenario, heap, dynamic)}` : '';
    if (!s) {
      const largest = segments.freeRanges().find(([a, b]) => b - a === segments.largestFree());
      rows.push([c.name, '-', '-', '-', `placed by its first segment step${largest ? ` (the largest free range now: ${formatBytes(largest[1] - largest[0])} at ${hex(largest[0])})` : ' (the arena is full now)'}`, follows]);
      continue;
    }
    const room = segments.roomOf(s);
    rows.push([c.name, hex(s.start), formatBytes(s.size), `${formatBytes(room)} (${hex(s.start + room - 1)})`, segments.boundOf(s), follows]);
  }
  lines.push(table(rows));
  lines.push('', `free for new segments now: ${formatBytes(segments.free())} in ${segments.freeRanges().length} range(s): ${segments.freeRanges().map(([a, b]) => `${hex(a)}..${hex(b - 1)} (${formatBytes(b - a)})`).join(', ') || 'none'}`);
  return lines.join('\n') + '\n';
}

/** What a heap does when its dynamic segment is resized: asked of its allocator, made over a segment of its start size. */
function followsSegment(scenario: Scenario, heap: HeapSpec, dynamic: DynamicLayout): string {
  const entry = ALLOCATORS.get(heap.allocator)!;
  // A segment not placed yet: asked of an allocator over the whole arena.
  const size = dynamic.segments.get(heap.place.in)?.size ?? dynamic.segments.rules.size;
  const context = { policy: scenario.policy, segment: { request: () => true } };
  const allocator = !entry.misfit?.(size, heap.options, context) ? entry.create(dynamic.segments.rules.base, size, heap.options, context) : null;
  if (entry.grows) return 'memory.grow grows the segment in place, or returns -1 (grow-failed) when the arena has no room after it';
  if (!allocator) return 'made when its segment is created';
  if (allocator.extend) return 'follows its segment as it grows (the new memory added); a resize it cannot follow is refused';
  return 'cannot follow its segment: a resize is refused (layout-invalid)';
}
