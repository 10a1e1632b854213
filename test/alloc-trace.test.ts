/**
 * The metadata trace (Work.trace): which metadata words each allocator call reads and writes, for a
 * data-cache model. Per allocator, one hand-checked sequence pins the exact addresses of an alloc and
 * a free (the comments say which word each is); then a property over random sequences: every call
 * traces exactly reads + writes entries, every address lies in the heap or the allocator's documented
 * control area, and attaching a trace changes nothing (results and counts equal an untraced twin's).
 */
import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { MetadataTrace, MODE_ADDR, MODE_HIGH, MODE_HIGH_ALIGNED, MODE_LOW, MODE_LOW_ALIGNED, newWork, resetWork, type Allocator, type Work } from '../src/alloc/allocator.js';
import { BestFitAllocator } from '../src/alloc/best-fit.js';
import { BuddyAllocator } from '../src/alloc/buddy.js';
import { BumpAllocator, bumpControlBytes } from '../src/alloc/bump.js';
import { FirstFitAllocator } from '../src/alloc/first-fit.js';
import { DlmallocAllocator } from '../src/alloc/dlmalloc.js';
import { HalfFitAllocator } from '../src/alloc/half-fit.js';
import { PoolAllocator } from '../src/alloc/pool.js';
import { GRAIN as PSP_GRAIN, PSP_CONTROL_BLOCK, PSP_KERNEL_CONTROL, PspSysmemAllocator } from '../src/alloc/psp-sysmem.js';
import { TlsfAllocator } from '../src/alloc/tlsf.js';
import { PAGE, WasmMemoryAllocator } from '../src/alloc/wasm.js';

/** A Work with a trace attached. */
function tracedWork(): Work & { trace: MetadataTrace } {
  return { ...newWork(), trace: new MetadataTrace() };
}

/** The trace as 'r 0x...' / 'w 0x...' lines, the form the expectations below are written in. */
function lines(work: Work): string[] {
  return work.trace!.entries().map(([addr, written]) => `${written ? 'w' : 'r'} 0x${addr.toString(16)}`);
}

/** Runs one call on a reset traced Work; returns its trace lines, after checking they match the counts. */
function traced(t: ExecutionContext, work: Work, call: () => unknown): string[] {
  resetWork(work);
  call();
  t.is(work.trace!.length, work.reads + work.writes, 'one entry per counted word');
  return lines(work);
}

test('MetadataTrace: grows, resets with resetWork, keeps addresses above 2^31 exactly', (t) => {
  const work = tracedWork();
  for (let i = 0; i < 200; i++) work.trace.push(0x88000000 + 4 * i, i % 3 === 0);
  t.is(work.trace.length, 200);
  t.deepEqual(work.trace.entries()[199], [0x88000000 + 796, false]);
  t.deepEqual(work.trace.entries()[198], [0x88000000 + 792, true]);
  resetWork(work);
  t.is(work.trace.length, 0);
  t.deepEqual(newWork().trace, null);
});

test('trace: bump (notional control block at the heap start: top, end, depth, checkpoints)', (t) => {
  const b = new BumpAllocator(0x2000, 256);
  const w = tracedWork();
  // top (0x2000) and end (0x2004) read, top written.
  t.deepEqual(traced(t, w, () => t.is(b.alloc(10, 4, w), 0x2000)), ['r 0x2000', 'r 0x2004', 'w 0x2000']);
  // enter: the depth (0x2008) against the limit, checkpoint 0 (0x200c) written.
  t.deepEqual(traced(t, w, () => b.enter(w)), ['r 0x2008', 'w 0x200c']);
  traced(t, w, () => b.alloc(20, 4, w));
  // exit: checkpoint 0 read, top reset.
  t.deepEqual(traced(t, w, () => b.exit(w)), ['r 0x200c', 'w 0x2000']);
  // free is a no-op: nothing read or written.
  t.deepEqual(traced(t, w, () => b.free()), []);
});

