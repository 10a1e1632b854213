/** A target machine as loaded from targets/NAME.yaml. Addresses are physical, sizes in bytes. */

/**
 * The alignment each access width needs, in bytes (1: any address). A target file writes `allowed`
 * (1), `fault` (the width's natural alignment) or a number: the Cortex-M7's LDRD needs 4, not 8.
 */
export interface AlignmentRules {
  halfword: number;
  word: number;
  doubleword: number;
  multiple: number;
}

export interface Cpu {
  arch: string;
  clockHz: number;
  endian: 'little' | 'big';
  word: number;
  alignment: AlignmentRules;
}

export type Protection =
  | { kind: 'none' }
  /** `boot`: the regions the board's start-up code programs (they are not free for guards). */
  | { kind: 'mpu'; regions: number; minSize: number; rule: 'armv7m' | 'armv8m'; boot: MpuBootRegion[] }
  | { kind: 'mmu'; page: number };

/** An MPU region set up before the program runs: it makes a Device-memory region Normal. */
export interface MpuBootRegion {
  region: string;
  cached: boolean;
  why: string;
}

export interface Cache {
  size: number;
  line: number;
  ways: number;
  writeBack: boolean;
  /** Cache maintenance by range that needs line-aligned ends, and the error the OS returns otherwise. */
  invalidateAlign: { bytes: number; error: number } | null;
  /** Part of the cache usable as RAM (the SH-4's OCRAM): the region it becomes and the bytes it takes. */
  asRam: { region: string; size: number } | null;
}

/** Where user-mode code may not go, and what the OS answers when asked to put memory there. */
export interface Privilege {
  /** Address windows as the CPU issues them (any memory behind them): the kernel segments. */
  kernelWindows: { base: number; end: number; why: string }[];
  /** Partitions only the kernel may use, through any window. */
  kernelPartitions: { name: string; why: string }[];
  /** The error a user-mode allocation in a kernel partition returns. */
  error: number;
}

export interface View {
  name: string;
  base: number;
  cached: boolean;
}

export interface Reserved {
  offset: number;
  size: number;
  why: string;
}

export interface Region {
  name: string;
  base: number;
  size: number;
  kind: RegionKind;
  /** CPU cycles per bus-word read / write, and bytes per bus word. */
  read: number;
  write: number;
  bus: number;
  cpuMapped: boolean;
  dma: boolean;
  cached: boolean;
  /**
   * Device memory (the ARMv7-M default map's attribute for external RAM): never cached, and every
   * unaligned access faults. An MPU boot region makes it Normal; load() resolves that.
   */
  device: boolean;
  views: View[];
  mirrors: number[];
  reserved: Reserved[];
  line: number;
  col: number;
}

export const REGION_KINDS = ['ram', 'vram', 'scratchpad', 'rom', 'flash', 'sound', 'tcm', 'edram', 'io'] as const;
export type RegionKind = (typeof REGION_KINDS)[number];

export interface Partition {
  name: string;
  region: string;
  offset: number;
  size: number;
  reserved: Reserved[];
  line: number;
  col: number;
}

export interface DmaChannel {
  name: string;
  unit: number;
  align: number;
  lengthMultiple: number;
  setup: number;
  /** The transfer rate: `rate.cycles` cycles per `rate.units` units (psx-spx gives cycles per 0x100 words). */
  rate: { cycles: number; units: number };
  /** What the controller does with a start address off its alignment: refuse it, or clear the low bits and run. */
  misaligned: 'refuse' | 'truncate';
  stallsCpu: boolean;
  reads: string[];
  writes: string[];
  writeback: boolean;
  line: number;
  col: number;
}

export interface SectionSpec {
  name: string;
  /** A region or partition name. */
  in: string;
  size: number;
  line: number;
  col: number;
}

/** The environment's memory budget (seed 000): the runtime's share, the user modules', and a margin kept free. */
export interface Budget {
  total: number;
  runtime: number;
  user: number;
  marginPercent: number;
  /** Sections and partitions whose memory is the runtime's; everything else the program lays out is user modules'. */
  runtimeIn: string[];
}

export interface Target {
  name: string;
  description: string;
  file: string;
  /** sha256 of the file's bytes, for trace headers. */
  hash: string;
  cpu: Cpu;
  protection: Protection;
  cache: Cache | null;
  regions: Region[];
  partitions: Partition[];
  dma: DmaChannel[];
  sections: SectionSpec[];
  budget: Budget | null;
  privilege: Privilege | null;
}

/** The default static sections of the bare-metal seed: 1 MiB runtime, 4 MiB instances, 512 KiB scratch. */
export const DEFAULT_SECTIONS: readonly { name: string; size: number }[] = [
  { name: '.wrt_runtime', size: 1024 * 1024 },
  { name: '.wrt_instances', size: 4 * 1024 * 1024 },
  { name: '.wrt_scratch', size: 512 * 1024 },
];
