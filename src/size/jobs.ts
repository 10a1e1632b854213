/**
 * `emu size` over several allocators: one search each, in this thread or spread over worker threads.
 * Each search is whole in one thread and depends on nothing else, so the results are the same for any
 * number of jobs; they come back in the order the allocators were given.
 */
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { InputError, UsageError, type SourcePos } from '../input/errors.js';
import { parseScenario } from '../scenario/parse.js';
import type { Scenario } from '../scenario/types.js';
import { sizeHeap, type SizeProgress, type SizeResult } from './search.js';

/** The scenario as text (a file's, or the one a field log is imported as), parsed again in each worker. */
export interface ScenarioSource {
  file: string;
  text: string;
}

export function parseSource(source: ScenarioSource): Scenario {
  return parseScenario(source.file, source.text, createHash('sha256').update(source.text).digest('hex'));
}

/** What a worker is sent: one allocator's search. */
export interface SizeTask {
  source: ScenarioSource;
  heap: string;
  allocator: string;
  room: number;
}

/** What a worker answers: progress, then a result or the error that stopped it. */
export type WorkerMessage =
  | { progress: [string, number, number, number | null] }
  | { result: SizeResult }
  | { inputError: { pos: SourcePos; message: string } }
  | { usageError: string }
  | { internalError: string };

/** Runs a task where it is, as a worker's answer (errors become messages, for the other thread). */
export function runTask(task: SizeTask, onProgress?: SizeProgress): WorkerMessage {
  try {
    return { result: sizeHeap(parseSource(task.source), task.heap, task.allocator, task.room, onProgress) };
  } catch (e) {
    if (e instanceof InputError) return { inputError: { pos: e.pos, message: e.message } };
    if (e instanceof UsageError) return { usageError: e.message };
    return { internalError: (e as Error)?.stack ?? String(e) };
  }
}

/** A worker's answer as a result, or its error thrown again here. */
function unwrap(message: WorkerMessage): SizeResult {
  if ('result' in message) return message.result;
  if ('inputError' in message) throw new InputError(message.inputError.pos, message.inputError.message);
  if ('usageError' in message) throw new UsageError(message.usageError);
  if ('internalError' in message) throw new Error(`in a size worker: ${message.internalError}`);
  throw new Error('a size worker sent progress as its answer');
}

/** One search per allocator, `jobs` at a time; results in the allocators' order. */
export async function sizeAll(source: ScenarioSource, heap: string, allocators: string[], room: number, jobs: number, onProgress?: SizeProgress): Promise<SizeResult[]> {
  const tasks = allocators.map((allocator) => ({ source, heap, allocator, room }));
  if (jobs <= 1 || tasks.length <= 1) return tasks.map((task) => unwrap(runTask(task, onProgress)));
  const results: SizeResult[] = new Array(tasks.length);
  let next = 0;
  const workerUrl = new URL('./worker.js', import.meta.url);
  const workers: Worker[] = [];
  const lane = () =>
    new Promise<void>((resolve, reject) => {
      const worker = new Worker(workerUrl);
      workers.push(worker);
      // One search that stops the command stops them all: no thread is left running.
      const fail = (e: unknown) => {
        next = tasks.length;
        for (const w of workers) void w.terminate();
        reject(e);
      };
      const feed = () => {
        if (next >= tasks.length) {
          void worker.terminate().then(() => resolve());
          return;
        }
        const index = next++;
        const listen = (message: WorkerMessage) => {
          if ('progress' in message) {
            onProgress?.(...message.progress);
            return;
          }
          worker.off('message', listen);
          try {
            results[index] = unwrap(message);
          } catch (e) {
            fail(e);
            return;
          }
          feed();
        };
        worker.on('message', listen);
        worker.postMessage(tasks[index]);
      };
      worker.once('error', fail);
      feed();
    });
  await Promise.all(Array.from({ length: Math.min(jobs, tasks.length) }, lane));
  return results;
}
