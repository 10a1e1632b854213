/**
 * One self-contained HTML report of a run: its summary, the memory map, heap usage and fragmentation
 * over time, the alloc-cycle distribution per heap, frame times against the budget, the DMA timeline
 * and the faults with their scenario lines. Charts are SVG drawn here; nothing is fetched (no
 * scripts, fonts or images from anywhere), and nothing in it depends on when or where it was made.
 */
import { readFileSync } from 'node:fs';
import type { Scenario } from '../scenario/types.js';
import { formatBytes, group } from '../util/text.js';
import { axes, el, esc, num, px, py, SERIES, short, shortBytes, svgDocument, text, ticks, title, type Plot } from './svg.js';
import type { HeapTrack, Timeline } from './timeline.js';

export interface ReportInput {
  timeline: Timeline;
  /** The memory map picture (svg-map.ts). */
  map: string;
  scenario: Scenario;
}

const WIDTH = 920;

export function htmlReport(input: ReportInput): string {
  const { timeline: t, scenario } = input;
  const clockHz = scenario.target.cpu.clockHz;
  const ms = (cycles: number) => `${((cycles * 1000) / clockHz).toFixed(3)} ms`;
  const sections = [
    section('summary', 'Summary', summary(t, scenario, ms)),
    section('map', 'Memory map', `<div class="picture">${input.map.replace(/^<svg /, '<svg class="map" ')}</div>`),
    section('usage', 'Heap usage over time', usageCharts(t, ms)),
    section('fragmentation', 'External fragmentation (from sample steps)', fragmentationChart(t, ms)),
    section('alloc-cycles', 'Alloc cycles per heap', cycleHistograms(t)),
    section('frames', 'Frame times against the budget', frameChart(t, ms)),
    section('dma', 'DMA timeline', dmaChart(t, ms)),
    section('faults', 'Faults', faultTable(t, scenario)),
  ];
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>emu report: ${esc(scenario.name)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>emu report: ${esc(scenario.name)}</h1>
<p class="lead">${esc(scenario.description)}</p>
${sections.join('\n')}
</body>
</html>
`;
}

const CSS = `
body { font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', 'DejaVu Sans', sans-serif; color: #1a1a1a; margin: 24px auto; max-width: 980px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; border-bottom: 1px solid #ddd; padding-bottom: 4px; margin-top: 32px; }
.lead { color: #444; margin-top: 0; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
th, td { border-bottom: 1px solid #e5e5e5; padding: 3px 10px 3px 0; text-align: left; vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
code, pre { font-family: 'DejaVu Sans Mono', Menlo, Consolas, monospace; font-size: 12px; }
.picture { overflow-x: auto; }
.note { color: #555; font-size: 13px; }
.fault-kind { color: #b00020; font-weight: 600; white-space: nowrap; }
svg { display: block; margin: 6px 0 14px; }
@media print { body { margin: 0; max-width: none; } section { break-inside: avoid; } .picture { overflow: visible; } svg.map { width: 100%; height: auto; } }
`;

function section(id: string, heading: string, body: string): string {
  return `<section id="${id}">\n<h2>${esc(heading)}</h2>\n${body}\n</section>`;
}

function table(head: string[], rows: string[][], numeric: boolean[] = []): string {
  const cell = (tag: string, v: string, i: number) => `<${tag}${numeric[i] ? ' class="n"' : ''}>${v}</${tag}>`;
  return `<table>\n<tr>${head.map((h, i) => cell('th', esc(h), i)).join('')}</tr>\n${rows.map((r) => `<tr>${r.map((v, i) => cell('td', v, i)).join('')}</tr>`).join('\n')}\n</table>`;
}

type Summary = Record<string, unknown> & { heaps?: Record<string, unknown>[] };

function summary(t: Timeline, scenario: Scenario, ms: (c: number) => string): string {
  const s = (t.summary ?? {}) as Summary;
  const faults = Object.entries((s.faults ?? {}) as Record<string, number>);
  const h = t.header;
  const facts = [
    ['scenario', `${esc(h.scenario)} (<code>${esc(scenario.file.split(/[\\/]/).slice(-2).join('/'))}</code>)`],
    ['target', `${esc(h.target)}: ${esc(scenario.target.description)}`],
    ['seed, policy, verification', `${h.seed}, ${esc(h.policy)}, ${esc(h.verification)}`],
    ['operations', group(Number(s.ops ?? 0))],
    ['cycles', `${group(t.cycles)} (${ms(t.cycles)} at ${group(scenario.target.cpu.clockHz)} Hz)`],
    ['frames', group(t.frames.length)],
    ['DMA', `${group(Number(s.dma_bytes ?? 0))} bytes in ${group(t.transfers.length)} transfers, CPU stalled ${group(Number(s.stall_cycles ?? 0))} cycles`],
    ['faults', faults.length === 0 ? 'none' : faults.map(([k, n]) => `${esc(k)} ${group(n)}`).join(', ')],
  ];
  const factsTable = `<table>\n${facts.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${v}</td></tr>`).join('\n')}\n</table>`;
  const heads = ['heap', 'allocator', 'capacity', 'peak in use', 'allocs', 'frees', 'failed', 'ext frag', 'alloc cycles p50/p99/max'];
  const rows = (s.heaps ?? []).map((x) => {
    const c = (x.alloc_cycles ?? {}) as Record<string, number>;
    return [esc(String(x.name)), esc(String(x.allocator)), formatBytes(Number(x.capacity)), group(Number(x.peak_in_use)), group(Number(x.allocs)), group(Number(x.frees)), group(Number(x.failed)), `${(Number(x.ext_frag_ppm) / 10_000).toFixed(2)}%`, `${c.p50}/${c.p99}/${c.max}`];
  });
  return factsTable + table(heads, rows, [false, false, true, true, true, true, true, true, true]);
}

/** A chart's SVG inside the page: an inline svg element with a class and name the tests look for. */
function chart(name: string, width: number, height: number, body: string[], label: string): string {
  return svgDocument(width, height, body, label).replace(/^<svg /, `<svg class="chart" data-chart="${name}" `);
}

function plotArea(height: number, xMax: number, yMax: number): Plot {
  return { x: 70, y: 30, width: WIDTH - 100, height, xMax, yMax };
}

/**
 * At most two points per pixel column (the lowest and highest value in it), so that a run of a
 * million changes draws the same envelope in a few thousand points.
 */
function envelope(points: [number, number][], plot: Plot): [number, number][] {
  const out: [number, number][] = [];
  let column = -1;
  let lo: [number, number] | null = null;
  let hi: [number, number] | null = null;
  const flush = () => {
    if (lo && hi) out.push(...(lo[0] <= hi[0] ? [lo, hi] : [hi, lo]));
  };
  for (const p of points) {
    const c = Math.floor(px(plot, p[0]));
    if (c !== column) {
      flush();
      column = c;
      lo = hi = p;
    } else {
      if (p[1] < lo![1]) lo = p;
      if (p[1] > hi![1]) hi = p;
    }
  }
  flush();
  return out;
}

/** A step line: the value holds until the next point. */
function stepPath(points: [number, number][], plot: Plot, end: number): string {
  if (points.length === 0) return '';
  let d = `M${num(px(plot, points[0][0]))} ${num(py(plot, points[0][1]))}`;
  for (let i = 1; i < points.length; i++) d += `H${num(px(plot, points[i][0]))}V${num(py(plot, points[i][1]))}`;
  return d + `H${num(px(plot, end))}`;
}

function legend(x: number, y: number, entries: [string, string][]): string {
  let cx = x;
  const parts: string[] = [];
  for (const [label, colour] of entries) {
    parts.push(el('rect', { x: cx, y: y - 9, width: 12, height: 10, fill: colour }), text(cx + 16, y, label, { fill: '#222' }));
    cx += 30 + label.length * 6.7;
  }
  return el('g', { class: 'legend' }, ...parts);
}

/** Bytes the allocator holds in each heap after every change, with each `sample` as a dot. */
function usageCharts(t: Timeline, ms: (c: number) => string): string {
  const heaps = t.heaps.filter((h) => h.usage.length > 0 || h.samples.length > 0);
  if (heaps.length === 0) return '<p class="note">No allocations.</p>';
  return heaps.map((h, i) => usageChart(h, SERIES[i % SERIES.length], t.cycles, ms)).join('\n');
}

function usageChart(h: HeapTrack, colour: string, cycles: number, ms: (c: number) => string): string {
  const peak = Math.max(0, ...h.usage.map((p) => p[1]), ...h.samples.map((s) => s.inUse));
  const plot = plotArea(110, Math.max(cycles, 1), Math.max(peak, 1) * 1.1);
  const body = [axes(plot, 'time (cycles)', `${h.name}: bytes in use (peak ${group(peak)} of ${formatBytes(h.size)})`, short, shortBytes)];
  body.push(el('path', { class: 'series', d: stepPath(envelope(h.usage, plot), plot, cycles), fill: 'none', stroke: colour, 'stroke-width': 1.5 }, title(`${h.name}: bytes the allocator holds`)));
  for (const s of h.samples) body.push(el('circle', { cx: px(plot, s.cycle), cy: py(plot, s.inUse), r: 3.5, fill: '#fff', stroke: '#111' }, title(`sample at ${group(s.cycle)} cycles (${ms(s.cycle)}): ${group(s.inUse)} bytes in use, largest free ${group(s.largestFree)}`)));
  return chart(`usage-${h.name}`, WIDTH, 190, body, `bytes in use in heap ${h.name}`);
}

function fragmentationChart(t: Timeline, ms: (c: number) => string): string {
  const heaps = t.heaps.filter((h) => h.samples.length > 0);
  if (heaps.length === 0) return '<p class="note">The scenario has no <code>sample</code> step: no fragmentation over time to show.</p>';
  const worst = Math.max(...heaps.flatMap((h) => h.samples.map((s) => s.extFragPpm / 10_000)));
  const plot = plotArea(160, Math.max(t.cycles, 1), Math.max(worst * 1.2, 1));
  const body = [axes(plot, 'time (cycles)', 'external fragmentation, % (1 - largest free / free)', short, (v) => `${v}%`)];
  heaps.forEach((h, i) => {
    const colour = SERIES[t.heaps.indexOf(h) % SERIES.length];
    const points = h.samples.map((s) => [px(plot, s.cycle), py(plot, s.extFragPpm / 10_000)]);
    if (points.length > 1) body.push(el('polyline', { class: 'series', points: points.map(([x, y]) => `${num(x)},${num(y)}`).join(' '), fill: 'none', stroke: colour, 'stroke-width': 1.5 }));
    h.samples.forEach((s, j) => body.push(el('circle', { cx: points[j][0], cy: points[j][1], r: 4 - (i % 2), fill: colour }, title(`${h.name} at ${ms(s.cycle)}: ${(s.extFragPpm / 10_000).toFixed(4)}%`))));
  });
  body.push(legend(plot.x, 222, heaps.map((h) => [h.name, SERIES[t.heaps.indexOf(h) % SERIES.length]])));
  const samples = Math.max(...heaps.map((h) => h.samples.length));
  return chart('fragmentation', WIDTH, 232, body, 'external fragmentation over time') + `<p class="note">${samples} sample${samples === 1 ? '' : 's'} per heap; add <code>sample</code> steps (in a repeat, for a curve) to see more.</p>`;
}

/** Per heap, how many allocations took how many cycles (20 equal bins from the fastest to the slowest). */
function cycleHistograms(t: Timeline): string {
  const heaps = t.heaps.filter((h) => h.blocks.length > 0);
  if (heaps.length === 0) return '<p class="note">No allocations.</p>';
  const cols = 2;
  const w = (WIDTH - 20) / cols;
  const h = 170;
  const body: string[] = [];
  heaps.forEach((heap, i) => {
    const cycles = heap.blocks.map((b) => b.allocCycles);
    const lo = Math.min(...cycles);
    const hi = Math.max(...cycles);
    // Bins of whole cycles: bin b holds lo + b * width .. lo + (b + 1) * width - 1.
    const bins = Math.min(20, hi - lo + 1);
    const width = Math.ceil((hi - lo + 1) / bins);
    const counts = new Array<number>(bins).fill(0);
    for (const c of cycles) counts[Math.floor((c - lo) / width)]++;
    const x0 = (i % cols) * w;
    const y0 = Math.floor(i / cols) * h;
    const plot: Plot = { x: x0 + 60, y: y0 + 30, width: w - 80, height: h - 75, xMax: bins, yMax: Math.max(...counts) * 1.1 };
    const edge = (v: number) => (Number.isInteger(v) ? String(lo + v * width) : '');
    const histogram: string[] = [axes(plot, 'cycles (bin edges)', `${heap.name}: ${group(cycles.length)} allocs, ${lo}..${hi} cycles`, edge, short)];
    counts.forEach((n, b) => {
      if (n === 0) return;
      const x = px(plot, b);
      histogram.push(el('rect', { class: 'bar', x: x + 0.5, y: py(plot, n), width: Math.max(1, px(plot, b + 1) - x - 1), height: py(plot, 0) - py(plot, n), fill: SERIES[t.heaps.indexOf(heap) % SERIES.length] }, title(`${n} allocations took ${lo + b * width}..${lo + (b + 1) * width - 1} cycles`)));
    });
    body.push(el('g', { class: 'histogram', 'data-heap': heap.name }, ...histogram));
  });
  return chart('alloc-cycles', WIDTH, Math.ceil(heaps.length / cols) * h, body, 'alloc cycle distribution per heap');
}

function frameChart(t: Timeline, ms: (c: number) => string): string {
  if (t.frames.length === 0) return '<p class="note">The scenario has no frames.</p>';
  const budgets = t.frames.map((f) => f.budget).filter((b): b is number => b !== null);
  const budget = budgets.length ? Math.max(...budgets) : null;
  const worst = Math.max(...t.frames.map((f) => f.end - f.start));
  // A budget far above every frame would flatten the bars: then it is named, not drawn.
  const budgetDrawn = budget !== null && budget <= worst * 3;
  const yMax = Math.max(worst, budgetDrawn ? budget : 0) * 1.1;
  const plot = plotArea(180, t.frames.length, yMax);
  const body = [axes(plot, 'frame', 'cycles per frame', short, short)];
  const missed = t.frames.filter((f) => f.budget !== null && f.end - f.start > f.budget).length;
  // More frames than pixels: a bar per pixel column, as tall as the worst frame in it.
  const perBar = Math.max(1, Math.ceil(t.frames.length / plot.width));
  for (let i = 0; i < t.frames.length; i += perBar) {
    const frames = t.frames.slice(i, i + perBar);
    const f = frames.reduce((a, b) => (b.end - b.start > a.end - a.start ? b : a));
    const cycles = f.end - f.start;
    const over = frames.some((x) => x.budget !== null && x.end - x.start > x.budget);
    const width = px(plot, i + frames.length) - px(plot, i);
    const what = perBar === 1 ? `frame ${f.frame}` : `frames ${frames[0].frame}..${frames.at(-1)!.frame}, worst ${f.frame}`;
    body.push(el('rect', { class: 'bar', x: px(plot, i), y: py(plot, cycles), width: Math.max(width - (width > 3 ? 1 : 0), 0.6), height: py(plot, 0) - py(plot, cycles), fill: over ? '#D55E00' : '#0072B2' }, title(`${what}: ${group(cycles)} cycles (${ms(cycles)})${f.budget !== null ? `, budget ${group(f.budget)}` : ''}`)));
  }
  if (budget !== null && !budgetDrawn) body.push(text(plot.x + plot.width - 4, plot.y - 8, `budget ${group(budget)} cycles (${ms(budget)}), above the chart: the worst frame takes ${((worst / budget) * 100).toFixed(2)}% of it`, { 'text-anchor': 'end', fill: '#b00020' }));
  if (budget !== null && budgetDrawn) body.push(el('line', { class: 'budget', x1: plot.x, y1: py(plot, budget), x2: plot.x + plot.width, y2: py(plot, budget), stroke: '#b00020', 'stroke-dasharray': '6 4', 'stroke-width': 1.5 }), text(plot.x + plot.width - 4, py(plot, budget) - 5, `budget ${group(budget)} cycles (${ms(budget)})`, { 'text-anchor': 'end', fill: '#b00020' }));
  const cycles = t.frames.map((f) => f.end - f.start).sort((a, b) => a - b);
  const note = `${t.frames.length} frames; median ${group(cycles[Math.floor((cycles.length - 1) / 2)])} cycles, worst ${group(worst)} (${ms(worst)}); ${missed} over budget.`;
  return chart('frames', WIDTH, 250, body, 'frame times against the budget') + `<p class="note">${note}</p>`;
}

/**
 * A row per DMA channel with its transfers, and under it the CPU time it cost (stalls and waits),
 * over the whole run; a transfer shorter than a pixel is drawn a pixel wide.
 */
function dmaChart(t: Timeline, ms: (c: number) => string): string {
  const channels = [...new Set([...t.transfers.map((x) => x.channel), ...t.stalls.map((x) => x.channel)])];
  if (channels.length === 0) return '<p class="note">No DMA transfers.</p>';
  const row = 26;
  const plot: Plot = { x: 150, y: 20, width: WIDTH - 180, height: channels.length * 2 * row, xMax: Math.max(t.cycles, 1), yMax: 1 };
  const body: string[] = [];
  for (const v of ticks(0, plot.xMax)) {
    const x = px(plot, v);
    body.push(el('line', { x1: x, y1: plot.y, x2: x, y2: plot.y + plot.height + 4, stroke: '#e3e3e3' }), text(x, plot.y + plot.height + 16, short(v), { 'text-anchor': 'middle', fill: '#444' }));
  }
  body.push(text(plot.x + plot.width / 2, plot.y + plot.height + 32, 'time (cycles)', { 'text-anchor': 'middle', fill: '#222' }));
  channels.forEach((channel, c) => {
    const y = plot.y + c * 2 * row;
    body.push(text(plot.x - 8, y + 17, `${channel} transfers`, { 'text-anchor': 'end', fill: '#222' }), text(plot.x - 8, y + row + 17, 'CPU stalled', { 'text-anchor': 'end', fill: '#222' }));
    body.push(el('rect', { x: plot.x, y: y + 3, width: plot.width, height: row * 2 - 6, fill: '#fafafa', stroke: '#ddd' }));
    const marks: string[] = [];
    const transfers = t.transfers.filter((x) => x.channel === channel);
    marks.push(...spans(transfers, plot, y + 6, row - 9, '#009E73', (x) => `${channel}: ${group(x.len)} bytes at ${ms(x.start)}, ${group(x.cycles)} cycles (line ${x.line})`, `${channel} transfers`));
    const stalls = t.stalls.filter((x) => x.channel === channel);
    marks.push(...spans(stalls, plot, y + row + 3, row - 9, '#D55E00', (s) => `${s.why === 'wait' ? 'waited for' : 'stalled by'} ${channel}: ${group(s.cycles)} cycles at ${ms(s.start)} (line ${s.line})`, `stalls and waits for ${channel}`));
    body.push(el('g', { class: 'dma-channel', 'data-channel': channel }, ...marks));
  });
  const stalled = t.stalls.reduce((n, s) => n + s.cycles, 0);
  const note = `${group(t.transfers.length)} transfers, ${group(t.transfers.reduce((n, x) => n + x.len, 0))} bytes; the CPU lost ${group(stalled)} cycles to stalls and waits.`;
  return chart('dma', WIDTH, plot.y + plot.height + 44, body, 'DMA timeline') + `<p class="note">${note}</p>`;
}

/** Past this many, marks on a timeline row are merged where they touch the same pixels. */
const MARKS_EACH = 2000;

/** A rect per interval (at least a pixel wide), or past MARKS_EACH one per run of covered pixels. */
function spans<T extends { start: number; cycles: number }>(items: T[], plot: Plot, y: number, height: number, fill: string, tip: (item: T) => string, what: string): string[] {
  const rect = (x0: number, x1: number, label: string) => el('rect', { x: x0, y, width: Math.max(1, x1 - x0), height, fill }, title(label));
  if (items.length <= MARKS_EACH) return items.map((item) => rect(px(plot, item.start), px(plot, item.start + item.cycles), tip(item)));
  const out: string[] = [];
  let run: { x0: number; x1: number; n: number } | null = null;
  for (const item of items) {
    const x0 = Math.floor(px(plot, item.start));
    const x1 = Math.max(x0 + 1, Math.ceil(px(plot, item.start + item.cycles)));
    if (run && x0 <= run.x1) {
      run.x1 = Math.max(run.x1, x1);
      run.n++;
      continue;
    }
    if (run) out.push(rect(run.x0, run.x1, `${group(run.n)} ${what}`));
    run = { x0, x1, n: 1 };
  }
  if (run) out.push(rect(run.x0, run.x1, `${group(run.n)} ${what}`));
  return out;
}

function faultTable(t: Timeline, scenario: Scenario): string {
  if (t.faults.length === 0) return '<p class="note">No faults.</p>';
  const lines = readFileSync(scenario.file, 'utf8').split('\n');
  const source = (line: number | null) => (line === null || line < 1 || line > lines.length ? '' : `<br><code>${line}: ${esc(lines[line - 1].trim())}</code>`);
  const shown = t.faults.slice(0, 200);
  const rows = shown.map((f) => [
    group(f.op), `<span class="fault-kind">${esc(f.kind)}</span><br>${esc(f.detected)}`, `${esc(f.detail)}${f.heap ? `<br>heap ${esc(f.heap)}${f.id ? `, block ${esc(f.id)}` : ''}` : ''}`,
    `line ${f.line}${source(f.line)}`, f.causeOp === null ? '' : `op ${group(f.causeOp)}, line ${f.causeLine}${source(f.causeLine)}`,
  ]);
  const more = t.faults.length > shown.length ? `<p class="note">The first ${shown.length} of ${group(t.faults.length)} faults; the trace holds them all.</p>` : '';
  return table(['op', 'fault', 'what happened', 'where', 'caused by'], rows) + more;
}

