/**
 * The one msgpackr configuration of emu traces. No records, structures or bundled strings: events
 * are plain maps whose keys are written in the order the engine builds them, so the same run gives
 * the same bytes. The msgpackr version is pinned in package-lock; goldens are compared by decoded
 * events, and TRACE_VERSION changes whenever the meaning of an event does.
 */
import { Packr, Unpackr } from 'msgpackr';

export const TRACE_FORMAT = 'emu-trace';
export const TRACE_VERSION = 1;

const options = { useRecords: false, moreTypes: false, bundleStrings: false, structuredClone: false, useFloat32: 0, mapsAsObjects: true } as const;

export const packr = new Packr(options);
export const unpackr = new Unpackr(options);

/** Every event: sequence number, operation index, cycle at which it happened, and its type. */
export interface TraceEvent {
  seq: number;
  op: number;
  cycle: number;
  type: string;
  [field: string]: unknown;
}

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
