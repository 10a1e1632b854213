/** A worker thread of `emu test --jobs N`: runs the scenarios it is sent, one at a time. */
import { parentPort } from 'node:worker_threads';
import type { CheckOptions } from './check.js';
import { checkEntry } from './suite.js';

parentPort!.on('message', ({ file, options }: { file: string; options: CheckOptions }) => {
  try {
    parentPort!.postMessage(checkEntry(file, options));
  } catch (e) {
    parentPort!.postMessage({ internalError: (e as Error)?.stack ?? String(e) });
  }
});
