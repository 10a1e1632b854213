/**
 * SVG written by hand: elements as strings, numbers with fixed digits (so the bytes never depend on
 * the machine), text measured in a monospace font, and the axes the report's charts share.
 */

const FONT = "'DejaVu Sans Mono', Menlo, Consolas, monospace";
const FONT_SIZE = 11;
/** Advance of one character of FONT at FONT_SIZE (DejaVu Sans Mono: 0.602 em). */
export const CHAR_WIDTH = 6.7;

export function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A coordinate with at most one decimal. */
export function num(n: number): string {
  return String(Math.round(n * 10) / 10);
}

type Attrs = Record<string, string | number | undefined>;

export function el(tag: string, attrs: Attrs, ...children: string[]): string {
  const a = Object.entries(attrs)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${typeof v === 'number' ? num(v) : esc(v!)}"`)
    .join('');
  return children.length === 0 ? `<${tag}${a}/>` : `<${tag}${a}>${children.join('')}</${tag}>`;
}

export function text(x: number, y: number, content: string, attrs: Attrs = {}): string {
  return el('text', { x, y, ...attrs }, esc(content));
}

/** A title element: the tooltip a browser shows over its parent. */
export function title(content: string): string {
  return `<title>${esc(content)}</title>`;
}

/** The text cut to fit `width` pixels, with an ellipsis when cut. */
export function fit(content: string, width: number): string {
  const chars = Math.floor(width / CHAR_WIDTH);
  if (content.length <= chars) return content;
  return chars <= 1 ? '' : content.slice(0, chars - 1) + '…';
}

/** A standalone SVG document of the given size. */
export function svgDocument(width: number, height: number, body: string[], label: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${num(width)}" height="${num(height)}" viewBox="0 0 ${num(width)} ${num(height)}" role="img" aria-label="${esc(label)}" font-family="${esc(FONT)}" font-size="${FONT_SIZE}">\n` +
    body.join('\n') +
    '\n</svg>\n'
  );
}

/** Round tick values for an axis from 0 (or lo) to hi: 1, 2 or 5 times a power of ten apart. */
export function ticks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** A number short enough for an axis: 1.5k, 2M, 12. */
export function short(n: number): string {
  const abs = Math.abs(n);
  for (const [unit, scale] of [['G', 1e9], ['M', 1e6], ['k', 1e3]] as const) if (abs >= scale) return `${Number((n / scale).toPrecision(3))}${unit}`;
  return String(Number(n.toPrecision(3)));
}

/** Bytes short enough for an axis: 512, 4K, 1.5M (binary units). */
export function shortBytes(n: number): string {
  for (const [unit, scale] of [['G', 2 ** 30], ['M', 2 ** 20], ['K', 2 ** 10]] as const) if (n >= scale) return `${Number((n / scale).toPrecision(3))}${unit}`;
  return String(n);
}

export interface Plot {
  /** The plotting area inside the chart. */
  x: number;
  y: number;
  width: number;
  height: number;
  xMax: number;
  yMax: number;
}

export const px = (p: Plot, v: number): number => p.x + (p.xMax > 0 ? (v / p.xMax) * p.width : 0);
export const py = (p: Plot, v: number): number => p.y + p.height - (p.yMax > 0 ? (v / p.yMax) * p.height : 0);

/** Axes with grid lines and tick labels, and their titles. */
export function axes(p: Plot, xLabel: string, yLabel: string, xTick: (v: number) => string, yTick: (v: number) => string): string {
  const parts: string[] = [];
  for (const v of ticks(0, p.yMax)) {
    const y = py(p, v);
    parts.push(el('line', { x1: p.x, y1: y, x2: p.x + p.width, y2: y, stroke: '#e3e3e3' }), text(p.x - 6, y + 4, yTick(v), { 'text-anchor': 'end', fill: '#444' }));
  }
  for (const v of ticks(0, p.xMax)) {
    const x = px(p, v);
    parts.push(el('line', { x1: x, y1: p.y + p.height, x2: x, y2: p.y + p.height + 4, stroke: '#666' }), text(x, p.y + p.height + 16, xTick(v), { 'text-anchor': 'middle', fill: '#444' }));
  }
  parts.push(el('rect', { x: p.x, y: p.y, width: p.width, height: p.height, fill: 'none', stroke: '#999' }));
  parts.push(text(p.x + p.width / 2, p.y + p.height + 32, xLabel, { 'text-anchor': 'middle', fill: '#222' }));
  parts.push(text(p.x, p.y - 8, yLabel, { fill: '#222' }));
  return el('g', { class: 'axes' }, ...parts);
}

/** Distinct colours for series, in order (Okabe and Ito's colour-blind-safe palette). */
export const SERIES = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000'];
