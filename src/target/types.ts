/** A target machine as loaded from targets/NAME.yaml. Addresses are physical, sizes in bytes. */

export type AccessRule = 'allowed' | 'fault';

export interface AlignmentRules {
  halfword: AccessRule;
  word: AccessRule;
  doubleword: AccessRule;
  multiple: AccessRule;
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
  | { kind: 'mpu'; regions: number; minSize: number; rule: 'armv7m' | 'armv8m' }
  | { kind: 'mmu'; page: number };

export interface Cache {
  size: number;
  line: number;
  ways: number;
  writeBack: boolean;
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
  line: number;
  col: number;
}

export interface DmaChannel {
  name: string;
  unit: number;
  align: number;
  lengthMultiple: number;
  setup: number;
  cyclesPerUnit: number;
  /** One more cycle of memory time for every this many units (0: none): the PSX's words + ceil(words/16). */
  burst: number;
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

export interface Budget {
  total: number;
  runtime: number;
  user: number;
  marginPercent: number;
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
}

/** The default static sections of the bare-metal seed: 1 MiB runtime, 4 MiB instances, 512 KiB scratch. */
export const DEFAULT_SECTIONS: readonly { name: string; size: number }[] = [
  { name: '.wrt_runtime', size: 1024 * 1024 },
  { name: '.wrt_instances', size: 4 * 1024 * 1024 },
  { name: '.wrt_scratch', size: 512 * 1024 },
];
