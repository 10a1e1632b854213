/** How the target enforces the layout's guard gaps. */
import type { Target } from '../target/types.js';

/** How a guard gap is enforced: an MMU page, an MPU region, or a canary band checked later. */
export type GuardProtection = 'mmu' | 'mpu' | 'canary';

/**
 * Which guards the target enforces. An MMU traps on every guard (rounded to pages by the layout). An
 * ARMv7-M MPU traps on a guard only if a region the boot code left free can cover it exactly: a power-of-two size of at
 * least the minimum, based at a multiple of its size; the regions are handed out in address order,
 * and the guards left over are canaries. Without protection every guard is a canary band.
 */
export function guardProtection(target: Target, guards: readonly { addr: number; size: number }[]): GuardProtection[] {
  const p = target.protection;
  if (p.kind === 'mmu') return guards.map(() => 'mmu');
  if (p.kind === 'none') return guards.map(() => 'canary');
  // The board's start-up code has already taken its regions (external SDRAM made Normal memory).
  let free = p.regions - p.boot.length;
  return guards.map((g) => {
    const fits = g.size >= p.minSize && (g.size & (g.size - 1)) === 0 && g.addr % g.size === 0;
    if (fits && free > 0) {
      free--;
      return 'mpu';
    }
    return 'canary';
  });
}
