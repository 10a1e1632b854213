/**
 * Interrupts. A run is one synchronous loop, so a signal handler in its thread would only run once it
 * is over. The commands that run scenarios (run, test, repro, size, report) therefore run in a worker thread
 * while the main thread waits: on SIGINT or SIGTERM it stops the worker (and the workers it started),
 * removes the temporary files and folders the worker announced (harness/temps.ts) and exits 130 or
 * 143. Files are only ever renamed into place whole, so what is left is the old file or the new one,
 * never half of one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BroadcastChannel, Worker } from 'node:worker_threads';
import { TEMPS_CHANNEL, type TempNotice } from '../harness/temps.js';
import { EXIT } from './exit.js';

/** The commands run under supervision: those that run scenarios, for as long as they take. */
export const SUPERVISED = new Set(['run', 'test', 'repro', 'size', 'report']);

/** 128 + the signal's number, as shells report a process ended by it. */
const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

export function supervise(argv: string[]): Promise<number> {
  const temps = new Set<string>();
  const channel = new BroadcastChannel(TEMPS_CHANNEL);
  channel.onmessage = (event) => {
    const notice = (event as { data: TempNotice }).data;
    if ('made' in notice) temps.add(notice.made);
    else temps.delete(notice.gone);
  };
  return new Promise((resolve) => {
    let code: number | undefined;
    let stopping = false;
    let worker: Worker | undefined;
    // `emu test | head`: a closed pipe ends the process (main.ts) with the worker still running.
    const onExit = () => removeAll(temps);
    process.on('exit', onExit);
    const finish = (result: number) => {
      process.removeListener('exit', onExit);
      channel.close();
      for (const signal of Object.keys(SIGNAL_EXIT)) process.removeAllListeners(signal);
      resolve(result);
    };
    const interrupt = (signal: keyof typeof SIGNAL_EXIT) => {
      if (stopping) return;
      stopping = true;
      void (worker?.terminate() ?? Promise.resolve()).then(async () => {
        // Notices sent just before the worker stopped may still be on their way.
        await new Promise((r) => setImmediate(r));
        removeAll(temps);
        process.stderr.write(`\nemu: interrupted (${signal}); temporary files removed\n`);
        finish(SIGNAL_EXIT[signal]);
      });
    };
    // The handlers come before anything is written: a signal sent once the first folder shows finds them.
    for (const signal of Object.keys(SIGNAL_EXIT) as (keyof typeof SIGNAL_EXIT)[]) process.on(signal, () => interrupt(signal));
    // Every scratch folder the command makes goes in one folder made here, before the worker starts
    // (its TMPDIR, inherited by its own workers): a folder made just before the worker was stopped,
    // whose notice never arrived, goes with it.
    const scratch = mkdtempSync(join(tmpdir(), 'emu-run-'));
    temps.add(scratch);
    worker = new Worker(new URL('./command-worker.js', import.meta.url), {
      workerData: { argv, stderrIsTTY: process.stderr.isTTY === true, columns: process.stdout.columns },
      env: { ...process.env, TMPDIR: scratch },
    });
    worker.on('message', (message: { code: number }) => (code = message.code));
    worker.on('error', (error) => {
      process.stderr.write(`emu: internal error: ${error?.stack ?? String(error)}\n`);
      code = EXIT.internal;
    });
    worker.on('exit', () => {
      if (stopping) return;
      // A worker that died (out of memory, say) may have left temporary files too.
      removeAll(temps);
      finish(code ?? EXIT.internal);
    });
  });
}

function removeAll(paths: Set<string>): void {
  for (const path of paths) rmSync(path, { recursive: true, force: true });
  paths.clear();
}
