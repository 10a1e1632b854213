/** A scenario as validated from scenarios/NAME.yaml. Every step keeps its source line. */
import type { AllocatorOptions } from '../alloc/allocator.js';
import type { SegmentPlacement } from '../layout/segments.js';
import type { Target } from '../target/types.js';

export const POLICIES = ['std', 'no_std_alloc', 'no_alloc'] as const;
export type Policy = (typeof POLICIES)[number];

export const PRIVILEGE_MODES = ['user', 'kernel'] as const;
export type PrivilegeMode = (typeof PRIVILEGE_MODES)[number];

export const VERIFICATION_LEVELS = ['none', 'minimal', 'standard', 'full'] as const;
export type Verification = (typeof VERIFICATION_LEVELS)[number];

/** A request size: fixed, or drawn from the seeded generator. */
export type SizeSpec =
  | { kind: 'fixed'; bytes: number }
  | { kind: 'uniform'; lo: number; hi: number }
  | { kind: 'pow2'; lo: number; hi: number }
  | { kind: 'choice'; options: number[] };

/** Where a heap or arena lives: a named container, optionally a slice of it. */
export interface Placement {
  in: string;
  offset: number | null;
  size: number | null;
  line: number;
}

export interface HeapSpec {
  name: string;
  allocator: string;
  place: Placement;
  /** Crate budget charged by every allocation of this heap unless the step names another. */
  budget: string | null;
  /** std policy: in-use bytes above this warn. */
  softLimit: number | null;
  options: AllocatorOptions;
  line: number;
}

export interface SectionOverride {
  name: string;
  in: string | null;
  size: number | null;
  line: number;
}

export interface ComponentSpec {
  name: string;
  /** Bytes of its segment at the start; 0 in a dynamic layout: placed by its first `segment` step. */
  size: number;
  dma: boolean;
  line: number;
}

export type Access = 'r' | 'w' | 'rw';

export interface SharedSpec {
  name: string;
  size: number;
  access: { component: string; access: Access }[];
  /** The lock that guards it: its own (named as the region) unless the entry names one several regions share. */
  lock: string;
  line: number;
}

export interface LayoutSpec {
  arena: Placement;
  guard: number;
  align: number;
  /** `static`: placed once, in order; `dynamic`: placed, resized and released at run time (segment steps). */
  strategy: 'static' | 'dynamic';
  /** Dynamic layouts: how a new segment's place is chosen. */
  placement: SegmentPlacement;
  components: ComponentSpec[];
  shared: SharedSpec[];
  /** The components run at the same time (threads, tasks, cores): their accesses to shared regions can race. */
  concurrent: boolean;
  line: number;
}

export interface CrateBudget {
  name: string;
  bytes: number;
  line: number;
}

export interface FaultExpectation {
  kind: string;
  heap: string | null;
  id: string | null;
  line: number | null;
  /** Where the expectation itself is written. */
  at: number;
}

export interface MetricBound {
  metric: string;
  min: number | null;
  max: number | null;
  equals: number | null;
  at: number;
}

export interface Expect {
  faults: FaultExpectation[] | null;
  metrics: MetricBound[];
}

