/** A worker thread of `emu size --jobs N`: runs the searches it is sent, one at a time, reporting progress. */
import { parentPort } from 'node:worker_threads';
import { runTask, type SizeTask, type WorkerMessage } from './jobs.js';

parentPort!.on('message', (task: SizeTask) => {
  const post = (message: WorkerMessage) => parentPort!.postMessage(message);
  post(runTask(task, (...progress) => post({ progress })));
});
