/**
 * The segment allocator of dynamic layouts (src/layout/segments.ts): placement, growth in place,
 * refusals with the arena's numbers, release, guards shared by neighbours, invariants.
 */
import test from 'ava';
import fc from 'fast-check';
import { isRefusal, SegmentArena, type Segment, type SegmentRefusal, type SegmentRules } from '../src/layout/segments.js';

const K = 1024;
/** A 1 MiB arena at 0x10000000, 4 KiB pages and guards, segments on 64 KiB. */
const MMU: SegmentRules = { base: 0x10000000, size: 1024 * K, guard: 4 * K, page: 4 * K, align: 64 * K, placement: 'first-fit' };

function placed(r: Segment | SegmentRefusal): Segment {
  if (isRefusal(r)) throw new Error(r.detail);
  return r;
}

test('first fit: the first segment starts a guard above the arena, aligned; the next after its guard', (t) => {
  const a = new SegmentArena(MMU);
  t.is(placed(a.create('a', 'segment', 100 * K)).start, 0x10010000); // base + 4K guard, aligned up to 64K
  t.is(placed(a.create('b', 'segment', 64 * K)).start, 0x10030000); // a ends at 0x10029000; its guard to 0x1002A000; aligned
  t.deepEqual(a.guards().map((g) => [g.name, g.start, g.end]), [
    ['guard:a', 0x1000f000, 0x10010000],
    ['guard:a:end', 0x10029000, 0x1002a000],
    ['guard:b', 0x1002f000, 0x10030000],
    ['guard:b:end', 0x10040000, 0x10041000],
  ]);
  t.deepEqual(a.check(), []);
});

test('neighbours share one guard: with 4 KiB alignment a segment starts right after the last one\'s guard', (t) => {
  const a = new SegmentArena({ ...MMU, align: 4 * K });
  placed(a.create('a', 'segment', 10 * K)); // 0x10001000..0x10003800, rounded to 0x10004000
  t.is(placed(a.create('b', 'segment', 8 * K)).start, 0x10005000);
  t.deepEqual(a.guards().map((g) => [g.name, g.start, g.end, g.after, g.before]), [
    ['guard:a', 0x10000000, 0x10001000, null, 'a'],
    ['guard:b', 0x10004000, 0x10005000, 'a', 'b'], // a's page-rounded end to b: one band
    ['guard:b:end', 0x10007000, 0x10008000, 'b', null],
  ]);
});

test('growth in place stops exactly where the trailing guard would enter the next segment\'s guard', (t) => {
  const a = new SegmentArena(MMU);
  const first = placed(a.create('a', 'segment', 64 * K)); // 0x10010000
  placed(a.create('b', 'segment', 64 * K)); // 0x10030000, its guard from 0x1002F000
  t.is(a.roomOf(first), 0x1002f000 - 0x10010000); // 124 KiB
  t.is(placed(a.resize('a', 124 * K)).size, 124 * K);
  t.deepEqual(a.guardsOf('a').map((g) => [g.name, g.start, g.end]), [['guard:a', 0x1000f000, 0x10010000], ['guard:b', 0x1002f000, 0x10030000]]);
  const refused = a.resize('a', 124 * K + 1);
  t.true(isRefusal(refused));
  const r = refused as SegmentRefusal;
  t.is(r.kind, 'fragmented'); // the arena has plenty free, just not after a
  t.is(r.room, 124 * K);
  t.is(r.needed, 4 * K); // one more page
  t.regex(r.detail, /a \(124 KiB at 0x10010000\) can grow in place to 124 KiB, up to 0x1002F000 \(room for its guard before guard:b at 0x1002F000\)/);
  t.is(a.get('a')!.size, 124 * K); // unchanged
  t.deepEqual(a.check(), []);
});

