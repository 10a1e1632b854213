/**
 * Dynamic layouts through the engine: segment steps create, grow in place, refuse and release
 * segments at exact addresses; heaps follow their segment; a wasm heap's memory.grow moves its
 * segment's end until the next segment's guard; released segments are use-after-free; the summary's
 * arena; and the grammar's errors at file:line:col.
 */
import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../src/input/errors.js';
import { parseScenario } from '../src/scenario/parse.js';
import type { TraceEvent } from '../src/trace/schema.js';
import { emu, ofType, runText, tempDir } from './helpers/scenario.js';

const K = 1024;

/**
 * QNX (4 KiB MMU pages): a 1 MiB arena at 0x85800000 (the wasm_memory partition), 4 KiB guards and
 * alignment. game (a wasm heap of 2 pages) at 0x85801000, a 188 KiB spacer whose footprint ends at
 * 0x85852000, logic (first-fit) there, audio (tlsf) placed by its first segment step.
 */
function qnx(steps: string, options: { policy?: string; audio?: string; target?: string; arenaIn?: string } = {}): string {
  return `target: ${options.target ?? 'qnx'}
policy: ${options.policy ?? 'std'}
leak_check: false
layout:
  strategy: dynamic
  arena: {in: ${options.arenaIn ?? 'wasm_memory'}, size: 1M}
  guard: 4K
  align: 4K
  components:
    - {name: game, size: 128K}
    - {name: spacer, size: 188K}
    - {name: logic, size: 64K}
    - {name: audio}
heaps:
  - {name: g, allocator: wasm, in: game, options: {initial_pages: 2, max_pages: 64}}
  - {name: l, allocator: first-fit, in: logic}
  - {name: a, allocator: ${options.audio ?? 'tlsf'}, in: audio}
steps:
${steps}`;
}

/** Line of the first step in qnx(): the steps start on line 19. */
const FIRST = 19;

function events(text: string): TraceEvent[] {
  return runText(text).events;
}

const segs = (es: TraceEvent[]) => ofType(es, 'segment').map((e) => [e.component, e.action, e.refused ?? false, e.old_addr, e.old_size, e.addr, e.size]);
const faults = (es: TraceEvent[]) => ofType(es, 'fault').map((f) => [f.kind, f.detected, f.line, f.heap, f.id]);

test('the start: segments and their guards placed in order, a guard at the arena\'s base, one guard between neighbours', (t) => {
  const places = ofType(events(qnx('  - check\n')), 'place').filter((p) => p.in === 'arena').map((p) => [p.what, p.name, p.addr, p.size, p.protection ?? null]);
  t.deepEqual(places, [
    ['guard', 'guard:game', 0x85800000, 4 * K, 'mmu'],
    ['segment', 'game', 0x85801000, 128 * K, null],
    ['guard', 'guard:spacer', 0x85821000, 4 * K, 'mmu'],
    ['segment', 'spacer', 0x85822000, 188 * K, null],
    ['guard', 'guard:logic', 0x85851000, 4 * K, 'mmu'],
    ['segment', 'logic', 0x85852000, 64 * K, null],
    ['guard', 'guard:logic:end', 0x85862000, 4 * K, 'mmu'],
  ]);
});

