/**
 * The cycle model: what an operation costs on the target. This first model charges allocator work
 * (instructions at one cycle each, plus metadata words read and written at the latency of the region
 * that holds the metadata) and the verification level's overhead. It is refined behind this interface.
 */
import type { Work } from '../alloc/allocator.js';
import { VERIFICATION_PERCENT, type Verification } from '../scenario/types.js';
import type { Region } from '../target/types.js';

export interface CycleModel {
  /** Cycles for allocator work whose metadata lives in `region`. */
  allocator(work: Work, region: Region): number;
}

export class MetadataLatencyModel implements CycleModel {
  private readonly overheadPercent: number;
  constructor(verification: Verification) {
    this.overheadPercent = VERIFICATION_PERCENT[verification];
  }

  allocator(work: Work, region: Region): number {
    const cycles = work.instructions + work.reads * region.read + work.writes * region.write;
    return cycles + Math.ceil((cycles * this.overheadPercent) / 100);
  }
}
