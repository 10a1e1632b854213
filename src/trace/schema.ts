/**
 * The trace's one schema: every event type with its tag and its fields, in order, each with the
 * coding it is written in. The writer, the reader, `emu inspect`, `emu diff` and the format document
 * (docs/trace-format.md, whose tables are generated from this file) all follow it; nothing else in
 * emu names an event's fields for the format's sake.
 *
 * A type's fields are written in the order declared here. `optional` fields may be absent; when any
 * is present, the record's tag says so and a varint before the fields has one bit for each (bit i for
 * the i-th optional field in declaration order).
 */

export const TRACE_FORMAT = 'emu-trace';
export const TRACE_VERSION = 2;
/** The first bytes of a version-2 trace (version 1 began with a MessagePack map, byte 0xde). */
export const TRACE_MAGIC = 'EMUTRACE';

/**
 * How a field's value is written. Integers are LEB128 varints; `zigzag` maps a signed n to 2n (n >= 0)
 * or -2n-1 (n < 0) so that small magnitudes stay short.
 */
export type Coding =
  /** An unsigned integer (0 .. 2^53-1) as a varint. */
  | 'uint'
  /** An unsigned integer or null: 0 for null, else the value + 1. */
  | 'uint?'
  /** An integer or null: 0 for null, else zigzag(value) + 1. */
  | 'int?'
  /** A signed integer as a zigzag varint. */
  | 'int'
  /**
   * An integer written as zigzag(value - register), after which the register holds the value; each
   * field names its register. Registers start at 0 and persist across events.
   */
  | 'delta'
  /** An address or null: 0 for null, else zigzag(value - register) + 1; a null leaves the register. */
  | 'delta?'
  /**
   * A string or null through the intern ring (RING_SLOTS entries, all empty at the start): 0 for null;
   * 1 for a string not in the ring, followed by its UTF-8 byte length (varint) and bytes, after which
   * it takes the ring's next slot (slots are taken in turn, 0, 1, ..., wrapping around and replacing
   * what was there); k >= 2 for the string in slot k - 2.
   */
  | 'name?'
  /** A string as its UTF-8 byte length (varint) and bytes, not interned. */
  | 'text'
  /** A boolean as one byte, 0 or 1. */
  | 'bool'
  /** Any value as one MessagePack object (the subset in docs/trace-format.md), for rare or nested fields. */
  | 'value';

export interface FieldSpec {
  name: string;
  coding: Coding;
  /** For `delta` and `delta?`: the register the value is taken from and left in. */
  register?: Register;
  optional?: true;
  /** Shown in hex by `emu inspect` and `emu diff`. */
  address?: true;
  doc: string;
}

export type Register = 'line' | 'log_line' | 'addr';
export const REGISTERS: readonly Register[] = ['line', 'log_line', 'addr'];

export interface EventSpec {
  type: string;
  tag: number;
  doc: string;
  fields: FieldSpec[];
}

/** Slots of the intern ring: names and ids in use at once stay within it, so references stay short. */
export const RING_SLOTS = 1 << 14;

const line: FieldSpec = { name: 'line', coding: 'delta', register: 'line', doc: 'scenario line of the step' };
const logLine: FieldSpec = { name: 'log_line', coding: 'delta', register: 'log_line', optional: true, doc: 'field-log line the operation was replayed from' };
const caller: FieldSpec = { name: 'caller', coding: 'name?', optional: true, doc: "who made the call, where the field log says (mtrace's caller, Android's thread)" };
const heap: FieldSpec = { name: 'heap', coding: 'name?', doc: 'heap name' };
const id: FieldSpec = { name: 'id', coding: 'name?', doc: 'block id' };
const cycles: FieldSpec = { name: 'cycles', coding: 'uint', doc: 'cycles the operation took' };
const addr = (name: string, doc: string): FieldSpec => ({ name, coding: 'delta?', register: 'addr', address: true, doc });
const uint = (name: string, doc: string): FieldSpec => ({ name, coding: 'uint', doc });
const name = (name: string, doc: string): FieldSpec => ({ name, coding: 'name?', doc });
const value = (name: string, doc: string, optional?: true): FieldSpec => ({ name, coding: 'value', doc, ...(optional ? { optional } : {}) });

