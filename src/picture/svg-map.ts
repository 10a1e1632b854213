/**
 * The memory map as an SVG picture: on the left every address window of the target (each region's
 * base window, its views and their mirrors, and the kernel-only windows beside them); on the right
 * each region in detail, with what the layout put in it nested in columns (partitions and reserved
 * ranges, sections and the arena, segments with their guards and shared regions, heaps). Heights are
 * to scale within each picture, except that a band is never drawn thinner than a line of text and a
 * huge empty gap is cut short and marked as a break.
 */
import { buildLayout, targetPlacement, type Placed } from '../layout/layout.js';
import type { Scenario } from '../scenario/types.js';
import type { Target } from '../target/types.js';
import { regionWindows } from '../target/windows.js';
import { formatBytes, hex } from '../util/text.js';
import { CHAR_WIDTH, el, fit, svgDocument, text, title } from './svg.js';

export interface MapInput {
  target: Target;
  /** What the layout placed (sections, arena, segments, guards, shared regions, heaps); none for a bare target. */
  placed: readonly Placed[];
  /** A scenario's name, or null for a target's map. */
  scenario: string | null;
  /** Each shared region's rights, as `physics w, renderer r`. */
  rights: ReadonlyMap<string, string>;
  /** A layout that does not fit: what failed. */
  failure: string | null;
}

type Kind = 'region' | 'view' | 'mirror' | 'kernel' | 'partition' | 'reserved' | 'section' | 'arena' | 'segment' | 'shared' | 'heap' | 'guard-mmu' | 'guard-mpu' | 'guard-canary';

/** Fill and outline per kind; guards by how they are enforced. */
const STYLE: Record<Kind, { fill: string; stroke: string; legend: string }> = {
  region: { fill: '#dce6f5', stroke: '#4a6fa5', legend: 'region (base window)' },
  view: { fill: '#eef2f8', stroke: '#7d93b5', legend: 'view of a region' },
  mirror: { fill: '#f7f8fa', stroke: '#9aa8bd', legend: 'mirror' },
  kernel: { fill: '#f3e3e3', stroke: '#a05252', legend: 'kernel only' },
  partition: { fill: '#e6f0dc', stroke: '#5f8a3a', legend: 'partition' },
  reserved: { fill: 'url(#hatch)', stroke: '#777777', legend: 'reserved' },
  section: { fill: '#fbeacb', stroke: '#b7862a', legend: 'section' },
  arena: { fill: '#efe3f4', stroke: '#8a5a9e', legend: 'arena' },
  segment: { fill: '#d6e9fb', stroke: '#2f6fae', legend: 'segment' },
  shared: { fill: '#fde2cf', stroke: '#c0662b', legend: 'shared region (rights)' },
  heap: { fill: '#d5f0dc', stroke: '#2e8b57', legend: 'heap' },
  'guard-mmu': { fill: '#d62728', stroke: '#8b1a1a', legend: 'guard: MMU page (traps)' },
  'guard-mpu': { fill: '#ff7f0e', stroke: '#a65000', legend: 'guard: MPU region (traps)' },
  'guard-canary': { fill: '#f2d024', stroke: '#8a7300', legend: 'guard: canary (checked later)' },
};

/** Columns, left to right: what contains comes before what it contains. */
const COLUMN: Record<Kind, number> = {
  region: 0, view: 0, mirror: 0, kernel: 1, partition: 1, reserved: 2, section: 2, arena: 2, segment: 3, shared: 3, 'guard-mmu': 3, 'guard-mpu': 3, 'guard-canary': 3, heap: 4,
};

interface Box {
  kind: Kind;
  name: string;
  /** The label's two lines: name (and what) and size; range and notes. */
  label: string;
  note: string;
  addr: number;
  size: number;
  /** Drawn over the others' gaps without making them count as used (the kernel windows). */
  overlay?: boolean;
}

const MIN_BAND = 30;
const BREAK = 28;
const ADDRESS_WIDTH = 86;
const TOP = 64;

