/**
 * The reference model every allocator is checked against with fast-check: the live blocks it handed
 * out, as intervals. After every step: blocks never overlap, stay inside the heap, honour the
 * requested alignment; used + free bytes equal the capacity; live blocks are paid for in used bytes;
 * the allocator's own integrity walk is clean; where the allocator guarantees it, a block freed
 * and asked for again with the same size and alignment is granted; and where the allocator reports
 * its in-heap metadata (metadataIn), no live block's bytes hold any, so a program writing inside its
 * blocks never corrupts the heap.
 *
 * Requests with `align` 0 (malloc) are drawn too, and must come back aligned to the allocator's
 * natural alignment. Where the allocator has realloc, the model resizes live blocks with it; the block
 * keeps min(old, new) bytes' identity, which the model cannot see (it holds no data), so it checks the
 * rest: a new or resized block is in bounds, aligned (its old address kept, or the natural alignment
 * after a move), overlaps no other live block and is paid for; a failure leaves the old block live
 * with the used bytes unchanged; a realloc to no more than the block's size never fails unless the
 * allocator's realloc always moves; realloc(p, 0) either frees (and says so) or keeps a block.
 */
import type { ExecutionContext } from 'ava';
import fc from 'fast-check';
import { newWork, NULL_ADDR, type Allocator, type Work } from '../../src/alloc/allocator.js';

export interface ModelOptions {
  make: () => Allocator;
  /** The heap's memory: every block must lie in [base, base + size). */
  base: number;
  size: number;
  /** Largest request size drawn, and the largest alignment as a power of two. */
  maxRequest?: number;
  maxAlignLog?: number;
  /** Whether freeing everything gives all memory back (false for bump). */
  freesBlocks: boolean;
  /** Whether free-then-same-request must succeed (AllocatorEntry.reuseGuaranteed). */
  reuseGuaranteed: boolean;
  /** The alignment of malloc (`align` 0) and of a moved realloc (AllocatorEntry.naturalAlign). */
  naturalAlign: number;
  /** Whether a realloc to a smaller size may fail (half-fit: o1heap has no realloc, so it always moves). */
  shrinkMayFail?: boolean;
  /** How a request is made (psp-sysmem chooses a mode); default allocator.alloc(size, align, work). */
  request?: (allocator: Allocator, size: number, align: number, work: Work) => number;
  numRuns?: number;
  maxSteps?: number;
}

type Step =
  | { kind: 'alloc'; size: number; alignLog: number }
  | { kind: 'free'; pick: number }
  | { kind: 'free-and-ask-again'; pick: number }
  | { kind: 'realloc'; pick: number; size: number };

interface Live {
  addr: number;
  size: number;
  /** The alignment asked for; 0 for malloc and for a block a realloc moved. */
  align: number;
}

/** alignLog -1 draws `align` 0, malloc. */
const MALLOC_ALIGN_LOG = -1;

