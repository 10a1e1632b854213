/**
 * A real mtrace log from a real program on this machine: a small C program calls mtrace() and does a
 * known mix of malloc, calloc, posix_memalign, realloc and free under glibc's libc_malloc_debug. The
 * import is checked against the program's known mix and against an independent count of the log's
 * lines. Skipped (with the reason in the test title) where there is no C compiler or no
 * libc_malloc_debug.so.0 (glibc 2.34 and later need it for mtrace).
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { streamViolations } from '../src/import/ops.js';
import { readLog } from '../src/import/read.js';
import { computeStats } from '../src/import/stats.js';
import { tempDir } from './helpers/scenario.js';

const PROGRAM = `
#include <mcheck.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  void *p[50];
  mtrace();
  for (int i = 0; i < 50; i++) p[i] = malloc(16 + 8 * i);
  for (int i = 0; i < 50; i += 3) p[i] = realloc(p[i], 100 + i);
  for (int i = 0; i < 50; i += 2) free(p[i]);
  p[1] = realloc(p[1], 0);               /* glibc frees p[1] and logs "- p" */
  free(NULL);                            /* not logged */
  void *c = calloc(10, 12);
  void *a = NULL;
  if (posix_memalign(&a, 64, 256) != 0) return 1;
  void *r = realloc(NULL, 40);           /* logged as an allocation */
  free(c);
  void *huge = malloc((size_t)1 << 62);  /* refused: "+ (nil) SIZE" */
  if (huge != NULL || r == NULL) return 2;
  if (argc > 1) abort();                 /* the crash: no muntrace, the last buffer is lost */
  muntrace();
  return 0;
}
`;

/** The program's mix, computed from its source: [allocs, frees, reallocs, refused, live blocks, live bytes, peak bytes]. */
function expected() {
  const size = new Map<string, number>();
  let live = 0;
  let peak = 0;
  const set = (k: string, n: number) => {
    live += n - (size.get(k) ?? 0);
    size.set(k, n);
    peak = Math.max(peak, live);
  };
  const del = (k: string) => {
    live -= size.get(k)!;
    size.delete(k);
  };
  for (let i = 0; i < 50; i++) set(`p${i}`, 16 + 8 * i);
  for (let i = 0; i < 50; i += 3) set(`p${i}`, 100 + i);
  for (let i = 0; i < 50; i += 2) del(`p${i}`);
  del('p1');
  set('c', 120);
  set('a', 256);
  set('r', 40);
  del('c');
  return { allocs: 53, frees: 27, reallocs: 17, failed: 1, blocks: size.size, bytes: live, peak };
}

/** Counts the log's records with plain regular expressions, independently of the reader. */
function grep(text: string) {
  // Only whole lines: a crashed program's log may end inside a line.
  const lines = text.slice(0, text.lastIndexOf('\n') + 1).split('\n');
  const count = (re: RegExp) => lines.filter((l) => re.test(l)).length;
  return {
    allocs: count(/^(@ .*\] )?\+ 0x[0-9a-f]+ (0x[0-9a-f]+|0)$/),
    frees: count(/^(@ .*\] )?- 0x[0-9a-f]+$/),
    reallocs: count(/^(@ .*\] )?< 0x[0-9a-f]+$/),
    failed: count(/^(@ .*\] )?\+ \(nil\) /),
    ended: lines.includes('= End'),
  };
}

function probe(): { cc: string; preload: string } | string {
  const cc = ['cc', 'gcc'].find((name) => spawnSync(name, ['--version'], { encoding: 'utf8' }).status === 0);
  if (!cc) return 'no C compiler (cc or gcc) on this machine';
  const preload = spawnSync(cc, ['-print-file-name=libc_malloc_debug.so.0'], { encoding: 'utf8' }).stdout.trim();
  if (!isAbsolute(preload) || !existsSync(preload)) return `${cc} finds no libc_malloc_debug.so.0 (glibc 2.34 and later need it for mtrace)`;
  return { cc, preload };
}

const env = probe();

if (typeof env === 'string') {
  test.skip(`a real mtrace log from a real program: SKIPPED, ${env}`, () => {});
} else {
  const dir = tempDir();
  const source = join(dir, 'mix.c');
  const binary = join(dir, 'mix');
  writeFileSync(source, PROGRAM);

  const capture = (name: string, args: string[]) => {
    const log = join(dir, name);
    const built = existsSync(binary) ? null : spawnSync(env.cc, ['-O0', '-o', binary, source], { encoding: 'utf8' });
    if (built && built.status !== 0) throw new Error(`${env.cc} failed: ${built.stderr}`);
    const run = spawnSync(binary, args, { encoding: 'utf8', env: { ...process.env, MALLOC_TRACE: log, LD_PRELOAD: env.preload } });
    return { log, run };
  };

  test('a real mtrace log from a real program: the known mix, and the log\'s own line counts', (t) => {
    const { log, run } = capture('clean.mtrace', []);
    t.is(run.status, 0, run.stderr);
    const text = readFileSync(log, 'utf8');
    t.log(`${env.cc}, LD_PRELOAD=${env.preload}: ${text.split('\n').length - 1} log lines`);
    const counted = grep(text);
    const mix = expected();
    const ops = [...readLog(log, 'mtrace')];
    t.deepEqual(streamViolations(ops), []);
    const s = computeStats(ops);
    t.like(s, { allocs: counted.allocs, frees: counted.frees, reallocs: counted.reallocs, failed: counted.failed });
    t.like(s, { allocs: mix.allocs, frees: mix.frees, reallocs: mix.reallocs, failed: mix.failed, peak_live_bytes: mix.peak, largest_request: 2 ** 62 });
    t.like(s.live_at_end, { blocks: mix.blocks, bytes: mix.bytes });
    t.true(counted.ended);
    t.true(Object.values(s.problems).every((n) => n === 0), JSON.stringify(s.problems));
  });

  test('a real mtrace log from a program that crashed: truncated, and what was flushed is read exactly', (t) => {
    const { log, run } = capture('crash.mtrace', ['crash']);
    t.is(run.signal, 'SIGABRT');
    const text = readFileSync(log, 'utf8');
    const counted = grep(text);
    t.false(counted.ended);
    const ops = [...readLog(log, 'mtrace')];
    t.deepEqual(streamViolations(ops), []);
    const s = computeStats(ops);
    t.like(s, { allocs: counted.allocs, frees: counted.frees, reallocs: counted.reallocs, failed: counted.failed });
    t.is(s.problems.truncated, 1);
    // A cut last line (the file stops inside a record) is one malformed problem, nothing else is.
    t.is(s.problems.malformed, text.endsWith('\n') ? 0 : 1);
    t.true(s.allocs <= expected().allocs);
  });
}
