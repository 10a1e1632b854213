/**
 * The address windows a region is seen through: its base, each view (a segment such as MIPS KSEG0/1
 * or SH-4 P1/P2 that maps the same memory with other caching), and in each of them the region's
 * mirrors. A mirror is written in the target file at its address in the base window; the same
 * offset repeats in every view, because the address decoder ignores the same bits whatever segment
 * the CPU issued the address in (psx-spx memorymap.md "Memory Mirrors"; flycast addrspace.cpp).
 */
import { hex } from '../util/text.js';
import type { Region } from './types.js';

export interface Window {
  base: number;
  end: number;
  cached: boolean;
  /** How the window is named in messages and `emu map`: `ram`, `ram/kseg1`, `ram/kseg1 mirror 0xa0200000`. */
  via: string;
  /** The view's name, or null for the base window. */
  view: string | null;
}

export function regionWindows(region: Region): Window[] {
  const windows: Window[] = [];
  const views = [{ name: null as string | null, base: region.base, cached: region.cached }, ...region.views];
  for (const view of views) {
    const via = view.name === null ? region.name : `${region.name}/${view.name}`;
    windows.push({ base: view.base, end: view.base + region.size, cached: view.cached, via, view: view.name });
    for (const mirror of region.mirrors) {
      const base = view.base + (mirror - region.base);
      windows.push({ base, end: base + region.size, cached: view.cached, via: `${via} mirror ${hex(base)}`, view: view.name });
    }
  }
  return windows;
}
