/** `emu inspect` and `emu diff`: reading traces. */
import { formatComparison } from '../report/diff.js';
import { formatEvent } from '../report/format.js';
import { compareTraces } from '../trace/compare.js';
import { readTrace } from '../trace/reader.js';
import { EXIT } from './exit.js';

export function inspectCommand(path: string, ndjson: boolean): number {
  const { header, events } = readTrace(path);
  const out: string[] = [];
  const flush = () => {
    process.stdout.write(out.join(''));
    out.length = 0;
  };
  if (ndjson) out.push(JSON.stringify(header) + '\n');
  else out.push(`trace of ${header.scenario} on ${header.target} (format ${header.format} v${header.version}, seed ${header.seed}, policy ${header.policy})\n`);
  for (const e of events) {
    out.push((ndjson ? JSON.stringify(e) : formatEvent(e)) + '\n');
    if (out.length >= 4096) flush();
  }
  flush();
  return EXIT.pass;
}

export function diffCommand(a: string, b: string): number {
  const c = compareTraces(a, b);
  if (c.same) {
    process.stdout.write(`same: ${c.expectedEvents} events${c.headerNotes.length ? ` (${c.headerNotes.join('; ')})` : ''}\n`);
    return EXIT.pass;
  }
  process.stdout.write(`traces differ\n${formatComparison(c, a, b)}\n`);
  return EXIT.fail;
}