test('the last segment grows up to a guard below the arena\'s end; past it is oom when the arena has too little free', (t) => {
  const a = new SegmentArena({ ...MMU, size: 256 * K });
  placed(a.create('a', 'segment', 64 * K)); // 0x10010000; arena end 0x10040000
  t.is(a.roomOf(a.get('a')!), 0x1003f000 - 0x10010000);
  const r = a.resize('a', 256 * K) as SegmentRefusal;
  t.is(r.kind, 'oom');
  t.is(r.free, 0x1003f000 - 0x10021000 + 0xf000 - 0x1000); // after a's footprint, and below it
  t.regex(r.detail, /room for its guard before the arena's end at 0x10040000/);
});

test('a shrink always works and frees the space after; release frees the footprint, where a new segment goes', (t) => {
  const a = new SegmentArena(MMU);
  placed(a.create('a', 'segment', 128 * K)); // 0x10010000..0x10030000
  placed(a.create('b', 'segment', 64 * K)); // 0x10040000
  placed(a.resize('a', 32 * K));
  t.deepEqual(a.guardsOf('a').map((g) => [g.start, g.end]), [[0x1000f000, 0x10010000], [0x10018000, 0x10019000]]);
  t.is(a.release('a').start, 0x10010000);
  t.is(a.get('a'), undefined);
  t.deepEqual(a.freeRanges()[0], [0x10001000, 0x1003f000]);
  // Up to b's guard at 0x1003F000: 188 KiB fit where a was; 192 KiB go above b.
  t.is(placed(a.create('c', 'segment', 188 * K)).start, 0x10010000);
  a.release('c');
  t.is(placed(a.create('d', 'segment', 192 * K)).start, 0x10060000);
});

test('best fit takes the smallest free range that holds the segment, first fit the lowest', (t) => {
  for (const [placement, expected] of [['first-fit', 0x10001000], ['best-fit', 0x10027000]] as const) {
    const a = new SegmentArena({ ...MMU, align: 4 * K, placement });
    placed(a.create('x', 'segment', 128 * K)); // 0x10001000, footprint to 0x10022000
    placed(a.create('y', 'segment', 16 * K)); // 0x10022000, to 0x10027000
    placed(a.create('z', 'segment', 32 * K)); // 0x10027000, to 0x10030000
    placed(a.create('q', 'segment', 16 * K)); // 0x10030000
    a.release('x'); // frees 0x10001000..0x10021000 (128 KiB)
    a.release('z'); // frees 0x10027000..0x1002F000 (32 KiB)
    t.is(placed(a.create('v', 'segment', 24 * K)).start, expected, placement);
    t.deepEqual(a.check(), []);
  }
});

test('a create with no room is refused: fragmented when the arena has the bytes apart, oom when not', (t) => {
  const a = new SegmentArena({ ...MMU, size: 512 * K });
  placed(a.create('a', 'segment', 64 * K)); // 0x10010000
  placed(a.create('b', 'segment', 64 * K)); // 0x10030000
  a.release('a'); // free: 0x10001000..0x1002F000 (184 KiB) and 0x10041000..0x1007F000 (248 KiB)
  t.deepEqual(a.freeRanges(), [[0x10001000, 0x1002f000], [0x10041000, 0x1007f000]]);
  const frag = a.create('c', 'segment', 200 * K) as SegmentRefusal;
  t.is(frag.kind, 'fragmented');
  t.is(frag.free, 432 * K);
  t.regex(frag.detail, /no free range of the arena holds a 200 KiB segment at 64 KiB alignment; the arena \(512 KiB at 0x10000000\) has 432 KiB free in 2 range\(s\), the largest 248 KiB, 200 KiB needed/);
  const oom = a.create('d', 'segment', 440 * K) as SegmentRefusal;
  t.is(oom.kind, 'oom');
  t.is(a.segments().length, 1);
});

test('without an MMU or guards: byte-exact ends, no guards, segments touch', (t) => {
  const a = new SegmentArena({ base: 0x1000, size: 0x1000, guard: 0, page: 1, align: 16, placement: 'first-fit' });
  placed(a.create('a', 'segment', 100));
  t.is(placed(a.create('b', 'segment', 100)).start, 0x1070);
  t.deepEqual(a.guards(), []);
  t.is(a.roomOf(a.get('a')!), 0x70);
  t.is(a.free(), 0x1000 - 0xd4 + 12); // after b, and the 12 bytes aligning b
});

test('invariants: a corrupted segment list is reported', (t) => {
  const a = new SegmentArena(MMU);
  const s = placed(a.create('a', 'segment', 64 * K));
  placed(a.create('b', 'segment', 64 * K));
  s.size = 200 * K; // reaches into b's guard
  t.true(a.check().some((p) => /starts inside a's footprint/.test(p)));
  t.throws(() => a.create('c', 'segment', 4 * K), { message: /segment allocator: .*starts inside/ });
});

test('property: any sequence of creates, resizes and releases keeps the invariants; a segment never moves', (t) => {
  const op = fc.record({ kind: fc.constantFrom('create', 'resize', 'release'), who: fc.integer({ min: 0, max: 5 }), size: fc.integer({ min: 1, max: 300 * K }) });
  fc.assert(
    fc.property(fc.constantFrom<SegmentRules>(MMU, { ...MMU, align: 4 * K, placement: 'best-fit' }, { base: 0x8000, size: 256 * K, guard: 64, page: 1, align: 16, placement: 'first-fit' }), fc.array(op, { maxLength: 60 }), (rules, ops) => {
      const a = new SegmentArena(rules);
      for (const o of ops) {
        const name = `s${o.who}`;
        const before = a.get(name);
        const start = before?.start;
        if (o.kind === 'release') {
          if (before) a.release(name);
        } else if (!before) {
          const r = a.create(name, 'segment', o.size);
          if (!isRefusal(r)) {
            if (r.start % rules.align !== 0) return false;
          } else if (a.where(o.size) !== null) return false;
        } else {
          const room = a.roomOf(before);
          const r = a.resize(name, o.size);
          if (isRefusal(r) !== o.size > room) return false;
          if (a.get(name)!.start !== start) return false;
        }
        if (a.check().length > 0) return false;
        const bodies = a.segments();
        for (let i = 1; i < bodies.length; i++) if (bodies[i].start < bodies[i - 1].start + bodies[i - 1].size + rules.guard) return false;
        if (a.free() + a.used() !== rules.size) return false;
      }
      return true;
    }),
    { seed: 3, numRuns: 300 },
  );
  t.pass();
});
