/** Timing a child process for the benches: its wall time and its CPU time, start-up included. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** The kernel's clock ticks a second, in which /proc reports CPU times (USER_HZ, 100 on Linux). */
const TICKS = 100;

/** CPU seconds of this process's reaped children so far (fields cutime and cstime of /proc/self/stat). */
function childrenCpu(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields from the state (field 3) on: cutime is field 16, cstime field 17.
  return (Number(fields[13]) + Number(fields[14])) / TICKS;
}

export interface Timed {
  /** Wall seconds. */
  seconds: number;
  /** CPU seconds (user + system, every thread), which a busy machine distorts far less than wall time. */
  cpu: number;
  stdout: string;
  status: number | null;
}

/** Runs `command args` in `cwd` to its end (not in CI mode, so that no run is refused for it). */
export function timed(command: string, args: string[], cwd: string): Timed {
  const before = childrenCpu();
  const start = process.hrtime.bigint();
  const child = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 1 << 24, env: { ...process.env, CI: '' } });
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, cpu: childrenCpu() - before, stdout: child.stdout, status: child.status };
}