export function mapSvg(input: MapInput): string {
  const t = input.target;
  const left = new Bar('address space: every window', windowBoxes(t), 360);
  const right = new Bar(input.scenario ? `regions, with the layout of ${input.scenario}` : 'regions in detail', detailBoxes(input), 680);
  const gap = 40;
  const parts: string[] = [defs()];
  const heading = input.scenario ? `memory map of ${input.scenario} on ${t.name}` : `memory map of ${t.name}`;
  parts.push(text(16, 24, heading, { 'font-size': 15, 'font-weight': 'bold', fill: '#111' }));
  parts.push(text(16, 42, fit(t.description, 1400), { fill: '#444' }));
  parts.push(left.draw(16, TOP));
  const rightX = 16 + left.width + gap;
  parts.push(right.draw(rightX, TOP));
  let bottom = TOP + Math.max(left.height, right.height) + 24;
  if (input.failure) {
    parts.push(text(16, bottom, `layout fails: ${input.failure}`, { fill: '#b00020', 'font-weight': 'bold' }));
    bottom += 20;
  }
  const width = Math.max(rightX + right.width + 16, 760);
  const legend = drawLegend(16, bottom, width - 32, [...new Set([...left.kinds, ...right.kinds])]);
  parts.push(legend.svg);
  parts.push(text(16, legend.bottom + 18, 'heights to scale within each column set, except: a band is at least one line tall; ≈ marks an empty gap cut short', { fill: '#555' }));
  return svgDocument(width, legend.bottom + 30, parts, heading);
}

