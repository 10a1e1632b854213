/**
 * Address-ordered best fit with coalescing, the policy Johnstone & Wilson (ISMM 1998) found to
 * fragment least on real programs. Same block format and address-ordered free list as first-fit
 * (free-list.ts): allocation walks the WHOLE free list and takes the smallest block that fits,
 * the lowest-addressed one on a tie (the list is in address order, so the first smallest seen);
 * only an exact fit ends the walk early. So an allocation costs a full list walk whenever no block
 * fits exactly, where first fit stops at the first block that fits.
 */
import type { AllocatorEntry, Work } from './allocator.js';
import { FreeListAllocator, GRAIN, chargeListWalk, fits, type FreeBlock } from './free-list.js';

/** Once per search: clear the best-so-far and test it at the end. */
const SEARCH_INSTRUCTIONS = 2;
/** Per visited free-list node: compare with the request, compare with the best so far (two compare-and-branch pairs), advance. */
const VISIT_INSTRUCTIONS = 6;

export class BestFitAllocator extends FreeListAllocator {
  protected choose(need: number, align: number, work: Work): FreeBlock | null {
    let best: FreeBlock | null = null;
    let visited = 0;
    let b = this.head;
    for (; b; b = b.nextFree) {
      visited++;
      if (best && b.size >= best.size) continue; // strictly smaller only: ties keep the lower address
      if (!fits(b, need, align)) continue;
      if (b.size === need) break; // exact fit: nothing that fits is smaller
      best = b;
    }
    work.instructions += SEARCH_INSTRUCTIONS;
    chargeListWalk(this.head, visited, VISIT_INSTRUCTIONS, work);
    return b ?? best;
  }
}

/**
 * Robson's lower bound for ANY allocator (JACM 1974, via SQLite's malloc.html): M(1 + log2(n)/2) - n + 1.
 * No allocator can promise success with less, so best fit cannot either.
 */
function robson(m: number, n: number): number {
  return m * (1 + Math.log2(n) / 2) - n + 1;
}

export const bestFit: AllocatorEntry = {
  options: {},
  freesBlocks: true,
  naturalAlign: () => GRAIN,
  reuseGuaranteed: true,
  // M(n - 2) undershoots for small n: it gives 0 bytes at n = 2 and less than M below n = 3, which no
  // allocator can meet. So the bound is the larger of M(n - 2) and Robson's bound for any allocator
  // and M itself; Robson's is the larger only for n below about 4 (n - 3 < log2(n)/2), and from
  // n = 4 on the published M(n - 2) is what is used.
  bound: {
    formula: 'M(n - 2)',
    source: 'o1heap README (best fit); never below Robson 1974 for any allocator, which decides for n < 4',
    bytes: (m, n) => Math.max(m * (n - 2), robson(m, Math.max(n, 1)), m),
  },
  create: (base, size) => new BestFitAllocator(base, size),
};
