/**
 * The pictures: the Chrome/Perfetto timeline checked against the Trace Event Format, the SVG map as
 * XML naming everything the layout placed, and every output byte-identical across runs.
 */
import test from 'ava';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildLayout } from '../src/layout/layout.js';
import { chromeTrace, packLanes } from '../src/picture/chrome.js';
import { timelineOf } from '../src/picture/timeline.js';
import { loadScenario } from '../src/scenario/parse.js';
import { readTrace } from '../src/trace/reader.js';
import { emu, REPO, tempDir } from './helpers/scenario.js';

const PSP_GAME = join(REPO, 'scenarios', 'psp-game.yaml');
const GOLDEN = join(REPO, 'golden', 'psp-game.trace');

interface ChromeEvent {
  name: string;
  cat?: string;
  ph: string;
  ts?: number;
  pid: number;
  tid?: number;
  s?: string;
  args?: Record<string, unknown>;
}

interface ChromeFile {
  otherData: Record<string, unknown>;
  traceEvents: ChromeEvent[];
}

/** The Trace Event Format's rules for the phases emu writes; the problems found, none when valid. */
function validate(file: ChromeFile): string[] {
  const problems: string[] = [];
  const lastTs = new Map<string, number>();
  const open = new Map<string, string[]>();
  for (const [i, e] of file.traceEvents.entries()) {
    if (!['B', 'E', 'i', 'C', 'M'].includes(e.ph)) problems.push(`event ${i}: phase ${e.ph}`);
    if (typeof e.name !== 'string' || !Number.isInteger(e.pid)) problems.push(`event ${i}: name or pid missing`);
    if (e.ph === 'M') continue;
    if (typeof e.ts !== 'number' || !Number.isFinite(e.ts) || e.ts < 0) problems.push(`event ${i}: ts ${e.ts}`);
    // Slices and instants are ordered on their thread, counters on their series.
    const track = e.ph === 'C' ? `${e.pid} counter ${e.name}` : `${e.pid}/${e.tid}`;
    if (e.ts! < (lastTs.get(track) ?? 0)) problems.push(`event ${i}: ts ${e.ts} before ${lastTs.get(track)} on ${track}`);
    lastTs.set(track, e.ts!);
    if (e.ph === 'B') open.set(track, [...(open.get(track) ?? []), e.name]);
    if (e.ph === 'E') {
      const stack = open.get(track) ?? [];
      const begun = stack.pop();
      if (begun !== e.name) problems.push(`event ${i}: E ${e.name} closes ${begun ?? 'nothing'} on ${track}`);
    }
    if (e.ph === 'C' && (Object.keys(e.args ?? {}).length === 0 || Object.values(e.args!).some((v) => typeof v !== 'number' || !Number.isFinite(v)))) problems.push(`event ${i}: counter args ${JSON.stringify(e.args)}`);
    if (e.ph === 'i' && !['t', 'p', 'g'].includes(e.s ?? '')) problems.push(`event ${i}: instant scope ${e.s}`);
  }
  for (const [track, stack] of open) if (stack.length > 0) problems.push(`${track}: ${stack.length} slices never ended (${stack[0]})`);
  return problems;
}

function tracedAllocations(path: string): number {
  let n = 0;
  for (const e of readTrace(path).events) if (e.type === 'alloc' && e.addr !== null) n++;
  return n;
}

test('the Chrome trace of psp-game follows the Trace Event Format, one slice per allocation', (t) => {
  const dir = tempDir();
  const out = join(dir, 'psp-game.json');
  const trace = join(dir, 'psp-game.trace');
  const r = emu(['run', PSP_GAME, '--chrome', out, '--trace', trace]);
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /timeline: .*psp-game\.json \(open it in ui\.perfetto\.dev/);
  const file = JSON.parse(readFileSync(out, 'utf8')) as ChromeFile;
  t.deepEqual(validate(file), []);
  const slices = file.traceEvents.filter((e) => e.cat === 'alloc' && e.ph === 'B');
  t.is(slices.length, tracedAllocations(trace));
  t.is(slices.length, 7728);
  t.is(file.otherData.allocations_shown, 'one slice per block');
  // psp-game's `world` block: allocated at cycle 96 (0.2883 µs at 333 MHz), freed at the end.
  const world = slices.find((e) => e.name === 'world')!;
  t.is(world.ts, 0.2883);
  t.deepEqual(world.args, { id: 'world', size: 1048576, block: 1048584, addr: '0x08D84040', cycles: 282, line: 43 });
  // Frame 1 ends at cycle 16,981: 50.994 µs; its budget rides along.
  const frame1 = file.traceEvents.filter((e) => e.cat === 'frame' && e.name === 'frame 1');
  t.deepEqual(frame1.map((e) => [e.ph, e.ts]), [['B', 0], ['E', 50.994]]);
  t.is(frame1[0].args!.budget, 5551110);
  t.is(file.traceEvents.filter((e) => e.cat === 'dma' && e.ph === 'B').length, 600);
  // One sample at the end: each heap's three sampled counters once, physics' fragmentation 18 ppm.
  const frag = file.traceEvents.filter((e) => e.ph === 'C' && e.name === 'external fragmentation');
  t.is(frag.length, 5);
  t.true(frag.some((e) => e.args!.percent === 0.0018));
  // Bytes in use after every change: physics ends at 0 after its peak of 1,054,152.
  const physics = file.traceEvents.filter((e) => e.ph === 'C' && e.pid === 11 && e.name === 'in use').map((e) => e.args!.bytes as number);
  t.is(Math.max(...physics), 1054152);
  t.is(physics.at(-1), 0);
});

