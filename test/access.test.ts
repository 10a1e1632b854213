/**
 * Accesses, guards and DMA: every fault kind made to happen, beside its near miss that must not.
 */
import test from 'ava';
import type { TraceEvent } from '../src/trace/schema.js';
import { ofType, runText } from './helpers/scenario.js';

function faults(text: string): TraceEvent[] {
  return ofType(runText(text).events, 'fault').filter((f) => f.kind !== 'leak');
}

const kinds = (fs: TraceEvent[]) => fs.map((f) => `${f.kind}/${f.detected}`);

/** Two 64 KiB segments with a 4 KiB guard between them; a bump heap filling `physics`. */
function segments(target: string, arenaIn: string, steps: string): string {
  return `
target: ${target}
leak_check: false
layout:
  arena: {in: ${arenaIn}, size: 256K}
  guard: 4K
  align: 4K
  components: [{name: physics, size: 64K}, {name: renderer, size: 64K}]
  shared: [{name: buf, size: 4K, access: {physics: w, renderer: r}}]
heaps:
  - {name: p, allocator: bump, in: physics}
  - {name: r, allocator: bump, in: renderer}
steps:
  - alloc: {id: world, heap: p, size: 64K}
${steps}`;
}

test('the same overflow past a segment: delayed on the PSP, precise on QNX, precise on the MPU board', (t) => {
  const overflow = `  - write: {id: world, offset: 65534, len: 4, width: 2}
  - frame
`;
  const psp = faults(segments('psp', 'user', overflow));
  t.deepEqual(kinds(psp), ['canary-corrupt/delayed']);
  t.deepEqual([psp[0].line, psp[0].op, psp[0].cause_op, psp[0].cause_line], [16, 3, 2, 15]); // found at the frame, written by op 2
  const qnx = faults(segments('qnx', 'wasm_memory', overflow));
  t.deepEqual(kinds(qnx), ['guard-hit/precise']);
  t.is(qnx[0].line, 15);
  const bare = faults(segments('bare-metal', 'sram', overflow));
  t.deepEqual(kinds(bare), ['guard-hit/precise']);
  t.regex(bare[0].detail as string, /trapped by the MPU/);
});

test('near miss: the last bytes of the segment touch no guard on any target', (t) => {
  const lastBytes = `  - write: {id: world, offset: 65532, len: 4}
  - frame
`;
  for (const [target, arenaIn] of [['psp', 'user'], ['qnx', 'wasm_memory'], ['bare-metal', 'sram']]) {
    t.deepEqual(faults(segments(target, arenaIn, lastBytes)), [], target);
  }
});

test('a canary is reported once per write, at the first check after it, and again only after a new write', (t) => {
  const fs = faults(segments('psp', 'user', `  - write: {id: world, offset: 65536, len: 8}
  - check
  - check
  - write: {id: world, offset: 65540, len: 1, width: 1}
  - idle: 10
`));
  // The second write is never checked: at the end of the run it was never noticed.
  t.deepEqual(kinds(fs), ['canary-corrupt/delayed', 'canary-corrupt/silent']);
  t.deepEqual(fs.map((f) => [f.line, f.cause_line]), [[16, 15], [19, 18]]);
});

test('the MPU traps only the guards that fit its rules and its free regions; the rest are canaries', (t) => {
  const components = Array.from({ length: 10 }, (_, i) => `{name: c${i}, size: 1K}`).join(', ');
  const { events } = runText(`
target: bare-metal
layout:
  arena: {in: sram, size: 64K}
  guard: 1K
  align: 1K
  components: [${components}]
steps: [check]
`);
  const guards = ofType(events, 'place').filter((p) => p.what === 'guard');
  // Nine 1 KiB guards at 1 KiB boundaries all fit the ARMv7-M rules; of the MPU's 8 regions the
  // board's start-up took one for the SDRAM, so 7 are left.
  t.is(guards.length, 9);
  t.deepEqual(guards.map((g) => g.protection), ['mpu', 'mpu', 'mpu', 'mpu', 'mpu', 'mpu', 'mpu', 'canary', 'canary']);
  const odd = runText(`
target: bare-metal
layout:
  arena: {in: sram, size: 64K}
  guard: 100
  components: [{name: a, size: 1K}, {name: b, size: 1K}]
steps: [check]
`);
  // 100 bytes is not a power of two: no MPU region can cover it exactly.
  t.deepEqual(ofType(odd.events, 'place').filter((p) => p.what === 'guard').map((g) => g.protection), ['canary']);
});