test('trace: first-fit (size word at the block, links at +8/+12; list head/tail sentinel at the heap start)', (t) => {
  const h = new FirstFitAllocator(0x1000, 1024);
  const w = tracedWork();
  // The one free block 0x1000 (1024 bytes): its size word and next link; it fits. 24 bytes take a
  // 32-byte block; the rest (0x1020) gets its header (size, boundary tag) and b's list place
  // (links at 0x1028, 0x102c); then b's size word with the in-use bit.
  t.deepEqual(traced(t, w, () => t.is(h.alloc(24, 8, w), 0x1008)), ['r 0x1000', 'r 0x1008', 'w 0x1020', 'w 0x1024', 'w 0x1028', 'w 0x102c', 'w 0x1000']);
  t.deepEqual(traced(t, w, () => t.is(h.alloc(24, 8, w), 0x1028)), ['r 0x1020', 'r 0x1028', 'w 0x1040', 'w 0x1044', 'w 0x1048', 'w 0x104c', 'w 0x1020']);
  // Free 0x1008 (block 0x1000): its size word read and written; neither neighbour is free, so it is
  // inserted before the only free block (0x1040) with no walk: its own links, 0x1040's prev link, and
  // the list head (the notional sentinel's first word, at the heap start).
  t.deepEqual(traced(t, w, () => h.free(0x1008, w)), ['r 0x1000', 'w 0x1000', 'w 0x1008', 'w 0x100c', 'w 0x104c', 'w 0x1000']);
  // Free 0x1028 (block 0x1020), between two free blocks: its size word; the next block (0x1040) is
  // free: its size word, then b's grown size and b's links (taking 0x1040's list place); the previous
  // block (0x1000) is free: its size word, its grown size, and (the merged block is the last, no
  // boundary tag after it) its next link.
  t.deepEqual(traced(t, w, () => h.free(0x1028, w)), ['r 0x1020', 'w 0x1020', 'r 0x1040', 'w 0x1020', 'w 0x1028', 'w 0x102c', 'r 0x1000', 'w 0x1000', 'w 0x1008']);
  t.deepEqual(h.check(), []);
});

test('trace: first-fit free walking the list to its insertion point, and an unlink at the list tail', (t) => {
  const h = new FirstFitAllocator(0x1000, 1024);
  const w = newWork();
  const a = h.alloc(24, 8, w); // block 0x1000
  h.alloc(24, 8, w); // 0x1020, used
  const c = h.alloc(24, 8, w); // 0x1040
  h.alloc(24, 8, w); // 0x1060, used; the rest is free at 0x1080
  h.free(a, w); // list: 0x1000, 0x1080
  const tw = tracedWork();
  // Free 0x1048 (block 0x1040): the walk visits 0x1000 (size word, next link) and stops at 0x1080;
  // then its links, 0x1080's prev link, 0x1000's next link.
  t.deepEqual(traced(t, tw, () => h.free(c, tw)), ['r 0x1040', 'w 0x1040', 'r 0x1000', 'r 0x1008', 'w 0x1048', 'w 0x104c', 'w 0x108c', 'w 0x1008']);
  // 880 bytes need an 888-byte block: the walk visits 0x1000 and 0x1040 (32 bytes each) and takes
  // 0x1080 (896 bytes); its 8-byte tail is below the minimum block, so it is taken whole and unlinked:
  // 0x1040's next link, and the list tail (the notional sentinel's second word, 0x1004).
  t.deepEqual(traced(t, tw, () => t.is(h.alloc(880, 8, tw), 0x1088)), ['r 0x1000', 'r 0x1008', 'r 0x1040', 'r 0x1048', 'r 0x1080', 'r 0x1088', 'w 0x1048', 'w 0x1004', 'w 0x1080']);
  t.deepEqual(h.check(), []);
});

