import test from 'ava';
import { ofType, runText } from './helpers/scenario.js';

test('cycles: a PSX bump allocation is 8 instructions + 2 RAM reads at 7 + 1 store at 1', (t) => {
  const { events } = runText(`
target: psx
heaps: [{name: h, allocator: bump, in: .wrt_scratch}]
steps:
  - alloc: {id: a, heap: h, size: 16}
  - idle: 100
  - alloc: {id: b, heap: h, size: 16}
`);
  const [a, b] = ofType(events, 'alloc');
  t.is(a.cycles, 23);
  t.is(a.cycle, 0);
  t.is(b.cycle, 123);
});

test('cycles: the same allocator is cheaper with its metadata in the PSX scratchpad', (t) => {
  const cost = (place: string) =>
    ofType(runText(`
target: psx
heaps: [{name: h, allocator: first-fit, in: ${place}}]
steps: [{alloc: {id: a, heap: h, size: 64}}, {free: a}]
`).events, 'alloc')[0].cycles as number;
  // 12 fixed + 4 per visited node instructions, 2 words read (size, next), 5 written (split, in-use bit)
  t.is(cost('scratchpad'), 12 + 4 + 2 * 1 + 5 * 1);
  t.is(cost('.wrt_runtime'), 12 + 4 + 2 * 7 + 5 * 1);
});

test('layout: psp-game style arena places segments, guards and shared buffer at exact addresses', (t) => {
  const { events } = runText(`
target: psp
layout:
  arena: {in: user, size: 16M}
  guard: 4K
  align: 4K
  components: [{name: physics, size: 4M}, {name: renderer, size: 8M}]
  shared: [{name: buf, size: 64K, access: {physics: w, renderer: r}}]
heaps: [{name: p, allocator: first-fit, in: physics}]
steps: [check]
`);
  const placed = Object.fromEntries(ofType(events, 'place').map((e) => [e.name, [e.addr, e.size]]));
  // user partition 0x08800000, after the 16 KiB usersystemlib block and 1 MiB + 4 MiB + 512 KiB of sections
  t.deepEqual(placed.arena, [0x08d84000, 16 * 1024 * 1024]);
  t.deepEqual(placed.physics, [0x08d84000, 4 * 1024 * 1024]);
  t.deepEqual(placed['guard:renderer'], [0x09184000, 4096]);
  t.deepEqual(placed.renderer, [0x09185000, 8 * 1024 * 1024]);
  t.deepEqual(placed['guard:buf'], [0x09985000, 4096]);
  t.deepEqual(placed.buf, [0x09986000, 65536]);
  t.deepEqual(placed.p, [0x08d84000, 4 * 1024 * 1024]);
});

test('layout: with an MMU, guards are rounded up to whole pages', (t) => {
  const { events } = runText(`
target: qnx
layout:
  arena: {in: wasm_memory, size: 1M}
  guard: 100
  components: [{name: a, size: 5000}, {name: b, size: 4096}]
steps: [check]
`);
  const guard = ofType(events, 'place').find((e) => e.what === 'guard')!;
  const b = ofType(events, 'place').find((e) => e.name === 'b')!;
  t.is(guard.size, 4096);
  t.is((b.addr as number) % 4096, 0);
});

test('layout: components that do not fit the arena are layout-invalid and the run halts', (t) => {
  const { result } = runText(`
target: psp
layout:
  arena: {in: user, size: 1M}
  guard: 4K
  components: [{name: a, size: 512K}, {name: b, size: 512K}]
steps: [{idle: 5}]
`);
  t.deepEqual(result.faults.map((f) => f.kind), ['layout-invalid']);
  t.is(result.faults[0].detail, 'b (512 KiB) does not fit in the arena: 508 KiB of 1 MiB left');
  t.true(result.summary.halted);
  t.is(result.summary.ops, 0);
});

test('layout: a heap at an offset past its container\'s end is layout-invalid (its rest was a negative size, and the trace refused it: an internal error)', (t) => {
  const { result, events } = runText(`
target: psp
layout:
  arena: {in: user, size: 1M}
  components: [{name: logic, size: 256K}]
heaps: [{name: h, allocator: tlsf, in: {in: logic, offset: 0xFFFFFFFF}}]
steps: [check]
`);
  t.deepEqual(result.faults.map((f) => [f.kind, f.line, f.detail]), [['layout-invalid', 6, 'heap h at offset 4294967295 starts past the end of logic (256 KiB)']]);
  t.true(ofType(events, 'place').every((e) => (e.size as number) >= 0));
});

test('layout: a DMA component in memory DMA cannot reach is layout-invalid', (t) => {
  const { result } = runText(`
target: psp
layout:
  arena: {in: scratchpad, size: 8K}
  components: [{name: gpu-list, size: 4K, dma: true}]
steps: [check]
`);
  t.is(result.faults[0].kind, 'layout-invalid');
  t.regex(result.faults[0].detail, /DMA-capable/);
});