test('unmapped: no region, a region the CPU cannot reach, and a write to ROM; reads of ROM are fine', (t) => {
  const psx = (steps: string) => faults(`
target: psx
heaps: [{name: h, allocator: bump, in: .wrt_scratch}]
steps:
${steps}`);
  t.deepEqual(kinds(psx('  - read: {addr: 0x1F000000}')), ['unmapped/precise']);
  t.deepEqual(kinds(psx('  - read: {addr: 0x20000000}')), ['unmapped/precise']); // VRAM: DMA only
  t.deepEqual(kinds(psx('  - write: {addr: 0x1FC00000}')), ['unmapped/silent']); // BIOS ROM ignores it
  t.deepEqual(psx('  - read: {addr: 0x1FC00000}'), []);
  t.deepEqual(psx('  - read: {addr: 0x80010000}'), []); // KSEG0 view of RAM
  t.deepEqual(kinds(psx('  - read: {addr: 0x001FFFFE, len: 4, width: 2}')), ['unmapped/precise']); // runs past RAM
  t.deepEqual(kinds(faults(`
target: bare-metal
steps:
  - write: {addr: 0x08000000}
`)), ['unmapped/precise']); // flash behind the MPU
});

test('misaligned: MIPS traps halfword and word accesses off their size; the Cortex-M7 only doubleword and multiple off a word', (t) => {
  const at = (target: string, addr: string, width: string) => kinds(faults(`
target: ${target}
steps: [{read: {addr: ${addr}, width: ${width}}}]
`));
  t.deepEqual(at('psx', '0x00010002', '4'), ['misaligned/precise']);
  t.deepEqual(at('psx', '0x00010001', '2'), ['misaligned/precise']);
  t.deepEqual(at('psx', '0x00010002', '2'), []);
  t.deepEqual(at('psx', '0x00010004', '4'), []);
  t.deepEqual(at('dreamcast', '0x0C010002', '4'), ['misaligned/precise']);
  t.deepEqual(at('bare-metal', '0x20020002', '4'), []);
  t.deepEqual(at('bare-metal', '0x20020004', '8'), []); // LDRD needs 4, not 8
  t.deepEqual(at('bare-metal', '0x20020002', '8'), ['misaligned/precise']);
  t.deepEqual(at('bare-metal', '0x20020002', 'multiple'), ['misaligned/precise']);
  t.deepEqual(at('bare-metal', '0x20020008', '8'), []);
});

test('out-of-bounds reads past a block, use after free and after a scope exit; the last byte is fine', (t) => {
  const fs = (steps: string) => faults(`
target: psp
heaps:
  - {name: h, allocator: first-fit, in: .wrt_scratch}
  - {name: frame, allocator: bump, in: {in: .wrt_instances, size: 64K}}
steps:
  - alloc: {id: a, heap: h, size: 64}
${steps}`);
  t.deepEqual(fs('  - read: {id: a, offset: 63, len: 1, width: 1}\n  - free: a'), []);
  const past = fs('  - read: {id: a, offset: 62, len: 4, width: 2}\n  - free: a');
  t.deepEqual(kinds(past), ['out-of-bounds/silent']);
  t.regex(past[0].detail as string, /2 bytes past the end of id a \(64 bytes at 0x08D04008\)/);
  t.deepEqual(kinds(fs('  - read: {id: a, offset: -4, len: 4}\n  - free: a')), ['out-of-bounds/silent']);
  t.deepEqual(kinds(fs('  - free: a\n  - read: {id: a}')), ['use-after-free/silent']);
  t.deepEqual(kinds(fs('  - free: a\n  - scope: {heap: frame, steps: [{alloc: {id: s, heap: frame, size: 16}}]}\n  - write: {id: s}')), ['use-after-free/silent']);
  t.deepEqual(kinds(fs('  - free: a\n  - read: {id: nobody}')), ['out-of-bounds/silent']);
});