test('trace: best-fit (the whole walk traced, node by node, as first-fit would)', (t) => {
  const h = new BestFitAllocator(0x1000, 1024);
  const w = newWork();
  const a = h.alloc(24, 8, w); // block 0x1000, 32 bytes
  h.alloc(24, 8, w); // 0x1020
  const c = h.alloc(56, 8, w); // 0x1040, 64 bytes
  h.alloc(24, 8, w); // 0x1080; the rest is free at 0x10a0
  h.free(a, w);
  h.free(c, w); // list: 0x1000 (32), 0x1040 (64), 0x10a0 (864)
  const tw = tracedWork();
  // 40 bytes need 48: 0x1000 is too small, 0x1040 fits and is the best, 0x10a0 is visited but bigger.
  // All three visited (size word and next link each); 0x1040 keeps a 16-byte tail at 0x1070.
  t.deepEqual(traced(t, tw, () => t.is(h.alloc(40, 8, tw), 0x1048)), [
    'r 0x1000', 'r 0x1008', 'r 0x1040', 'r 0x1048', 'r 0x10a0', 'r 0x10a8',
    'w 0x1070', 'w 0x1074', 'w 0x1078', 'w 0x107c', 'w 0x1040',
  ]);
  // Free it again: its size word; the tail block after it is free (its size word), b absorbs it.
  t.deepEqual(traced(t, tw, () => h.free(0x1048, tw)), ['r 0x1040', 'w 0x1040', 'r 0x1070', 'w 0x1040', 'w 0x1048', 'w 0x104c']);
  t.deepEqual(h.check(), []);
});

test('trace: tlsf (control structure at the heap start; size word at payload - 4, prev_phys at - 8)', (t) => {
  // Control at 0x1000: block_null 0x1000..0x100c, fl_bitmap 0x1010, sl_bitmap[i] 0x1014 + 4i,
  // blocks[fl][sl] at 0x1074 + 4 (32 fl + sl) (24 first-level classes). The pool's one free block has
  // its payload at 0x1c78 (4996 bytes, list (6, 7): head 0x1390); the sentinel's size word is 0x2ffc.
  const h = new TlsfAllocator(0x1000, 8192);
  const w = tracedWork();
  t.deepEqual(traced(t, w, () => t.is(h.alloc(100, 4, w), 0x1c78)), [
    // 100 bytes search list (0, 25): sl_bitmap[0] empty there, fl_bitmap, sl_bitmap[6], head (6, 7).
    'r 0x1014', 'r 0x1010', 'r 0x102c', 'r 0x1390',
    // remove_free_block: its prev_free and next_free, block_null's prev_free and next_free (it was
    // alone), the head, then both bitmaps' bits cleared (read, written).
    'r 0x1c7c', 'r 0x1c78', 'w 0x100c', 'w 0x1008', 'r 0x1390', 'w 0x1390', 'r 0x102c', 'w 0x102c', 'r 0x1010', 'w 0x1010',
    // block_trim_free: its size word; block_split at 100: the rest's payload is 0x1ce0 (size word
    // 0x1cdc, prev_phys 0x1cd8); the next block is the sentinel (prev_phys 0x2ff8, size 0x2ffc).
    'r 0x1c74', 'r 0x1c74', 'w 0x1cdc', 'w 0x1c74', 'r 0x2ffc', 'w 0x2ff8', 'w 0x2ffc', 'w 0x1cd8',
    // insert_free_block of the 4892-byte rest in list (6, 6), head 0x138c, empty: the head, the rest's
    // links, block_null's prev_free, the head, both bitmaps.
    'r 0x138c', 'w 0x1ce0', 'w 0x1ce4', 'w 0x100c', 'w 0x138c', 'r 0x1010', 'w 0x1010', 'r 0x102c', 'w 0x102c',
    // block_mark_as_used: the next block's (the rest's) size word read and written, its own.
    'r 0x1cdc', 'w 0x1cdc', 'w 0x1c74',
  ]);
  t.deepEqual(traced(t, w, () => t.is(h.free(0x1c78, w), 104)), [
    // block_mark_as_free: its size word, the next's; the next's prev_phys and size word, its own.
    'r 0x1c74', 'r 0x1cdc', 'w 0x1cd8', 'w 0x1cdc', 'w 0x1c74',
    // No free block before it. block_merge_next: the next's size word; it is free: removed from (6, 6).
    'r 0x1cdc', 'r 0x1ce4', 'r 0x1ce0', 'w 0x100c', 'w 0x1008', 'r 0x138c', 'w 0x138c', 'r 0x102c', 'w 0x102c', 'r 0x1010', 'w 0x1010',
    // Absorbed: its size word, the sentinel's prev_phys.
    'w 0x1c74', 'w 0x2ff8',
    // Inserted whole (4996 bytes) in (6, 7) again.
    'r 0x1390', 'w 0x1c78', 'w 0x1c7c', 'w 0x100c', 'w 0x1390', 'r 0x1010', 'w 0x1010', 'r 0x102c', 'w 0x102c',
  ]);
  t.deepEqual(h.check(), []);
});