test('faults: double free, invalid free and free(NULL) after a failed allocation', (t) => {
  const { result, events } = runText(`
target: psp
heaps: [{name: h, allocator: first-fit, in: {in: user, size: 1K}}]
steps:
  - alloc: {id: a, heap: h, size: 16}
  - free: a
  - free: a
  - free: nobody
  - alloc: {id: huge, heap: h, size: 4K}
  - free: huge
`);
  t.deepEqual(result.faults.map((f) => [f.kind, f.line, f.detected]), [
    ['double-free', 7, 'silent'],
    ['invalid-free', 8, 'silent'],
    ['oom', 9, 'precise'],
  ]);
  const lastFree = ofType(events, 'free').at(-1)!;
  t.is(lastFree.addr, null);
});

test('a double free or a realloc of a freed block is precise where the real code checks the block (dlmalloc, psp-sysmem), silent where it does not (tlsf, first-fit); the operation is skipped', (t) => {
  const detections = (allocator: string) => {
    const { result, events } = runText(`
target: psp
heaps: [{name: h, allocator: ${allocator}, in: {in: user, size: 64K}}]
steps:
  - alloc: {id: a, heap: h, size: 100}
  - alloc: {id: b, heap: h, size: 100}
  - free: a
  - free: a
  - free: b
  - alloc: {id: c, heap: h, size: 40}
  - free: c
`);
    // The skipped free changes nothing: b and c are freed normally afterwards, and nothing is left live.
    t.is(ofType(events, 'free').filter((e) => e.addr !== null).length, 3, allocator);
    return result.faults.map((f) => `${f.kind} ${f.line} ${f.detected}`);
  };
  t.deepEqual(detections('dlmalloc'), ['double-free 8 precise']);
  t.deepEqual(detections('psp-sysmem'), ['double-free 8 precise']);
  t.deepEqual(detections('tlsf'), ['double-free 8 silent']);
  t.deepEqual(detections('first-fit'), ['double-free 8 silent']);
});

test("dlmalloc's free checks see a freed chunk handed out again: the double free then passes them (silent)", (t) => {
  const { result } = runText(`
target: psp
heaps: [{name: h, allocator: dlmalloc, in: {in: user, size: 64K}}]
steps:
  - alloc: {id: a, heap: h, size: 100}
  - free: a
  - alloc: {id: b, heap: h, size: 100}
  - free: a
  - realloc: {id: a, size: 200}
  - free: b
`);
  t.deepEqual(result.faults.map((f) => [f.kind, f.line, f.detected]), [
    ['double-free', 8, 'silent'],
    ['use-after-free', 9, 'silent'],
  ]);
  t.regex(result.faults[0].detail, /id a was already freed \(0x[0-9A-F]+, 100 bytes, allocated at line 5\)/);
});

test('faults: reassigning a live id leaks the old block, and leaks are reported at the end', (t) => {
  const { result } = runText(`
target: psp
heaps: [{name: h, allocator: first-fit, in: {in: user, size: 4K}}]
steps:
  - alloc: {id: a, heap: h, size: 16}
  - alloc: {id: a, heap: h, size: 32}
  - alloc: {id: b, heap: h, size: 8}
`);
  t.deepEqual(result.faults.map((f) => [f.kind, f.id, f.line]), [['leak', 'a', 6], ['leak', 'a', 6]]);
  t.regex(result.faults[1].detail, /2 block\(s\), 40 bytes/);
  t.is(result.summary.heaps[0].in_use, 16 + 8 + 40 + 16);
});

test('budgets: a crate charge fits in full or fails without charging; a free returns it', (t) => {
  const { result } = runText(`
target: psp
budgets: {net: 100}
heaps: [{name: h, allocator: first-fit, in: user, size: 64K, budget: net}]
steps:
  - alloc: {id: a, heap: h, size: 60}
  - alloc: {id: b, heap: h, size: 50}
  - alloc: {id: c, heap: h, size: 40}
  - free: a
  - alloc: {id: d, heap: h, size: 60}
  - free: c
  - free: d
`);
  t.deepEqual(result.faults.map((f) => [f.kind, f.id]), [['budget-exceeded', 'b']]);
  t.deepEqual(result.summary.budgets, [{ crate: 'net', used: 0, limit: 100 }]);
  t.is(result.summary.heaps[0].failed, 1);
});

test('scopes: a scope budget bounds the bytes allocated inside it; exit releases them', (t) => {
  const { result, events } = runText(`
target: psp
heaps: [{name: s, allocator: bump, in: {in: user, size: 64K}}]
steps:
  - alloc: {id: keep, heap: s, size: 100}
  - scope:
      heap: s
      budget: 1K
      steps:
        - alloc: {id: x, heap: s, size: 600}
        - alloc: {id: y, heap: s, size: 600}
        - alloc: {id: z, heap: s, size: 300}
  - alloc: {id: after, heap: s, size: 8}
`);
  t.deepEqual(result.faults.map((f) => [f.kind, f.id]), [['budget-exceeded', 'y']]);
  const exit = ofType(events, 'scope-exit')[0];
  t.is(exit.blocks, 2);
  t.is(exit.released, 4 + 600 + 300); // 4 bytes of padding to 8-byte alignment included
  // The user partition starts with the 16 KiB usersystemlib block and 5.5 MiB of sections; the heap follows them at 0x08D84000.
  t.is(ofType(events, 'alloc').at(-1)!.addr, 0x08d84000 + 104);
  t.is(result.summary.heaps[0].live_blocks, 2);
});

