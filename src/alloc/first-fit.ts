/**
 * Address-ordered first fit with coalescing (K&R style, with boundary tags).
 * The block format and the address-ordered free list are in free-list.ts: an 8-byte header per block,
 * a 16-byte minimum block, an 8-byte grain. Allocation walks the free list from the head to the first
 * block that fits, and free walks it to the insertion point, which is why this allocator slows down
 * as its free list grows.
 */
import type { AllocatorEntry, Work } from './allocator.js';
import { FreeListAllocator, GRAIN, NEXT_LINK, VISIT_INSTRUCTIONS, fits, type FreeBlock } from './free-list.js';

export class FirstFitAllocator extends FreeListAllocator {
  protected choose(need: number, align: number, work: Work): FreeBlock | null {
    // The hot loop: counted as before, addresses pushed only when a trace is attached.
    const trace = work.trace;
    for (let b = this.head; b; b = b.nextFree) {
      work.instructions += VISIT_INSTRUCTIONS;
      work.reads += 2; // size word and next link
      if (trace !== null) {
        trace.push(b.addr, false);
        trace.push(b.addr + NEXT_LINK, false);
      }
      if (fits(b, need, align)) return b;
    }
    return null;
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
