/**
 * The thread that holds Binaryen for binaryen-sync.ts: Binaryen's JavaScript build loads
 * asynchronously (a top-level await), while emu runs a scenario synchronously. This thread loads it
 * once, then rebases each module it is sent and wakes the waiting thread.
 */
import { workerData, type MessagePort } from 'node:worker_threads';
import { rebaseModule, type Placement } from './rebase.js';

interface Request {
  bytes: Uint8Array;
  place: Placement;
  instrument: boolean;
}

const { port, flag } = workerData as { port: MessagePort; flag: Int32Array };
const binaryen = (await import('binaryen')).default;

port.on('message', (request: Request) => {
  let reply: unknown;
  try {
    reply = { result: rebaseModule(binaryen, request.bytes, request.place, { instrument: request.instrument }) };
  } catch (e) {
    const error = e as Error;
    reply = { error: { name: error?.name ?? 'Error', message: error?.message ?? String(e) } };
  }
  port.postMessage(reply);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
  // A Binaryen abort leaves its instance unusable: this thread ends, and the next request starts another.
  if (/^Aborted\(/.test((reply as { error?: { message: string } }).error?.message ?? '')) process.exit(1);
});