test('trace: buddy (list heads, order mask and table bytes in the control structure after the cover)', (t) => {
  // 1024 bytes at 0x1000, 16-byte units: 58 units (928 bytes: top blocks of 512, 256, 128, 32) and
  // 88 bytes of control at 0x13a0: heads[0..5] at 0x13a0 + 4l, the mask at 0x13b8, the table at 0x13bc.
  const h = new BuddyAllocator(0x1000, 1024);
  const w = tracedWork();
  t.deepEqual(traced(t, w, () => t.is(h.alloc(16, 8, w), 0x1380)), [
    // The mask; the lowest non-empty order is 1 (unit 56, 0x1380): its head and the block's next link;
    // the head emptied.
    'r 0x13b8', 'r 0x13a4', 'r 0x1380', 'w 0x13a4',
    // One split: the upper half (unit 57, 0x1390) gets its two links, the order-0 head and its table byte.
    'w 0x1390', 'w 0x1394', 'w 0x13a0', 'w 0x13f5',
    // The block's table byte (unit 56), then the mask.
    'w 0x13f4', 'w 0x13b8',
  ]);
  t.deepEqual(traced(t, w, () => t.is(h.free(0x1380, w), 16)), [
    // Its table byte and the mask; the buddy's table byte (unit 57: free, order 0) and its links.
    'r 0x13f4', 'r 0x13b8', 'r 0x13f5', 'r 0x1390', 'r 0x1394',
    // It was alone on order 0: the head. The order-1 buddy would be past the cover: stop.
    'w 0x13a0',
    // Push on order 1: the head (empty), the block's links, the head, its table byte; the mask.
    'r 0x13a4', 'w 0x1380', 'w 0x1384', 'w 0x13a4', 'w 0x13f4', 'w 0x13b8',
  ]);
  t.deepEqual(h.check(), []);
});