test('segments created, grown in place, refused and released at exact addresses', (t) => {
  const es = events(qnx(`  - segment: {component: audio, size: 100K}
  - segment: {component: logic, size: 200K}
  - segment: {component: logic, size: 1M}
  - segment: {component: audio, size: 0}
  - segment: {component: logic, size: 200K}
  - segment: {component: audio, size: 16K}
  - segment: {component: logic, size: 32K}
`));
  t.deepEqual(segs(es), [
    // First fit: right after logic's footprint (its trailing guard ends at 0x85863000), the only free range.
    ['audio', 'create', false, null, 0, 0x85863000, 100 * K],
    // Logic's trailing guard already touches audio's: no room after it. Fragmented (the arena has
    // 520 KiB free above audio), then oom (it has less than 1 MiB).
    ['logic', 'resize', true, 0x85852000, 64 * K, 0x85852000, 64 * K],
    ['logic', 'resize', true, 0x85852000, 64 * K, 0x85852000, 64 * K],
    ['audio', 'release', false, 0x85863000, 100 * K, null, 0],
    // Audio gone: logic grows in place, its guard now at 0x85884000.
    ['logic', 'resize', false, 0x85852000, 64 * K, 0x85852000, 200 * K],
    ['audio', 'create', false, null, 0, 0x85885000, 16 * K],
    ['logic', 'resize', false, 0x85852000, 200 * K, 0x85852000, 32 * K],
  ]);
  t.deepEqual(faults(es), [
    ['fragmented', 'precise', FIRST + 1, null, 'logic'],
    ['oom', 'precise', FIRST + 2, null, 'logic'],
  ]);
  const [frag, oom] = ofType(es, 'fault');
  t.is(frag.detail, 'segment logic cannot grow in place from 64 KiB to 200 KiB: logic (64 KiB at 0x85852000) can grow in place to 64 KiB, up to 0x85862000 (room for its guard before guard:audio at 0x85862000); the arena (1 MiB at 0x85800000) has 520 KiB free in 1 range(s), the largest 520 KiB, 136 KiB needed (std: out-of-memory exception raised, the run goes on)');
  t.regex(oom.detail as string, /960 KiB needed/);
  t.deepEqual(ofType(es, 'segment')[4].guards, [
    { name: 'guard:logic', addr: 0x85851000, size: 4 * K, protection: 'mmu' },
    { name: 'guard:logic:end', addr: 0x85884000, size: 4 * K, protection: 'mmu' },
  ]);
});

test('a segment grows in place into the free range after it, and its heap follows (first-fit: its end moves)', (t) => {
  const es = events(qnx(`  - alloc: {id: x, heap: l, size: 60K}
  - alloc: {id: y, heap: l, size: 60K}
  - write: {addr: 0x85862000, len: 4, width: 4}
  - segment: {component: logic, size: 256K}
  - alloc: {id: y, heap: l, size: 60K}
  - write: {addr: 0x85862000, len: 4, width: 4}
  - write: {addr: 0x85892000, len: 4, width: 4}
`));
  t.deepEqual(segs(es), [['logic', 'resize', false, 0x85852000, 64 * K, 0x85852000, 256 * K]]);
  const resize = ofType(es, 'segment')[0];
  t.deepEqual([resize.heap, resize.heap_capacity, resize.requested], ['l', 256 * K, 256 * K]);
  t.deepEqual(resize.guards, [
    { name: 'guard:logic', addr: 0x85851000, size: 4 * K, protection: 'mmu' },
    { name: 'guard:logic:end', addr: 0x85892000, size: 4 * K, protection: 'mmu' },
  ]);
  t.true((resize.cycles as number) > 0); // the new block given to free(): allocator work
  const allocs = ofType(es, 'alloc').map((a) => a.addr);
  t.deepEqual(allocs, [0x85852008, null, 0x85852000 + 61448 + 8]);
  // The old trailing guard is the segment's memory now; its guard moved to the new end.
  t.deepEqual(faults(es), [['oom', 'precise', FIRST + 1, 'l', 'y'], ['guard-hit', 'precise', FIRST + 2, null, null], ['guard-hit', 'precise', FIRST + 6, null, null]]);
  t.regex(ofType(es, 'fault')[2].detail as string, /guard guard:logic:end \(0x85892000\.\.0x85892FFF\)/);
});

test('MPU guards (bare-metal): a new segment\'s guards take free MPU regions where the ARMv7-M rules allow, else canaries', (t) => {
  const es = events(`target: bare-metal
leak_check: false
layout:
  strategy: dynamic
  arena: {in: sram, size: 64K}
  guard: 1K
  align: 1K
  components: [{name: a, size: 1K}, {name: b}]
steps:
  - segment: {component: b, size: 3K}
`);
  const place = ofType(es, 'place').filter((p) => p.what === 'guard').map((p) => [p.name, p.size, p.protection]);
  t.deepEqual(place, [['guard:a', 1024, 'mpu'], ['guard:a:end', 1024, 'mpu']]);
  // b after a's trailing guard: one shared 1 KiB band (an MPU region), and its own after it.
  t.deepEqual(ofType(es, 'segment')[0].guards, [
    { name: 'guard:b', addr: (ofType(es, 'segment')[0].addr as number) - 1024, size: 1024, protection: 'mpu' },
    { name: 'guard:b:end', addr: (ofType(es, 'segment')[0].addr as number) + 3072, size: 1024, protection: 'mpu' },
  ]);
});

