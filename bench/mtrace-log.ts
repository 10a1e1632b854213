/** The benches' field log: a generated glibc mtrace log, the same bytes on every machine. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A glibc mtrace log of `lines` lines: a program churning up to 256 live blocks, addresses reused as glibc does. */
export function writeMtraceLog(path: string, lines: number): void {
  const out: string[] = ['= Start'];
  const live: number[] = [];
  const free: number[] = [];
  let state = 12345;
  const next = () => (state = (state * 1103515245 + 12345) >>> 0) / 2 ** 32;
  let top = 0x55d0a000;
  while (out.length < lines - 1) {
    if (live.length === 0 || (live.length < 256 && next() < 0.5)) {
      const ptr = free.pop() ?? (top += 0x1000);
      live.push(ptr);
      out.push(`@ ./prog:[0x401234] + 0x${ptr.toString(16)} 0x${(16 + Math.floor(next() * 4000)).toString(16)}`);
    } else {
      const [ptr] = live.splice(Math.floor(next() * live.length), 1);
      free.push(ptr);
      out.push(`@ ./prog:[0x401250] - 0x${ptr.toString(16)}`);
    }
  }
  out.push('= End');
  writeFileSync(path, out.join('\n') + '\n');
}

/**
 * In `dir`: the log (app.mtrace, `lines` lines) and two scenarios replaying it through TLSF on the
 * psp, scenarios/replay.yaml and scenarios/bare.yaml: the same run under another name, with no golden.
 */
export function writeReplayScenarios(dir: string, lines: number): { log: string; replay: string; bare: string } {
  const log = join(dir, 'app.mtrace');
  writeMtraceLog(log, lines);
  mkdirSync(join(dir, 'scenarios'));
  const replay = join(dir, 'scenarios', 'replay.yaml');
  const bare = join(dir, 'scenarios', 'bare.yaml');
  const yaml = `target: psp\nleak_check: false\nheaps: [{name: main, allocator: tlsf, in: user, size: 16M}]\nsteps:\n  - replay: {file: ../app.mtrace, format: mtrace, heap: main}\n`;
  writeFileSync(replay, yaml);
  writeFileSync(bare, `name: bare\n${yaml}`);
  return { log, replay, bare };
}
