import test from 'ava';
import type { AllocatorEntry } from '../src/alloc/allocator.js';
import { FirstFitAllocator, firstFit } from '../src/alloc/first-fit.js';
import { ALLOCATORS } from '../src/alloc/registry.js';
import { robsonBound } from '../src/heap/heap.js';
import type { TraceEvent } from '../src/trace/schema.js';
import { ofType, runText } from './helpers/scenario.js';

const PSP_USER = `
target: psp
heaps: [{name: sys, allocator: psp-sysmem, in: {in: volatile, size: 1M}}]
`;

test('psp-sysmem through the engine: modes, the console error code in the alloc event, no fault for refused arguments', (t) => {
  const { events, result } = runText(`${PSP_USER}
steps:
  - alloc: {id: a, heap: sys, size: 1}
  - alloc: {id: b, heap: sys, size: 1}
  - alloc: {id: top, heap: sys, size: 1, mode: high}
  - alloc: {id: at, heap: sys, size: 0x200, mode: addr, at: 0x08410000}
  - alloc: {id: zero, heap: sys, size: 0}
  - alloc: {id: odd, heap: sys, size: 16, mode: low-aligned, align: 3}
  - alloc: {id: type7, heap: sys, size: 16, mode: 7}
  - alloc: {id: huge, heap: sys, size: 2M}
`);
  const allocs = ofType(events, 'alloc');
  const by = Object.fromEntries(allocs.map((e) => [e.id, e]));
  t.is(by.a.addr, 0x08400000);
  t.is(by.b.addr, 0x08400100); // 256-byte grain
  t.is(by.top.addr, 0x084fff00); // from the top of the 1 MiB partition
  t.is(by.at.addr, 0x08410000);
  t.deepEqual([by.a.mode, by.top.mode, by.at.mode, by.a.error, by.at.at], ['low', 'high', 'addr', null, 0x08410000]);
  t.deepEqual([by.zero.addr, by.zero.error], [null, 0x800200d9]);
  t.deepEqual([by.odd.addr, by.odd.error], [null, 0x800200e4]);
  t.deepEqual([by.type7.mode, by.type7.error], [7, 0x800200d8]);
  t.deepEqual([by.huge.addr, by.huge.error], [null, 0x800200d9]);
  // Only the request the partition cannot hold is a memory fault; the refused arguments are error returns.
  const faults = ofType(events, 'fault').filter((f) => f.kind !== 'leak');
  t.deepEqual(faults.map((f) => [f.kind, f.id]), [['oom', 'huge']]);
  t.regex(faults[0].detail as string, /error 0x800200D9/i);
  t.is(result.summary.heaps[0].failed, 4);
});

test('alloc events of other allocators carry no mode or error fields', (t) => {
  const { events } = runText(`
target: psp
heaps: [{name: h, allocator: first-fit, in: .wrt_scratch}]
steps: [{alloc: {id: a, heap: h, size: 8}}, {free: a}]
`);
  const alloc = ofType(events, 'alloc')[0];
  t.false('mode' in alloc);
  t.false('error' in alloc);
});

