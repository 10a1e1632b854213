/**
 * The worst-case verdicts and the heap/live ratio as the run behaved: a heap whose allocator refused a
 * request for lack of memory is never "cannot fail", the refused requests are counted in the bounds'
 * inputs, and psp-sysmem's High blocks do not make the whole partition the high-water mark.
 */
import test from 'ava';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../src/engine/engine.js';
import { formatSummary } from '../src/report/summary.js';
import { loadScenario } from '../src/scenario/parse.js';
import { ofType, REPO, runText } from './helpers/scenario.js';

/**
 * Runs `steps` on one heap (a YAML flow map; by default `allocator` over 64 KiB of the PSP's volatile
 * partition) and returns its summary and its row of the printed worst-case table.
 */
function onHeap(allocator: string, steps: string, heap = `{name: h, allocator: ${allocator}, in: {in: volatile, size: 64K}}`, head = 'target: psp') {
  const { result, events } = runText(`${head}\nheaps: [${heap}]\nsteps:\n${steps}`);
  const h = result.summary.heaps[0];
  const table = formatSummary(result).split('worst-case heap sizes')[1];
  return { result, events, h, row: table.split('\n').find((l) => l.startsWith(`${h.name} `))! };
}

test('verdict: a heap that ran out of memory is "failed", and its bounds count the refused request', (t) => {
  const { result, h, row } = onHeap('first-fit', `
  - alloc: {id: a, heap: h, size: 64}
  - alloc: {id: b, heap: h, size: 1M}
  - free: a
`);
  t.like(h, { failed: 1, memory_failures: 1, largest_memory_failure: 1_048_576, peak_requested: 64 });
  // The refused 1 MiB counts on top of the 64 bytes live when it was asked for.
  t.deepEqual([h.peak_demand, h.min_demand_size, h.max_demand_size], [1_048_640, 64, 1_048_576]);
  // n = 16,384, log2 n = 14. Robson: M(1 + 14/2) - 1,048,576 + 64 = 8,389,120 - 1,048,512.
  // First fit: M(1 + 14). (Granted requests alone, M = 64 and n = 1, gave 64 and 64: "cannot fail".)
  t.deepEqual(h.bounds, { robson: 7_340_608, allocator: 15_729_600, allocator_formula: 'M(1 + ceil(log2 n))' });
  t.regex(row, /64\.\.1,048,576 +7,340,608 +15,729,600 = M\(1 \+ ceil\(log2 n\)\) +failed once in this run \(largest failed request 1 MiB\)$/);
  t.notRegex(formatSummary(result), /cannot fail/);
});

test('verdict: the peak demand puts a refused request on the bytes live at that moment, not on the earlier peak', (t) => {
  const { result, h, row } = onHeap('first-fit', `
  - alloc: {id: a, heap: h, size: 40000}
  - alloc: {id: b, heap: h, size: 20000}
  - free: a
  - alloc: {id: c, heap: h, size: 42000}
  - alloc: {id: d, heap: h, size: 30000}
  - free: b
  - free: d
`);
  t.deepEqual(Object.keys(result.summary.faults), ['fragmented']);
  // 60,000 live at the peak; c (42,000: free in total, but in two pieces) is refused with 20,000 live:
  // 62,000, not 102,000. d is granted in a's old place.
  t.like(h, { failed: 1, memory_failures: 1, largest_memory_failure: 42_000, peak_requested: 60_000, peak_demand: 62_000 });
  t.deepEqual([h.min_demand_size, h.max_demand_size], [20_000, 42_000]);
  // n = 2.1. Robson: 62,000(1 + log2(2.1)/2) - 42,000 + 20,000 = 73,182.6; first fit: 62,000(1 + 2).
  t.deepEqual(h.bounds, { robson: 73_183, allocator: 186_000, allocator_formula: 'M(1 + ceil(log2 n))' });
  t.regex(row, /20,000\.\.42,000 +73,183 +186,000 = .* failed once in this run \(largest failed request 41\.02 KiB\)$/);
});

