/**
 * Temporary files and folders, announced to whoever supervises the command (src/cli/supervise.ts).
 * A run happens in a worker thread whose synchronous loop a signal cannot interrupt; the main thread
 * takes the signal, stops the worker and removes what it was told about here. The announcements go
 * over a BroadcastChannel, which reaches the main thread from any thread (also `emu test --jobs`'s
 * workers, which are the command worker's own).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BroadcastChannel } from 'node:worker_threads';

export const TEMPS_CHANNEL = 'emu-temporary-paths';

export type TempNotice = { made: string } | { gone: string };

let channel: BroadcastChannel | null = null;

function announce(notice: TempNotice): void {
  if (channel === null) {
    channel = new BroadcastChannel(TEMPS_CHANNEL);
    // The channel only speaks; it must not keep a thread alive.
    channel.unref();
  }
  channel.postMessage(notice);
}

/** The temporary name a file is written under before it is renamed to `destination`: announced before it exists. */
export function tempFileFor(destination: string): string {
  const path = `${destination}.tmp-${process.pid}`;
  announce({ made: path });
  return path;
}

/** A fresh scratch folder in the system's temporary folder (announced as soon as it exists). */
export function scratchDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'emu-'));
  announce({ made: dir });
  return dir;
}

/** Says a temporary path was renamed into place or removed: nothing left to clean up there. */
export function settled(path: string): void {
  announce({ gone: path });
}
