import test from 'ava';
import fc from 'fast-check';
import { newWork } from '../src/alloc/allocator.js';
import { PoolAllocator, pool } from '../src/alloc/pool.js';
import { checkAgainstModel } from './helpers/allocator-model.js';

const BASE = 0x1000;
const CTX = { policy: 'no_std_alloc' } as const;

test('pool: blocks carved in address order, then LIFO reuse', (t) => {
  const w = newWork();
  const p = new PoolAllocator(BASE, 1024); // 64-byte blocks: 1024 / 64 = 16 of them
  t.is(p.blocks, 16);
  const a = p.alloc(10, 8, w);
  const b = p.alloc(64, 8, w);
  const c = p.alloc(1, 1, w);
  t.deepEqual([a, b, c], [0x1000, 0x1040, 0x1080]);
  t.is(p.lastBlock, 64);
  t.is(p.free(a, w), 64);
  t.is(p.free(c, w), 64);
  // The last freed comes back first; once the list is empty the next never-used block is carved.
  t.is(p.alloc(8, 8, w), 0x1080);
  t.is(p.alloc(8, 8, w), 0x1000);
  t.is(p.alloc(8, 8, w), 0x10c0);
  t.is(p.usedBytes(), 4 * 64);
  t.is(p.freeBytes(), 12 * 64);
  t.is(p.capacity(), 1024);
  t.deepEqual(p.check(), []);
});

test('pool: exhaustion fails at exactly capacity + 1, and a free makes room again', (t) => {
  const w = newWork();
  const p = pool.create(BASE, 4096, { block: 100, capacity: 5 }, CTX) as PoolAllocator;
  // 100 rounds up to 104 (the 8-byte grain): blocks at 0x1000 + 104 i.
  const got = Array.from({ length: 5 }, () => p.alloc(100, 8, w));
  t.deepEqual(got, [0x1000, 0x1068, 0x10d0, 0x1138, 0x11a0]);
  t.is(p.largestFree(), 0);
  t.is(p.alloc(1, 8, w), -1);
  t.is(p.freeBytes(), 0);
  p.free(got[2], w);
  t.is(p.largestFree(), 104);
  t.is(p.alloc(1, 8, w), 0x10d0);
  t.is(p.alloc(1, 8, w), -1);
  t.is(p.capacity(), 5 * 104); // only the blocks are managed: the rest of the 4096 bytes is not
  t.deepEqual(p.check(), []);
});

test('pool: oversize and over-aligned requests fail; the align option raises the block alignment', (t) => {
  const w = newWork();
  const p = new PoolAllocator(BASE, 1024);
  t.is(p.alloc(65, 8, w), -1);
  t.is(p.alloc(8, 16, w), -1); // blocks are only promised 8-byte alignment
  t.is(p.alloc(64, 8, w), 0x1000);
  t.is(p.diagnostics().blocks_used, 1);
  // align 32: block 20 rounds up to 32, the first block is at the first 32-aligned address.
  const q = pool.create(BASE + 16, 1024, { block: 20, align: 32 }, CTX) as PoolAllocator;
  t.is(q.blockSize, 32);
  t.is(q.blocks, 31); // (0x1010 + 1024 - 0x1020) / 32 = 31.5, rounded down
  t.is(q.alloc(20, 32, w), 0x1020);
  t.is(q.alloc(20, 64, w), -1);
  t.is(q.alloc(33, 8, w), -1);
});

test('pool: diagnostics in a fixed key order, peak kept', (t) => {
  const w = newWork();
  const p = pool.create(BASE, 1024, { block: 48, capacity: 8 }, CTX);
  const xs = [p.alloc(1, 8, w), p.alloc(1, 8, w), p.alloc(1, 8, w)];
  p.free(xs[0], w);
  p.free(xs[1], w);
  const d = p.diagnostics!();
  t.deepEqual(Object.keys(d), ['block_size', 'blocks', 'blocks_used', 'peak_blocks_used']);
  t.deepEqual(d, { block_size: 48, blocks: 8, blocks_used: 1, peak_blocks_used: 3 });
});

