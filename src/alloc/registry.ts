/** The allocators a heap can name, by their scenario name. */
import type { AllocatorEntry } from './allocator.js';
import { bump } from './bump.js';
import { firstFit } from './first-fit.js';

export const ALLOCATORS: ReadonlyMap<string, AllocatorEntry> = new Map([
  ['bump', bump],
  ['first-fit', firstFit],
]);
