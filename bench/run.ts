/**
 * `npm run bench`: replays a random first-fit workload at two sizes (1M and 10M operations, or 500k
 * and 2M with --quick) with the trace streamed to a file, and prints throughput and peak memory.
 * Memory must not grow with the number of operations (steps are expanded lazily, the trace is
 * streamed), so the larger run's peak RSS must stay within 1.5x of the smaller one's.
 *
 * Each size runs in its own child process so that maxRSS (a per-process high-water mark) is per run.
 * Wall time is measured here only: nothing in src/ may read the clock.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../src/engine/engine.js';
import { group, table } from '../src/report/format.js';
import { loadScenario } from '../src/scenario/parse.js';
import { TraceFileWriter } from '../src/trace/writer.js';

const MAX_RATIO = 1.5;

interface Measurement {
  count: number;
  ops: number;
  seconds: number;
  peakMiB: number;
  traceBytes: number;
  events: number;
}

/** The scenario: one 8 MiB first-fit heap in PSP user memory, random sizes, at most 256 blocks live. */
function scenarioYaml(count: number): string {
  return `name: bench-${count}
target: psp
seed: 1
leak_check: false
heaps:
  - {name: main, allocator: first-fit, in: user, size: 8M}
steps:
  - random: {heap: main, count: ${count}, size: {uniform: [16, 4096]}, max_live: 256, stream: bench}
`;
}

/** Child: one run, its figures as one JSON line on stdout. */
function measure(count: number): Measurement {
  const dir = mkdtempSync(join(tmpdir(), 'emu-bench-'));
  try {
    const file = join(dir, 'bench.yaml');
    writeFileSync(file, scenarioYaml(count));
    const scenario = loadScenario(file);
    const tracePath = join(dir, 'bench.trace');
    const writer = new TraceFileWriter(tracePath);
    const start = process.hrtime.bigint();
    let result;
    try {
      result = run(scenario, { sinks: [writer] });
    } finally {
      writer.close(); // the final flush is part of the run's cost
    }
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    return {
      count,
      ops: result.summary.ops, // count plus the frees that drain the live set at the end
      seconds,
      peakMiB: process.resourceUsage().maxRSS / 1024, // maxRSS is in KiB
      traceBytes: statSync(tracePath).size,
      events: result.events,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Parent: runs a child for one size and reads back its measurement. */
function spawnMeasurement(count: number): Measurement {
  const self = fileURLToPath(import.meta.url);
  const child = spawnSync(process.execPath, [...process.execArgv, self, '--child', String(count)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (child.status !== 0) throw new Error(`bench child for ${count} operations failed (status ${child.status}, signal ${child.signal})`);
  return JSON.parse(child.stdout.trim().split('\n').pop()!) as Measurement;
}

function report(rows: Measurement[]): string {
  const head = ['operations', 'wall s', 'ops/s', 'peak RSS MiB', 'trace bytes', 'events'];
  return table([head, ...rows.map((m) => [group(m.ops), m.seconds.toFixed(2), group(Math.round(m.ops / m.seconds)), m.peakMiB.toFixed(1), group(m.traceBytes), group(m.events)])]);
}

function main(): void {
  const args = process.argv.slice(2);
  if (args[0] === '--child') {
    process.stdout.write(JSON.stringify(measure(Number(args[1]))) + '\n');
    return;
  }
  // The smaller run must be past V8's heap warm-up (RSS plateaus by about 500k operations here);
  // below that the ratio measures the garbage collector sizing its heap, not growth with the run.
  const [small, large] = args.includes('--quick') ? [500_000, 2_000_000] : [1_000_000, 10_000_000];
  console.log(`emu bench: random first-fit workload on psp (8 MiB heap, max 256 live), trace streamed to a file; node ${process.version}\n`);
  const rows: Measurement[] = [];
  for (const count of [small, large]) {
    console.error(`running ${group(count)} operations...`);
    rows.push(spawnMeasurement(count));
  }
  console.log(report(rows));
  const ratio = rows[1].peakMiB / rows[0].peakMiB;
  const pass = ratio <= MAX_RATIO;
  console.log(`\npeak memory ${group(large)} / ${group(small)} ops: ${ratio.toFixed(2)}x (limit ${MAX_RATIO}x): ${pass ? 'PASS' : 'FAIL'}`);
  if (!pass) process.exitCode = 1;
}

main();
