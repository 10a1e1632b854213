/**
 * Address-ordered first fit with coalescing (K&R style, with boundary tags).
 * The block format and the address-ordered free list are in free-list.ts: an 8-byte header per block,
 * a 16-byte minimum block, an 8-byte grain. Allocation walks the free list from the head to the first
 * block that fits, and free walks it to the insertion point, which is why this allocator slows down
 * as its free list grows.
 */
import type { AllocatorEntry, Work } from './allocator.js';
import { FreeListAllocator, GRAIN, VISIT_INSTRUCTIONS, chargeListWalk, fits, type FreeBlock } from './free-list.js';

export class FirstFitAllocator extends FreeListAllocator {
  protected choose(need: number, align: number, work: Work): FreeBlock | null {
    let visited = 0;
    let b = this.head;
    for (; b; b = b.nextFree) {
      visited++;
      if (fits(b, need, align)) break;
    }
    chargeListWalk(this.head, visited, VISIT_INSTRUCTIONS, work);
    return b;
  }
}

export const firstFit: AllocatorEntry = {
  options: {},
  freesBlocks: true,
  naturalAlign: () => GRAIN,
  reuseGuaranteed: true,
  bound: { formula: 'M(1 + ceil(log2 n))', source: 'Robson 1977, cited by the o1heap README', bytes: (m, n) => m * (1 + Math.ceil(Math.log2(n))) },
  create: (base, size) => new FirstFitAllocator(base, size),
};
