/** The allocators a heap can name, by their scenario name. */
import type { AllocatorEntry } from './allocator.js';
import { bestFit } from './best-fit.js';
import { buddy } from './buddy.js';
import { bump } from './bump.js';
import { dlmalloc } from './dlmalloc.js';
import { firstFit } from './first-fit.js';
import { halfFit } from './half-fit.js';
import { pool } from './pool.js';
import { pspSysmem } from './psp-sysmem.js';
import { tlsf } from './tlsf.js';
import { wasm } from './wasm.js';

export const ALLOCATORS: ReadonlyMap<string, AllocatorEntry> = new Map([
  ['bump', bump],
  ['tlsf', tlsf],
  ['first-fit', firstFit],
  ['best-fit', bestFit],
  ['buddy', buddy],
  ['half-fit', halfFit],
  ['dlmalloc', dlmalloc],
  ['pool', pool],
  ['psp-sysmem', pspSysmem],
  ['wasm', wasm],
]);