test('trace: half-fit (instance at the heap start: bins, mask, diagnostics; 16-byte fragment headers)', (t) => {
  // Instance at 0x1000: bins[i] 0x1000 + 4i, mask 0x1080, capacity 0x1088, allocated 0x108c,
  // peak_allocated 0x1090, peak_request_size 0x1094. Arena at 0x10a0: 1024 bytes, one fragment.
  // Fragment header: next 0, prev 4, size 8, used 12; bin links 16, 20.
  const h = new HalfFitAllocator(0x1000, 160 + 1024);
  const w = tracedWork();
  t.deepEqual(traced(t, w, () => t.is(h.alloc(40, 8, w), 0x10b0)), [
    // capacity, the mask, bin 5's head; unbin fragment 0x10a0: its size, links, the bin head; bin 5
    // emptied (head, mask).
    'r 0x1088', 'r 0x1080', 'r 0x1014', 'r 0x10a8', 'r 0x10b0', 'r 0x10b4', 'r 0x1014', 'w 0x1014', 'w 0x1080',
    // Its size (64 bytes); its next fragment; the 960-byte remainder at 0x10e0: size, used flag.
    'w 0x10a8', 'r 0x10a0', 'w 0x10e8', 'w 0x10ec',
    // Interlinks: the remainder's next (none after it), the fragment's next, the remainder's prev.
    'w 0x10e0', 'w 0x10a0', 'w 0x10e4',
    // rebin the remainder in bin 4: its size, the head; its links, the head, the mask.
    'r 0x10e8', 'r 0x1010', 'w 0x10f0', 'w 0x10f4', 'w 0x1010', 'w 0x1080',
    // allocated and peak_allocated read, both written; the used flag; peak_request_size.
    'r 0x108c', 'r 0x1090', 'w 0x108c', 'w 0x1090', 'w 0x10ac', 'r 0x1094', 'w 0x1094',
  ]);
  t.deepEqual(traced(t, w, () => t.is(h.free(0x10b0, w), 64)), [
    // Its size, allocated, prev, next; used and allocated written; the next fragment's used flag.
    'r 0x10a8', 'r 0x108c', 'r 0x10a4', 'r 0x10a0', 'w 0x10ac', 'w 0x108c', 'r 0x10ec',
    // The next is free: unbinned from bin 4 (emptied).
    'r 0x10e8', 'r 0x10f0', 'r 0x10f4', 'r 0x1010', 'w 0x1010', 'w 0x1080',
    // Its next (none), both sizes, the interlink; rebinned whole in bin 5.
    'r 0x10e0', 'w 0x10a8', 'w 0x10e8', 'w 0x10a0', 'r 0x10a8', 'r 0x1014', 'w 0x10b0', 'w 0x10b4', 'w 0x1014', 'w 0x1080',
  ]);
  t.deepEqual(h.check(), []);
});

test('trace: pool (notional control words at the heap start: head, carve index, used, peak; links in free blocks)', (t) => {
  const h = new PoolAllocator(0x1000, 256);
  const w = tracedWork();
  // Fresh: the head (empty), the carve index read and written; used and peak read, both written.
  t.deepEqual(traced(t, w, () => t.is(h.alloc(10, 8, w), 0x1000)), ['r 0x1000', 'r 0x1004', 'w 0x1004', 'r 0x1008', 'r 0x100c', 'w 0x1008', 'w 0x100c']);
  // Free: head and used read; the block's link (block 0's first word, which the notional head shares), head, used.
  t.deepEqual(traced(t, w, () => h.free(0x1000, w)), ['r 0x1000', 'r 0x1008', 'w 0x1000', 'w 0x1000', 'w 0x1008']);
  // Pop: the head, the block's link, the head; used and peak read, used written.
  t.deepEqual(traced(t, w, () => t.is(h.alloc(10, 8, w), 0x1000)), ['r 0x1000', 'r 0x1000', 'w 0x1000', 'r 0x1008', 'r 0x100c', 'w 0x1008']);
  // With a 64-byte alignment the first block starts at 0x1040, and the control words sit alone before it.
  const aligned = new PoolAllocator(0x1010, 512, 64, null, 64);
  t.deepEqual(traced(t, w, () => t.is(aligned.alloc(10, 8, w), 0x1040)), ['r 0x1010', 'r 0x1014', 'w 0x1014', 'r 0x1018', 'r 0x101c', 'w 0x1018', 'w 0x101c']);
  t.deepEqual(traced(t, w, () => aligned.free(0x1040, w)), ['r 0x1010', 'r 0x1018', 'w 0x1040', 'w 0x1010', 'w 0x1018']);
});