export type Step =
  | { kind: 'alloc'; line: number; id: string; heap: string; size: SizeSpec; align: number; budget: string | null; stream: string; mode: number | null; at: number | null }
  /** `heap` names the allocator asked when emu holds no block for the id (a never-allocated one). */
  | { kind: 'free'; line: number; id: string; heap: string | null }
  | { kind: 'realloc'; line: number; id: string; size: SizeSpec; stream: string }
  | { kind: 'scope'; line: number; heap: string; budget: number | null; steps: Step[] }
  | { kind: 'repeat'; line: number; times: number; variable: string; steps: Step[] }
  | { kind: 'random'; line: number; heap: string; count: number; size: SizeSpec; align: number; maxLive: number; freeOrder: FreeOrder; stream: string; drain: boolean; workload: boolean; ids: string }
  | { kind: 'grow'; line: number; heap: string; pages: number }
  /** A dynamic layout's segment: created (it has none), resized in place, or released (size 0). */
  | { kind: 'segment'; line: number; component: string; size: number }
  | { kind: 'read' | 'write'; line: number; at: Location; len: number; width: Width; by: string | null }
  | { kind: 'copy'; line: number; from: Location; to: Location; len: number; by: string | null }
  /** `by`: the component that started the transfer (its accesses to shared regions are that component's). */
  | { kind: 'dma'; line: number; channel: string; from: DmaEnd; to: DmaEnd; len: number; by: string | null }
  /** Take or release the lock that guards a shared region. */
  | { kind: 'lock' | 'unlock'; line: number; region: string; by: string }
  | { kind: 'cache'; line: number; op: CacheOp; at: Location; len: number }
  /** A field log streamed as operations on one heap (the path is resolved against the scenario's folder). */
  | { kind: 'replay'; line: number; file: string; format: string; heap: string; align: number }
  | { kind: 'check'; line: number }
  | { kind: 'sample'; line: number }
  | { kind: 'idle'; line: number; cycles: number }
  /** The CPU waits for a DMA channel's transfer to finish. */
  | { kind: 'wait'; line: number; channel: string }
  | { kind: 'frame'; line: number; budget: number | null }
  /**
   * A call of a WebAssembly module's export, the module rebased into the component's segment (one
   * instance per component, kept across steps); `file` is resolved against the scenario's folder,
   * `module` is as written. `heap` serves the module's env.emu_malloc and env.emu_free.
   */
  | { kind: 'wasm'; line: number; component: string; module: string; file: string; call: string; args: WasmArg[]; types: WasmValue[]; result: WasmValue | null; heap: string | null };

/** A wasm call's argument: a number, or an address the module reaches (a shared region, an absolute address) as its own address. */
export type WasmArg = { kind: 'number'; value: number } | { kind: 'shared'; name: string; offset: number } | { kind: 'addr'; addr: number };
export type WasmValue = 'i32' | 'i64' | 'f32' | 'f64';

/** Where an access, copy, cache operation or DMA end points: a block and offset, or an address. */
export type Location = { kind: 'block'; id: string; offset: number } | { kind: 'addr'; addr: number };
/** A DMA end may also name a whole region (a device's memory, like VRAM), or the channel's device. */
export type DmaEnd = Location | { kind: 'region'; name: string } | { kind: 'device' };

export const CACHE_OPS = ['writeback', 'invalidate', 'writeback-invalidate'] as const;
export type CacheOp = (typeof CACHE_OPS)[number];

/** Seeds are 32-bit: a scenario's `seed:`, and every --seed and --seeds of the command line. */
export const MAX_SEED = 2 ** 32 - 1;

/** An access's width in bytes, or `multiple` (load/store multiple: words, with its own alignment rule). */
export type Width = 1 | 2 | 4 | 8 | 'multiple';

export const FREE_ORDERS = ['fifo', 'lifo', 'random'] as const;
export type FreeOrder = (typeof FREE_ORDERS)[number];

export interface Scenario {
  name: string;
  description: string;
  file: string;
  /** sha256 of the scenario file's bytes. */
  hash: string;
  target: Target;
  targetLine: number;
  /** 0 .. MAX_SEED. */
  seed: number;
  policy: Policy;
  verification: Verification;
  /** The CPU's privilege (targets with kernel-only memory): user unless the scenario says kernel. */
  mode: PrivilegeMode;
  /** Whether the part of the cache the target can use as RAM (the SH-4's OCRAM) is RAM in this run. */
  cacheAsRam: boolean;
  /** `default` puts the seed's 1 MiB / 4 MiB / 512 KiB sections in the target's section containers. */
  sections: { defaults: boolean; overrides: SectionOverride[]; line: number } | null;
  heaps: HeapSpec[];
  layout: LayoutSpec | null;
  budgets: CrateBudget[];
  leakCheck: boolean;
  /** Take a metrics sample every N operations (0: only at `sample` steps). */
  sampleEvery: number;
  steps: Step[];
  expect: Expect | null;
}