test('wasm: memory.grow moves its segment\'s end page by page and fails exactly when the next segment\'s guard is hit', (t) => {
  const es = events(qnx(`  - segment: {component: spacer, size: 0}
  - repeat: {times: 4, steps: [{grow: {heap: g, pages: 1}}]}
  - write: {addr: 0x85850FFC, len: 4, width: 4}
  - write: {addr: 0x85851000, len: 4, width: 4}
`));
  t.deepEqual(ofType(es, 'grow').map((g) => g.old_pages), [2, 3, 4, -1]);
  t.deepEqual(segs(es), [
    ['spacer', 'release', false, 0x85822000, 188 * K, null, 0],
    ['game', 'resize', false, 0x85801000, 128 * K, 0x85801000, 192 * K],
    ['game', 'resize', false, 0x85801000, 192 * K, 0x85801000, 256 * K],
    // 5 pages end at 0x85851000: its trailing guard is logic's.
    ['game', 'resize', false, 0x85801000, 256 * K, 0x85801000, 320 * K],
    ['game', 'resize', true, 0x85801000, 320 * K, 0x85801000, 320 * K],
  ]);
  t.true(ofType(es, 'segment').slice(1).every((s) => s.auto === true));
  t.deepEqual(ofType(es, 'segment')[3].guards, [
    { name: 'guard:game', addr: 0x85800000, size: 4 * K, protection: 'mmu' },
    { name: 'guard:logic', addr: 0x85851000, size: 4 * K, protection: 'mmu' },
  ]);
  t.deepEqual(faults(es), [
    ['grow-failed', 'precise', FIRST + 1, 'g', null],
    ['guard-hit', 'precise', FIRST + 3, null, null],
  ]);
  const [failed, hit] = ofType(es, 'fault');
  t.regex(failed.detail as string, /^memory\.grow\(1\) returned -1 \[pages 5, max_pages 64, grows 3, grow_failures 1\]; its segment cannot grow in place: game \(320 KiB at 0x85801000\) can grow in place to 320 KiB, up to 0x85851000 \(room for its guard before guard:logic at 0x85851000\)/);
  t.regex(hit.detail as string, /into the guard guard:logic \(0x85851000\.\.0x85851FFF\), trapped by the MMU/);
});

test('wasm auto_grow: an allocation that grows the memory grows the segment first', (t) => {
  const text = qnx(`  - segment: {component: spacer, size: 0}
  - alloc: {id: big, heap: g, size: 100K}
`).replace('options: {initial_pages: 2, max_pages: 64}', 'options: {initial_pages: 1, max_pages: 64, auto_grow: true}');
  const es = events(text);
  t.deepEqual(segs(es).slice(1), [['game', 'resize', false, 0x85801000, 128 * K, 0x85801000, 192 * K]]);
  t.deepEqual(ofType(es, 'alloc').map((a) => a.addr), [0x85801008]);
});