test("every golden's Chrome trace follows the Trace Event Format, with a slice per allocation", (t) => {
  const goldens = readdirSync(join(REPO, 'golden')).filter((f) => f.endsWith('.trace'));
  t.true(goldens.length >= 30);
  for (const golden of goldens) {
    const name = golden.replace(/\.trace$/, '');
    const clockHz = loadScenario(join(REPO, 'scenarios', `${name}.yaml`)).target.cpu.clockHz;
    const path = join(REPO, 'golden', golden);
    const file = JSON.parse(chromeTrace(timelineOf(path), clockHz)) as ChromeFile;
    t.deepEqual(validate(file), [], name);
    // A realloc that moves a block (or reallocs NULL) begins a slice of its own.
    let moved = 0;
    for (const e of readTrace(path).events) if (e.type === 'realloc' && e.addr !== null && e.addr !== e.old_addr) moved++;
    t.is(file.traceEvents.filter((e) => e.cat === 'alloc' && e.ph === 'B').length, tracedAllocations(path) + moved, name);
  }
});

test('beyond the limit, allocations are aggregated per step and the file says so', (t) => {
  const scenario = loadScenario(PSP_GAME);
  const file = JSON.parse(chromeTrace(timelineOf(GOLDEN), scenario.target.cpu.clockHz, { allocationLimit: 1000 })) as ChromeFile;
  t.deepEqual(validate(file), []);
  t.regex(String(file.otherData.allocations_shown), /^aggregated per step \(more than 1000 allocations/);
  t.true(file.traceEvents.some((e) => e.cat === 'note' && e.name === 'allocations aggregated per step: 7728 allocations'));
  const slices = file.traceEvents.filter((e) => e.cat === 'alloc' && e.ph === 'B');
  t.true(slices.length < 7728);
  t.is(slices.reduce((n, e) => n + (e.args!.allocations as number), 0), 7728);
  // Physics allocates its four contacts at line 63 each frame: one slice per frame, 4 in each.
  const contacts = slices.filter((e) => e.pid === 11 && e.args!.line === 63);
  t.is(contacts.length, 600);
  t.true(contacts.every((e) => e.args!.allocations === 4));
});

test('a block lives until its free, its scope exit, or the end of the run', (t) => {
  const timeline = timelineOf(GOLDEN);
  const audio = timeline.heaps.find((h) => h.name === 'audio')!;
  t.is(audio.blocks.length, 1800);
  t.true(audio.blocks.every((b) => b.endedBy === 'scope-exit'));
  const render = timeline.heaps.find((h) => h.name === 'render')!;
  t.deepEqual(render.blocks.filter((b) => b.end === null).map((b) => b.id), ['textures']);
  const physics = timeline.heaps.find((h) => h.name === 'physics')!;
  t.is(physics.usage.at(-1)![1], 0);
  t.is(Math.max(...physics.usage.map((u) => u[1])), 1054152); // the summary's peak in use
});

test('lanes never put two overlapping slices on one lane', (t) => {
  // [12, 13] starts as [7, 12] ends: not after it, so a third lane.
  t.deepEqual(packLanes([[0, 10], [5, 6], [7, 12], [11, 20], [12, 13]], 8), [0, 1, 1, 0, 2]);
  t.is(packLanes([[0, 10], [1, 10], [2, 10]], 2), null);
});

/** Every data-name in an SVG, after checking it is well-formed XML. */
function svgNames(t: { true(v: boolean, m?: string): void }, svg: string): { names: Set<string>; classes: string[] } {
  const valid = XMLValidator.validate(svg);
  t.true(valid === true, JSON.stringify(valid));
  const names = new Set<string>();
  const classes: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node === null || typeof node !== 'object') return;
    const n = node as Record<string, unknown>;
    if (typeof n['@_data-name'] === 'string') names.add(n['@_data-name']);
    if (typeof n['@_class'] === 'string') classes.push(n['@_class']);
    Object.values(n).forEach(walk);
  };
  walk(new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_' }).parse(svg));
  return { names, classes };
}

