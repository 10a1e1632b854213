import { group } from '../util/text.js';
import { isCI } from './options.js';

/** emu's exit codes (a contract: CI and scripts read them). */
export const EXIT = { pass: 0, fail: 1, input: 2, internal: 3 } as const;

/** Wall-clock progress is for people only: never in CI, never into a trace. */
export function progressPrinter(label: string): ((ops: number) => void) | undefined {
  if (!process.stderr.isTTY || isCI()) return undefined;
  return (ops) => process.stderr.write(`\r${label}: ${group(ops)} ops...`);
}

export function clearProgress(): void {
  if (process.stderr.isTTY && !isCI()) process.stderr.write('\r\x1b[K');
}
