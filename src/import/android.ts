/**
 * Android malloc_debug `record_allocs` logs (AOSP bionic libc/malloc_debug/README.md, RecordData.cpp).
 * One record a line, TID being the gettid() of the calling thread; pointers are `%p` (0x..., `0x0`
 * for NULL), numbers decimal:
 *
 *   TID: malloc PTR SIZE
 *   TID: free PTR
 *   TID: calloc PTR NMEMB SIZE          an allocation of NMEMB*SIZE bytes
 *   TID: realloc NEW OLD SIZE           realloc(NULL, n) is `realloc NEW 0x0 n` (an allocation);
 *                                       realloc(OLD, 0) is `realloc 0x0 OLD 0` (a free)
 *   TID: memalign PTR ALIGN SIZE        also aligned_alloc, posix_memalign, valloc (4096), pvalloc
 *   TID: thread_done 0x0                a thread ended (ignored)
 *
 * Newer Android versions append START_NS END_NS to every record (`186: malloc 0xb6038060 20 1000
 * 1250`) and an optional END_NS to thread_done; both forms are read, and START_NS becomes the op's
 * `time`. PTR 0x0 in malloc/calloc/memalign (and `realloc 0x0 0x0 n`) is a failed allocation; `free
 * 0x0` is ignored. The records of all threads are kept in log order (the order malloc_debug wrote
 * them, which it serialises), so a multi-threaded log replays as one interleaved stream.
 */
import { decimal, FormatGate, PointerIds, pointerKey, type Emitted, type FieldOp } from './ops.js';

const EXAMPLE = '186: malloc 0xb6038060 20';

/** Arguments after TID, type and pointer, without timestamps. */
const ARGS: Record<string, number> = { malloc: 1, free: 0, calloc: 2, realloc: 2, memalign: 2, thread_done: 0 };

/** The log's ops; returns the number of lines read. */
export function* readAndroid(lines: Iterable<string>, source = 'record_allocs log'): Generator<FieldOp, number> {
  const ids = new PointerIds();
  const gate = new FormatGate('an Android malloc_debug record_allocs log', source, EXAMPLE);
  let n = 0;

  for (const text of lines) {
    n++;
    if (text.length === 0) continue;
    let t = text.split(' ');
    if (t.includes('')) t = text.trim().split(/\s+/);
    const r = parse(t, n, ids);
    if (typeof r === 'string') {
      const p = gate.bad(n, text, r);
      if (p) yield p;
      continue;
    }
    if (!gate.open) yield* gate.pass();
    if (Array.isArray(r)) yield* r;
    else yield r;
  }
  gate.end(n);
  return n;
}

/** One record's ops, or why it is malformed. */
function parse(t: string[], n: number, ids: PointerIds): Emitted | string {
  const tid = t[0];
  if (t.length < 3 || tid.length < 2 || tid.charCodeAt(tid.length - 1) !== 58 /* : */ || decimal(tid.slice(0, -1)) < 0) return 'expected "TID: TYPE POINTER ..."';
  const type = t[1];
  if (!Object.hasOwn(ARGS, type)) return `unknown record type ${JSON.stringify(type)}`;
  const args = ARGS[type];
  const ptr = pointerKey(t[2]);
  if (ptr === undefined) return `${JSON.stringify(t[2])} is not a pointer`;
  const extra = t.length - 3 - args;
  if (type === 'thread_done') {
    if (extra > 1 || (extra === 1 && decimal(t[3]) < 0)) return 'expected "TID: thread_done 0x0 [END_NS]"';
    return [];
  }
  if (extra !== 0 && extra !== 2) return `a ${type} record has ${args} number(s) after the pointer, then optionally START_NS END_NS`;
  let time: number | null = null;
  if (extra === 2) {
    time = decimal(t[3 + args]);
    if (time < 0 || decimal(t[4 + args]) < 0) return 'the timestamps are not decimal integers';
  }
  switch (type) {
    case 'malloc': {
      const size = decimal(t[3]);
      if (size < 0) return 'the size is not a decimal integer';
      return ptr === '' ? { kind: 'failed', id: null, size, align: 0, time, line: n } : ids.alloc(ptr, size, 0, n, time);
    }
    case 'free':
      return ptr === '' ? [] : ids.free(ptr, n, time);
    case 'calloc': {
      const count = decimal(t[3]);
      const each = decimal(t[4]);
      if (count < 0 || each < 0) return 'calloc needs NMEMB SIZE as decimal integers';
      const size = count * each;
      return ptr === '' ? { kind: 'failed', id: null, size, align: 0, time, line: n } : ids.alloc(ptr, size, 0, n, time);
    }
    case 'memalign': {
      const align = decimal(t[3]);
      const size = decimal(t[4]);
      if (align < 0 || size < 0) return 'memalign needs ALIGN SIZE as decimal integers';
      return ptr === '' ? { kind: 'failed', id: null, size, align, time, line: n } : ids.alloc(ptr, size, align, n, time);
    }
    default: {
      // realloc NEW OLD SIZE
      const old = pointerKey(t[3]);
      const size = decimal(t[4]);
      if (old === undefined || size < 0) return 'realloc needs NEW OLD SIZE';
      if (old === '') return ptr === '' ? { kind: 'failed', id: null, size, align: 0, time, line: n } : ids.alloc(ptr, size, 0, n, time);
      if (ptr === '') return size === 0 ? ids.free(old, n, time) : ids.failedRealloc(old, size, n, time);
      return ids.realloc(old, ptr, size, n, time);
    }
  }
}
