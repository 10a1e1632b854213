/** The stable fault names (a contract: expectations, goldens and users name them). */
export const FAULT_KINDS = [
  'oom', 'fragmented', 'budget-exceeded', 'scope-depth', 'section-overflow', 'layout-invalid', 'guard-hit',
  'canary-corrupt', 'out-of-bounds', 'use-after-free', 'double-free', 'invalid-free', 'misaligned',
  'access-violation', 'unmapped', 'heap-corrupt', 'dma-region', 'dma-align', 'dma-length', 'dma-stale',
  'grow-failed', 'deadline-miss', 'margin-violated', 'leak', 'panic', 'data-race', 'lock-error',
  'wasm-trap',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** precise: the target traps at that operation; delayed: it notices later; silent: never. */
export type Detected = 'precise' | 'delayed' | 'silent';
