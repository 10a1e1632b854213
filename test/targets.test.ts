/**
 * The targets as their sources describe them: one test per fact of the corrected target tables
 * (views and mirrors, kernel and user, alignment by architecture, DMA rules and timing, caches), each
 * beside its near miss where there is one.
 */
import test from 'ava';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUILTIN_TARGETS } from '../src/target/load.js';
import type { TraceEvent } from '../src/trace/schema.js';
import { emu, ofType, runText, tempDir } from './helpers/scenario.js';

const faultsOf = (events: TraceEvent[]) => ofType(events, 'fault').filter((f) => f.kind !== 'leak');
const kinds = (fs: TraceEvent[]) => fs.map((f) => `${f.kind}/${f.detected}`);
function faults(text: string): string[] {
  return kinds(faultsOf(runText(text).events));
}
/** One access step on a target, with no heaps: the faults it raises. */
const access = (target: string, step: string, top = '') => faults(`target: ${target}\n${top}steps:\n  - ${step}\n`);

/** A copy of a shipped target file with `edit` applied, in a fresh folder (the name must stay). */
function editedTarget(name: string, edit: (text: string) => string): string {
  const dir = join(tempDir(), 'targets');
  mkdirSync(dir);
  const file = join(dir, `${name}.yaml`);
  const text = readFileSync(join(BUILTIN_TARGETS, `${name}.yaml`), 'utf8');
  const edited = edit(text);
  if (edited === text) throw new Error(`the edit of ${name}.yaml changed nothing`);
  writeFileSync(file, edited);
  return file;
}

// ---- PSX ----

test('psx: RAM mirrors exist in KUSEG, KSEG0 and KSEG1, and reach the same memory as the base', (t) => {
  // A canary band at a known address, written through each view's second mirror: the same band.
  const layout = (addr: string) => `
target: psx
leak_check: false
layout:
  arena: {in: .wrt_instances, size: 64K}
  guard: 256
  components: [{name: a, size: 1K}, {name: b, size: 1K}]
steps:
  - write: {addr: ${addr}, len: 4}
  - check
`;
  // guard:b is at 0x00050400 (.wrt_instances at 0x50000, after the BIOS area and .wrt_runtime; then a's 1 KiB).
  for (const addr of ['0x00050400', '0x00250400', '0x80450400', '0xA0650400']) {
    const found = faultsOf(runText(layout(addr)).events);
    t.deepEqual(kinds(found), ['canary-corrupt/delayed'], addr);
    t.regex(found[0].detail as string, /canary band guard:b at 0x00050400/, addr);
  }
  // Near miss: the word before the guard, through a mirror, is a's.
  t.deepEqual(kinds(faultsOf(runText(layout('0xA02503FC')).events)), []);
  // Past the 8 MiB of mirrors there is nothing, in any view.
  t.deepEqual(access('psx', 'read: {addr: 0x00800000}'), ['unmapped/precise']);
  t.deepEqual(access('psx', 'read: {addr: 0xA0800000}'), ['unmapped/precise']);
});

test('psx: the scratchpad is at 0x1F800000 and 0x9F800000, not in KSEG1', (t) => {
  t.deepEqual(access('psx', 'read: {addr: 0x1F800000}'), []);
  t.deepEqual(access('psx', 'read: {addr: 0x9F8003FC}'), []);
  t.deepEqual(access('psx', 'read: {addr: 0xBF800000}'), ['unmapped/precise']);
});

test('psx: an 8-byte access is two word accesses, each word-aligned, at RAM latency each', (t) => {
  t.deepEqual(access('psx', 'read: {addr: 0x00010004, width: 8}'), []);
  t.deepEqual(access('psx', 'read: {addr: 0x00010002, width: 8}'), ['misaligned/precise']);
  const [read] = ofType(runText('target: psx\nsteps:\n  - read: {addr: 0x00010004, width: 8}\n').events, 'access');
  t.is(read.cycles, 2 * 7); // two 32-bit bus words at 7 cycles a load
});

