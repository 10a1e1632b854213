/**
 * glibc mtrace logs (MALLOC_TRACE; since glibc 2.34 with LD_PRELOAD=libc_malloc_debug.so and a call
 * to mtrace()). Line shapes, as glibc's malloc/mtrace-impl.c writes them:
 *
 *   = Start                              mtrace() opened the log
 *   @ CALLER + PTR SIZE                  malloc, calloc (SIZE = n*size), memalign, realloc(NULL, n)
 *   @ CALLER + (nil) SIZE                an allocation that failed
 *   @ CALLER - PTR                       free (free(NULL) is not logged), and realloc(PTR, 0)
 *   @ CALLER < OLD                       realloc that succeeded: the old block ...
 *   @ CALLER > NEW SIZE                  ... and the new one, on the next line
 *   @ CALLER ! OLD SIZE                  realloc that failed (OLD stays allocated)
 *   = End                                muntrace() or exit closed the log
 *
 * PTR is `%p` (0x..., `(nil)` for NULL), SIZE is `%#lx` (0x..., or `0`). The `@ CALLER ` prefix is
 * optional: `@ ./prog:[0x11b0] `, `@ ./prog:(main+0x17)[0x11b0] `, `@ [0x7f..] ` (no symbol
 * information) or absent when the caller is unknown; it always ends with `] `, and is skipped up to
 * the last `] ` of the line (a file name may contain spaces). mtrace records no alignment: `align`
 * is 0. A log without `= End` as its last line (a program that crashed or never called muntrace)
 * ends with a `truncated` problem; the blocks live then are the crashed program's heap. glibc buffers
 * the log 512 bytes at a time, so a crashed program's last records may be missing, and its last line
 * cut mid-write: when `lines` says its last line had no newline (LineFile.unterminated), that line,
 * unless it is `= End`, is a `malformed` problem rather than a record with cut numbers.
 */
import { FormatGate, PointerIds, scanHexSize, scanPointer, type Emitted, type FieldOp } from './ops.js';

const EXAMPLE = '@ ./prog:[0x11b0] + 0x55ebe8cfb2a0 0x10';

/** The log's ops; returns the number of lines read. */
export function* readMtrace(lines: Iterable<string> & { readonly unterminated?: boolean }, source = 'mtrace log'): Generator<FieldOp, number> {
  const ids = new PointerIds();
  const gate = new FormatGate('a glibc mtrace log', source, EXAMPLE);
  let n = 0;
  let last = 0;
  let ended = false;
  // The `<` line of a realloc, waiting for its `>`.
  let pendingOld: string | null = null;
  let pendingLine = 0;
  let pendingText = '';

  for (const text of lines) {
    n++;
    if (text.length === 0) continue;
    last = n;
    ended = false;
    let old: string | null = null;
    if (lines.unterminated === true && text !== '= End') {
      // The file's last line, with no newline after it: glibc writes whole lines, so this one was
      // cut when the program died with part of its buffer flushed. Its numbers cannot be trusted.
      const p = gate.bad(n, text, 'the last line has no newline: cut mid-write');
      if (p) yield p;
      continue;
    }

    // o: where the record starts, after an optional "@ CALLER " prefix.
    let o = 0;
    if (text.charCodeAt(0) === 64 /* @ */) {
      const k = text.lastIndexOf('] ');
      if (k < 0 || text.charCodeAt(1) !== 32) {
        const p = gate.bad(n, text, 'a caller prefix "@ ..." without "] "');
        if (p) yield p;
        continue;
      }
      o = k + 2;
    }
    const c = text.charCodeAt(o);
    // Tokens: a = text[o + 2, aEnd), b = text[bStart, length) (empty when there is none).
    const sp = text.indexOf(' ', o + 2);
    const aEnd = sp < 0 ? text.length : sp;
    const bStart = sp < 0 ? text.length : sp + 1;
    const hasB = sp >= 0;
    let r: Emitted | null = null;
    let detail = '';

    if (text.charCodeAt(o + 1) !== 32 || aEnd <= o + 2) {
      detail = 'not an mtrace record';
    } else if (c === 43 /* + */) {
      const ptr = scanPointer(text, o + 2, aEnd);
      const size = hasB ? scanHexSize(text, bStart, text.length) : -1;
      if (ptr === undefined || size < 0) detail = 'an allocation record needs "+ PTR SIZE"';
      else r = ptr === '' ? { kind: 'failed', id: null, size, align: 0, time: null, line: n } : ids.alloc(ptr, size, 0, n, null);
    } else if (c === 45 /* - */) {
      const ptr = scanPointer(text, o + 2, aEnd);
      if (ptr === undefined || hasB) detail = 'a free record needs "- PTR"';
      else r = ptr === '' ? [] : ids.free(ptr, n, null);
    } else if (c === 60 /* < */) {
      const ptr = scanPointer(text, o + 2, aEnd);
      if (ptr === undefined || ptr === '' || hasB) detail = 'a realloc record needs "< OLD"';
      else {
        r = [];
        old = ptr;
      }
    } else if (c === 62 /* > */) {
      const ptr = scanPointer(text, o + 2, aEnd);
      const size = hasB ? scanHexSize(text, bStart, text.length) : -1;
      if (ptr === undefined || ptr === '' || size < 0) detail = 'a realloc record needs "> NEW SIZE"';
      else if (pendingOld === null) {
        r = [{ kind: 'problem', what: 'malformed', detail: '"> NEW SIZE" without the "< OLD" line before it; taken as an allocation', line: n }];
        const alloc = ids.alloc(ptr, size, 0, n, null);
        if (Array.isArray(alloc)) r.push(...alloc);
        else r.push(alloc);
      } else {
        r = ids.realloc(pendingOld, ptr, size, n, null);
        pendingOld = null;
      }
    } else if (c === 33 /* ! */) {
      const ptr = scanPointer(text, o + 2, aEnd);
      const size = hasB ? scanHexSize(text, bStart, text.length) : -1;
      if (ptr === undefined || size < 0) detail = 'a failed realloc record needs "! OLD SIZE"';
      else r = ptr === '' ? { kind: 'failed', id: null, size, align: 0, time: null, line: n } : ids.failedRealloc(ptr, size, n, null);
    } else if (c === 61 /* = */) {
      const word = text.slice(o + 2);
      if (word !== 'Start' && word !== 'End') detail = 'expected "= Start" or "= End"';
      else {
        r = [];
        ended = word === 'End';
      }
    } else {
      detail = 'not an mtrace record';
    }

    if (r === null) {
      ended = false;
      const p = gate.bad(n, text, detail);
      if (p) yield p;
      continue;
    }
    if (!gate.open) yield* gate.pass();
    if (pendingOld !== null && c !== 62) {
      yield { kind: 'problem', what: 'malformed', detail: `"< 0x${pendingOld}" is not followed by its "> NEW SIZE" line; the block is left as it was`, line: pendingLine };
      pendingOld = null;
    }
    if (old !== null) {
      pendingOld = old;
      pendingLine = n;
      pendingText = text;
    }
    if (Array.isArray(r)) yield* r;
    else yield r;
  }

  gate.end(n);
  if (pendingOld !== null) {
    yield { kind: 'problem', what: 'malformed', detail: `the log ends after ${JSON.stringify(pendingText)}, before its "> NEW SIZE" line`, line: pendingLine };
  }
  if (!ended) {
    yield {
      kind: 'problem', what: 'truncated', line: last,
      detail: `the log ends without "= End": the program stopped before muntrace() or exit (a crash?); ${ids.liveCount} block(s) were live then`,
    };
  }
  return n;
}
