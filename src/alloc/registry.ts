/** The allocators a heap can name, by their scenario name. */
import type { AllocatorEntry } from './allocator.js';
import { buddy } from './buddy.js';
import { bump } from './bump.js';
import { firstFit } from './first-fit.js';
import { halfFit } from './half-fit.js';

export const ALLOCATORS: ReadonlyMap<string, AllocatorEntry> = new Map([
  ['bump', bump],
  ['first-fit', firstFit],
  ['buddy', buddy],
  ['half-fit', halfFit],
]);
