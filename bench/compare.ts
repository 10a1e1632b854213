/**
 * Side-by-side CPU time of two or more builds of emu, for a change to the hot paths:
 *
 *   node dist/bench/compare.js [--lines N] [--ops N] [--rounds R] DIST_A DIST_B ...
 *
 * where each DIST is a compiled tree (the `dist` folder of a checkout, holding src/cli/main.js). The
 * workloads, run by every build in turn, round after round (interleaved, so a change in the machine's
 * load hits every build alike): `emu run` replaying a generated glibc mtrace log through TLSF with no
 * golden (no trace written) and with a matching golden, `emu run --trace` of a random TLSF workload,
 * and `emu --version`. The figure is the child's CPU time (user + system, from the kernel's
 * accounting of reaped children), which a busy machine distorts far less than wall time; the best
 * and the median of the rounds are printed.
 *
 * It is also a check: every build must match the golden the first one recorded and write the same
 * random-workload trace, byte for byte (it exits non-zero otherwise).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { table } from '../src/report/format.js';
import { timed } from './child.js';
import { writeReplayScenarios } from './mtrace-log.js';

function option(args: string[], name: string, fallback: number): number {
  const at = args.indexOf(name);
  if (at < 0) return fallback;
  const [value] = args.splice(at, 2).slice(1);
  return Number(value);
}

function main(): void {
  const args = process.argv.slice(2);
  const lines = option(args, '--lines', 1_000_000);
  const ops = option(args, '--ops', 1_000_000);
  const rounds = option(args, '--rounds', 3);
  const builds = args.map((d) => resolve(d));
  if (builds.length === 0) throw new Error('usage: compare.js [--lines N] [--ops N] [--rounds R] DIST...');
  const dir = mkdtempSync(join(tmpdir(), 'emu-compare-'));
  let ok = true;
  try {
    const { replay, bare } = writeReplayScenarios(dir, lines);
    const random = join(dir, 'scenarios', 'random.yaml');
    writeFileSync(random, `name: random\ntarget: psp\nseed: 1\nleak_check: false\nheaps:\n  - {name: main, allocator: tlsf, in: user, size: 8M, options: {align: 8}}\nsteps:\n  - random: {heap: main, count: ${ops}, size: {uniform: [16, 4096]}, max_live: 256, workload: bench}\n`);
    const cli = (build: string) => join(build, 'src', 'cli', 'main.js');
    timed(process.execPath, [cli(builds[0]), 'run', replay, '--update'], dir);

    const workloads: { name: string; args: (build: string, round: number) => string[]; check: (out: string, build: string, round: number) => string | null }[] = [
      { name: `emu run, ${lines} mtrace lines, no golden`, args: (b) => [cli(b), 'run', bare], check: (out) => (out.includes('golden: MISSING') ? null : 'no summary') },
      { name: `emu run, ${lines} mtrace lines, golden matched`, args: (b) => [cli(b), 'run', replay], check: (out) => (out.includes('golden: match') ? null : 'the golden did not match') },
      {
        name: `emu run --trace, random tlsf, ${ops} ops`,
        args: (b, r) => [cli(b), 'run', random, '--trace', join(dir, `random-${builds.indexOf(b)}-${r}.trace`)],
        check: (out, b, r) => {
          if (!out.includes('faults: none')) return 'no summary';
          const mine = readFileSync(join(dir, `random-${builds.indexOf(b)}-${r}.trace`));
          const first = readFileSync(join(dir, `random-0-${r}.trace`));
          return mine.equals(first) ? null : 'its random-workload trace differs from the first build';
        },
      },
      { name: 'emu --version', args: (b) => [cli(b), '--version'], check: (out) => (out.startsWith('emu ') ? null : 'no version') },
    ];
    const times = workloads.map(() => builds.map(() => [] as number[]));
    for (let round = 0; round < rounds; round++) {
      workloads.forEach((w, i) => {
        builds.forEach((build, j) => {
          console.error(`round ${round + 1}/${rounds}: ${w.name}: ${build}`);
          const r = timed(process.execPath, w.args(build, round), dir);
          const problem = r.status !== 0 && r.status !== 1 ? `exit status ${r.status}` : w.check(r.stdout, build, round);
          if (problem) {
            console.error(`FAIL ${build}: ${w.name}: ${problem}`);
            ok = false;
          }
          times[i][j].push(r.cpu);
        });
      });
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const head = ['workload', ...builds.map((b, j) => `${j === 0 ? 'A' : String.fromCharCode(65 + j)} best/median CPU s`)];
    const rows = workloads.map((w, i) => [w.name, ...times[i].map((xs) => `${Math.min(...xs).toFixed(2)} / ${median(xs).toFixed(2)}`)]);
    console.log(builds.map((b, j) => `${String.fromCharCode(65 + j)}: ${b}`).join('\n'));
    console.log(table([head, ...rows]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (!ok) process.exitCode = 1;
}

main();