test('trace: psp-sysmem (control blocks in the notional kernel list at 0x08000000)', (t) => {
  // Header: bottom 0x08000000, top 0x08000004. Slot i at 0x08000010 + 16i: start, size, prev, next.
  t.is(PSP_KERNEL_CONTROL, 0x08000000);
  const h = new PspSysmemAllocator(0x08400000, 0x10000);
  const w = tracedWork();
  t.deepEqual(traced(t, w, () => t.is(h.alloc(1, 0x100, w, MODE_LOW), 0x08400000)), [
    // Visit the one block (slot 0): start, size, next link.
    'r 0x8000010', 'r 0x8000014', 'r 0x800001c',
    // The rest after it is a new block in slot 1: its four words, the top pointer, slot 0's next and size.
    'w 0x8000020', 'w 0x8000024', 'w 0x8000028', 'w 0x800002c', 'w 0x8000004', 'w 0x800001c', 'w 0x8000014',
    // Taken.
    'w 0x8000014',
  ]);
  t.deepEqual(traced(t, w, () => t.is(h.alloc(1, 0x100, w, MODE_HIGH), 0x0840ff00)), [
    // From the top: slot 1's start, size and prev link.
    'r 0x8000020', 'r 0x8000024', 'r 0x8000028',
    // The free part below goes to a new block in slot 2: its four words, slot 0's next, slot 1's prev,
    // slot 1's start and size; then taken.
    'w 0x8000030', 'w 0x8000034', 'w 0x8000038', 'w 0x800003c', 'w 0x800001c', 'w 0x8000028', 'w 0x8000020', 'w 0x8000024', 'w 0x8000024',
  ]);
  t.deepEqual(traced(t, w, () => t.is(h.free(0x08400000, w), 0x100)), [
    // The walk from the bottom finds it at once (slot 0); its taken flag cleared.
    'r 0x8000010', 'r 0x8000014', 'r 0x800001c', 'w 0x8000014',
    // The next block (slot 2) is free: its taken flag; merged: slot 0's size, its next, slot 1's prev.
    'r 0x8000034', 'w 0x8000014', 'w 0x800001c', 'w 0x8000028',
  ]);
  t.deepEqual(h.check(), []);
  // Slot 2 was freed: the next block created reuses it.
  t.deepEqual(traced(t, w, () => t.is(h.alloc(1, 0x100, w, MODE_LOW), 0x08400000)).slice(3, 7), ['w 0x8000030', 'w 0x8000034', 'w 0x8000038', 'w 0x800003c']);
});

test('trace: wasm (its first-fit heap; memory.grow reads and writes a notional page-count word at start + 8)', (t) => {
  const h = new WasmMemoryAllocator(0x100000, 2 * PAGE, { initialPages: 1, maxPages: 2, instanceLimit: 2 * PAGE, autoGrow: false });
  const w = tracedWork();
  // As in first-fit: the free block 0x100000 (the first page) visited, split, taken.
  t.deepEqual(traced(t, w, () => t.is(h.alloc(24, 8, w), 0x100008)), ['r 0x100000', 'r 0x100008', 'w 0x100020', 'w 0x100024', 'w 0x100028', 'w 0x10002c', 'w 0x100000']);
  // grow: the page count; the new page merges with the free block at 0x100020: its size word read,
  // the page count and that size word written.
  t.deepEqual(traced(t, w, () => t.is(h.grow(1, w), 1)), ['r 0x100008', 'r 0x100020', 'w 0x100008', 'w 0x100020']);
  t.deepEqual(traced(t, w, () => t.is(h.grow(1, w), -1)), ['r 0x100008']);
  t.deepEqual(traced(t, w, () => h.free(0x100008, w)), ['r 0x100000', 'w 0x100000', 'r 0x100020', 'w 0x100000', 'w 0x100008', 'w 0x10000c']);
  t.deepEqual(h.check(), []);
});

// ---- The property: counts and trace agree, addresses stay in the heap or the control area, and a trace changes nothing.

type Op =
  | { kind: 'alloc'; size: number; alignLog: number; mode: number; at: number }
  | { kind: 'free'; pick: number }
  | { kind: 'enter' }
  | { kind: 'exit' }
  | { kind: 'grow'; pages: number }
  | { kind: 'realloc'; pick: number; size: number };

interface Subject {
  name: string;
  base: number;
  size: number;
  make: () => Allocator;
  /** Besides [base, base + size): where the allocator's control words may be traced. */
  control?: [number, number];
  /** Whether a traced address may be any byte (buddy's table bytes), not only a 4-byte word. */
  bytes?: boolean;
  maxRequest: number;
  maxAlignLog: number;
  scopes?: boolean;
  grows?: boolean;
  modes?: boolean;
}