test('pool: pinned work per call', (t) => {
  const p = new PoolAllocator(BASE, 1024);
  // Carving: 8 fixed instructions; reads head, carve index, blocks used, peak; writes carve index,
  // blocks used and the raised peak.
  const carve = newWork();
  const a = p.alloc(8, 8, carve);
  t.deepEqual(carve, { instructions: 8, reads: 4, writes: 3, trace: null });
  // Free: 6 instructions; reads head and blocks used; writes the block's link, head and blocks used.
  const free = newWork();
  p.free(a, free);
  t.deepEqual(free, { instructions: 6, reads: 2, writes: 3, trace: null });
  // Pop: reads head, the block's link, blocks used, peak; writes head and blocks used (peak unchanged).
  const pop = newWork();
  t.is(p.alloc(8, 8, pop), a);
  t.deepEqual(pop, { instructions: 8, reads: 4, writes: 2, trace: null });
  // A request over the block size is refused on the constant alone.
  const big = newWork();
  t.is(p.alloc(100, 8, big), -1);
  t.deepEqual(big, { instructions: 8, reads: 0, writes: 0, trace: null });
  // Exhausted: head and carve index read, nothing written.
  const full = new PoolAllocator(BASE, 64);
  full.alloc(8, 8, newWork());
  const none = newWork();
  t.is(full.alloc(8, 8, none), -1);
  t.deepEqual(none, { instructions: 8, reads: 2, writes: 0, trace: null });
});

test('pool: misfit names what does not fit', (t) => {
  t.is(pool.misfit!(6400, { block: 64, capacity: 100 }, CTX), null);
  t.is(pool.misfit!(6399, { block: 64, capacity: 100 }, CTX), 'a pool of 100 64-byte blocks needs 6400 bytes, the heap has 6399');
  t.is(pool.misfit!(64, {}, CTX), null);
  t.is(pool.misfit!(63, {}, CTX), 'a pool needs at least one 64-byte block: 64 bytes, the heap has 63');
  // Rounded block: 100 -> 104.
  t.is(pool.misfit!(1000, { block: 100, capacity: 10 }, CTX), 'a pool of 10 104-byte blocks needs 1040 bytes, the heap has 1000');
  // Heaps start 16-byte aligned, so a 64-byte block alignment may cost up to 48 bytes in front.
  t.is(pool.misfit!(6400, { block: 64, capacity: 100, align: 64 }, CTX), 'a pool of 100 64-byte blocks needs 6448 bytes (6400 for the blocks and up to 48 to align the first one to 64), the heap has 6400');
  t.is(pool.misfit!(6448, { block: 64, capacity: 100, align: 64 }, CTX), null);
});

test('pool: a capacity larger than fits is clamped when created directly', (t) => {
  const p = new PoolAllocator(BASE, 1000, 64, 100);
  t.is(p.blocks, 15);
  t.is(p.capacity(), 960);
});

test('pool: entry', (t) => {
  t.deepEqual(Object.keys(pool.options), ['block', 'capacity', 'align']);
  t.true(pool.freesBlocks && pool.reuseGuaranteed);
  t.falsy(pool.scopes || pool.modes || pool.errorCodes || pool.grows);
  t.is(pool.bound, null);
  const p = pool.create(BASE, 1024, {}, CTX);
  t.deepEqual(p.diagnostics!(), { block_size: 64, blocks: 16, blocks_used: 0, peak_blocks_used: 0 });
});

test('pool: check() reports a corrupted free list', (t) => {
  const w = newWork();
  const p = new PoolAllocator(BASE, 1024);
  const xs = [p.alloc(8, 8, w), p.alloc(8, 8, w), p.alloc(8, 8, w)];
  p.free(xs[0], w);
  p.free(xs[2], w); // list: block 2 -> block 0
  t.deepEqual(p.check(), []);
  const raw = p as any;
  raw.next[0] = 2; // block 0 now points back to block 2: a cycle
  t.true(p.check().some((m) => /cycle/.test(m)), p.check().join('; '));
  raw.next[0] = -1;
  raw.inUse[2] = 1; // listed but marked in use
  raw.used = 2; // and the count disagrees with the list
  const problems = p.check();
  t.true(problems.some((m) => /on the free list but in use/.test(m)), problems.join('; '));
  t.true(problems.some((m) => /!= 16 blocks/.test(m)), problems.join('; '));
});