test('verdict: two failures are counted, and the largest named', (t) => {
  const { h, row } = onHeap('tlsf', `
  - alloc: {id: a, heap: h, size: 100K}
  - alloc: {id: b, heap: h, size: 3M}
`);
  t.like(h, { failed: 2, memory_failures: 2, largest_memory_failure: 3 * 1_048_576, peak_demand: 3 * 1_048_576 });
  t.regex(row, /failed 2 times in this run \(largest failed request 3 MiB\)$/);
});

test('verdict: a realloc the allocator refuses is a memory failure; realloc(p, 0) and a crate refusal are not', (t) => {
  const { result, h, row } = onHeap('tlsf', `
  - alloc: {id: a, heap: h, size: 1000}
  - realloc: {id: a, size: 100K}
  - realloc: {id: a, size: 3000}
  - alloc: {id: z, heap: h, size: 50}
  - realloc: {id: z, size: 0}
  - alloc: {id: c, heap: h, size: 100, budget: k}
  - realloc: {id: c, size: 500}
  - free: a
  - free: c
`, '{name: h, allocator: tlsf, in: {in: volatile, size: 64K}}', 'target: psp\nbudgets: {k: 128}');
  // a's 100 KiB is refused by tlsf_realloc (a stays) with a's 1,000 bytes live: 103,400. realloc(z, 0)
  // frees z; c's growth to 500 is refused by its crate before the allocator is asked.
  t.deepEqual(result.summary.faults, { 'budget-exceeded': 1, oom: 1 });
  t.like(h, { failed: 2, memory_failures: 1, largest_memory_failure: 102_400, peak_requested: 3100, peak_demand: 103_400 });
  t.deepEqual([h.min_demand_size, h.max_demand_size], [50, 102_400]);
  t.regex(row, /failed once in this run \(largest failed request 100 KiB\)$/);
});

test('verdict: a budget refusal is not the heap\'s failure; the verdict names it beside "cannot fail"', (t) => {
  const { result, h, row } = onHeap('first-fit', `
  - alloc: {id: a, heap: h, size: 512, budget: decoder}
  - alloc: {id: b, heap: h, size: 4K, budget: decoder}
  - free: a
`, '{name: h, allocator: first-fit, in: wrt_runtime}', 'target: qnx\nbudgets: {decoder: 1K}');
  t.deepEqual(result.summary.faults, { 'budget-exceeded': 1 });
  // The allocator was never asked for b: not in the demand, not a memory failure.
  t.like(h, { failed: 1, memory_failures: 0, largest_memory_failure: 0, peak_demand: 512, min_demand_size: 512, max_demand_size: 512 });
  t.regex(row, /512\.\.512 +512 +512 = M\(1 \+ ceil\(log2 n\)\) +cannot fail for lack of memory \(1 other refusal: budget or arguments\)$/);
});

test('verdict: an allocator that frees nothing still says when it ran out', (t) => {
  const { h, row } = onHeap('bump', `
  - alloc: {id: a, heap: h, size: 3K}
  - alloc: {id: b, heap: h, size: 2K}
`, '{name: h, allocator: bump, in: {in: volatile, size: 4K}}');
  t.is(h.bounds, null);
  t.like(h, { memory_failures: 1, largest_memory_failure: 2048, peak_demand: 5120 });
  t.regex(row, /^h +4,096 +2,048\.\.3,072 +- +- +failed once in this run \(largest failed request 2 KiB\)$/);
});

test('psp-sysmem: refused arguments are no memory failure; a request beyond the partition is', (t) => {
  const { result, h, row } = onHeap('psp-sysmem', `
  - alloc: {id: lo, heap: vol, size: 1000, mode: low}
  - alloc: {id: hi, heap: vol, size: 3000, mode: high}
  - alloc: {id: odd, heap: vol, size: 256, mode: low-aligned, align: 0x60}
  - alloc: {id: zero, heap: vol, size: 0, mode: low}
  - alloc: {id: type, heap: vol, size: 256, mode: 7}
  - alloc: {id: big, heap: vol, size: 8M, mode: low}
  - free: lo
  - free: hi
`, '{name: vol, allocator: psp-sysmem, in: volatile}');
  t.deepEqual(result.summary.faults, { oom: 1 });
  t.like(h, { failed: 4, memory_failures: 1, largest_memory_failure: 8_388_608, peak_requested: 4000, peak_demand: 4000 + 8_388_608 });
  t.deepEqual([h.min_demand_size, h.max_demand_size], [1000, 8_388_608]);
  t.regex(row, /failed once in this run \(largest failed request 8 MiB\)$/);
});