const PSP_BASE = 0x08400000;
const PSP_SIZE = 0x8000;

const SUBJECTS: Subject[] = [
  { name: 'bump', base: 0x2000, size: 4096, make: () => new BumpAllocator(0x2000, 4096, 4), control: [0x2000, 0x2000 + bumpControlBytes(4)], maxRequest: 256, maxAlignLog: 6, scopes: true },
  { name: 'first-fit', base: 0x1004, size: 4096, make: () => new FirstFitAllocator(0x1004, 4096), maxRequest: 512, maxAlignLog: 7 },
  { name: 'best-fit', base: 0x1004, size: 4096, make: () => new BestFitAllocator(0x1004, 4096), maxRequest: 512, maxAlignLog: 7 },
  { name: 'tlsf', base: 0x90000000, size: 8192, make: () => new TlsfAllocator(0x90000000, 8192), maxRequest: 600, maxAlignLog: 7 },
  { name: 'tlsf align 8 sl_log2 2', base: 0x1000, size: 6000, make: () => new TlsfAllocator(0x1000, 6000, 2, 8), maxRequest: 600, maxAlignLog: 7 },
  { name: 'buddy', base: 0x1000, size: 4000, make: () => new BuddyAllocator(0x1000, 4000), bytes: true, maxRequest: 600, maxAlignLog: 6 },
  { name: 'half-fit', base: 0x1000, size: 4096, make: () => new HalfFitAllocator(0x1000, 4096), maxRequest: 600, maxAlignLog: 7 },
  { name: 'dlmalloc', base: 0x90000004, size: 8192, make: () => new DlmallocAllocator(0x90000004, 8192), maxRequest: 700, maxAlignLog: 9 },
  { name: 'pool', base: 0x1000, size: 1024, make: () => new PoolAllocator(0x1000, 1024, 48, null, 16), maxRequest: 64, maxAlignLog: 5 },
  {
    name: 'psp-sysmem',
    base: PSP_BASE,
    size: PSP_SIZE,
    make: () => new PspSysmemAllocator(PSP_BASE, PSP_SIZE),
    // The header and one control block per live block at most: a block is at least one grain.
    control: [PSP_KERNEL_CONTROL, PSP_KERNEL_CONTROL + PSP_CONTROL_BLOCK * (1 + PSP_SIZE / PSP_GRAIN)],
    maxRequest: 0x1800,
    maxAlignLog: 13,
    modes: true,
  },
  {
    name: 'wasm',
    base: 0x40000,
    size: 3 * PAGE,
    make: () => new WasmMemoryAllocator(0x40000, 3 * PAGE, { initialPages: 1, maxPages: 3, instanceLimit: 3 * PAGE, autoGrow: true }),
    maxRequest: 40000,
    maxAlignLog: 7,
    grows: true,
  },
];

function opArbitrary(s: Subject): fc.Arbitrary<Op> {
  const alloc = fc.record({
    kind: fc.constant('alloc' as const),
    size: fc.integer({ min: 1, max: s.maxRequest }),
    alignLog: fc.integer({ min: -1, max: s.maxAlignLog }), // -1: align 0, malloc
    mode: s.modes ? fc.constantFrom(MODE_LOW, MODE_HIGH, MODE_ADDR, MODE_LOW_ALIGNED, MODE_HIGH_ALIGNED) : fc.constant(MODE_LOW),
    at: fc.integer({ min: 0, max: PSP_SIZE }),
  });
  const arms: Array<{ weight: number; arbitrary: fc.Arbitrary<Op> }> = [
    { weight: 4, arbitrary: alloc },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('free' as const), pick: fc.nat() }) },
  ];
  if (s.scopes) {
    arms.push({ weight: 1, arbitrary: fc.constant({ kind: 'enter' as const }) });
    arms.push({ weight: 1, arbitrary: fc.constant({ kind: 'exit' as const }) });
  }
  if (s.grows) arms.push({ weight: 1, arbitrary: fc.record({ kind: fc.constant('grow' as const), pages: fc.integer({ min: 0, max: 2 }) }) });
  if (s.make().realloc) arms.push({ weight: 2, arbitrary: fc.record({ kind: fc.constant('realloc' as const), pick: fc.nat(), size: fc.integer({ min: 0, max: 2 * s.maxRequest }) }) });
  return fc.oneof(...arms);
}

