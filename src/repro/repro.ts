/**
 * Reproducing a fault: run a scenario (or a field log replayed on a target) to its first fault, and
 * shrink the operations that led there to the fewest that still give the same fault kind on the same
 * heap, as an ordinary scenario.
 */
import { Document, isMap, isSeq, parseDocument } from 'yaml';
import { run, type FaultRecord } from '../engine/engine.js';
import { readLog } from '../import/read.js';
import { Streams } from '../rng/streams.js';
import { expand, type Op } from '../scenario/expand.js';
import type { DmaEnd, Location, Scenario, Step } from '../scenario/types.js';
import { ddmin, idRepair, type IdSpec } from './shrink.js';

export interface Reproduction {
  /** The first fault, or null when the run is clean. */
  fault: FaultRecord | null;
  /** Operations run up to and including the faulting one. */
  ops: number;
  /** The fault the device itself recorded in the log (native logs), if any. */
  deviceFault: string | null;
}

export function reproduce(scenario: Scenario): Reproduction {
  const result = run(scenario, { sinks: [], stopAtFirstFault: true });
  return { fault: result.faults[0] ?? null, ops: result.summary.ops, deviceFault: deviceFault(scenario.steps) };
}

/** The first fault a replayed log says the device saw. */
function deviceFault(steps: readonly Step[]): string | null {
  for (const step of steps) {
    if (step.kind !== 'replay') continue;
    for (const op of readLog(step.file, step.format)) if (op.kind === 'fault') return op.fault;
  }
  return null;
}

/** The block ids an operation names. */
function opIds(op: Op): string[] {
  switch (op.kind) {
    case 'alloc':
    case 'free':
    case 'realloc':
      return [op.id];
    case 'read':
    case 'write':
    case 'cache':
      return op.at.kind === 'block' ? [op.at.id] : [];
    case 'copy':
    case 'dma':
      return [op.from, op.to].flatMap((end) => (end.kind === 'block' ? [end.id] : []));
    default:
      return [];
  }
}

/** How emu's operations name blocks, for keeping shrink candidates consistent. */
const OP_IDS: IdSpec<Op> = {
  allocates: ['alloc'],
  frees: ['free'],
  references: ['realloc', 'read', 'write', 'cache', 'copy', 'dma'],
  idsOf: opIds,
};

export interface Shrunk {
  steps: Step[];
  before: number;
  tests: number;
  exhausted: boolean;
}

/**
 * The fewest operations, in their original order, that still give `fault`'s kind on its heap.
 * Scopes are not shrunk (their enter and exit must stay paired): a scenario using them is refused.
 */
export function shrink(scenario: Scenario, fault: FaultRecord, onProgress?: (size: number, tests: number) => void): Shrunk {
  const ops: Op[] = [];
  for (const op of expand(scenario.steps, new Streams(scenario.seed))) {
    if (ops.length === fault.op) break;
    ops.push(op);
  }
  if (ops.some((op) => op.kind === 'scope-enter')) throw new Error('shrinking scenarios with scopes is not supported yet');
  const same = (candidate: Op[]): boolean => {
    const first = run({ ...scenario, steps: candidate.map(toStep), leakCheck: false, expect: null }, { sinks: [], stopAtFirstFault: true }).faults[0];
    return first !== undefined && first.kind === fault.kind && first.heap === fault.heap;
  };
  const result = ddmin(ops, same, { repair: idRepair(keepingMisuse(ops)), faultIndex: ops.length - 1, onProgress });
  return { steps: result.ops.map(toStep), before: ops.length, tests: result.tests, exhausted: result.exhausted };
}

/**
 * OP_IDS for one sequence, except that an op the program got wrong in it (a free or a reference of a
 * block that is not live there: a double free, a use after free, a free of garbage) names no id, so
 * that repair keeps it as it is: the shrunk sequence keeps the program's bug.
 */
function keepingMisuse(ops: readonly Op[]): IdSpec<Op> {
  const misuse = new Set<Op>();
  const live = new Set<string>();
  for (const op of ops) {
    const ids = opIds(op);
    if (op.kind === 'alloc') live.add(op.id);
    else if (ids.some((id) => !live.has(id))) misuse.add(op);
    else if (op.kind === 'free') live.delete(op.id);
  }
  return { ...OP_IDS, idsOf: (op) => (misuse.has(op) ? [] : opIds(op)) };
}

