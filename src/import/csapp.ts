/**
 * CS:APP malloc lab traces (`.rep`, read by mdriver.c). Four header lines, each one integer:
 * suggested heap size, number of ids, number of operations, weight. Then one operation a line:
 *
 *   a ID BYTES       slot ID = malloc(BYTES)
 *   r ID BYTES       slot ID = realloc(slot ID, BYTES)
 *   f ID             free(slot ID)
 *
 * IDs are the trace's own slot numbers, not addresses, and a slot is reused after it is freed: the
 * first block of slot 3 is id `3`, later ones `3#2`, `3#3`, ... (NamedIds), so ids are unique in
 * the stream. A file whose first four non-blank lines are not integers is not a CS:APP trace (an
 * InputError); a file with fewer operations than its header declares ends with a `truncated`
 * problem, one with more gets a `malformed` problem at the first extra line (and all are read).
 */
import { InputError } from '../input/errors.js';
import { ascii, Words } from './bytes.js';
import { lineSource, type LineSource } from './lines.js';
import { NamedIds, quote, type FieldOp } from './ops.js';

const HEADER = ['the suggested heap size', 'the number of ids', 'the number of operations', 'the weight'];
const ALLOC = ascii('a');
const REALLOC = ascii('r');
const FREE = ascii('f');

/** The trace's ops; returns the number of lines read. */
export function* readCsapp(input: LineSource | Iterable<string>, source = 'CS:APP trace'): Generator<FieldOp, number> {
  const lines = lineSource(input);
  const t = new Words();
  const ids = new NamedIds();
  const header: number[] = [];
  let n = 0;
  let last = 0;
  let ops = 0;
  let declared = 0;

  try {
    while (lines.next()) {
      n = lines.line;
      t.splitAtWhitespace(lines.bytes, lines.start, lines.end);
      if (t.count === 0) continue;
      last = n;
      if (header.length < 4) {
        const value = t.count === 1 ? t.decimal(0) : -1;
        if (value < 0) {
          throw new InputError({ file: source, line: n, col: 1 }, `not a CS:APP trace: header line ${header.length + 1} should be ${HEADER[header.length]} (an integer), found ${quote(lines.text())}; check --format`);
        }
        header.push(value);
        declared = header[2] ?? 0;
        continue;
      }
      let r: FieldOp | FieldOp[] | null = null;
      if (t.count === 3 && (t.is(0, ALLOC) || t.is(0, REALLOC))) {
        const id = t.decimal(1);
        const size = t.decimal(2);
        if (id >= 0 && size >= 0) r = t.is(0, ALLOC) ? ids.alloc(String(id), size, 0, n, null) : ids.realloc(String(id), size, n, null);
      } else if (t.count === 2 && t.is(0, FREE)) {
        const id = t.decimal(1);
        if (id >= 0) r = ids.free(String(id), n, null);
      }
      if (r === null) {
        yield { kind: 'problem', what: 'malformed', detail: `expected "a ID BYTES", "r ID BYTES" or "f ID": ${quote(lines.text())}`, line: n };
        continue;
      }
      ops++;
      if (ops === declared + 1) {
        yield { kind: 'problem', what: 'malformed', detail: `the header declares ${declared} operations; this line and those after it are extra (read anyway)`, line: n };
      }
      if (Array.isArray(r)) yield* r;
      else yield r;
    }
  } finally {
    lines.close();
  }

  if (header.length < 4) {
    throw new InputError({ file: source, line: Math.max(1, n), col: 1 }, `not a CS:APP trace: the file ends inside its 4-line header (${header.length} line(s)); check --format`);
  }
  if (ops < declared) {
    yield { kind: 'problem', what: 'truncated', detail: `the header declares ${declared} operations, the file has ${ops}; ${ids.liveCount} block(s) were live at its end`, line: last };
  }
  return n;
}