for (const s of SUBJECTS) {
  test(`property: ${s.name}: trace length = reads + writes per call, addresses in the heap or its control area, a trace changes nothing`, (t) => {
    fc.assert(
      fc.property(fc.array(opArbitrary(s), { maxLength: 60, size: 'max' }), (ops) => {
        const tracedHeap = s.make();
        const plainHeap = s.make();
        const tw = tracedWork();
        const pw = newWork();
        const live: number[] = [];
        let depth = 0;
        for (const op of ops) {
          resetWork(tw);
          resetWork(pw);
          let a: number;
          let b: number;
          if (op.kind === 'alloc') {
            const align = op.alignLog < 0 ? 0 : 2 ** op.alignLog;
            const at = PSP_BASE + op.at;
            a = tracedHeap.alloc(op.size, align, tw, op.mode, at);
            b = plainHeap.alloc(op.size, align, pw, op.mode, at);
            if (a >= 0) live.push(a);
          } else if (op.kind === 'free') {
            if (live.length === 0) continue;
            const [addr] = live.splice(op.pick % live.length, 1);
            a = tracedHeap.free(addr, tw);
            b = plainHeap.free(addr, pw);
          } else if (op.kind === 'realloc') {
            if (live.length === 0) continue;
            const [addr] = live.splice(op.pick % live.length, 1);
            a = tracedHeap.realloc!(addr, op.size, tw);
            b = plainHeap.realloc!(addr, op.size, pw);
            // A failure keeps the old block; 'freed' (size 0) leaves none.
            if (a >= 0) live.push(a);
            else if (tracedHeap.lastRealloc === 'failed') live.push(addr);
          } else if (op.kind === 'enter') {
            a = Number(tracedHeap.scopes!.enter(tw));
            b = Number(plainHeap.scopes!.enter(pw));
            depth += a;
          } else if (op.kind === 'exit') {
            if (depth === 0) continue;
            depth--;
            a = tracedHeap.scopes!.exit(tw);
            b = plainHeap.scopes!.exit(pw);
            live.length = 0; // the scope released them (bump's free is a no-op anyway)
          } else {
            a = tracedHeap.grow!(op.pages, tw);
            b = plainHeap.grow!(op.pages, pw);
          }
          expect(a === b, `${op.kind}: ${a} traced, ${b} untraced`);
          expect(tw.instructions === pw.instructions && tw.reads === pw.reads && tw.writes === pw.writes, `${op.kind}: counts differ with a trace (${JSON.stringify([tw.instructions, tw.reads, tw.writes])} vs ${JSON.stringify([pw.instructions, pw.reads, pw.writes])})`);
          expect(tw.trace.length === tw.reads + tw.writes, `${op.kind}: ${tw.trace.length} traced words for ${tw.reads} reads + ${tw.writes} writes`);
          for (let i = 0; i < tw.trace.length; i++) {
            const addr = tw.trace.addrs[i] >>> 0;
            const inHeap = addr >= s.base && addr < s.base + s.size;
            const inControl = s.control !== undefined && addr >= s.control[0] && addr < s.control[1];
            expect(inHeap || inControl, `${op.kind}: traced 0x${addr.toString(16)} outside the heap and the control area`);
            expect(s.bytes || addr % 4 === 0, `${op.kind}: traced 0x${addr.toString(16)} is not a word address`);
          }
        }
        expect(tracedHeap.check().length === 0, tracedHeap.check().join('; '));
        return true;
      }),
      { numRuns: 300, seed: 7 },
    );
    t.pass();
  });
}

function expect(ok: boolean, message: string): asserts ok {
  if (!ok) throw new Error(message);
}
