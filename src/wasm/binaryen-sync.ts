/**
 * Rebasing from synchronous code (the engine, the scenario checks): Binaryen runs in a thread of its
 * own (binaryen-worker.ts) and the caller waits for its answer (Atomics.wait). The thread starts at
 * the first request and is kept, unreferenced, for the process's later requests; results are kept
 * per module bytes and placement, so a module rebased once in a process is not rebased again.
 */
import { createHash } from 'node:crypto';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { RebaseError, type Placement, type RebaseResult } from './rebase.js';
import { WasmFormatError } from './decode.js';

/** How long to wait for Binaryen (loading it takes seconds on a loaded machine). */
const WAIT_MS = 300_000;

let thread: { worker: Worker; port: MessagePort; flag: Int32Array } | null = null;
const done = new Map<string, RebaseResult>();

function start(): NonNullable<typeof thread> {
  const { port1, port2 } = new MessageChannel();
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(new URL('./binaryen-worker.js', import.meta.url), { workerData: { port: port2, flag }, transferList: [port2] });
  worker.unref();
  port1.unref();
  worker.on('error', () => {});
  return { worker, port: port1, flag };
}

export function rebaseSync(bytes: Uint8Array, place: Placement, instrument: boolean): RebaseResult {
  const key = `${createHash('sha256').update(bytes).digest('hex')}:${JSON.stringify(place)}:${instrument}`;
  const cached = done.get(key);
  if (cached) return cached;
  thread ??= start();
  const t = thread;
  Atomics.store(t.flag, 0, 0);
  t.port.postMessage({ bytes, place, instrument });
  if (Atomics.wait(t.flag, 0, 0, WAIT_MS) === 'timed-out') {
    void t.worker.terminate();
    thread = null;
    throw new Error(`Binaryen did not answer within ${WAIT_MS / 1000} s`);
  }
  const reply = receiveMessageOnPort(t.port)?.message as { result?: RebaseResult; error?: { name: string; message: string } } | undefined;
  if (!reply) {
    thread = null;
    throw new Error('Binaryen\'s thread answered nothing');
  }
  if (reply.error) {
    if (/^Aborted\(/.test(reply.error.message)) thread = null;
    if (reply.error.name === 'RebaseError') throw new RebaseError(reply.error.message);
    if (reply.error.name === 'WasmFormatError') throw new WasmFormatError(reply.error.message);
    throw new Error(`Binaryen: ${reply.error.message}`);
  }
  done.set(key, reply.result!);
  return reply.result!;
}
