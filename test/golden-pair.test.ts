/**
 * A golden's trace and summary are a pair (issue 14): the summary names the trace's events digest, so
 * a pair whose replacement was cut short (a new trace beside the old summary, or no summary) is
 * reported as unpaired, and --update records both again.
 */
import test, { type ExecutionContext } from 'ava';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { markdownDigest } from '../src/report/summary.js';
import { eventsDigestOf } from '../src/trace/reader.js';
import { emu, tempDir } from './helpers/scenario.js';

const scenario = (count: number) => `target: bare-metal
seed: 5
heaps: [{name: main, allocator: first-fit, in: {in: sram, size: 16K}}]
steps:
  - random: {heap: main, count: ${count}, size: {uniform: [16, 256]}, max_live: 8}
`;

function project(t: ExecutionContext): { dir: string; file: string; trace: string; md: string } {
  const dir = tempDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'scenarios'));
  return { dir, file: join(dir, 'scenarios', 'pair.yaml'), trace: join(dir, 'golden', 'pair.trace'), md: join(dir, 'golden', 'pair.md') };
}

function record(t: ExecutionContext, p: { dir: string; file: string }, count: number): void {
  writeFileSync(p.file, scenario(count));
  const r = emu(['run', p.file, '--update'], { cwd: p.dir });
  t.is(r.status, 0, r.stdout + r.stderr);
}

test('the summary names the events digest of the trace beside it', (t) => {
  const p = project(t);
  record(t, p, 50);
  t.is(markdownDigest(readFileSync(p.md, 'utf8')), eventsDigestOf(p.trace));
});

test('a new trace beside the old summary is unpaired; --update repairs the pair', (t) => {
  const p = project(t);
  record(t, p, 50);
  const oldSummary = readFileSync(p.md);
  record(t, p, 60);
  // What a replacement cut between its two renames would leave: the new trace, the old summary.
  writeFileSync(p.md, oldSummary);
  const r = emu(['run', p.file], { cwd: p.dir });
  t.is(r.status, 1, r.stdout + r.stderr);
  t.regex(r.stdout, /golden: UNPAIRED \(golden\/pair\.trace\): golden\/pair\.md is missing or names another events digest than the trace has/);
  const suite = emu(['test', 'scenarios'], { cwd: p.dir });
  t.is(suite.status, 1);
  t.regex(suite.stdout, /FAIL\s+pair .* golden unpaired/);
  const repaired = emu(['run', p.file, '--update'], { cwd: p.dir });
  t.regex(repaired.stdout, /golden: updated/);
  t.is(markdownDigest(readFileSync(p.md, 'utf8')), eventsDigestOf(p.trace));
  const again = emu(['run', p.file], { cwd: p.dir });
  t.is(again.status, 0, again.stdout);
  t.regex(again.stdout, /golden: match/);
});

test('a golden trace with no summary beside it is unpaired', (t) => {
  const p = project(t);
  record(t, p, 50);
  rmSync(p.md);
  const r = emu(['run', p.file], { cwd: p.dir });
  t.is(r.status, 1);
  t.regex(r.stdout, /golden: UNPAIRED/);
});

test('a summary from before the digest line still passes (older goldens stay valid)', (t) => {
  const p = project(t);
  record(t, p, 50);
  const summary = readFileSync(p.md, 'utf8');
  writeFileSync(p.md, summary.slice(0, summary.lastIndexOf('\nEvents digest')));
  t.is(markdownDigest(readFileSync(p.md, 'utf8')), null);
  const r = emu(['run', p.file], { cwd: p.dir });
  t.is(r.status, 0, r.stdout + r.stderr);
  t.regex(r.stdout, /golden: match/);
});

test('a --trace copy and the golden are written together with --update', (t) => {
  const p = project(t);
  writeFileSync(p.file, scenario(40));
  const out = join(p.dir, 'copy.trace');
  const r = emu(['run', p.file, '--update', '--trace', out], { cwd: p.dir });
  t.is(r.status, 0, r.stdout + r.stderr);
  t.is(eventsDigestOf(out), eventsDigestOf(p.trace));
  t.is(markdownDigest(readFileSync(p.md, 'utf8')), eventsDigestOf(p.trace));
});

test('a damaged golden trace is reported as unpaired (not decoded); --update records it again', (t) => {
  const p = project(t);
  record(t, p, 50);
  const bytes = readFileSync(p.trace);
  bytes[bytes.length - 40] ^= 0xff;
  writeFileSync(p.trace, bytes);
  const r = emu(['run', p.file], { cwd: p.dir });
  t.is(r.status, 1, r.stdout + r.stderr);
  t.regex(r.stdout, /golden: UNPAIRED .*the trace was damaged/);
  t.is(emu(['run', p.file, '--update'], { cwd: p.dir }).status, 0);
  t.is(emu(['run', p.file], { cwd: p.dir }).status, 0);
});

test('emu inspect on a damaged trace: where, and how many events came before, with no usage hint', (t) => {
  const p = project(t);
  record(t, p, 50);
  const bytes = readFileSync(p.trace);
  const cut = join(p.dir, 'cut.trace');
  writeFileSync(cut, bytes.subarray(0, bytes.length - 30));
  const r = emu(['inspect', cut], { cwd: p.dir });
  t.is(r.status, 2);
  t.regex(r.stderr, /cut\.trace: the trace is cut off (at byte \d+, inside event \d+|after \d+ events, with no end event)/);
  t.notRegex(r.stderr, /emu --help|internal error/);
});