export function checkAgainstModel(t: ExecutionContext, o: ModelOptions): void {
  const request = o.request ?? ((a, size, align, work) => a.alloc(size, align, work));
  const maxRequest = o.maxRequest ?? 2048;
  const step: fc.Arbitrary<Step> = fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('alloc' as const), size: fc.integer({ min: 1, max: maxRequest }), alignLog: fc.integer({ min: MALLOC_ALIGN_LOG, max: o.maxAlignLog ?? 8 }) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('free' as const), pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('free-and-ask-again' as const), pick: fc.nat() }) },
    // Sizes from 0 (realloc(p, 0)) to twice the largest request, so that blocks both shrink and grow.
    ...(o.make().realloc ? [{ weight: 2, arbitrary: fc.record({ kind: fc.constant('realloc' as const), pick: fc.nat(), size: fc.integer({ min: 0, max: 2 * maxRequest }) }) }] : []),
  );
  fc.assert(
    // size 'max': without it fast-check draws arrays of about ten steps whatever the maximum.
    fc.property(fc.array(step, { maxLength: o.maxSteps ?? 120, size: 'max' }), (steps) => {
      const allocator = o.make();
      const work = newWork();
      const baseline = allocator.usedBytes();
      const live: Live[] = [];
      /** Checks a block just handed out against the other live blocks, and makes it live. */
      const place = (addr: number, size: number, align: number): void => {
        const alignment = align || o.naturalAlign;
        expect(addr % alignment === 0, `${addr} is not aligned to ${alignment}`);
        expect(addr >= o.base && addr + size <= o.base + o.size, `block [${addr}, ${addr + size}) leaves the heap`);
        const clash = live.find((b) => addr < b.addr + b.size && b.addr < addr + size);
        expect(!clash, `block [${addr}, ${addr + size}) overlaps [${clash?.addr}, ${(clash?.addr ?? 0) + (clash?.size ?? 0)})`);
        expect(allocator.lastBlock >= size, `lastBlock ${allocator.lastBlock} is less than the ${size} bytes requested`);
        live.push({ addr, size, align });
      };
      const grant = (size: number, align: number): boolean => {
        const addr = request(allocator, size, align, work);
        if (addr < 0) return false;
        place(addr, size, align);
        return true;
      };
      const resize = (b: Live, size: number): void => {
        const usedBefore = allocator.usedBytes();
        const addr = allocator.realloc!(b.addr, size, work);
        const outcome = allocator.lastRealloc;
        if (outcome === 'freed') {
          expect(size === 0 && addr === NULL_ADDR, `realloc to ${size} bytes answered ${addr} and said it freed the block`);
          return;
        }
        if (outcome === 'failed') {
          expect(addr === NULL_ADDR, `a failed realloc returned ${addr}`);
          expect(size > b.size || o.shrinkMayFail === true, `realloc of the ${b.size}-byte block at ${b.addr} to ${size} bytes failed`);
          expect(allocator.usedBytes() === usedBefore, `a failed realloc changed the used bytes from ${usedBefore} to ${allocator.usedBytes()}`);
          live.push(b);
          return;
        }
        expect(outcome === 'in-place' ? addr === b.addr : outcome === 'moved', `realloc of ${b.addr} returned ${addr}, outcome ${outcome}`);
        // A move copies at least the min(old, new) bytes the program had, and no more than the new block takes.
        const moved = allocator.lastMoved ?? -1;
        if (outcome === 'in-place') expect(moved === 0, `an in-place realloc reports ${moved} bytes moved`);
        else expect(Math.min(b.size, size) <= moved && moved <= size, `a realloc from ${b.size} to ${size} bytes moved ${moved}`);
        place(addr, size, outcome === 'in-place' ? b.align : 0);
      };
      for (const s of steps) {
        if (s.kind === 'alloc') {
          grant(s.size, s.alignLog === MALLOC_ALIGN_LOG ? 0 : 2 ** s.alignLog);
        } else if (s.kind === 'realloc') {
          if (live.length > 0) resize(live.splice(s.pick % live.length, 1)[0], s.size);
        } else if (live.length > 0) {
          const [b] = live.splice(s.pick % live.length, 1);
          allocator.free(b.addr, work);
          if (s.kind === 'free-and-ask-again') {
            const granted = grant(b.size, b.align);
            expect(granted || !o.reuseGuaranteed, `freeing ${b.size} bytes at ${b.addr} and asking again failed`);
          }
        }
        const used = allocator.usedBytes();
        expect(used + allocator.freeBytes() === allocator.capacity(), `used ${used} + free ${allocator.freeBytes()} != capacity ${allocator.capacity()}`);
        expect(allocator.largestFree() <= allocator.freeBytes(), 'largest free block exceeds free bytes');
        const liveBytes = live.reduce((sum, b) => sum + b.size, 0);
        if (o.freesBlocks) expect(used - baseline >= liveBytes, `used ${used - baseline} bytes for ${liveBytes} live bytes`);
        if (o.freesBlocks && live.length === 0) expect(used === baseline, `all blocks freed but ${used - baseline} bytes still used`);
        const problems = allocator.check();
        expect(problems.length === 0, `check(): ${problems.join('; ')}`);
        if (allocator.metadataIn) checkMetadata(allocator, live, o);
      }
      return true;
    }),
    { numRuns: o.numRuns ?? 2000, seed: 42 },
  );
  t.pass();
}

/**
 * No live payload [addr, addr + size) holds metadata; and the answer for the whole heap is consistent:
 * inside it, nothing before it, and the byte itself is metadata.
 */
function checkMetadata(allocator: Allocator, live: Live[], o: ModelOptions): void {
  const metadataIn = allocator.metadataIn!.bind(allocator);
  for (const b of live) {
    const at = metadataIn(b.addr, b.addr + b.size);
    expect(at === -1, `metadata at ${at} inside the live block [${b.addr}, ${b.addr + b.size})`);
  }
  const first = metadataIn(o.base, o.base + o.size);
  if (first < 0) return;
  expect(first >= o.base && first < o.base + o.size, `metadataIn over the heap answered ${first}, outside it`);
  expect(metadataIn(o.base, first) === -1, `metadataIn over the heap answered ${first}, but there is metadata before it`);
  expect(metadataIn(first, first + 1) === first, `metadataIn over the heap answered ${first}, but that byte alone is not metadata`);
}

function expect(ok: boolean, message: string): asserts ok {
  if (!ok) throw new Error(message);
}