/** An expanded operation as the step that performs exactly it (sizes fixed, ids filled in). */
function toStep(op: Op): Step {
  switch (op.kind) {
    case 'alloc':
      return { kind: 'alloc', line: op.line, id: op.id, heap: op.heap, size: { kind: 'fixed', bytes: op.size }, align: op.align, budget: op.budget, stream: '', mode: op.mode, at: op.at };
    case 'realloc':
      return { kind: 'realloc', line: op.line, id: op.id, size: { kind: 'fixed', bytes: op.size }, stream: '' };
    case 'free':
      return { kind: 'free', line: op.line, id: op.id, heap: op.heap ?? null };
    case 'log-note':
    case 'log-overlap':
      return { kind: 'idle', line: op.line, cycles: 0 };
    case 'scope-enter':
    case 'scope-exit':
      throw new Error('scopes are not shrunk');
    default:
      return op;
  }
}

/**
 * The shrunk scenario's YAML: the original document (or the imported one) with its steps replaced,
 * leaks not checked (the sequence stops at the fault), and the fault as its expectation. `seed`, when
 * the fault was found under another seed than the document's, becomes its seed.
 */
export function shrunkScenarioText(baseText: string, steps: Step[], fault: FaultRecord, header: string, seed?: number): string {
  const doc = parseDocument(baseText);
  if (seed !== undefined) doc.set('seed', seed);
  const items = steps.filter((s) => !(s.kind === 'idle' && s.cycles === 0)).map(stepYaml);
  const seq = doc.createNode(items);
  if (isSeq(seq)) for (const item of seq.items) if (isMap(item)) for (const pair of item.items) (pair.value as { flow?: boolean }).flow = true;
  doc.set('steps', seq);
  doc.set('leak_check', false);
  doc.set('expect', doc.createNode({ faults: [{ kind: fault.kind, ...(fault.heap ? { heap: fault.heap } : {}) }] }));
  doc.commentBefore = header;
  return String(doc as Document);
}

function stepYaml(step: Step): Record<string, unknown> {
  switch (step.kind) {
    case 'alloc': {
      const body: Record<string, unknown> = { id: step.id, heap: step.heap, size: step.size.kind === 'fixed' ? step.size.bytes : 0 };
      if (step.align !== 0) body.align = step.align; // none: malloc
      if (step.budget) body.budget = step.budget;
      if (step.mode !== null) body.mode = step.mode;
      if (step.at !== null) body.at = step.at;
      return { alloc: body };
    }
    case 'realloc':
      return { realloc: { id: step.id, size: step.size.kind === 'fixed' ? step.size.bytes : 0 } };
    case 'free':
      return { free: step.heap === null ? step.id : { id: step.id, heap: step.heap } };
    case 'read':
    case 'write':
      return { [step.kind]: { ...location(step.at), len: step.len, width: step.width, ...(step.by ? { by: step.by } : {}) } };
    case 'copy':
      return { copy: { from: location(step.from), to: location(step.to), len: step.len, ...(step.by ? { by: step.by } : {}) } };
    case 'dma':
      return { dma: { channel: step.channel, from: dmaEnd(step.from), to: dmaEnd(step.to), len: step.len, ...(step.by ? { by: step.by } : {}) } };
    case 'lock':
    case 'unlock':
      return { [step.kind]: { region: step.region, by: step.by } };
    case 'cache':
      return { cache: { op: step.op, ...location(step.at), len: step.len } };
    case 'grow':
      return { grow: { heap: step.heap, pages: step.pages } };
    case 'segment':
      return { segment: { component: step.component, size: step.size } };
    case 'wasm': {
      // The module by its absolute path: the shrunk scenario may be written elsewhere.
      const args = step.args.map((a) => (a.kind === 'number' ? a.value : a.kind === 'addr' ? { addr: a.addr } : { shared: a.name, offset: a.offset }));
      return { wasm: { component: step.component, module: step.file, call: step.call, args, ...(step.heap ? { heap: step.heap } : {}) } };
    }
    case 'idle':
      return { idle: step.cycles };
    case 'wait':
      return { wait: { channel: step.channel } };
    case 'frame':
      return { frame: step.budget === null ? null : { budget: step.budget } };
    case 'check':
    case 'sample':
      return { [step.kind]: null };
    default:
      throw new Error(`a ${step.kind} step is not written by shrink`);
  }
}

function location(at: Location): Record<string, unknown> {
  return at.kind === 'block' ? { id: at.id, offset: at.offset } : { addr: at.addr };
}

function dmaEnd(end: DmaEnd): unknown {
  if (end.kind === 'region') return end.name;
  if (end.kind === 'device') return 'device';
  return location(end);
}