test('psx: a misaligned DMA address is truncated, not refused: the transfer runs from the word below', (t) => {
  const dma = (from: string) => runText(`
target: psx
steps:
  - dma: {channel: gpu, from: {addr: ${from}}, to: vram, len: 1K}
`).events;
  const events = dma('0x00010002');
  t.deepEqual(kinds(faultsOf(events)), ['dma-align/silent']);
  t.regex(faultsOf(events)[0].detail as string, /runs from 0x00010000/);
  const [transfer] = ofType(events, 'dma');
  t.deepEqual([transfer.from, transfer.cycles], [0x00010000, 272]); // it ran: 256 words
  t.deepEqual(kinds(faultsOf(dma('0x00010000'))), []);
});

test('psx: DMA RAM time per 0x100 words: GPU 0x110, SPU 0x420, CD-ROM 0x1800, PIO 0x1400', (t) => {
  const cycles = (channel: string, from: string, to: string) =>
    ofType(runText(`target: psx\nsteps:\n  - dma: {channel: ${channel}, from: ${from}, to: ${to}, len: 1K}\n`).events, 'dma')[0].cycles;
  const ram = '{addr: 0x00010000}';
  t.is(cycles('gpu', ram, 'vram'), 0x110);
  t.is(cycles('spu', ram, 'spu'), 0x420);
  t.is(cycles('cdrom', 'device', ram), 0x1800);
  t.is(cycles('pio', ram, ram), 0x1400);
  // 0x110 per 0x100 words is duckstation's words + ceil(words / 16): 100 words cost 107.
  t.is(ofType(runText(`target: psx\nsteps:\n  - dma: {channel: gpu, from: ${ram}, to: vram, len: 400}\n`).events, 'dma')[0].cycles, 107);
});

// ---- PSP ----

test('psp: K1 (0xA8...) and the scratchpad views at 0x40010000 and 0x80010000 reach their memory in kernel mode', (t) => {
  const kernel = 'mode: kernel\n';
  t.deepEqual(access('psp', 'read: {addr: 0xA8800000}', kernel), []);
  t.deepEqual(access('psp', 'read: {addr: 0x40010000}', kernel), []);
  t.deepEqual(access('psp', 'read: {addr: 0x80013FFC}', kernel), []);
  // K1 is uncached: a read pays RAM latency; the cached window through the cache fills a line.
  const cost = (addr: string) => ofType(runText(`target: psp\nmode: kernel\nsteps:\n  - read: {addr: ${addr}}\n`).events, 'access')[0].cycles;
  t.is(cost('0xA8800000'), 70);
  t.is(cost('0x08800000'), 1 + 70 + 15);
});

