/**
 * The environment budget (seed 000): runtime and user-module memory against their budgets, and the
 * safety margin of the total that must stay free, checked at the run's peak use.
 */
import test from 'ava';
import { ofType, runText } from './helpers/scenario.js';

const M = 1024 * 1024;

/** The bare-metal board: 64 MiB, runtime 8 MiB, user modules 16 MiB, 50% margin; 5.5 MiB of sections. */
function bare(steps: string) {
  return runText(`
target: bare-metal
leak_check: false
heaps: [{name: big, allocator: bump, in: {in: sdram, size: 40M}}]
steps:
${steps}`);
}

test('user modules past their budget: budget-exceeded once, at the allocation that crossed it', (t) => {
  // .wrt_instances (4 MiB) is the user modules' already: the heap may use 12 MiB more.
  const near = bare(`  - alloc: {id: a, heap: big, size: ${6 * M}}\n  - alloc: {id: b, heap: big, size: ${6 * M}}\n`);
  t.deepEqual(ofType(near.events, 'fault'), []);
  t.deepEqual(near.result.summary.environment!.user, { peak: 16 * M, limit: 16 * M });
  const over = bare(`  - alloc: {id: a, heap: big, size: ${6 * M}}\n  - alloc: {id: b, heap: big, size: ${6 * M + 8}}\n  - alloc: {id: c, heap: big, size: 8}\n`);
  const faults = ofType(over.events, 'fault');
  t.deepEqual(faults.map((f) => [f.kind, f.detected, f.line]), [['budget-exceeded', 'silent', 7]]);
  t.regex(faults[0].detail as string, /environment budget: the user modules use 16777224 bytes, over their budget of 16777216/);
});

test('less than the margin left free: margin-violated, and the summary gives the peak', (t) => {
  // In use: 1.5 MiB of runtime sections, 4 MiB of instances, then the heap; 32 MiB must stay free.
  const { events, result } = bare(`  - alloc: {id: a, heap: big, size: ${26 * M}}\n  - alloc: {id: b, heap: big, size: ${M}}\n`);
  t.deepEqual(ofType(events, 'fault').map((f) => [f.kind, f.line]), [['budget-exceeded', 6], ['margin-violated', 7]]);
  t.deepEqual(result.summary.environment, {
    total: 64 * M,
    margin_percent: 50,
    runtime: { peak: 1.5 * M, limit: 8 * M },
    user: { peak: 31 * M, limit: 16 * M },
    peak_in_use: 32.5 * M,
    free_at_peak: 31.5 * M,
  });
});

test('memory inside a section counts once, at the section\'s size; a QNX heap in wrt_runtime is the runtime\'s', (t) => {
  const inSection = runText(`target: bare-metal\nheaps: [{name: h, allocator: bump, in: .wrt_instances}]\nleak_check: false\nsteps: [{alloc: {id: a, heap: h, size: 3M}}]\n`);
  t.deepEqual(inSection.result.summary.environment!.user.peak, 4 * M);
  const qnx = runText(`target: qnx\nheaps: [{name: r, allocator: bump, in: wrt_runtime}]\nleak_check: false\nsteps: [{alloc: {id: a, heap: r, size: 2M}}]\n`);
  t.deepEqual(qnx.result.summary.environment!.runtime.peak, 1.5 * M + 2 * M);
});
