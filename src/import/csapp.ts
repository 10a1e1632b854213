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
import { lineSource, parseLines, type LineParser, type LineSource } from './lines.js';
import { NamedIds, quote, type Emitted } from './ops.js';
import type { OpBuffer, OpStream } from './stream.js';

const HEADER = ['the suggested heap size', 'the number of ids', 'the number of operations', 'the weight'];
const ALLOC = ascii('a');
const REALLOC = ascii('r');
const FREE = ascii('f');

/** The trace's ops; returns the number of lines read. */
export function readCsapp(lines: LineSource | Iterable<string>, source = 'CS:APP trace'): OpStream {
  return parseLines(lineSource(lines), (out) => new CsappParser(source, out));
}

class CsappParser implements LineParser {
  private readonly ids = new NamedIds();
  private readonly words = new Words();
  private readonly header: number[] = [];
  /** The last non-blank line. */
  private last = 0;
  private ops = 0;
  private declared = 0;

  constructor(
    private readonly source: string,
    private readonly out: OpBuffer,
  ) {}

  line(lines: LineSource): void {
    const out = this.out;
    const t = this.words;
    t.splitAtWhitespace(lines.bytes, lines.start, lines.end);
    if (t.count === 0) return;
    const n = lines.line;
    this.last = n;
    const header = this.header;
    if (header.length < 4) {
      const value = t.count === 1 ? t.decimal(0) : -1;
      if (value < 0) {
        throw new InputError({ file: this.source, line: n, col: 1 }, `not a CS:APP trace: header line ${header.length + 1} should be ${HEADER[header.length]} (an integer), found ${quote(lines.text())}; check --format`);
      }
      header.push(value);
      this.declared = header[2] ?? 0;
      return;
    }
    let r: Emitted | null = null;
    if (t.count === 3 && (t.is(0, ALLOC) || t.is(0, REALLOC))) {
      const id = t.decimal(1);
      const size = t.decimal(2);
      if (id >= 0 && size >= 0) r = t.is(0, ALLOC) ? this.ids.alloc(String(id), size, 0, n, null) : this.ids.realloc(String(id), size, n, null);
    } else if (t.count === 2 && t.is(0, FREE)) {
      const id = t.decimal(1);
      if (id >= 0) r = this.ids.free(String(id), n, null);
    }
    if (r === null) {
      out.push({ kind: 'problem', what: 'malformed', detail: `expected "a ID BYTES", "r ID BYTES" or "f ID": ${quote(lines.text())}`, line: n });
      return;
    }
    this.ops++;
    if (this.ops === this.declared + 1) {
      out.push({ kind: 'problem', what: 'malformed', detail: `the header declares ${this.declared} operations; this line and those after it are extra (read anyway)`, line: n });
    }
    out.emit(r);
  }

  end(lines: number): void {
    const out = this.out;
    if (this.header.length < 4) {
      throw new InputError({ file: this.source, line: Math.max(1, lines), col: 1 }, `not a CS:APP trace: the file ends inside its 4-line header (${this.header.length} line(s)); check --format`);
    }
    if (this.ops < this.declared) {
      out.push({ kind: 'problem', what: 'truncated', detail: `the header declares ${this.declared} operations, the file has ${this.ops}; ${this.ids.liveCount} block(s) were live at its end`, line: this.last });
    }
  }
}