test('psp: in user mode a kernel segment or the kernel partition faults at once; in kernel mode it does not', (t) => {
  const user = access('psp', 'read: {addr: 0x88800000}');
  t.deepEqual(user, ['access-violation/precise']);
  t.deepEqual(access('psp', 'read: {addr: 0x88800000}', 'mode: kernel\n'), []);
  // The kernel partition through the user segment's window: still the kernel's memory.
  t.deepEqual(access('psp', 'write: {addr: 0x08100000}'), ['access-violation/precise']);
  t.deepEqual(access('psp', 'write: {addr: 0x48100000}'), ['access-violation/precise']);
  t.deepEqual(access('psp', 'write: {addr: 0x08100000}', 'mode: kernel\n'), []);
  // Near miss: the user partition through the user windows.
  t.deepEqual(access('psp', 'write: {addr: 0x08804000}'), []);
  t.deepEqual(access('psp', 'write: {addr: 0x48804000}'), []);
  const [fault] = faultsOf(runText('target: psp\nsteps:\n  - read: {addr: 0xA8800000}\n').events);
  t.regex(fault.detail as string, /in user mode: 0x80000000\.\.0xFFFFFFFF is kernel-only \(kernel segments K0\/K1/);
});

test('psp: the usersystemlib block takes 0x08800000-0x08803FFF, so user sections start at 0x08804000', (t) => {
  const { events } = runText('target: psp\nsteps: [check]\n');
  const sections = ofType(events, 'place').filter((p) => p.what === 'section');
  t.deepEqual(sections.map((s) => [s.name, s.addr]), [
    ['.wrt_runtime', 0x08804000],
    ['.wrt_instances', 0x08904000],
    ['.wrt_scratch', 0x08d04000],
  ]);
});

test('psp: a heap in the kernel partition is layout-invalid in user mode with the console\'s 0x800200D6', (t) => {
  const heap = (mode: string) => runText(`target: psp\n${mode}heaps: [{name: k, allocator: psp-sysmem, in: kernel}]\nsteps: [{alloc: {id: a, heap: k, size: 256}}]\n`);
  const user = faultsOf(heap('').events);
  t.deepEqual(kinds(user), ['layout-invalid/precise']);
  t.regex(user[0].detail as string, /heap k \(0x08000000\.\.0x083FFFFF\) lies in the kernel partition kernel.*error 0x800200D6/);
  t.deepEqual(kinds(faultsOf(heap('mode: kernel\n').events)), []);
  // Near miss: the volatile partition is the user's to allocate from.
  t.deepEqual(faults('target: psp\nheaps: [{name: v, allocator: psp-sysmem, in: volatile}]\nsteps: [{alloc: {id: a, heap: v, size: 256}}, {free: a}]\n'), []);
});

test('psp: freeing a deleted or unknown block returns 0x800200CB in the free event and changes nothing', (t) => {
  const { events } = runText(`
target: psp
heaps: [{name: v, allocator: psp-sysmem, in: volatile}]
steps:
  - alloc: {id: a, heap: v, size: 256}
  - free: a
  - free: a
  - free: {id: never, heap: v}
`);
  const frees = ofType(events, 'free');
  t.deepEqual(frees.map((f) => [f.id, f.addr, f.error]), [
    ['a', 0x08400000, null],
    ['a', null, 0x800200cb],
    ['never', null, 0x800200cb],
  ]);
  // The API checks the block and answers 0x800200CB: both misuses are seen where they happen.
  t.deepEqual(kinds(faultsOf(events)), ['double-free/precise', 'invalid-free/precise']);
  t.deepEqual(faultsOf(events).map((f) => f.heap), ['v', 'v']);
});

test('psp: an invalidate off 64-byte lines returns 0x8002044C and invalidates nothing, so the stale read stays', (t) => {
  const run = (addr: string, len: string) => runText(`
target: psp
heaps: [{name: h, allocator: first-fit, in: .wrt_scratch}]
steps:
  - alloc: {id: buf, heap: h, size: 4K, align: 64}
  - read: {id: buf, len: 1K}
  - dma: {channel: dmac, from: {addr: 0x04000000}, to: {id: buf}, len: 1K}
  - cache: {op: invalidate, ${addr}, len: ${len}}
  - read: {id: buf, len: 64}
  - free: buf
`).events;
  const refused = run('id: buf, offset: 32', '1K');
  t.deepEqual(ofType(refused, 'cache').map((c) => [c.error, c.lines]), [[0x8002044c, 0]]);
  t.deepEqual(kinds(faultsOf(refused)), ['dma-stale/silent']);
  t.deepEqual(kinds(faultsOf(run('id: buf', '1000'))), ['dma-stale/silent']);
  const done = run('id: buf', '1K');
  t.deepEqual(ofType(done, 'cache').map((c) => [c.error, c.lines]), [[0, 16]]);
  t.deepEqual(kinds(faultsOf(done)), []);
});

test('psp: Allegrex misaligned lw traps (confirmed on hardware)', (t) => {
  t.deepEqual(access('psp', 'read: {addr: 0x08804002, width: 4}'), ['misaligned/precise']);
  t.deepEqual(access('psp', 'read: {addr: 0x08804004, width: 4}'), []);
});

// ---- Dreamcast ----

test('dreamcast: the RAM mirrors appear in P0, P1 and P2; P1 is cached, P2 not', (t) => {
  for (const addr of ['0x0D010000', '0x8E010000', '0xAF010000']) t.deepEqual(access('dreamcast', `read: {addr: ${addr}}`), [], addr);
  const cost = (addr: string) => ofType(runText(`target: dreamcast\nsteps:\n  - read: {addr: ${addr}}\n`).events, 'access')[0].cycles;
  t.is(cost('0xAF010000'), 14); // uncached: one bus word at 7 bus cycles x2
  t.is(cost('0x8F010000'), 1 + 14 + 3); // cached: a 32-byte line fill, 8-byte bus
  t.deepEqual(access('dreamcast', 'read: {addr: 0xB0000000}'), ['unmapped/precise']);
});

test('dreamcast: sound RAM at 0xA0800000 and VRAM at 0xA4000000 and 0xA5000000; VRAM and AICA writes cost 24 cycles', (t) => {
  const write = (addr: string) => runText(`target: dreamcast\nsteps:\n  - write: {addr: ${addr}}\n`);
  for (const addr of ['0xA0800000', '0xA4000000', '0xA57FFFFC', '0x05000000']) {
    const { events } = write(addr);
    t.deepEqual(kinds(faultsOf(events)), [], addr);
    t.is(ofType(events, 'access')[0].cycles, 24, addr);
  }
  t.is(ofType(runText('target: dreamcast\nsteps:\n  - read: {addr: 0xA5000000}\n').events, 'access')[0].cycles, 82);
});

test('dreamcast: the TA FIFOs are PVR DMA destinations, by address or by name; PVR DMA stalls the CPU', (t) => {
  const pvr = (to: string) => runText(`
target: dreamcast
heaps: [{name: h, allocator: first-fit, in: .wrt_scratch}]
steps:
  - alloc: {id: list, heap: h, size: 4K, align: 32}
  - cache: {op: writeback, id: list, len: 4K}
  - dma: {channel: pvr, from: {id: list}, to: ${to}, len: 4K}
  - free: list
`).events;
  for (const to of ['{addr: 0x10000000}', 'ta_input', '{addr: 0x10800000}', '{addr: 0x11000000}', 'ta_tex32', '{addr: 0x04200000}']) {
    const events = pvr(to);
    t.deepEqual(kinds(faultsOf(events)), [], to);
    const [dma] = ofType(events, 'dma');
    t.deepEqual([dma.cycles, dma.stall], [128 * 10, 128 * 10], to); // 128 32-byte units, 5 bus cycles each
  }
  // Near miss: nothing at 0x12000000, and the G2 channel does not reach the TA.
  t.deepEqual(kinds(faultsOf(pvr('{addr: 0x12000000}'))), ['dma-region/precise']);
  t.deepEqual(faults('target: dreamcast\nsteps:\n  - dma: {channel: g2, from: {addr: 0x0C010000}, to: ta_input, len: 32}\n'), ['dma-region/precise']);
});

test('dreamcast: the store queues at 0xE0000000 take writes', (t) => {
  t.deepEqual(access('dreamcast', 'write: {addr: 0xE0000000, len: 32}'), []);
  const [write] = ofType(runText('target: dreamcast\nsteps:\n  - write: {addr: 0xE0000020, len: 32}\n').events, 'access');
  t.is(write.cycles, 0);
});

test('dreamcast: a direct-mapped 16 KiB cache and no OCRAM, or an 8 KiB cache beside 8 KiB of OCRAM', (t) => {
  // Two lines 8 KiB apart: in 16 KiB direct-mapped they sit in different sets, in 8 KiB they collide.
  const reloads = (top: string) => {
    const { events } = runText(`target: dreamcast\n${top}steps:\n  - read: {addr: 0x8C010000}\n  - read: {addr: 0x8C012000}\n  - read: {addr: 0x8C010000}\n`);
    return ofType(events, 'access').map((a) => a.cycles);
  };
  t.deepEqual(reloads(''), [18, 18, 1]);
  t.deepEqual(reloads('cache_as_ram: true\n'), [18, 18, 18]);
  // 16 KiB apart collide in the 16 KiB cache: direct-mapped, one way.
  const { events } = runText('target: dreamcast\nsteps:\n  - read: {addr: 0x8C010000}\n  - read: {addr: 0x8C014000}\n  - read: {addr: 0x8C010000}\n');
  t.deepEqual(ofType(events, 'access').map((a) => a.cycles), [18, 18, 18]);
  t.deepEqual(access('dreamcast', 'read: {addr: 0x7C001000}'), ['unmapped/precise']);
  t.deepEqual(access('dreamcast', 'read: {addr: 0x7C001000}', 'cache_as_ram: true\n'), []);
});

// ---- Cortex-M7 ----

test('bare-metal: LDRD and LDM need a word boundary, not 8; LDR may be unaligned in Normal memory', (t) => {
  t.deepEqual(access('bare-metal', 'read: {addr: 0x20020004, width: 8}'), []);
  t.deepEqual(access('bare-metal', 'read: {addr: 0x20020002, width: 8}'), ['misaligned/precise']);
  t.deepEqual(access('bare-metal', 'write: {addr: 0x20020004, len: 16, width: multiple}'), []);
  t.deepEqual(access('bare-metal', 'write: {addr: 0x20020006, len: 16, width: multiple}'), ['misaligned/precise']);
  t.deepEqual(access('bare-metal', 'read: {addr: 0x20020001, width: 4}'), []);
});

test('bare-metal: SDRAM is Normal cached memory through the boot MPU region; without it Device memory', (t) => {
  const run = (target: string) => runText(`target: ${target}\nsteps:\n  - read: {addr: 0xC0000002, width: 4}\n  - read: {addr: 0xC0000040, width: 4}\n`).events;
  const normal = run('bare-metal');
  t.deepEqual(kinds(faultsOf(normal)), []);
  t.deepEqual(ofType(normal, 'access').map((a) => a.cycles), [1 + 10 + 7, 1 + 10 + 7]); // cached: line fills
  const file = editedTarget('bare-metal', (text) => text.replace(/    boot:\n      - \{region: sdram[^\n]*\n/, ''));
  const device = run(file);
  t.deepEqual(kinds(faultsOf(device)), ['misaligned/precise']);
  t.regex(faultsOf(device)[0].detail as string, /in sdram, Device memory/);
  t.deepEqual(ofType(device, 'access').map((a) => a.cycles), [0, 10]); // uncached: one bus word
});

test('bare-metal: the boot MPU region leaves 7 for guards; a target without it has all 8', (t) => {
  const components = Array.from({ length: 10 }, (_, i) => `{name: c${i}, size: 1K}`).join(', ');
  const scenario = (target: string) => `target: ${target}\nlayout:\n  arena: {in: sram, size: 64K}\n  guard: 1K\n  align: 1K\n  components: [${components}]\nsteps: [check]\n`;
  const mpu = (target: string) => ofType(runText(scenario(target)).events, 'place').filter((p) => p.protection === 'mpu').length;
  t.is(mpu('bare-metal'), 7);
  t.is(mpu(editedTarget('bare-metal', (text) => text.replace(/    boot:\n      - \{region: sdram[^\n]*\n/, ''))), 8);
});

test('bare-metal: DMA needs only the data size alignment; on cached SRAM a dirty shared line is stale, on DTCM nothing is', (t) => {
  t.deepEqual(access('bare-metal', 'dma: {channel: dma2, from: {addr: 0x20000004}, to: {addr: 0x20000104}, len: 8}'), []);
  t.deepEqual(access('bare-metal', 'dma: {channel: dma2, from: {addr: 0x20000002}, to: {addr: 0x20000104}, len: 8}'), ['dma-align/precise']);
  // The CPU's data shares the receive buffer's first line, dirty in the cache: its write-back loses the DMA's bytes.
  const receive = (cpuData: number) => faults(`
target: bare-metal
steps:
  - write: {addr: ${cpuData}, len: 4}
  - dma: {channel: dma2, from: {addr: 0xC0000000}, to: {addr: ${cpuData + 4}}, len: 64}
`);
  t.deepEqual(receive(0x20020000), ['dma-stale/silent']); // SRAM, cached
  t.deepEqual(receive(0x20000000), []); // DTCM: not cached
  // Near miss on SRAM: the line cleaned (SCB_CleanDCache_by_Addr) before the transfer.
  t.deepEqual(faults(`
target: bare-metal
steps:
  - write: {addr: 0x20020000, len: 4}
  - cache: {op: writeback-invalidate, addr: 0x20020000, len: 32}
  - dma: {channel: dma2, from: {addr: 0xC0000000}, to: {addr: 0x20020004}, len: 64}
`), []);
});

// ---- Transfers that run beside the CPU ----

test('a transfer runs beside the CPU: touching its memory before it ends is dma-stale; wait ends it; a busy channel waits', (t) => {
  const run = (steps: string) => runText(`
target: bare-metal
steps:
  - dma: {channel: dma2, from: {addr: 0x20000000}, to: {addr: 0x20001000}, len: 4K}
${steps}`).events;
  // 1,024 words at a cycle each: the transfer ends at cycle 1,024.
  t.deepEqual(kinds(faultsOf(run('  - read: {addr: 0x20001FFC}\n'))), ['dma-stale/silent']);
  t.regex(faultsOf(run('  - read: {addr: 0x20001FFC}\n'))[0].detail as string, /the dma2 DMA started at op 1 \(line 4\) writes that memory until cycle 1024/);
  t.deepEqual(kinds(faultsOf(run('  - write: {addr: 0x20000000}\n'))), ['dma-stale/silent']); // it still reads its source
  t.deepEqual(kinds(faultsOf(run('  - read: {addr: 0x20000000}\n'))), []); // reading the source is fine
  const waited = run('  - wait: {channel: dma2}\n  - read: {addr: 0x20001FFC}\n');
  t.deepEqual(kinds(faultsOf(waited)), []);
  t.deepEqual(ofType(waited, 'wait').map((w) => w.cycles), [1024]);
  t.deepEqual(kinds(faultsOf(run('  - idle: 1024\n  - read: {addr: 0x20001FFC}\n'))), []);
  const busy = run('  - dma: {channel: dma2, from: {addr: 0x20000000}, to: {addr: 0x20003000}, len: 32}\n');
  t.deepEqual(ofType(busy, 'dma').map((d) => [d.cycle, d.waited]), [[0, undefined], [1024, 1024]]);
});

// ---- QNX and the map ----

test('qnx: partitions stay heap containers; the target file says their addresses are emu\'s assumption', (t) => {
  t.deepEqual(faults('target: qnx\nheaps: [{name: w, allocator: tlsf, in: wasm_memory}]\nsteps: [{alloc: {id: a, heap: w, size: 64}}, {free: a}]\n'), []);
  t.regex(readFileSync(join(BUILTIN_TARGETS, 'qnx.yaml'), 'utf8'), /budget per\n# memory class, not a fixed physical range[\s\S]*emu's assumption/);
});

test('emu map lists every view with its mirrors and what user mode may not touch', (t) => {
  const psx = emu(['map', 'psx']);
  t.is(psx.status, 0);
  t.regex(psx.stdout, /ram\/kseg1 mirror 0xA0600000\s+0xA0600000\s+0xA07FFFFF\s+uncached\s+ram/);
  t.regex(psx.stdout, /scratchpad\/kseg0\s+0x9F800000/);
  const psp = emu(['map', 'psp']);
  t.regex(psp.stdout, /ram\/kernel-uncached\s+0xA8000000/);
  t.regex(psp.stdout, /user mode may not touch 0x80000000\.\.0xFFFFFFFF, partition kernel/);
  const dc = emu(['map', 'dreamcast']);
  t.notRegex(dc.stdout, /^ocram/m);
  t.regex(dc.stdout, /cache_as_ram: true turns 8 KiB of the cache into region ocram/);
});

test('bad target files still exit 2 with file:line:col', (t) => {
  const file = editedTarget('psx', (text) => text.replace('doubleword: 4 ', 'doubleword: 3 '));
  const dir = join(file, '..', '..');
  writeFileSync(join(dir, 's.yaml'), `target: ${file}\nsteps: [check]\n`);
  const out = emu(['run', join(dir, 's.yaml')]);
  t.is(out.status, 2);
  t.regex(out.stderr, /psx\.yaml:\d+:\d+: .*alignment\.doubleword: expected allowed, fault or a power of two up to 8, got 3/);
});