/** Every event type; tags are fixed forever within a format version. */
export const EVENTS: readonly EventSpec[] = [
  {
    type: 'alloc',
    tag: 1,
    doc: 'an allocation; addr null when it failed',
    fields: [
      line, heap, id, uint('size', 'bytes requested'), uint('align', 'alignment requested (0: malloc)'), addr('addr', 'address returned'),
      uint('block', 'bytes the allocator took'), cycles,
      value('mode', 'placement mode of an API that has them', true), { name: 'at', coding: 'uint?', optional: true, address: true, doc: 'address asked for by an addressed mode' },
      { name: 'error', coding: 'int?', optional: true, doc: "the API's error code (null: success)" }, logLine, caller,
    ],
  },
  {
    type: 'free',
    tag: 2,
    doc: 'a free; addr null for free(NULL) or a refused free',
    fields: [line, heap, id, addr('addr', 'address freed'), uint('block', 'bytes given back'), cycles, logLine, { name: 'error', coding: 'int?', optional: true, doc: "the API's error code (null: success)" }, caller],
  },
  {
    type: 'realloc',
    tag: 3,
    doc: 'a realloc, in place or moved',
    fields: [line, heap, id, uint('size', 'new size'), addr('old_addr', 'block before'), addr('addr', 'block after (null: failed or freed)'), uint('block', 'bytes the allocator took'), uint('copied', 'bytes copied when the block moved'), cycles, logLine, caller],
  },
  {
    type: 'access',
    tag: 4,
    doc: 'a CPU read or write',
    fields: [line, name('access', 'read or write'), id, addr('addr', 'first byte'), uint('len', 'bytes'), value('width', 'access width in bytes'), cycles],
  },
  {
    type: 'copy',
    tag: 5,
    doc: 'a memcpy: a checked read and a checked write',
    fields: [line, addr('from', 'source'), addr('to', 'destination'), uint('len', 'bytes'), cycles],
  },
  {
    type: 'frame',
    tag: 6,
    doc: 'the end of a frame',
    fields: [line, uint('frame', 'frame number, from 1'), cycles, { name: 'budget', coding: 'uint?', doc: 'the frame budget in cycles' }],
  },
  {
    type: 'place',
    tag: 7,
    doc: 'a section, arena, segment, guard or heap placed by the layout',
    fields: [line, name('what', 'what was placed'), name('name', 'its name'), name('in', 'the container it was placed in'), addr('addr', 'base'), uint('size', 'bytes'), value('protection', 'how its guard is enforced', true)],
  },
  {
    type: 'grow',
    tag: 8,
    doc: 'a heap grew (a wasm grow step, or auto_grow inside an alloc)',
    fields: [
      line, heap, { name: 'auto', coding: 'bool', optional: true, doc: 'grown by the allocator to serve an alloc' },
      { name: 'pages', coding: 'uint', optional: true, doc: 'pages asked for' }, { name: 'old_pages', coding: 'int', optional: true, doc: 'what memory.grow returned (-1: failed)' },
      uint('old_capacity', 'bytes before'), uint('capacity', 'bytes after'), { ...cycles, optional: true },
    ],
  },
  {
    type: 'scope-enter',
    tag: 9,
    doc: 'a bump scope opened',
    fields: [line, heap, uint('depth', 'nesting depth after'), { name: 'budget', coding: 'uint?', doc: 'bytes the scope may use' }, { name: 'entered', coding: 'bool', doc: 'false when the nesting limit refused it' }, cycles],
  },
  {
    type: 'scope-exit',
    tag: 10,
    doc: 'a bump scope closed, releasing what it allocated',
    fields: [line, heap, uint('depth', 'nesting depth after'), uint('released', 'bytes released'), uint('blocks', 'blocks released'), cycles],
  },
  {
    type: 'dma',
    tag: 11,
    doc: 'a DMA transfer',
    fields: [
      line, name('channel', 'channel'), { ...value('from', "source address, or 'device'"), address: true }, { ...value('to', "destination address, or 'device'"), address: true }, uint('len', 'bytes'),
      uint('cycles', 'cycles the transfer takes'), uint('stall', 'cycles the CPU is stalled'), { name: 'waited', coding: 'uint', optional: true, doc: 'cycles waited for the channel first' },
      { name: 'by', coding: 'name?', optional: true, doc: 'the component that started it, where the step says' },
    ],
  },
  {
    type: 'wait',
    tag: 12,
    doc: "the CPU waits for a channel's transfer to finish",
    fields: [line, name('channel', 'channel'), cycles],
  },
  {
    type: 'cache',
    tag: 13,
    doc: 'a cache maintenance operation',
    fields: [line, name('operation', 'writeback, invalidate, ...'), addr('addr', 'first byte'), uint('len', 'bytes'), uint('lines', 'lines touched'), uint('written_back', 'dirty lines written back'), cycles, { name: 'error', coding: 'int', optional: true, doc: "the OS call's return code" }],
  },
  {
    type: 'idle',
    tag: 14,
    doc: 'the CPU does other work',
    fields: [line, cycles],
  },
  {
    type: 'check',
    tag: 15,
    doc: 'a check of every heap',
    fields: [line, uint('heaps', 'heaps checked'), uint('problems', 'problems found')],
  },
  {
    type: 'sample',
    tag: 16,
    doc: "every heap's metrics",
    fields: [line, value('heaps', 'one metrics map per heap')],
  },
  {
    type: 'warning',
    tag: 17,
    doc: 'a soft limit exceeded',
    fields: [line, heap, { name: 'detail', coding: 'text', doc: 'what happened' }],
  },
  {
    type: 'log',
    tag: 18,
    doc: 'a field-log line that is not replayed (refused by the host, a device fault)',
    fields: [line, { name: 'log_line', coding: 'delta', register: 'log_line', doc: logLine.doc }, name('what', 'what the line was'), { name: 'detail', coding: 'text', doc: 'what it said' }],
  },
  {
    type: 'fault',
    tag: 19,
    doc: 'a fault',
    fields: [
      line, name('kind', 'fault kind'), name('detected', 'precise, delayed or silent'), heap, id, { name: 'detail', coding: 'text', doc: 'what happened, with the numbers' },
      { name: 'cause_op', coding: 'uint', optional: true, doc: 'operation that did the harm' }, { name: 'cause_line', coding: 'delta', register: 'line', optional: true, doc: 'its scenario line' }, logLine, caller,
      { name: 'wasm_function', coding: 'name?', optional: true, doc: 'the wasm function whose instruction faulted (in a wasm step), or whose write did harm found later (with cause_op); null for a data segment written at instantiation' },
      { name: 'wasm_offset', coding: 'uint', optional: true, doc: "that instruction's byte offset in the module (a data segment's: its offset constant's; absent for a wasm-trap)" },
    ],
  },
  {
    type: 'wasm',
    tag: 30,
    doc: "a call of a WebAssembly module's export, recorded when it returns or traps (the clock has advanced by its accesses)",
    fields: [
      line, name('component', 'the component whose segment holds the module'), name('module', 'the module file, as the scenario names it'), name('call', 'the export called'),
      value('args', 'the arguments, as passed'), value('result', 'what it returned (null: nothing, or it trapped; an i64 beyond 2^53 as a decimal string)'),
      uint('loads', 'memory instructions that read (a memory.copy counts here and in stores)'), uint('stores', 'memory instructions that wrote'), uint('bytes', 'bytes read and written'),
      { name: 'cycles', coding: 'uint', doc: 'cycles its memory accesses took (other instructions are not timed)' },
      { name: 'trap', coding: 'text', optional: true, doc: 'why the call stopped: a fault the target traps on, or a WebAssembly trap' },
    ],
  },
  {
    type: 'lock',
    tag: 21,
    doc: 'a component takes the lock that guards a shared region',
    fields: [line, name('region', 'the shared region named'), name('lock', 'the lock that guards it'), name('by', 'the component'), { name: 'taken', coding: 'bool', doc: 'false when the lock was already held (a lock-error)' }],
  },
  {
    type: 'unlock',
    tag: 22,
    doc: 'a component releases the lock that guards a shared region',
    fields: [line, name('region', 'the shared region named'), name('lock', 'the lock that guards it'), name('by', 'the component'), { name: 'released', coding: 'bool', doc: 'false when the component did not hold it (a lock-error)' }],
  },
  {
    type: 'segment',
    tag: 23,
    doc: "a dynamic layout's segment created, resized in place or released (a segment step, or memory.grow of the wasm heap in it)",
    fields: [
      line, name('component', 'the component whose segment it is'), name('action', 'create, resize or release'),
      { name: 'refused', coding: 'bool', optional: true, doc: 'true when it did not happen (no room in the arena, a heap that cannot follow, nothing to release)' },
      { name: 'auto', coding: 'bool', optional: true, doc: 'true when memory.grow of the wasm heap in it resized it' },
      addr('old_addr', 'base before (null: no segment)'), uint('old_size', 'bytes before'), addr('addr', 'base after (null: no segment)'), uint('size', 'bytes after'),
      uint('requested', 'bytes asked for'), value('guards', "the segment's guard gaps after it: name, addr, size and protection of each"),
      { ...heap, optional: true, doc: 'the heap in the segment' }, { name: 'heap_capacity', coding: 'uint', optional: true, doc: "the heap's bytes after" }, cycles,
    ],
  },
  {
    type: 'end',
    tag: 20,
    doc: 'the last event',
    fields: [{ name: 'halted', coding: 'bool', doc: 'the run stopped early' }, uint('events', 'events in the trace, this one included'), value('summary', 'the summary metrics')],
  },
];

export const SPEC_BY_TYPE: ReadonlyMap<string, EventSpec> = new Map(EVENTS.map((s) => [s.type, s]));
/** Names of the fields that hold addresses, in any event type. */
export const ADDRESS_FIELDS: ReadonlySet<string> = new Set(EVENTS.flatMap((s) => s.fields.filter((f) => f.address).map((f) => f.name)));

/** Every event: sequence number, operation index, cycle at which it happened, and its type. */
export interface TraceEvent {
  seq: number;
  op: number;
  cycle: number;
  type: string;
  [field: string]: unknown;
}

/** The trace's header: what produced it. */
export interface TraceHeader {
  type: 'header';
  format: string;
  version: number;
  scenario: string;
  scenario_sha256: string;
  target: string;
  target_sha256: string;
  seed: number;
  policy: string;
  verification: string;
}
