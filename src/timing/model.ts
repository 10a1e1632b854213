/**
 * The cycle model: what an operation costs on the target. Allocator work is charged as instructions
 * at one cycle each plus its metadata words: through the target's data cache when the metadata sits
 * in a cached region (a hit is a cycle, a miss fills a line at the region's latency per bus word),
 * else at the region's read and write latency per word. Data accesses are charged the same way, one
 * CPU access per access width. The verification level adds its overhead to allocator cycles.
 */
import { MetadataTrace, type Work } from '../alloc/allocator.js';
import type { Verification } from '../scenario/types.js';
import type { Cache, DmaChannel, Region } from '../target/types.js';
import { DataCache } from './cache.js';

/**
 * Overhead of the verification levels (seed 000): none 0%, minimal ~1%, standard ~5%, full ~10%,
 * charged both in bytes (every request grows by it) and in allocator cycles.
 */
export const VERIFICATION_PERCENT: Record<Verification, number> = { none: 0, minimal: 1, standard: 5, full: 10 };

export interface CycleModel {
  /** Cycles for allocator work whose metadata lives in `region`. */
  allocator(work: Work, region: Region): number;
  /** Cycles for a CPU access of `len` bytes at `addr`, `unit` bytes at a time, through a `cached` window or not. */
  data(addr: number, len: number, unit: number, write: boolean, region: Region, cached: boolean): number;
  /** Cycles for memcpy of `len` bytes inside `region`, a word at a time: the loads of the source and the stores of the copy. */
  copy(from: number, to: number, len: number, word: number, region: Region, cached: boolean): number;
  /** A cache maintenance operation on a cached window of `region`: its cycles, the lines it covered and those it wrote back. */
  maintain(writeBack: boolean, invalidate: boolean, addr: number, len: number, region: Region): { cycles: number; lines: number; writtenBack: number };
  /** The target's data cache, which the coherency checks read too (null without one). */
  readonly cache: DataCache | null;
  /** Cycles the verification level's checks add to `accesses` CPU accesses, `bounded` when made through a block. */
  accessChecks(accesses: number, bounded: boolean): number;
  /** Cycles `full` verification adds to an allocator operation: its metadata checksums and the walk of `blocks` headers. */
  metadataChecks(work: Work, blocks: number, region: Region): number;
  /** A trace for allocators to record their metadata words in, when the model needs addresses. */
  readonly trace: MetadataTrace | null;
}

/**
 * What the verification levels' checks cost (seed 000 names the checks; the instruction counts are
 * emu's assumption, one cycle an instruction):
 * - a bounds check (minimal and up) compares the address with the block's base and its limit: 2;
 * - an alignment check (standard and up) tests the address's low bits: 1;
 * - a metadata checksum (full) folds each metadata word the allocator reads or writes into the
 *   block's checksum: 1 a word; and before each operation the heap's block headers are checked
 *   against their checksums, one header word read per block at the region's latency.
 */
export const BOUNDS_CHECK_CYCLES = 2;
export const ALIGNMENT_CHECK_CYCLES = 1;
export const CHECKSUM_CYCLES_PER_WORD = 1;

export class TargetCycleModel implements CycleModel {
  private readonly overheadPercent: number;
  private readonly bounds: boolean;
  private readonly alignment: boolean;
  private readonly checksums: boolean;
  readonly cache: DataCache | null;
  readonly trace: MetadataTrace | null;

  constructor(verification: Verification, cache: Cache | null) {
    this.overheadPercent = VERIFICATION_PERCENT[verification];
    this.bounds = verification !== 'none';
    this.alignment = verification === 'standard' || verification === 'full';
    this.checksums = verification === 'full';
    this.cache = cache ? new DataCache(cache) : null;
    this.trace = cache ? new MetadataTrace() : null;
  }

  allocator(work: Work, region: Region): number {
    let cycles = work.instructions;
    const trace = work.trace;
    if (this.cache && region.cached && trace) {
      cycles += this.cache.accessAll(trace.addrs, trace.writes, trace.length, region);
    } else {
      cycles += work.reads * region.read + work.writes * region.write;
    }
    return cycles + Math.ceil((cycles * this.overheadPercent) / 100);
  }

  accessChecks(accesses: number, bounded: boolean): number {
    return accesses * ((this.bounds && bounded ? BOUNDS_CHECK_CYCLES : 0) + (this.alignment ? ALIGNMENT_CHECK_CYCLES : 0));
  }

  metadataChecks(work: Work, blocks: number, region: Region): number {
    if (!this.checksums) return 0;
    return (work.reads + work.writes) * CHECKSUM_CYCLES_PER_WORD + blocks * region.read;
  }

  maintain(writeBack: boolean, invalidate: boolean, addr: number, len: number, region: Region): { cycles: number; lines: number; writtenBack: number } {
    return this.cache ? this.cache.maintain(writeBack, invalidate, addr, len, region) : { cycles: 0, lines: 0, writtenBack: 0 };
  }

  copy(from: number, to: number, len: number, word: number, region: Region, cached: boolean): number {
    return this.data(from, len, word, false, region, cached) + this.data(to, len, word, true, region, cached);
  }

  data(addr: number, len: number, unit: number, write: boolean, region: Region, cached: boolean): number {
    if (this.cache && cached) return this.cache.range(addr, len, unit, write, region);
    return Math.ceil(len / unit) * Math.ceil(unit / region.bus) * (write ? region.write : region.read);
  }
}

/**
 * A DMA transfer's time: the channel's setup, then its rate, `rate.cycles` per `rate.units` units
 * rounded up. psx-spx gives the PSX's RAM time per 0x100 words (GPU, MDEC and OTC 0x110, SPU 0x420,
 * CD-ROM 0x1800, PIO 0x1400); 0x110 per 0x100 is duckstation's words + ceil(words / 16) exactly.
 * The CPU spends all of it where the channel stalls it, else only the setup (programming the channel).
 */
export function dmaCycles(channel: DmaChannel, len: number): { cycles: number; stall: number; cpu: number } {
  const units = Math.ceil(len / channel.unit);
  const cycles = channel.setup + Math.ceil((units * channel.rate.cycles) / channel.rate.units);
  return { cycles, stall: channel.stallsCpu ? cycles : 0, cpu: channel.stallsCpu ? cycles : channel.setup };
}
