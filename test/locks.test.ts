/**
 * Locks and data races through the engine: `lock`/`unlock` steps, the lock-error faults, the Eraser
 * lockset check on CPU accesses, copies and DMA transfers started by a component, and the grammar's
 * errors (exit 2 at file:line:col).
 */
import test from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TraceEvent } from '../src/trace/schema.js';
import { emu, ofType, runText, tempDir } from './helpers/scenario.js';

/**
 * A PSP layout: decoder and mixer segments, a shared ring `pcm` both read and write, and `stats`,
 * which the mixer writes and the decoder reads, guarded by the lock `pcm` too. Steps start at line 17.
 */
function ring(steps: string, options: { concurrent?: boolean } = {}): string {
  return `target: psp
layout:
  arena: {in: user, size: 1M}
  guard: 4K
  align: 4K
  concurrent: ${options.concurrent ?? true}
  components:
    - {name: decoder, size: 64K}
    - {name: mixer, size: 64K}
  shared:
    - {name: pcm, size: 16K, access: {decoder: rw, mixer: rw}}
    - {name: stats, size: 4K, access: {decoder: r, mixer: w}, lock: pcm}
heaps:
  - {name: ring, allocator: bump, in: pcm}
  - {name: st, allocator: bump, in: stats}
steps:
  - alloc: {id: buf, heap: ring, size: 8K}
${steps}`;
}

const LOCKED = `  - lock: {region: pcm, by: decoder}
  - write: {id: buf, len: 4K, by: decoder}
  - unlock: {region: pcm, by: decoder}
  - lock: {region: pcm, by: mixer}
  - read: {id: buf, len: 4K, by: mixer}
  - write: {id: buf, offset: 8188, len: 4, by: mixer}
  - unlock: {region: pcm, by: mixer}
`;

const UNLOCKED = `  - write: {id: buf, len: 4K, by: decoder}
  - read: {id: buf, len: 4K, by: mixer}
  - write: {id: buf, offset: 8188, len: 4, by: mixer}
  - write: {id: buf, len: 4K, by: decoder}
  - read: {id: buf, len: 4K, by: mixer}
`;

function faults(events: TraceEvent[]): TraceEvent[] {
  return ofType(events, 'fault');
}

/** kind/detected@line op N */
function brief(events: TraceEvent[]): string[] {
  return faults(events).map((f) => `${f.kind}/${f.detected}@${f.line} op ${f.op}`);
}

test('a producer and a consumer that take the lock around every access do not race', (t) => {
  const { events, result } = runText(ring(LOCKED + LOCKED));
  t.deepEqual(brief(events), []);
  t.deepEqual(result.summary.faults, {});
  const locks = ofType(events, 'lock');
  t.deepEqual(locks.map((e) => [e.line, e.region, e.lock, e.by, e.taken]), [
    [18, 'pcm', 'pcm', 'decoder', true], [21, 'pcm', 'pcm', 'mixer', true], [25, 'pcm', 'pcm', 'decoder', true], [28, 'pcm', 'pcm', 'mixer', true],
  ]);
  t.deepEqual(ofType(events, 'unlock').map((e) => e.released), [true, true, true, true]);
  // Lock steps take no cycles: the next event is at the same cycle.
  const i = events.indexOf(locks[0]);
  t.is(events[i + 1].cycle, locks[0].cycle);
});

test('without the lock: one data-race, silent, at the mixer write that meets the decoder, naming it', (t) => {
  const { events } = runText(ring(UNLOCKED));
  // Exclusive(decoder) at line 18; the mixer's read (19) makes it Shared with an empty lockset; its
  // write (20) makes it Shared-Modified: the race. The decoder's and mixer's later accesses are the same pair.
  t.deepEqual(brief(events), ['data-race/silent@20 op 4']);
  const race = faults(events)[0];
  t.is(race.heap, 'ring');
  t.is(race.id, 'buf');
  t.is(
    race.detail,
    "data race on shared region pcm: mixer's write (holding no lock) and decoder's write at op 2 (line 18, holding no lock); no lock was held on every access since the region was shared (its lockset is empty; mixer's read at op 3 (line 19, holding no lock) emptied it)",
  );
});

test('the components of a layout that is not concurrent run in turn: the same accesses do not race', (t) => {
  t.deepEqual(brief(runText(ring(UNLOCKED, { concurrent: false })).events), []);
});