test('heap-corrupt: a write over the next block\'s header is found when that block is freed, naming the write', (t) => {
  const fs = (len: number) => faults(`
target: psp
heaps: [{name: h, allocator: first-fit, in: .wrt_scratch}]
steps:
  - alloc: {id: a, heap: h, size: 64}
  - alloc: {id: b, heap: h, size: 64}
  - write: {id: a, offset: 0, len: ${len}, width: 1}
  - free: a
  - free: b
`);
  t.deepEqual(fs(64), []); // the whole block, no more
  // 68 bytes: 4 into b's 8-byte header, which sits right after a's 64-byte payload.
  const corrupt = fs(68);
  t.deepEqual(kinds(corrupt), ['heap-corrupt/delayed']);
  t.deepEqual([corrupt[0].line, corrupt[0].op, corrupt[0].cause_op, corrupt[0].cause_line, corrupt[0].heap], [9, 5, 3, 7, 'h']);
  t.regex(corrupt[0].detail as string, /overwrote h's allocator metadata at 0x08D04048/);
});

test('heap-corrupt nobody reads again is reported at the end as never noticed; a check finds it', (t) => {
  const base = `
target: psp
leak_check: false
heaps: [{name: h, allocator: first-fit, in: .wrt_scratch}]
steps:
  - alloc: {id: a, heap: h, size: 64}
  - alloc: {id: b, heap: h, size: 64}
  - write: {id: a, offset: 64, len: 4}
`;
  t.deepEqual(kinds(faults(base)), ['heap-corrupt/silent']);
  t.deepEqual(kinds(faults(base + '  - check\n')), ['heap-corrupt/delayed']);
});

test('access-violation: a component in another\'s segment or a shared region without the right', (t) => {
  const steps = (who: string, how: string, where: string) => `  - ${how}: {${where}, by: ${who}}\n`;
  const physicsSeg = 'id: world, offset: 16';
  t.deepEqual(faults(segments('psp', 'user', steps('physics', 'write', physicsSeg))), []);
  t.deepEqual(kinds(faults(segments('psp', 'user', steps('renderer', 'write', physicsSeg)))), ['access-violation/silent']);
  t.deepEqual(kinds(faults(segments('qnx', 'wasm_memory', steps('renderer', 'read', physicsSeg)))), ['access-violation/precise']);
  // The shared buffer comes after renderer's guard and segment and its own guard: arena (0x08D84000, after the usersystemlib block and the sections) + 64K + 4K + 64K + 4K.
  const buf = (base: number) => `addr: ${base + 0x10000 + 0x1000 + 0x10000 + 0x1000}`;
  t.deepEqual(faults(segments('psp', 'user', steps('physics', 'write', buf(0x08d84000)) + steps('renderer', 'read', buf(0x08d84000)))), []);
  const wrong = faults(segments('psp', 'user', steps('renderer', 'write', buf(0x08d84000))));
  t.deepEqual(kinds(wrong), ['access-violation/silent']);
  t.regex(wrong[0].detail as string, /renderer may only read the shared region buf/);
});

test('DMA: a PSP GE transfer from RAM to VRAM, and its region, alignment and length rules', (t) => {
  const ge = (from: string, len = 64, to = 'vram') => faults(`
target: psp
heaps: [{name: h, allocator: first-fit, in: .wrt_scratch}]
steps:
  - alloc: {id: tex, heap: h, size: 256, align: 16}
  - dma: {channel: ge, from: {${from}}, to: ${to}, len: ${len}}
  - free: tex
`);
  t.deepEqual(ge('id: tex, offset: 16'), []);
  t.deepEqual(kinds(ge('id: tex, offset: 8')), ['dma-align/precise']);
  t.deepEqual(kinds(ge('id: tex', 40)), ['dma-length/precise']);
  t.deepEqual(kinds(ge('id: tex', 64, '{addr: 0x08900000}')), ['dma-region/precise']); // the GE writes VRAM only
  t.deepEqual(kinds(ge('addr: 0x00010000')), ['dma-region/precise']); // nor reads the scratchpad
});

test('dma-stale: a GE DMA of data still in the cache; written back first it is clean', (t) => {
  const run = (writeback: boolean) => faults(`
target: psp
heaps: [{name: h, allocator: first-fit, in: .wrt_scratch}]
steps:
  - alloc: {id: list, heap: h, size: 256, align: 64}
  - write: {id: list, len: 256, width: 4}
${writeback ? '  - cache: {op: writeback, id: list, len: 256}\n' : ''}  - dma: {channel: ge, from: {id: list}, to: vram, len: 256}
  - free: list
`);
  t.deepEqual(run(true), []);
  const stale = run(false);
  t.deepEqual(kinds(stale), ['dma-stale/silent']);
  t.regex(stale[0].detail as string, /not written back/);
});

test('dma-stale: a CPU read of what DMA wrote needs an invalidate first (Cortex-M7 DMA2 into cached SRAM)', (t) => {
  // The CPU read the buffer before (its lines are in the cache); the DMA then writes memory under them.
  const run = (invalidate: boolean) => faults(`
target: bare-metal
steps:
  - read: {addr: 0x20020000, len: 64}
  - dma: {channel: dma2, from: {addr: 0xC0000000}, to: {addr: 0x20020000}, len: 64}
  - wait: {channel: dma2}
${invalidate ? '  - cache: {op: invalidate, addr: 0x20020000, len: 64}\n' : ''}  - read: {addr: 0x20020020, len: 4}
`);
  t.deepEqual(run(true), []);
  t.deepEqual(kinds(run(false)), ['dma-stale/silent']);
});

test('DMA timing: the PSX stalls the CPU for a GPU transfer; the PSP GE runs beside it', (t) => {
  const psx = runText(`
target: psx
heaps: [{name: h, allocator: bump, in: .wrt_scratch}]
steps:
  - alloc: {id: list, heap: h, size: 4K, align: 4}
  - dma: {channel: gpu, from: {id: list}, to: vram, len: 4K}
  - idle: 1
`);
  const [dma] = ofType(psx.events, 'dma');
  // 1,024 words at 1 cycle each, plus one RAM cycle per 16 words (duckstation's words + ceil(words/16)).
  t.is(dma.cycles, 1024 + 64);
  t.is(dma.stall, dma.cycles);
  t.is(ofType(psx.events, 'idle')[0].cycle as number, (dma.cycle as number) + (dma.stall as number));
  t.is(psx.result.summary.stall_cycles, dma.stall as number);
  t.is(psx.result.summary.dma_bytes, 4096);
  const psp = runText(`
target: psp
heaps: [{name: h, allocator: bump, in: .wrt_scratch}]
steps:
  - alloc: {id: tex, heap: h, size: 4K, align: 16}
  - dma: {channel: ge, from: {id: tex}, to: vram, len: 4K}
`);
  const [ge] = ofType(psp.events, 'dma');
  t.deepEqual([ge.stall, ge.cycles, psp.result.summary.stall_cycles], [0, 256, 0]); // 256 16-byte units at 1 cycle
});

test('a clean scenario with accesses, copies, cache maintenance and DMA reports no fault', (t) => {
  t.deepEqual(faults(segments('psp', 'user', `  - write: {id: world, len: 256, by: physics}
  - copy: {from: {id: world}, to: {id: world, offset: 1024}, len: 256, by: physics}
  - cache: {op: writeback-invalidate, id: world, len: 2K}
  - dma: {channel: ge, from: {id: world}, to: vram, len: 2K}
  - read: {id: world, offset: 65532, by: physics}
  - check
  - frame
`)), []);
});

test('one cache for timing and coherency: a line not in the cache cannot be stale, and a dirty line evicted was written back', (t) => {
  // Near miss of the test above: the buffer's lines were never in the cache, so the read fetches memory.
  t.deepEqual(faults(`
target: bare-metal
steps:
  - dma: {channel: dma2, from: {addr: 0xC0000000}, to: {addr: 0x20020000}, len: 64}
  - wait: {channel: dma2}
  - read: {addr: 0x20020020, len: 4}
`), []);
  // A dirty line pushed out of the 4-way 16 KiB cache by four lines of its set (4 KiB apart) was written
  // back on eviction: the DMA that reads it afterwards reads what the CPU wrote.
  const evict = (n: number) => Array.from({ length: n }, (_, i) => `  - read: {addr: ${0x20021000 + i * 0x1000}, len: 4}`).join('\n');
  const transmit = (reads: number) => faults(`
target: bare-metal
steps:
  - write: {addr: 0x20020000, len: 32}
${evict(reads)}
  - dma: {channel: dma2, from: {addr: 0x20020000}, to: {addr: 0x20000000}, len: 32}
`);
  t.deepEqual(kinds(transmit(3)), ['dma-stale/silent']); // still resident and dirty
  t.deepEqual(transmit(4), []); // evicted, so written back
});