test('verdict: in every shipped scenario, a heap\'s memory failures are its oom and fragmented faults', (t) => {
  const dir = join(REPO, 'scenarios');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
    const result = run(loadScenario(join(dir, file)), { sinks: [] });
    t.true(result.faults.length === result.faultCount, file); // every fault kept, so all are counted
    for (const h of result.summary.heaps) {
      const faults = result.faults.filter((f) => f.heap === h.name && (f.kind === 'oom' || f.kind === 'fragmented')).length;
      t.is(h.memory_failures, faults, `${file}: heap ${h.name}`);
    }
  }
});

test('heap/live: psp-sysmem\'s footprint is its bottom span plus its top span, not the partition', (t) => {
  const { result, h } = onHeap('psp-sysmem', `
  - alloc: {id: lo, heap: vol, size: 1000, mode: low}
  - alloc: {id: hi, heap: vol, size: 3000, mode: high}
  - free: lo
  - free: hi
`, '{name: vol, allocator: psp-sysmem, in: volatile}');
  // lo: bytes 0..1,000 of the partition. hi: 3,000 bytes take 12 grains (3,072 bytes) ending at the
  // top. Footprint 1,000 + 3,072 = 4,072 over 4,000 peak live bytes: 1.018x. (The highest payload end
  // alone was 4 MiB - 72 = 4,194,232 bytes: 1,048.56x.)
  t.is(h.high_water, 4072);
  t.is(h.peak_ratio_ppm, 1_018_000);
  t.regex(formatSummary(result), /vol +psp-sysmem +4 MiB .* 1\.02x /);
});

test('heap/live: a psp-sysmem Addr block adds only its own bytes outside both spans; overlapping ones once', (t) => {
  const { result, h } = onHeap('psp-sysmem', `
  - alloc: {id: lo, heap: vol, size: 1000, mode: low}
  - alloc: {id: at, heap: vol, size: 0x1000, mode: addr, at: 0x08500000}
  - alloc: {id: hi, heap: vol, size: 3000, mode: high}
  - free: at
  - alloc: {id: at2, heap: vol, size: 0x1000, mode: addr, at: 0x08500800}
  - free: lo
  - alloc: {id: inside, heap: vol, size: 0x100, mode: addr, at: 0x08400100}
  - free: at2
  - free: hi
  - free: inside
`, '{name: vol, allocator: psp-sysmem, in: volatile}');
  t.is(result.faultCount, 0);
  // Bottom span 1,000; top span 3,072; at and at2 cover 0x100000..0x101800 of the partition together,
  // 6,144 bytes; inside (0x100..0x200) lies in the bottom span and adds nothing.
  t.is(h.high_water, 1000 + 6144 + 3072);
  t.is(h.peak_requested, 1000 + 4096 + 3000);
  t.is(h.peak_ratio_ppm, 1_261_858); // 10,216 / 8,096
});

test('heap/live: an allocator that places from the bottom reaches from its base to the highest payload end', (t) => {
  const { events, h } = onHeap('tlsf', `
  - alloc: {id: a, heap: h, size: 1000}
  - alloc: {id: b, heap: h, size: 2000}
  - free: a
  - free: b
`);
  // TLSF's 3,188-byte control structure (and its pool's two header words: 3,196 fixed), a at +3,192
  // (after its header word), b after a's 1,000 bytes and its own header word, at +4,196: b ends at
  // 6,196, and the footprint counts from the base, control structure included.
  t.is(h.fixed_overhead, 3196);
  t.deepEqual(ofType(events, 'alloc').map((e) => (e.addr as number) - h.base), [3192, 4196]);
  t.is(h.high_water, 6196);
  t.is(h.peak_ratio_ppm, 2_065_333); // 6,196 / 3,000
});