function defs(): string {
  return el('defs', {}, el('pattern', { id: 'hatch', width: 6, height: 6, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' }, el('rect', { width: 6, height: 6, fill: '#eeeeee' }), el('line', { x1: 0, y1: 0, x2: 0, y2: 6, stroke: '#9a9a9a', 'stroke-width': 2 })));
}

function windowBoxes(t: Target): Box[] {
  const boxes: Box[] = [];
  for (const r of t.regions) {
    for (const w of regionWindows(r)) {
      const kind: Kind = w.via.includes(' mirror ') ? 'mirror' : w.view === null ? 'region' : 'view';
      const caching = w.cached && !r.device ? 'cached' : 'uncached';
      boxes.push({ kind, name: w.via, label: `${w.via} ${formatBytes(r.size)}`, note: `${caching}${kind === 'region' ? `, ${r.kind}` : ''}`, addr: w.base, size: w.end - w.base });
    }
  }
  for (const k of t.privilege?.kernelWindows ?? []) boxes.push({ kind: 'kernel', name: 'kernel only', label: 'kernel only', note: k.why, addr: k.base, size: k.end - k.base, overlay: true });
  return boxes;
}

function detailBoxes(input: MapInput): Box[] {
  const t = input.target;
  const boxes: Box[] = [];
  const reserved = (base: number, r: { offset: number; size: number; why: string }) => boxes.push({ kind: 'reserved', name: 'reserved', label: `reserved ${formatBytes(r.size)}`, note: r.why, addr: base + r.offset, size: r.size });
  for (const r of t.regions) {
    boxes.push({ kind: 'region', name: r.name, label: `${r.name} ${formatBytes(r.size)}`, note: `${r.kind}, ${r.cached && !r.device ? 'cached' : 'uncached'}${r.dma ? ', DMA' : ''}`, addr: r.base, size: r.size });
    for (const x of r.reserved) reserved(r.base, x);
  }
  for (const p of t.partitions) {
    const base = t.regions.find((r) => r.name === p.region)!.base + p.offset;
    const kernel = t.privilege?.kernelPartitions.some((k) => k.name === p.name);
    boxes.push({ kind: 'partition', name: p.name, label: `${p.name} ${formatBytes(p.size)}`, note: kernel ? 'partition, kernel only' : 'partition', addr: base, size: p.size });
    for (const x of p.reserved) reserved(base, x);
  }
  for (const p of input.placed) {
    const kind: Kind = p.what === 'guard' ? `guard-${p.protection ?? 'canary'}` : p.what;
    const rights = p.what === 'shared' ? input.rights.get(p.name) : undefined;
    const note = p.what === 'guard' ? { mmu: 'MMU page, traps', mpu: 'MPU region, traps', canary: 'canary, checked later' }[p.protection ?? 'canary'] : rights ?? `in ${p.in}`;
    boxes.push({ kind, name: p.name, label: `${p.name} ${formatBytes(p.size)}`, note, addr: p.addr, size: p.size });
  }
  return boxes;
}

/** A piece of the address axis: its addresses, and its height once drawn. */
interface Piece {
  from: number;
  to: number;
  height: number;
  cut: boolean;
}

/** One picture: boxes in columns beside an address axis, with its own scale. */
class Bar {
  readonly pieces: Piece[];
  readonly columns: { x: number; width: number }[] = [];
  readonly width: number;
  readonly height: number;
  readonly kinds: Kind[];
  private readonly columnOf: number[];

  constructor(
    private readonly caption: string,
    private readonly boxes: Box[],
    targetHeight: number,
  ) {
    this.pieces = scale(boxes, targetHeight);
    this.height = this.pieces.reduce((n, p) => n + p.height, 0) + 24;
    this.kinds = [...new Set(boxes.map((b) => b.kind))];
    const used = [...new Set(boxes.map((b) => COLUMN[b.kind]))].sort((a, b) => a - b);
    this.columnOf = boxes.map((b) => used.indexOf(COLUMN[b.kind]));
    let x = ADDRESS_WIDTH;
    for (let c = 0; c < used.length; c++) {
      // Wide enough for every label; notes longer than that are cut (their tooltip has them whole).
      const longest = Math.max(...boxes.filter((_, i) => this.columnOf[i] === c).map((b) => b.label.length));
      const width = Math.min(260, Math.max(120, longest * CHAR_WIDTH + 16));
      this.columns.push({ x, width });
      x += width + 6;
    }
    this.width = Math.max(x, caption.length * CHAR_WIDTH + 10);
  }

  /** The y of an address (a piece's boundary, or inside a piece in proportion). */
  private y(addr: number): number {
    let y = 0;
    for (const p of this.pieces) {
      if (addr <= p.from) return y;
      if (addr < p.to) return y + ((addr - p.from) / (p.to - p.from)) * p.height;
      y += p.height;
    }
    return y;
  }

  draw(x0: number, y0: number): string {
    const parts: string[] = [text(x0, y0 - 8, this.caption, { 'font-weight': 'bold', fill: '#222' })];
    const top = y0;
    // Boxes, containers first so that what they contain is drawn over them.
    const order = this.boxes.map((_, i) => i).sort((a, b) => this.columnOf[a] - this.columnOf[b] || a - b);
    for (const i of order) {
      const b = this.boxes[i];
      const col = this.columns[this.columnOf[i]];
      const y = top + this.y(b.addr);
      const h = top + this.y(b.addr + b.size) - y;
      parts.push(drawBox(b, x0 + col.x, y, col.width, h));
    }
    // The address of every boundary, where there is room for it.
    let lastLabel = -Infinity;
    let y = top;
    for (const p of [...this.pieces, null]) {
      const addr = p ? p.from : this.pieces.at(-1)!.to;
      if (y - lastLabel >= 12) {
        parts.push(text(x0 + ADDRESS_WIDTH - 8, y + 4, hex(addr), { 'text-anchor': 'end', fill: '#333' }));
        parts.push(el('line', { x1: x0 + ADDRESS_WIDTH - 5, y1: y, x2: x0 + ADDRESS_WIDTH, y2: y, stroke: '#333' }));
        lastLabel = y;
      }
      if (p?.cut) parts.push(drawBreak(x0 + ADDRESS_WIDTH - 4, y, this.width - ADDRESS_WIDTH + 4, p));
      if (p) y += p.height;
    }
    return el('g', { class: 'bar' }, ...parts);
  }
}

function drawBox(b: Box, x: number, y: number, width: number, height: number): string {
  const style = STYLE[b.kind];
  const dashed = b.kind === 'mirror' || b.kind === 'kernel' ? '4 3' : undefined;
  const parts = [title(`${b.label} at ${hex(b.addr)}..${hex(b.addr + b.size - 1)}${b.note ? `: ${b.note}` : ''}`)];
  parts.push(el('rect', { x, y, width: width - 4, height: Math.max(height, 1), fill: style.fill, stroke: style.stroke, 'stroke-dasharray': dashed }));
  const dark = b.kind === 'guard-mmu';
  const ink = dark ? '#ffffff' : '#1a1a1a';
  if (height >= 14) parts.push(text(x + 5, y + 13, fit(b.label, width - 12), { fill: ink }));
  if (height >= 28 && b.note) parts.push(text(x + 5, y + 26, fit(b.note, width - 12), { fill: dark ? ink : '#4a4a4a' }));
  return el('g', { class: `box ${b.kind}`, 'data-name': b.name }, ...parts);
}

/** A cut in the axis: a zigzag across the columns and the size of what was left out. */
function drawBreak(x: number, y: number, width: number, p: Piece): string {
  const mid = y + p.height / 2;
  let path = `M${x} ${mid}`;
  for (let i = 0, step = 8; x + i * step <= x + width; i++) path += ` L${x + i * step} ${mid + (i % 2 === 0 ? -4 : 4)}`;
  return el(
    'g',
    { class: 'break' },
    el('rect', { x, y: y + 3, width, height: p.height - 6, fill: '#ffffff' }),
    el('path', { d: path, fill: 'none', stroke: '#888', 'stroke-width': 1.5 }),
    text(x + 8, mid - 6, `≈ ${formatBytes(p.to - p.from)} not shown`, { fill: '#666', 'font-style': 'italic' }),
  );
}

/**
 * The axis cut into pieces at every box edge. A piece some box covers is drawn to scale (the boxes'
 * total to `targetHeight`), at least MIN_BAND tall; a piece no box covers is to scale when small and
 * a break when it would take more than a break's height.
 */
function scale(boxes: Box[], targetHeight: number): Piece[] {
  const edges = [...new Set(boxes.flatMap((b) => [b.addr, b.addr + b.size]))].sort((a, b) => a - b);
  const solid = boxes.filter((b) => !b.overlay);
  const pieces: Piece[] = [];
  for (let i = 0; i + 1 < edges.length; i++) {
    const [from, to] = [edges[i], edges[i + 1]];
    const covered = solid.some((b) => b.addr <= from && b.addr + b.size >= to);
    pieces.push({ from, to, height: covered ? 1 : 0, cut: false });
  }
  const coveredBytes = pieces.filter((p) => p.height === 1).reduce((n, p) => n + (p.to - p.from), 0);
  const perByte = coveredBytes > 0 ? targetHeight / coveredBytes : 0;
  for (const p of pieces) {
    const proportional = (p.to - p.from) * perByte;
    if (p.height === 1) p.height = Math.max(MIN_BAND, proportional);
    else if (proportional > BREAK) Object.assign(p, { height: BREAK, cut: true });
    else p.height = proportional;
  }
  return pieces;
}

function drawLegend(x: number, y: number, width: number, kinds: Kind[]): { svg: string; bottom: number } {
  const order = Object.keys(STYLE) as Kind[];
  const parts: string[] = [];
  let cx = x;
  let cy = y;
  for (const kind of order.filter((k) => kinds.includes(k))) {
    const s = STYLE[kind];
    const w = 22 + s.legend.length * CHAR_WIDTH + 18;
    if (cx + w > x + width) {
      cx = x;
      cy += 20;
    }
    parts.push(el('rect', { x: cx, y: cy, width: 16, height: 12, fill: s.fill, stroke: s.stroke }), text(cx + 22, cy + 10, s.legend, { fill: '#222' }));
    cx += w;
  }
  return { svg: el('g', { class: 'legend' }, ...parts), bottom: cy + 16 };
}

/** A scenario's map: its target and its layout at the start, with the rights of its shared regions. */
export function scenarioMapInput(scenario: Scenario): MapInput {
  const layout = buildLayout(scenario);
  const rights = new Map((scenario.layout?.shared ?? []).map((s) => [s.name, s.access.map((a) => `${a.component} ${a.access}`).join(', ')]));
  const failure = layout.failure ? `${layout.failure.kind} (line ${layout.failure.line}): ${layout.failure.detail}` : null;
  return { target: scenario.target, placed: layout.placed, scenario: scenario.name, rights, failure };
}

/** A target's map: its regions, partitions and its own sections. */
export function targetMapInput(target: Target): MapInput {
  return { target, placed: targetPlacement(target), scenario: null, rights: new Map(), failure: null };
}