test('accesses that name no component count for no component', (t) => {
  const anonymous = UNLOCKED.replace(/, by: mixer/g, '');
  t.deepEqual(brief(runText(ring(anonymous)).events), []);
});

test('a lock released between accesses still protects; one access without it is the race', (t) => {
  const forgot = `${LOCKED}  - read: {id: buf, len: 16, by: mixer}
${LOCKED}`;
  const { events } = runText(ring(forgot));
  // Line 25 is the mixer's read without the lock: it empties the lockset, against the decoder's write.
  // Nothing after it is reported again: the pair is reported once.
  t.deepEqual(brief(events), ['data-race/silent@25 op 9']);
  t.regex(faults(events)[0].detail as string, /mixer's read \(holding no lock\) and decoder's write at op 3 \(line 19, holding lock pcm\)/);
});

test('a lock named by several regions guards them all: taking it through one protects the other', (t) => {
  const stats = (lockFor: string) => `  - alloc: {id: s, heap: st, size: 64}
  - lock: {region: ${lockFor}, by: mixer}
  - write: {id: s, len: 64, by: mixer}
  - unlock: {region: ${lockFor}, by: mixer}
  - lock: {region: pcm, by: decoder}
  - read: {id: s, len: 64, by: decoder}
  - unlock: {region: pcm, by: decoder}
  - lock: {region: stats, by: mixer}
  - write: {id: s, len: 64, by: mixer}
  - unlock: {region: stats, by: mixer}
`;
  const { events } = runText(ring(stats('stats')));
  t.deepEqual(brief(events), []);
  t.deepEqual(ofType(events, 'lock').map((e) => `${e.region}:${e.lock}`), ['stats:pcm', 'pcm:pcm', 'stats:pcm']);
  // Taking the shared lock through stats, then again through pcm, is taking it twice.
  const twice = runText(ring(`  - lock: {region: stats, by: mixer}
  - lock: {region: pcm, by: mixer}
  - unlock: {region: pcm, by: mixer}
`)).events;
  t.deepEqual(brief(twice), ['lock-error/precise@19 op 3']);
  t.regex(faults(twice)[0].detail as string, /mixer takes lock pcm \(guarding pcm, stats\) again: it already holds it \(taken at op 2, line 18\)/);
});

test('lock-error: taken twice, by itself or by another, released by a non-holder, held at the end', (t) => {
  const { events } = runText(ring(`  - lock: {region: pcm, by: decoder}
  - lock: {region: pcm, by: decoder}
  - lock: {region: pcm, by: mixer}
  - unlock: {region: pcm, by: mixer}
  - unlock: {region: pcm, by: decoder}
  - unlock: {region: pcm, by: decoder}
  - lock: {region: pcm, by: mixer}
  - idle: 10
`));
  t.deepEqual(brief(events), [
    'lock-error/precise@19 op 3', // decoder again
    'lock-error/precise@20 op 4', // mixer while decoder holds it
    'lock-error/silent@21 op 5', // mixer does not hold it
    'lock-error/silent@23 op 7', // decoder already released it
    'lock-error/silent@24 op 9', // still held by mixer at the end: at the step that took it, after the last op
  ]);
  const details = faults(events).map((f) => f.detail as string);
  t.regex(details[0], /decoder takes lock pcm \(guarding pcm, stats\) again: it already holds it \(taken at op 2, line 18\), and a lock does not nest/);
  t.regex(details[1], /mixer takes lock pcm \(guarding pcm, stats\), which decoder holds \(taken at op 2, line 18\): taken twice without a release/);
  t.is(details[2], 'mixer releases lock pcm (guarding pcm, stats), which it does not hold (it is held by decoder, taken at op 2, line 18)');
  t.is(details[3], 'decoder releases lock pcm (guarding pcm, stats), which it does not hold (it is free)');
  t.is(details[4], 'lock pcm (guarding pcm, stats) is still held by mixer at the end (taken at op 8, line 24)');
  t.deepEqual(ofType(events, 'lock').map((e) => e.taken), [true, false, false, true]);
  t.deepEqual(ofType(events, 'unlock').map((e) => e.released), [false, true, false]);
});

test('leak_check: false also leaves locks held at the end unreported (as a shrunk scenario needs)', (t) => {
  const held = '  - lock: {region: pcm, by: mixer}\n';
  t.deepEqual(brief(runText(ring(held)).events), ['lock-error/silent@18 op 2']);
  t.deepEqual(brief(runText(`leak_check: false\n${ring(held)}`).events), []);
});