test('policies: std raises and goes on, no_alloc panics and halts', (t) => {
  const text = (policy: string) => `
target: psp
policy: ${policy}
leak_check: false
heaps: [{name: h, allocator: bump, in: user, size: 1K, soft_limit: 512}]
steps:
  - alloc: {id: a, heap: h, size: 600}
  - alloc: {id: b, heap: h, size: 600}
  - alloc: {id: c, heap: h, size: 8}
`;
  const std = runText(text('std'));
  t.deepEqual(std.result.faults.map((f) => f.kind), ['oom']);
  t.regex(std.result.faults[0].detail, /exception/);
  t.is(ofType(std.events, 'warning').length, 2);
  t.is(std.result.summary.ops, 3);
  const noAlloc = runText(text('no_alloc'));
  t.deepEqual(noAlloc.result.faults.map((f) => f.kind), ['oom', 'panic']);
  t.is(noAlloc.result.summary.ops, 2);
  t.true(noAlloc.result.summary.halted);
});

test('realloc grows in place into a free neighbour, moves when it must, and leaves the block on failure', (t) => {
  const { result, events } = runText(`
target: psp
heaps: [{name: h, allocator: first-fit, in: {in: user, size: 512}}]
steps:
  - alloc: {id: a, heap: h, size: 32}
  - realloc: {id: a, size: 64}
  - alloc: {id: b, heap: h, size: 16}
  - realloc: {id: a, size: 128}
  - realloc: {id: a, size: 1000}
  - free: a
  - realloc: {id: a, size: 8}
  - free: b
`);
  const [grow, move, fail] = ofType(events, 'realloc');
  const base = 0x08d84000;
  // The free rest of the heap follows a: first-fit grows a in place.
  t.deepEqual([grow.old_addr, grow.addr, grow.copied], [base + 8, base + 8, 0]);
  // b now sits right after a's 72-byte block: a moves past it and its 64 bytes are copied.
  t.deepEqual([move.old_addr, move.addr, move.copied], [base + 8, base + 8 + 72 + 24, 64]);
  t.deepEqual([fail.old_addr, fail.addr], [base + 104, null]);
  t.deepEqual(result.faults.map((f) => f.kind), ['oom', 'use-after-free']);
  t.is(result.summary.heaps[0].live_blocks, 0);
});

test('random: named streams are independent of each other and of other steps', (t) => {
  const sizes = (extra: string) =>
    ofType(runText(`
target: psp
heaps: [{name: h, allocator: first-fit, in: user, size: 1M}]
steps:
${extra}
  - random: {heap: h, count: 50, size: {uniform: [1, 1000]}, max_live: 8, stream: mine}
`).events, 'alloc')
      .filter((e) => String(e.id).startsWith('mine#'))
      .map((e) => e.size);
  const alone = sizes('');
  t.is(alone.length > 10, true);
  t.deepEqual(sizes('  - random: {heap: h, count: 30, size: {uniform: [1, 1000]}, max_live: 4, stream: other}'), alone);
});

test('frames: a frame over its budget is a deadline-miss with its cycles and budget', (t) => {
  const { result, events } = runText(`
target: psp
steps:
  - idle: 1000
  - frame: {budget: 2000}
  - idle: 3us
  - frame: {budget: 2000}
`);
  const frames = ofType(events, 'frame');
  t.deepEqual(frames.map((f) => f.cycles), [1000, 999]);
  t.is(result.faults.length, 0);
  const miss = runText(`
target: psp
steps: [{idle: 16.67ms}, {frame: {budget: 16.66ms}}]
`);
  t.is(miss.result.faults[0].kind, 'deadline-miss');
  t.regex(miss.result.faults[0].detail, /took 5,551,110 cycles \(16\.67 ms\), budget 5,547,780 \(16\.66 ms\)/);
});

test('samples: periodic sampling records per-heap fragmentation over time', (t) => {
  const { events } = runText(`
target: psp
trace: {sample_every: 10}
heaps: [{name: h, allocator: first-fit, in: user, size: 64K}]
steps:
  - random: {heap: h, count: 40, size: {uniform: [16, 256]}, max_live: 10, stream: s}
`);
  const samples = ofType(events, 'sample');
  t.true(samples.length >= 4);
  const heap = (samples[0].heaps as { name: string; live_blocks: number }[])[0];
  t.is(heap.name, 'h');
});

test('check: the integrity walk of a clean heap finds nothing', (t) => {
  const { events, result } = runText(`
target: psp
heaps: [{name: h, allocator: first-fit, in: user, size: 64K}]
steps:
  - random: {heap: h, count: 200, size: {uniform: [16, 999]}, max_live: 20, stream: s, drain: false}
  - check
leak_check: false
`);
  t.is(ofType(events, 'check')[0].problems, 0);
  t.is(result.faultCount, 0);
});