test('grow: memory.grow returns the old page count, refuses past max_pages with grow-failed, and makes room', (t) => {
  const { events, result } = runText(`
target: qnx
policy: no_std_alloc
heaps: [{name: w, allocator: wasm, in: wasm_memory, size: 4M, options: {initial_pages: 1, max_pages: 3}}]
steps:
  - alloc: {id: big, heap: w, size: 100000}
  - grow: {heap: w, pages: 1}
  - alloc: {id: big, heap: w, size: 100000}
  - grow: {heap: w, pages: 2}
  - grow: {heap: w, pages: 1}
  - free: big
`);
  const grows = ofType(events, 'grow');
  t.deepEqual(grows.map((g) => [g.pages, g.old_pages, g.capacity]), [[1, 1, 2 * 65536], [2, -1, 2 * 65536], [1, 2, 3 * 65536]]);
  t.deepEqual(ofType(events, 'alloc').map((a) => a.addr === null), [true, false]);
  t.deepEqual(ofType(events, 'fault').map((f) => [f.kind, f.line]), [['oom', 6], ['grow-failed', 9]]);
  t.regex(ofType(events, 'fault')[1].detail as string, /memory.grow\(2\) returned -1 \[pages 2, max_pages 3/);
  t.deepEqual(result.summary.heaps[0].diagnostics, { pages: 3, max_pages: 3, grows: 2, grow_failures: 1 });
});

test('grow: auto_grow grows inside the allocation and the trace says so', (t) => {
  const { events } = runText(`
target: qnx
heaps: [{name: w, allocator: wasm, in: wasm_memory, size: 4M, options: {initial_pages: 1, auto_grow: true}}]
steps: [{alloc: {id: big, heap: w, size: 100000}}, {free: big}]
`);
  const [grow] = ofType(events, 'grow');
  t.deepEqual([grow.auto, grow.old_capacity, grow.seq + 1], [true, 65536, ofType(events, 'alloc')[0].seq]);
  t.true((grow.capacity as number) >= 65536 + 100000);
});

test('verification: every request grows by the level\'s bytes, and cycles by its percentage', (t) => {
  const at = (verification: string) => {
    const { events } = runText(`
target: psx
verification: ${verification}
heaps: [{name: h, allocator: first-fit, in: .wrt_scratch}]
steps: [{alloc: {id: a, heap: h, size: 100}}, {free: a}]
`);
    const alloc = ofType(events, 'alloc')[0];
    return [alloc.size, alloc.block, alloc.cycles] as number[];
  };
  // first-fit block: 8-byte header, rounded to 8. none: 100 + 8 -> 112; standard: 105 + 8 -> 120.
  const [, noneBlock, noneCycles] = at('none');
  t.deepEqual(at('none'), [100, 112, noneCycles]);
  t.deepEqual(at('minimal'), [100, 112, noneCycles + Math.ceil(noneCycles / 100)]); // 101 + 8 -> 112
  t.deepEqual(at('standard'), [100, 120, noneCycles + Math.ceil((noneCycles * 5) / 100)]);
  // full also checksums the 7 metadata words the alloc touches (a cycle each) and checks the heap's
  // one header (the free block) against its checksum at RAM latency, 7 cycles.
  t.deepEqual(at('full'), [100, 120, noneCycles + Math.ceil((noneCycles * 10) / 100) + 7 + 7]); // 110 + 8 -> 120
  t.deepEqual([noneBlock, noneCycles], [112, 35]);
});

/** A first-fit whose integrity walk reports a planted problem from its second allocation on. */
const corrupting: AllocatorEntry = {
  ...firstFit,
  create: (base, size) => {
    const inner = new FirstFitAllocator(base, size);
    let allocs = 0;
    const alloc = inner.alloc.bind(inner);
    inner.alloc = (s, a, w) => (allocs++, alloc(s, a, w));
    inner.check = () => (allocs >= 2 ? ['planted problem'] : []);
    return inner;
  },
};
(ALLOCATORS as Map<string, AllocatorEntry>).set('test-corrupting', corrupting);

test('verification full: the heap is walked after every operation and corruption is found at once', (t) => {
  const scenario = (verification: string) => `
target: psx
verification: ${verification}
heaps: [{name: h, allocator: test-corrupting, in: .wrt_scratch}]
steps:
  - alloc: {id: a, heap: h, size: 8}
  - alloc: {id: b, heap: h, size: 8}
  - idle: 10
  - check
  - free: a
  - free: b
`;
  const full = ofType(runText(scenario('full')).events, 'fault');
  // After op 2 (the alloc that planted it), then at the check, then after each free.
  t.deepEqual(full.map((f) => [f.op, f.line, f.detected]), [[2, 7, 'precise'], [4, 9, 'delayed'], [5, 10, 'precise'], [6, 11, 'precise']]);
  t.regex(full[0].detail as string, /integrity walk after op 2: planted problem/);
  // Without full verification only the check step walks the heap.
  const standard = ofType(runText(scenario('standard')).events, 'fault');
  t.deepEqual(standard.map((f) => [f.kind, f.op, f.detected]), [['heap-corrupt', 4, 'delayed']]);
});

test('a heap too small for its allocator\'s fixed parts is layout-invalid and halts', (t) => {
  const { events, result } = runText(`
target: psp
heaps: [{name: h, allocator: half-fit, in: {in: volatile, size: 64}}]
steps: [{alloc: {id: a, heap: h, size: 8}}]
`);
  const [fault] = ofType(events, 'fault');
  t.is(fault.kind, 'layout-invalid');
  t.is(fault.line, 3);
  t.regex(fault.detail as string, /heap 'h' \(half-fit, 64 B at 0x08400000\)/);
  t.true(result.summary.halted);
});

test('summary bounds: Robson\'s and the allocator\'s own worst-case heap sizes for the run\'s requests', (t) => {
  const { result } = runText(`
target: psp
heaps: [{name: h, allocator: first-fit, in: .wrt_scratch}]
steps:
  - alloc: {id: a, heap: h, size: 64}
  - alloc: {id: b, heap: h, size: 1024}
  - free: a
  - free: b
`);
  const h = result.summary.heaps[0];
  // M = 1088 peak requested, sizes 64..1024 so n = 16.
  t.deepEqual([h.peak_requested, h.min_demand_size, h.max_demand_size], [1088, 64, 1024]);
  // Robson: M(1 + log2(16)/2) - (n - 1) * 64 = 1088 * 3 - 1024 + 64 = 2304.
  t.deepEqual(h.bounds, { robson: 2304, allocator: 1088 * 5, allocator_formula: 'M(1 + ceil(log2 n))' });
  t.is(robsonBound(100, 10, 10), 100); // one size: M exactly
  t.is(robsonBound(0, 0, 0), 0);
});

test('summary bounds: none for an allocator that never reuses memory', (t) => {
  const { result } = runText(`
target: psp
heaps: [{name: h, allocator: bump, in: .wrt_scratch}]
steps: [{alloc: {id: a, heap: h, size: 64}}]
`);
  t.is(result.summary.heaps[0].bounds, null);
});

test('random: a named workload replays the same requests on every heap; a stream continues', (t) => {
  const sizes = (key: string) => {
    const { events } = runText(`
target: psp
heaps: [{name: a, allocator: first-fit, in: .wrt_scratch, size: 64K}, {name: b, allocator: half-fit, in: .wrt_instances, size: 64K}]
steps:
  - random: {heap: a, count: 20, size: {uniform: [16, 512]}, max_live: 4, ${key}}
  - random: {heap: b, count: 20, size: {uniform: [16, 512]}, max_live: 4, ${key}}
`);
    const on = (heap: string) => ofType(events, 'alloc').filter((e) => e.heap === heap).map((e) => e.size);
    return { a: on('a'), b: on('b'), ids: ofType(events, 'alloc').map((e) => e.id) };
  };
  const workload = sizes('workload: w');
  t.true(workload.a.length > 5);
  t.deepEqual(workload.a, workload.b);
  t.true(workload.ids.includes('w@a#0') && workload.ids.includes('w@b#0'));
  const stream = sizes('stream: s');
  t.notDeepEqual(stream.a, stream.b);
});

test('TLSF through the engine: malloc takes tlsf_malloc, realloc shrinks and grows in place, moves with its copy charged, frees at 0', (t) => {
  const { events, result } = runText(`
target: psx
heaps: [{name: t, allocator: tlsf, in: {in: .wrt_scratch, size: 64K}}]
steps:
  - alloc: {id: a, heap: t, size: 100}
  - alloc: {id: b, heap: t, size: 64}
  - realloc: {id: a, size: 40}
  - realloc: {id: a, size: 88}
  - realloc: {id: a, size: 400}
  - realloc: {id: b, size: 0}
  - alloc: {id: z, heap: t, size: 0}
  - alloc: {id: m, heap: t, size: 24, align: 16}
  - free: a
  - free: m
`);
  const row = (e: TraceEvent) => [e.type, e.id, e.old_addr ?? null, e.addr, e.block, e.copied ?? null, e.cycles];
  t.deepEqual(ofType(events, 'alloc').concat(ofType(events, 'realloc')).sort((x, y) => (x.seq as number) - (y.seq as number)).map(row), [
    // malloc: 4-byte alignment, one header word (tlsf_malloc, not tlsf_memalign).
    ['alloc', 'a', null, 0x150c78, 104, null, 254],
    ['alloc', 'b', null, 0x150ce0, 68, null, 254],
    // A shrink trims in place; growing back takes the trimmed tail, still in place.
    ['realloc', 'a', 0x150c78, 0x150c78, 44, 0, 157],
    ['realloc', 'a', 0x150c78, 0x150c78, 104, 0, 163],
    // b is used, so 400 bytes move: malloc + a copy of the 100-byte payload (25 word loads at 7
    // cycles, 25 stores at 1: 200 cycles) + free.
    ['realloc', 'a', 0x150c78, 0x150d24, 404, 100, 611],
    // realloc(p, 0) frees and returns null; malloc(0) returns null and is no fault.
    ['realloc', 'b', 0x150ce0, null, 0, 0, 196],
    ['alloc', 'z', null, null, 0, null, 22],
    // memalign(16) finds the hole a left.
    ['alloc', 'm', null, 0x150c90, 28, null, 357],
  ]);
  t.deepEqual(result.faults, []);
  t.is(result.summary.heaps[0].live_blocks, 0);
});