test('tlsf follows its segment with tlsf_add_pool; a heap whose allocator cannot follow refuses the resize', (t) => {
  const tlsf = events(qnx(`  - segment: {component: audio, size: 8K}
  - alloc: {id: a1, heap: a, size: 8000}
  - segment: {component: audio, size: 16K}
  - alloc: {id: a1, heap: a, size: 8000}
`));
  t.deepEqual(ofType(tlsf, 'alloc').map((a) => a.addr), [null, 0x85863000 + 8192 + 4]);
  t.deepEqual(ofType(tlsf, 'segment').map((s) => s.heap_capacity), [8 * K, 16 * K]);
  const buddy = events(qnx(`  - segment: {component: audio, size: 8K}
  - segment: {component: audio, size: 16K}
`, { audio: 'buddy' }));
  t.deepEqual(segs(buddy)[1], ['audio', 'resize', true, 0x85863000, 8 * K, 0x85863000, 8 * K]);
  t.deepEqual(faults(buddy), [['layout-invalid', 'precise', FIRST + 1, 'a', 'audio']]);
  t.regex(ofType(buddy, 'fault')[0].detail as string, /heap a \(buddy\) buddy cannot follow its segment's size \(tlsf, first-fit, best-fit, bump and wasm heaps can\)/);
  // A shrink the heap cannot follow: first-fit's end holds a live block.
  const shrink = events(qnx(`  - alloc: {id: x, heap: l, size: 60K}
  - segment: {component: logic, size: 32K}
`));
  t.deepEqual(segs(shrink), [['logic', 'resize', true, 0x85852000, 64 * K, 0x85852000, 64 * K]]);
  t.regex(ofType(shrink, 'fault')[0].detail as string, /it holds memory in the part a shrink would cut off/);
});

test('a released segment: accesses to it are use-after-free naming it (precise with an MMU, silent without); its heap\'s blocks go with it', (t) => {
  const steps = `  - segment: {component: audio, size: 16K}
  - alloc: {id: s, heap: a, size: 100}
  - segment: {component: audio, size: 0}
  - read: {id: s, len: 4, width: 4}
  - write: {addr: ADDR, len: 4, width: 4}
  - free: s
  - alloc: {id: t, heap: a, size: 100}
  - segment: {component: audio, size: 16K}
  - alloc: {id: t, heap: a, size: 100}
  - free: t
`;
  const es = events(qnx(steps.replace('ADDR', '0x85863100')));
  t.deepEqual(faults(es), [
    ['use-after-free', 'precise', FIRST + 3, 'a', 's'],
    ['use-after-free', 'precise', FIRST + 4, null, null],
    ['use-after-free', 'precise', FIRST + 5, 'a', 's'],
    ['use-after-free', 'precise', FIRST + 6, 'a', 't'],
  ]);
  const details = ofType(es, 'fault').map((f) => f.detail as string);
  t.regex(details[0], /segment audio \(0x85863000\.\.0x85866FFF\) was released at op 3 \(line 21\), its pages unmapped \(page fault\) through id s/);
  t.regex(details[2], /^free of id s \(100 bytes at 0x85863.*\): heap a went with segment audio, released at op 3 \(line 21\)/);
  t.regex(details[3], /^alloc of id t: heap a went with segment audio/);
  // Made again: a fresh heap at the same place, the ids of the old one gone.
  t.deepEqual(ofType(es, 'alloc').map((a) => [a.id, a.addr]), [['s', 0x85863000 + 3192], ['t', 0x85863000 + 3192]]);
  t.is(ofType(es, 'free').length, 1);
  // The PSP has no MMU: the memory is still there, nothing notices.
  const psp = events(qnx(steps.replace('ADDR', '0x08DE7100'), { target: 'psp', arenaIn: 'user' }));
  t.deepEqual(faults(psp).map((f) => `${f[0]}/${f[1]}`), ['use-after-free/silent', 'use-after-free/silent', 'use-after-free/silent', 'use-after-free/silent']);
});

test('segment steps on a component with no segment: a heap not created yet is unmapped; releasing nothing is refused', (t) => {
  const es = events(qnx(`  - alloc: {id: early, heap: a, size: 10}
  - segment: {component: audio, size: 0}
  - segment: {component: spacer, size: 0}
  - segment: {component: spacer, size: 0}
`));
  t.deepEqual(faults(es), [
    ['unmapped', 'precise', FIRST, 'a', 'early'],
    ['invalid-free', 'precise', FIRST + 1, null, 'audio'],
    ['double-free', 'precise', FIRST + 3, null, 'spacer'],
  ]);
  t.deepEqual(segs(es).map((s) => [s[0], s[1], s[2]]), [['audio', 'release', true], ['spacer', 'release', false], ['spacer', 'release', true]]);
});

test('no_alloc: a segment the arena cannot hold is a panic, and the run halts', (t) => {
  const { result, events: es } = runText(qnx(`  - segment: {component: audio, size: 2M}
  - check
`, { policy: 'no_alloc' }));
  t.deepEqual(faults(es), [['oom', 'precise', FIRST, null, 'audio'], ['panic', 'precise', FIRST, null, 'audio']]);
  t.true(result.summary.halted);
});

test('canary guards (PSP): a write into a segment\'s guard is found when the segment around it changes', (t) => {
  const es = events(qnx(`  - write: {addr: 0x08DA5000, len: 4, width: 4}
  - segment: {component: spacer, size: 0}
`, { target: 'psp', arenaIn: 'user' }));
  const places = ofType(es, 'place').filter((p) => p.name === 'guard:spacer');
  t.deepEqual(places.map((p) => [p.addr, p.protection]), [[0x08da5000, 'canary']]);
  t.deepEqual(faults(es), [['canary-corrupt', 'delayed', FIRST + 1, null, null]]);
  t.is(ofType(es, 'fault')[0].cause_line, FIRST);
});

test('the summary\'s arena: free bytes, the largest free range and external fragmentation, like a heap\'s', (t) => {
  const { result } = runText(qnx(`  - segment: {component: spacer, size: 0}
  - segment: {component: audio, size: 16K}
`));
  const arena = result.summary.arena!;
  t.deepEqual(arena, {
    placement: 'first-fit',
    base: 0x85800000,
    capacity: 1024 * K,
    in_use: 1024 * K - arena.free,
    peak_in_use: 4 * K + 128 * K + 4 * K + 188 * K + 4 * K + 64 * K + 4 * K + 4 * K, // the start, with both edge guards
    // audio went where the spacer was (first fit): 168 KiB left there, 624 KiB above logic.
    free: 168 * K + 624 * K,
    largest_free: 624 * K,
    ext_frag_ppm: Math.round((168 * K * 1_000_000) / (792 * K)),
    free_ranges: 2,
    segments: 3,
    creates: 1,
    resizes: 0,
    releases: 1,
    refused: 0,
  });
});

test('grammar: segment steps and dynamic layouts refused at file:line:col', (t) => {
  const fails = (text: string) => {
    const e = t.throws(() => parseScenario('/virtual/s.yaml', text, 'x'), { instanceOf: InputError }) as InputError;
    return String(e);
  };
  const staticLayout = `target: psp
layout:
  arena: {in: user, size: 1M}
  components: [{name: c, size: 64K}]
steps:
  - segment: {component: c, size: 128K}
`;
  t.is(fails(staticLayout), "/virtual/s.yaml:6:5: segment: segment steps need a dynamic layout (layout: {strategy: dynamic, ...}); this scenario's layout is static (line 3)");
  t.is(fails('target: psp\nsteps:\n  - segment: {component: c, size: 1K}\n'), '/virtual/s.yaml:3:5: segment: segment steps need a dynamic layout (layout: {strategy: dynamic, ...}); this scenario has no layout');
  t.is(fails(qnx('  - segment: {component: gmae, size: 1K}\n')), "/virtual/s.yaml:19:26: segment: unknown component 'gmae' (did you mean 'game'?) (components: game, spacer, logic, audio)");
  t.is(fails(qnx('  - segment: {component: audio}\n')), "/virtual/s.yaml:19:14: document.steps[0].segment: missing required key 'size'");
  t.is(fails(staticLayout.replace('  components', '  placement: best-fit\n  components')), '/virtual/s.yaml:4:14: layout.placement: only a dynamic layout (strategy: dynamic) places segments at run time');
  t.is(fails(staticLayout.replace('{name: c, size: 64K}', '{name: c}')), "/virtual/s.yaml:4:16: layout: component 'c' needs a size (only a dynamic layout, strategy: dynamic, places segments at run time)");
  t.is(fails(qnx('  - check\n').replace('in: logic}', 'in: logic, size: 16K}')), "/virtual/s.yaml:16:48: heap 'l': a heap in the dynamic segment 'logic' takes the whole segment and follows its size; leave out offset and size");
  t.is(fails(qnx('  - check\n').replace("in: audio}", 'in: logic}')), "/virtual/s.yaml:17:36: heap 'a': the dynamic segment 'logic' already holds heap 'l' (a dynamic segment holds one heap, which follows its size)");
  t.is(fails(qnx('  - check\n').replace('strategy: dynamic', 'strategy: elastic')), "/virtual/s.yaml:5:13: document.layout.strategy: expected one of static, dynamic, got 'elastic'");
});

test('emu run: a segment step on a static layout exits 2 with file:line:col and no stack trace', (t) => {
  const dir = tempDir();
  const file = join(dir, 's.yaml');
  writeFileSync(file, 'target: psp\nlayout:\n  arena: {in: user, size: 1M}\n  components: [{name: c, size: 64K}]\nsteps:\n  - segment: {component: c, size: 0}\n');
  const r = emu(['run', file], { cwd: dir });
  t.is(r.status, 2);
  t.regex(r.stderr, new RegExp(`${file}:6:5: error: segment: segment steps need a dynamic layout`));
  t.notRegex(r.stderr, /at .*\.js/);
});

test('emu map of a dynamic layout: the placement at the start, how far each segment can grow in place, what its heap does', (t) => {
  const dir = tempDir();
  const file = join(dir, 'dyn.yaml');
  writeFileSync(file, qnx('  - check\n').replace("allocator: ${options.audio ?? 'tlsf'}", 'allocator: tlsf'));
  const r = emu(['map', file], { cwd: dir });
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /segment +game +0x85801000 +0x85820FFF +128 KiB +arena/);
  t.regex(r.stdout, /dynamic layout: segments are placed, resized in place and released at run time \(segment steps\), first-fit in the arena \(1 MiB at 0x85800000\), starts aligned to 4 KiB;/);
  t.regex(r.stdout, /a 4 KiB guard before and after every segment \(MMU pages, trapping\), one guard between neighbours, the arena's edges guarded too/);
  t.regex(r.stdout, /game +0x85801000 +128 KiB +128 KiB \(0x85820FFF\) +room for its guard before guard:spacer at 0x85821000 +g \(wasm\): memory\.grow grows the segment in place, or returns -1 \(grow-failed\) when the arena has no room after it/);
  t.regex(r.stdout, /logic +0x85852000 +64 KiB +692 KiB \(0x858FEFFF\) +room for its guard before the arena's end at 0x85900000 +l \(first-fit\): follows its segment as it grows/);
  t.regex(r.stdout, /audio +- +- +- +placed by its first segment step \(the largest free range now: 624 KiB at 0x85863000\) +a \(tlsf\): follows its segment/);
  t.regex(r.stdout, /free for new segments now: 624 KiB in 1 range\(s\): 0x85863000\.\.0x858FEFFF \(624 KiB\)/);
  const pack = emu(['map', file, '--pack'], { cwd: dir });
  t.is(pack.status, 0, pack.stderr);
  t.regex(pack.stdout, /packing: dyn's layout is dynamic \(its segments are placed at run time, in the order the scenario creates them\); --pack orders static layouts/);
});

test('the summary prints the arena; emu size refuses a heap its dynamic segment sizes', (t) => {
  const dir = tempDir();
  const file = join(dir, 'dyn.yaml');
  writeFileSync(file, qnx('  - segment: {component: spacer, size: 0}\n'));
  const run = emu(['run', file], { cwd: dir });
  t.is(run.status, 1, run.stderr); // no golden
  t.regex(run.stdout, /arena \(dynamic layout, first-fit\): 1 MiB, in use 217,088 \(peak 409,600\) with guards; free 831,488 in 2 range\(s\), largest 638,976, ext frag 23\.15%; 2 segment\(s\) live; 0 created, 0 resized, 1 released, 0 refused/);
  const size = emu(['size', file, '--heap', 'l'], { cwd: dir });
  t.is(size.status, 2);
  t.regex(size.stderr, new RegExp(`${file}:16:1: error: heap 'l' lives in the dynamic segment 'logic', whose size \\(set by its component and segment steps\\) is the heap's`));
});

test('a heap released inside a scope, or a null id reallocated on a released heap: faults, never a crash', (t) => {
  const text = qnx(`  - segment: {component: audio, size: 16K}
  - alloc: {id: nothing, heap: a, size: 1M}
  - scope:
      heap: a
      steps:
        - segment: {component: audio, size: 0}
        - segment: {component: audio, size: 16K}
  - segment: {component: audio, size: 0}
  - realloc: {id: nothing, size: 16}
`, { audio: 'bump' });
  const es = events(text);
  t.deepEqual(faults(es), [
    ['oom', 'precise', FIRST + 1, 'a', 'nothing'],
    ['use-after-free', 'precise', FIRST + 2, 'a', null], // the scope's exit: its scope went with the segment
    ['use-after-free', 'precise', FIRST + 8, 'a', 'nothing'],
  ]);
  t.regex(ofType(es, 'fault')[1].detail as string, /^scope-exit on heap a: its scope went with segment audio, released at op 4 \(line 24\)/);
  t.regex(ofType(es, 'fault')[2].detail as string, /^realloc of id nothing: heap a went with segment audio, released at op 7 \(line 26\)/);
});