test('a copy is a read of its source and a write of its destination, each by its component', (t) => {
  const { events } = runText(ring(`  - alloc: {id: s, heap: st, size: 64}
  - write: {id: buf, len: 64, by: mixer}
  - copy: {from: {id: buf}, to: {id: s}, len: 64, by: mixer}
  - copy: {from: {id: s}, to: {id: buf, offset: 64}, len: 64, by: decoder}
`));
  // stats: mixer writes it (Exclusive), decoder reads it: Shared, no race. pcm: mixer wrote it, the decoder's copy writes it.
  t.deepEqual(brief(events), ['data-race/silent@21 op 5']);
  t.regex(faults(events)[0].detail as string, /^data race on shared region pcm: decoder's write \(holding no lock\) and mixer's read at op 4 \(line 20/);
});

test('an access the target traps does not happen, so it races with nothing', (t) => {
  // The PSP faults a misaligned word store (address error): precise, no access.
  const { events } = runText(ring(`  - write: {id: buf, len: 4, by: decoder}
  - write: {id: buf, offset: 2, len: 4, width: 4, by: mixer}
  - write: {id: buf, offset: 4, len: 4, width: 4, by: mixer}
`));
  t.deepEqual(brief(events), ['misaligned/precise@19 op 3', 'data-race/silent@20 op 4']);
});

/**
 * PSX: an arena in VRAM (reached only by DMA), with the renderer's and the streamer's areas and a
 * shared texture cache at 0x20040000 (VRAM's base, 0x20000000, + 2 x 128K); their buffers in RAM.
 * The instances section makes room in the environment budget, which counts the arena. Steps from line 19.
 */
function vram(steps: string): string {
  return `target: psx
sections:
  - {name: .wrt_instances, size: 512K}
leak_check: false
layout:
  arena: {in: vram, size: 512K}
  align: 2K
  concurrent: true
  components:
    - {name: renderer, size: 128K}
    - {name: streamer, size: 128K}
  shared:
    - {name: texcache, size: 64K, access: {renderer: rw, streamer: w}}
heaps:
  - {name: main, allocator: first-fit, in: .wrt_scratch}
steps:
  - alloc: {id: a, heap: main, size: 2K}
  - alloc: {id: b, heap: main, size: 2K}
${steps}`;
}

test('DMA into and out of a shared region counts as an access by the component that started it', (t) => {
  const upload = (by: string, ram = 'a') => `  - dma: {channel: gpu, from: {id: ${ram}}, to: {addr: 0x20040000}, len: 2K${by ? `, by: ${by}` : ''}}\n`;
  const readback = (by: string) => `  - dma: {channel: gpu, from: {addr: 0x20040000}, to: {id: b}, len: 2K, by: ${by}}\n`;
  const raced = runText(vram(upload('renderer') + upload('streamer') + readback('renderer'))).events;
  // The streamer's upload writes what the renderer wrote: Shared-Modified, no lock.
  t.deepEqual(brief(raced), ['data-race/silent@20 op 4']);
  t.regex(faults(raced)[0].detail as string, /^data race on shared region texcache: streamer's DMA write \(holding no lock\) and renderer's DMA write at op 3 \(line 19, holding no lock\)/);
  t.deepEqual(ofType(raced, 'dma').map((e) => e.by), ['renderer', 'streamer', 'renderer']);
  // A transfer that names nobody counts for nobody, and its event has no `by`.
  const anonymous = runText(vram(upload('renderer') + upload(''))).events;
  t.deepEqual(brief(anonymous), []);
  t.false('by' in ofType(anonymous, 'dma')[1]);
  // Each upload and readback under the lock: clean.
  const locked = (step: string, by: string) => `  - lock: {region: texcache, by: ${by}}\n${step}  - unlock: {region: texcache, by: ${by}}\n`;
  t.deepEqual(brief(runText(vram(locked(upload('renderer'), 'renderer') + locked(upload('streamer'), 'streamer') + locked(readback('renderer'), 'renderer'))).events), []);
  // A refused transfer (into the scratchpad, which no channel reaches) does not happen: it is no access.
  const refused = runText(vram(upload('renderer') + '  - dma: {channel: gpu, from: {addr: 0x20040000}, to: {addr: 0x1F800000}, len: 2K, by: streamer}\n')).events;
  t.deepEqual(brief(refused), ['dma-region/precise@20 op 4']);
});

// ---- grammar ----

function badScenario(text: string): { status: number | null; stderr: string; file: string } {
  const dir = tempDir();
  const file = join(dir, 'scenario.yaml');
  writeFileSync(file, text);
  const r = emu(['run', file], { cwd: dir });
  return { status: r.status, stderr: r.stderr, file };
}

function inputError(t: import('ava').ExecutionContext, text: string, line: number, col: number, phrase: string | RegExp): void {
  const r = badScenario(text);
  t.is(r.status, 2, r.stderr);
  t.true(r.stderr.startsWith(`${r.file}:${line}:${col}: error: `), r.stderr);
  if (typeof phrase === 'string') t.true(r.stderr.includes(phrase), r.stderr);
  else t.regex(r.stderr, phrase);
  t.false(r.stderr.includes('    at '), r.stderr);
}

test('grammar: a lock on an unknown region, with a suggestion', (t) => {
  // Line 18: `  - lock: {region: pmc, by: decoder}`; the region's value starts at column 20.
  inputError(t, ring('  - lock: {region: pmc, by: decoder}\n'), 18, 20, "lock: unknown shared region 'pmc' (did you mean 'pcm'?) (shared regions: pcm, stats)");
});

test('grammar: unlock by an unknown component, by one without access, or with no by', (t) => {
  inputError(t, ring('  - unlock: {region: pcm, by: mixr}\n'), 18, 31, /by: unknown component 'mixr'/);
  inputError(t, ring('  - lock: {region: stats, by: decoder}\n').replace('access: {decoder: r, mixer: w}', 'access: {mixer: w}'), 18, 31, 'lock: decoder has no access to the shared region stats (access: mixer: w)');
  inputError(t, ring('  - lock: {region: pcm}\n'), 18, 11, /missing.*by|'by'/);
});

test('grammar: locks in a layout whose components run one after another', (t) => {
  inputError(t, ring('  - lock: {region: pcm, by: decoder}\n', { concurrent: false }), 18, 20, "say 'concurrent: true' under layout:");
  const noLayout = `target: psp
steps:
  - lock: {region: ring, by: a}
`;
  inputError(t, noLayout, 3, 20, 'the layout declares no shared regions');
});

test('grammar: dma by an unknown component; concurrent and lock must be of their types', (t) => {
  inputError(t, ring('  - dma: {channel: ge, from: {id: buf}, to: vram, len: 64, by: gpu}\n'), 18, 64, /by: unknown component 'gpu'/);
  inputError(t, ring('').replace('concurrent: true', 'concurrent: often'), 6, 15, /expected a boolean|true or false/);
  inputError(t, ring('').replace('lock: pcm}', 'lock: [pcm]}'), 12, 69, 'layout.shared[1].lock: expected a string, got a list');
});

// ---- repro ----

test('emu repro --shrink keeps the lock steps of a lock-error and the by of a DMA race', (t) => {
  const dir = tempDir();
  const cases = [
    { name: 'twice', text: ring(`${LOCKED}${LOCKED}  - lock: {region: pcm, by: mixer}\n  - write: {id: buf, len: 16, by: mixer}\n  - lock: {region: stats, by: mixer}\n`), kind: 'lock-error', keeps: /lock: \{ region: (pcm|stats), by: mixer \}[\s\S]*lock: \{ region: (pcm|stats), by: mixer \}/ },
    {
      name: 'vram',
      text: vram(`  - dma: {channel: gpu, from: {id: a}, to: {addr: 0x20040000}, len: 2K, by: renderer}\n  - idle: 100\n  - dma: {channel: gpu, from: {id: b}, to: {addr: 0x20040000}, len: 2K, by: streamer}\n`),
      kind: 'data-race',
      keeps: /by: renderer[\s\S]*by: streamer/,
    },
  ];
  for (const c of cases) {
    const file = join(dir, `${c.name}.yaml`);
    writeFileSync(file, c.text);
    const r = emu(['repro', file, '--shrink'], { cwd: dir });
    t.is(r.status, 0, r.stdout + r.stderr);
    t.regex(r.stdout, new RegExp(`first fault at operation \\d+ \\(scenario line \\d+\\): ${c.kind}`));
    const shrunk = readFileSync(join(dir, `${c.name}-repro.yaml`), 'utf8');
    t.regex(shrunk, c.keeps, shrunk);
    t.regex(shrunk, new RegExp(`kind: ${c.kind}`));
    t.is(emu(['run', join(dir, `${c.name}-repro.yaml`)], { cwd: dir }).status, 0);
  }
});