test('the SVG map of psp-game is XML and names every region, section, segment, guard, shared region and heap', (t) => {
  const dir = tempDir();
  const out = join(dir, 'map.svg');
  const r = emu(['map', PSP_GAME, '--svg', out]);
  t.is(r.status, 0, r.stderr);
  const { names, classes } = svgNames(t, readFileSync(out, 'utf8'));
  const scenario = loadScenario(PSP_GAME);
  const expected = [...scenario.target.regions.map((x) => x.name), ...scenario.target.partitions.map((p) => p.name), ...buildLayout(scenario).placed.map((p) => p.name)];
  t.is(expected.length, 24); // 3 regions, 3 partitions, 3 sections, the arena, 4 segments, 4 guards, 1 shared region, 5 heaps
  t.deepEqual(expected.filter((n) => !names.has(n)), []);
  // The PSP has no MMU or MPU: its four guards are canaries; the views and mirrors are drawn too.
  t.is(classes.filter((c) => c === 'box guard-canary').length, 4);
  t.true(names.has('ram/kernel-uncached') && names.has('vram mirror 0x04200000'));
});

test('guards are coloured by how the target enforces them: MMU pages, MPU regions', (t) => {
  const dir = tempDir();
  for (const [scenario, kind] of [['qnx-guard-trap', 'guard-mmu'], ['bare-metal-mpu-regions', 'guard-mpu']]) {
    const out = join(dir, `${scenario}.svg`);
    t.is(emu(['map', join(REPO, 'scenarios', `${scenario}.yaml`), '--svg', out]).status, 0);
    const { classes } = svgNames(t, readFileSync(out, 'utf8'));
    t.true(classes.includes(`box ${kind}`), `${scenario}: ${kind}`);
  }
});

test("a target's map names its regions, partitions and sections", (t) => {
  const dir = tempDir();
  const out = join(dir, 'psp.svg');
  t.is(emu(['map', 'psp', '--svg', out]).status, 0);
  const { names } = svgNames(t, readFileSync(out, 'utf8'));
  for (const n of ['scratchpad', 'vram', 'ram', 'kernel', 'volatile', 'user', '.wrt_runtime', '.wrt_instances', '.wrt_scratch', 'reserved']) t.true(names.has(n), n);
});

test('the timeline, the map and the report are byte-identical across runs', (t) => {
  const dir = tempDir();
  const bytes = (args: string[], file: string) => {
    const r = emu([...args, join(dir, file)], { cwd: dir });
    t.is(r.status, 0, r.stderr);
    return readFileSync(join(dir, file));
  };
  for (const [args, name] of [[['run', PSP_GAME, '--perfetto'], 'timeline.json'], [['map', PSP_GAME, '--svg'], 'map.svg'], [['report', PSP_GAME, '-o'], 'report.html']] as const) {
    const first = bytes([...args], `1-${name}`);
    const second = bytes([...args], `2-${name}`);
    t.true(first.equals(second), `${name} differs between runs`);
  }
});

test('--chrome beside --json leaves the JSON alone', (t) => {
  const dir = tempDir();
  const r = emu(['run', PSP_GAME, '--json', '--chrome', join(dir, 'x.json')]);
  t.is(r.status, 0, r.stderr);
  t.is((JSON.parse(r.stdout) as { scenarios: { scenario: string }[] }).scenarios[0].scenario, 'psp-game');
  t.true(readFileSync(join(dir, 'x.json'), 'utf8').startsWith('{"displayTimeUnit":"ns"'));
});

test('--chrome takes one scenario and a writable file', (t) => {
  const r = emu(['run', PSP_GAME, PSP_GAME, '--chrome', '/tmp/x.json']);
  t.is(r.status, 2);
  t.regex(r.stderr, /--chrome takes one scenario/);
  const missing = emu(['run', PSP_GAME, '--chrome', '/no/such/folder/x.json']);
  t.is(missing.status, 2);
  t.regex(missing.stderr, /--chrome \/no\/such\/folder\/x\.json: cannot write there/);
});

test('a long run stays drawable: a frame bar per pixel column, DMA marks merged where they touch', (t) => {
  const dir = tempDir();
  const scenario = join(dir, 'many-frames.yaml');
  writeFileSync(
    scenario,
    `name: many-frames
target: psp
seed: 1
heaps:
  - {name: main, allocator: first-fit, in: user, size: 1M}
steps:
  - alloc: {id: buf, heap: main, size: 4K, align: 64}
  - repeat:
      times: 3000
      steps:
        - dma: {channel: ge, from: {id: buf}, to: vram, len: 64}
        - frame: {budget: 1ms}
`,
  );
  const out = join(dir, 'report.html');
  const r = emu(['report', scenario, '-o', out]);
  t.is(r.status, 0, r.stderr);
  const html = readFileSync(out, 'utf8');
  const chart = (name: string) => html.slice(html.indexOf(`data-chart="${name}"`), html.indexOf('</svg>', html.indexOf(`data-chart="${name}"`)));
  // 3,000 frames on an 820-pixel axis: 4 frames a bar, 750 bars.
  t.is(chart('frames').match(/class="bar"/g)?.length, 750);
  t.regex(chart('frames'), /<title>frames 1\.\.4, worst 1: /);
  // 3,000 transfers of 64 bytes, 0.3 pixel apart: one mark.
  t.deepEqual(chart('dma').match(/<title>[\d,]+ ge transfers<\/title>/g), ['<title>3,000 ge transfers</title>']);
});