test('pool: metadataIn finds the free-list link in a freed block\'s first word, nothing else', (t) => {
  const w = newWork();
  const p = new PoolAllocator(BASE, 256, 32);
  // Eight 32-byte blocks from 0x1000; three handed out (0x1000, 0x1020, 0x1040), five never carved.
  const xs = [p.alloc(8, 8, w), p.alloc(8, 8, w), p.alloc(8, 8, w)];
  t.deepEqual(xs, [0x1000, 0x1020, 0x1040]);
  t.is(p.metadataIn(0x1000, 0x1100), -1); // used blocks have no header; uncarved ones are not threaded
  // Freed, block 1 holds the list link in [0x1020, 0x1024).
  p.free(0x1020, w);
  t.is(p.metadataIn(0x1000, 0x1100), 0x1020);
  t.is(p.metadataIn(0x1000, 0x1020), -1); // block 0, a whole used block
  t.is(p.metadataIn(0x101f, 0x1021), 0x1020); // its last byte is not metadata, the next block's link is
  t.is(p.metadataIn(0x1024, 0x1100), -1); // the rest of the free block and everything after
  p.free(0x1000, w);
  t.is(p.metadataIn(0x0f00, 0x1100), 0x1000); // block 0's link now (it points at block 1)
  t.is(p.metadataIn(0x1004, 0x1100), 0x1020);
  // Both handed out again (LIFO): the links are payload once more.
  p.alloc(8, 8, w);
  p.alloc(8, 8, w);
  t.is(p.metadataIn(0x1000, 0x1100), -1);
});

test('property: the pool fails exactly when a request is too big, too aligned, or every block is in use', (t) => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('alloc' as const), size: fc.integer({ min: 1, max: 80 }), alignLog: fc.integer({ min: 0, max: 5 }) }),
    fc.record({ kind: fc.constant('free' as const), pick: fc.nat() }),
  );
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 12 }), fc.array(op, { maxLength: 80 }), (capacity, ops) => {
      const p = new PoolAllocator(BASE, 4096, 64, capacity, 16);
      const w = newWork();
      const live: number[] = [];
      for (const o of ops) {
        if (o.kind === 'alloc') {
          const addr = p.alloc(o.size, 2 ** o.alignLog, w);
          const ok = o.size <= 64 && o.alignLog <= 4 && live.length < capacity;
          if (ok !== addr >= 0) return false;
          if (addr >= 0) live.push(addr);
        } else if (live.length > 0) {
          p.free(live.splice(o.pick % live.length, 1)[0], w);
        }
        if (p.diagnostics().blocks_used !== live.length) return false;
      }
      return true;
    }),
    { numRuns: 2000, seed: 42 },
  );
  t.pass();
});

// maxRequest = the block size and maxAlignLog = log2(block alignment): every drawn request is one the
// pool serves, so failures come from exhaustion alone and the model sees the pool full and emptied.
for (const [size, block, align] of [
  [1024, 64, 8],
  [4096, 16, 8],
  [4096, 200, 8],
  [16384, 64, 32],
  [2000, 24, 16],
]) {
  test(`property: pool of ${block}-byte blocks (align ${align}) in ${size} bytes never overlaps, stays in bounds, aligns, accounts for every byte`, (t) => {
    checkAgainstModel(t, {
      make: () => new PoolAllocator(BASE, size, block, null, align),
      base: BASE,
      size,
      maxRequest: block,
      maxAlignLog: Math.log2(align),
      naturalAlign: pool.naturalAlign({ align }),
      freesBlocks: true,
      reuseGuaranteed: true,
      numRuns: 3000,
    });
  });
}

// Requests up to four blocks and alignments past the block alignment: many fail, none may break anything.
test('property: pool with oversize and over-aligned requests mixed in', (t) => {
  checkAgainstModel(t, {
    make: () => new PoolAllocator(BASE, 2048, 64, 20),
    base: BASE,
    size: 2048,
    maxRequest: 256,
    maxAlignLog: 6,
    naturalAlign: pool.naturalAlign({}),
    freesBlocks: true,
    reuseGuaranteed: true,
    numRuns: 3000,
  });
});
