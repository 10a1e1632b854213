/** Parses and validates a scenario file; every error names the file, line and column. */
import { isPow2 } from '../util/bits.js';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readInput } from '../input/chunks.js';
import { FORMATS } from '../import/read.js';
import { basename, dirname, extname, resolve } from 'node:path';
import { MODES, type AllocatorEntry } from '../alloc/allocator.js';
import { ALLOCATORS } from '../alloc/registry.js';
import { configureTarget, loadTarget, resolveTarget, knownTargets } from '../target/load.js';
import type { Target } from '../target/types.js';
import { readYaml, suggest, type MapNode, type Node } from '../input/yaml.js';
import {
  CACHE_OPS,
  FREE_ORDERS,
  MAX_SEED,
  POLICIES,
  PRIVILEGE_MODES,
  VERIFICATION_LEVELS,
  type DmaEnd,
  type Expect,
  type Location,
  type Width,
  type HeapSpec,
  type LayoutSpec,
  type Placement,
  type Scenario,
  type SizeSpec,
  type Step,
  type WasmArg,
  type WasmValue,
} from './types.js';
import { readModule, WasmFormatError, type WasmInfo } from '../wasm/decode.js';
import { FAULT_KINDS } from '../memory/faults.js';
import { checkTargetFits, effectiveSections } from '../layout/layout.js';
import { PLACEMENTS } from '../layout/segments.js';

/** `$schema` names the JSON Schema an editor checks the file against (schemas/); emu ignores it. */
const TOP_KEYS = ['$schema', 'name', 'description', 'target', 'seed', 'policy', 'verification', 'mode', 'cache_as_ram', 'sections', 'heaps', 'layout', 'budgets', 'leak_check', 'trace', 'steps', 'expect'];

export function loadScenario(file: string): Scenario {
  const bytes = readInput(file);
  return parseScenario(file, bytes.toString('utf8'), createHash('sha256').update(bytes).digest('hex'));
}

export function parseScenario(file: string, text: string, hash: string): Scenario {
  const root = readYaml(file, text).map(TOP_KEYS);
  root.get('$schema')?.str(); // a string if given; nothing else reads it
  const targetNode: Node = root.req('target');
  const targetRef = targetNode.name();
  const targetFile = resolveTarget(targetRef, dirname(file));
  if (!targetFile) targetNode.fail(`unknown target '${targetRef}'${suggest(targetRef, knownTargets())} (known: ${knownTargets().join(', ')}, or a path to a target file)`);
  const cacheAsRamNode = root.get('cache_as_ram');
  const cacheAsRam = cacheAsRamNode?.bool() ?? false;
  const loaded = checkTargetFits(loadTarget(targetFile));
  if (cacheAsRam && !loaded.cache?.asRam) cacheAsRamNode!.fail(`cache_as_ram: target ${loaded.name} has no cache that can serve as RAM`);
  const target = configureTarget(loaded, { cacheAsRam });

  const scenario: Scenario = {
    name: root.get('name')?.name() ?? basename(file, extname(file)),
    description: root.get('description')?.str() ?? '',
    file,
    hash,
    target,
    targetLine: targetNode.line,
    seed: root.get('seed')?.int(0, MAX_SEED) ?? 0,
    policy: root.get('policy')?.oneOf(POLICIES) ?? 'no_std_alloc',
    verification: root.get('verification')?.oneOf(VERIFICATION_LEVELS) ?? 'none',
    mode: root.get('mode')?.oneOf(PRIVILEGE_MODES) ?? 'user',
    cacheAsRam,
    sections: readSections(root.get('sections'), [...target.regions.map((r) => r.name), ...target.partitions.map((p) => p.name)]),
    heaps: [],
    layout: null,
    budgets: [],
    leakCheck: root.get('leak_check')?.bool() ?? true,
    sampleEvery: 0,
    steps: [],
    expect: null,
  };
  const trace = root.get('trace');
  if (trace) scenario.sampleEvery = trace.map(['sample_every']).get('sample_every')?.int(0) ?? 0;

  const budgets = root.get('budgets');
  if (budgets) {
    if (!budgets.isMap()) budgets.fail('budgets: expected a map of crate name to bytes');
    const m = budgets.map(null);
    scenario.budgets = m.keys().map((name) => ({ name: m.key(name)!.name(), bytes: m.req(name).size(), line: m.key(name)!.line }));
  }

  // Containers a heap or arena can be placed in: regions, partitions, sections, then segments.
  const containers = [...target.regions.map((r) => r.name), ...target.partitions.map((p) => p.name), ...effectiveSections(scenario).map((s) => s.name)];
  const layoutNode = root.get('layout');
  if (layoutNode) {
    scenario.layout = readLayout(layoutNode, containers);
    for (const item of [...scenario.layout.components, ...scenario.layout.shared]) {
      if (containers.includes(item.name)) layoutNode.fail(`layout: '${item.name}' is already the name of a region, partition or section`);
      containers.push(item.name);
    }
  }
  for (const node of root.get('heaps')?.seq() ?? []) {
    const heap = readHeap(node, scenario, containers);
    if (scenario.heaps.some((h) => h.name === heap.name)) node.fail(`heap '${heap.name}' is defined twice`);
    scenario.heaps.push(heap);
  }

  const ctx: StepContext = { scenario, variables: [], randomCounts: new Map(), allocHeaps: new Map(), wasmModules: new Map() };
  scenario.steps = readSteps(root.req('steps'), ctx);
  if (root.has('expect')) scenario.expect = readExpect(root.req('expect'), scenario.target);
  return scenario;
}

function readSections(node: Node | undefined, containers: readonly string[]): Scenario['sections'] {
  if (!node) return null;
  if (!node.isSeq()) {
    node.oneOf(['default']);
    return { defaults: true, overrides: [], line: node.line };
  }
  const overrides = node.seq().map((item) => {
    const m = item.map(['name', 'in', 'size']);
    const inNode = m.get('in');
    const place = inNode?.name() ?? null;
    if (inNode && place !== null && !containers.includes(place)) inNode.fail(`section ${m.req('name').value}: unknown region or partition '${place}'${suggest(place, containers)} (${containers.join(', ')})`);
    return { name: m.req('name').name(), in: place, size: m.get('size')?.size() ?? null, line: item.line };
  });
  return { defaults: false, overrides, line: node.line };
}

/** `NAME`, or `{in: NAME, offset, size}` (`region:` reads the same as `in:`). */
function readPlacement(node: Node, containers: readonly string[]): Placement {
  const m = node.isMap() ? node.map(['in', 'region', 'offset', 'size']) : null;
  if (m && m.has('in') === m.has('region')) node.fail(`${node.what}: give 'in' (a section, partition, region or segment) or 'region'`);
  const nameNode: Node = m ? (m.get('in') ?? m.req('region')) : node;
  const name = nameNode.name();
  if (!containers.includes(name)) nameNode.fail(`${node.what}: unknown place '${name}'${suggest(name, containers)} (regions, partitions, sections and segments: ${containers.join(', ')})`);
  return { in: name, offset: m?.get('offset')?.size() ?? null, size: m?.get('size')?.size() ?? null, line: node.line };
}

function readHeap(node: Node, scenario: Scenario, containers: readonly string[]): HeapSpec {
  const m = node.map(['name', 'allocator', 'in', 'size', 'budget', 'soft_limit', 'options']);
  const name = m.req('name').name();
  const allocNode: Node = m.req('allocator');
  const allocator = allocNode.name();
  const entry = ALLOCATORS.get(allocator);
  if (!entry) allocNode.fail(`heap '${name}': unknown allocator '${allocator}'${suggest(allocator, [...ALLOCATORS.keys()])} (available: ${[...ALLOCATORS.keys()].join(', ')})`);
  const place = readPlacement(m.req('in'), containers);
  const size = m.get('size')?.size() ?? null;
  if (size !== null) place.size = size;
  if (dynamicComponent(scenario, place.in)) {
    // The heap is the segment's: it takes all of it, and follows it as it grows, shrinks or goes.
    const inNode = m.req('in');
    const inMap = inNode.isMap() ? inNode.map(null) : null;
    const slice = m.key('size') ?? inMap?.key('offset') ?? inMap?.key('size');
    if (slice) slice.fail(`heap '${name}': a heap in the dynamic segment '${place.in}' takes the whole segment and follows its size; leave out offset and size`);
    const other = scenario.heaps.find((h) => h.place.in === place.in);
    if (other) m.req('in').fail(`heap '${name}': the dynamic segment '${place.in}' already holds heap '${other.name}' (a dynamic segment holds one heap, which follows its size)`);
  }
  if (place.size === 0) m.req('size').fail(`heap '${name}': size must be greater than 0`);
  const options: HeapSpec['options'] = {};
  const optNode = m.get('options');
  if (optNode) {
    const om = optNode.map(Object.keys(entry.options));
    for (const key of om.keys()) {
      const v = om.req(key);
      const spec = entry.options[key];
      if (spec.kind === 'bool') {
        options[key] = v.bool();
        continue;
      }
      const n = spec.kind === 'int' ? v.int() : v.size();
      if (n < (spec.min ?? 0) || n > (spec.max ?? Number.MAX_SAFE_INTEGER)) v.fail(`${allocator} option ${key} (${spec.about}): ${n} is outside ${spec.min ?? 0}..${spec.max ?? 'any'}`);
      if (spec.pow2 && !isPow2(n)) v.fail(`${allocator} option ${key} (${spec.about}): ${n} is not a power of two`);
      options[key] = n;
    }
  }
  const budget = m.get('budget');
  if (budget) checkBudgetName(budget, scenario);
  return { name, allocator, place, budget: budget?.name() ?? null, softLimit: m.get('soft_limit')?.size() ?? null, options, line: node.line };
}

/** Whether `name` is a component of a dynamic layout (placed, resized and released at run time). */
function dynamicComponent(scenario: Scenario, name: string): boolean {
  return scenario.layout?.strategy === 'dynamic' && scenario.layout.components.some((c) => c.name === name);
}

function checkBudgetName(node: Node, scenario: Scenario): void {
  const name = node.name();
  const names = scenario.budgets.map((b) => b.name);
  if (!names.includes(name)) node.fail(`unknown crate budget '${name}'${suggest(name, names)}${names.length ? ` (budgets: ${names.join(', ')})` : ' (declare it under budgets:)'}`);
}

function readLayout(node: Node, containers: readonly string[]): LayoutSpec {
  const m = node.map(['arena', 'guard', 'align', 'strategy', 'placement', 'components', 'shared', 'concurrent']);
  const strategy = m.get('strategy')?.oneOf(['static', 'dynamic'] as const) ?? 'static';
  const placementNode = m.get('placement');
  if (placementNode && strategy === 'static') placementNode.fail(`layout.placement: only a dynamic layout (strategy: dynamic) places segments at run time`);
  const placement = placementNode?.oneOf(PLACEMENTS) ?? 'first-fit';
  const align = m.get('align')?.size() ?? 16;
  if (!isPow2(align)) m.req('align').fail(`layout.align: ${align} is not a power of two`);
  const seen = new Set<string>();
  const unique = (name: string, n: Node) => {
    if (seen.has(name)) n.fail(`layout: '${name}' is defined twice`);
    seen.add(name);
    return name;
  };
  const components = m.req('components').seq().map((c) => {
    const cm = c.map(['name', 'size', 'dma']);
    const name = unique(cm.req('name').name(), c);
    // A dynamic layout's component may start without a segment: its first segment step places it.
    if (strategy === 'static' && !cm.has('size')) c.fail(`layout: component '${name}' needs a size (only a dynamic layout, strategy: dynamic, places segments at run time)`);
    return { name, size: cm.get('size')?.size() ?? 0, dma: cm.get('dma')?.bool() ?? false, line: c.line };
  });
  const shared = (m.get('shared')?.seq() ?? []).map((s) => {
    const sm = s.map(['name', 'size', 'access', 'lock']);
    const accessNode = sm.req('access');
    const am = accessNode.map(null);
    const access = am.keys().map((component) => {
      if (!components.some((c) => c.name === component)) am.key(component)!.fail(`shared '${sm.req('name').value}': unknown component '${component}'`);
      return { component, access: am.req(component).oneOf(['r', 'w', 'rw'] as const) };
    });
    const size = sm.req('size').size();
    if (size === 0 && strategy === 'dynamic') sm.req('size').fail(`shared '${sm.req('name').value}': a shared region of a dynamic layout is placed at the start and needs a size`);
    const name = unique(sm.req('name').name(), s);
    return { name, size, access, lock: sm.get('lock')?.name() ?? name, line: s.line };
  });
  const concurrent = m.get('concurrent')?.bool() ?? false;
  return { arena: readPlacement(m.req('arena'), containers), guard: m.get('guard')?.size() ?? 0, align, strategy, placement, components, shared, concurrent, line: node.line };
}

// ---- steps ----

interface StepContext {
  scenario: Scenario;
  /** Repeat variables in scope, innermost last. */
  variables: string[];
  randomCounts: Map<string, number>;
  /** The heap each alloc step's id (as written) was allocated on, for checks of later steps. */
  allocHeaps: Map<string, string>;
  /** The module each component runs (one instance per component), and the line that first named it. */
  wasmModules: Map<string, { file: string; line: number }>;
}

const STEP_KINDS = ['alloc', 'free', 'realloc', 'scope', 'repeat', 'random', 'grow', 'segment', 'read', 'write', 'copy', 'dma', 'wait', 'cache', 'replay', 'check', 'sample', 'idle', 'frame', 'lock', 'unlock', 'wasm'];
/** Step kinds of the design that emu does not run yet, with what they belong to (refused with a clear message). */
const LATER_STEPS: Record<string, string> = {};

function readSteps(node: Node, ctx: StepContext): Step[] {
  return node.seq().map((item) => readStep(item, ctx));
}

function readStep(node: Node, ctx: StepContext): Step {
  const line = node.line;
  if (node.isScalar() && typeof node.value === 'string') {
    const word = node.value;
    if (word === 'check' || word === 'sample') return { kind: word, line };
    if (word === 'frame') return { kind: 'frame', line, budget: null };
  }
  if (!node.isMap()) node.fail(`${node.what}: a step is a one-key map like 'alloc: {...}' (or the word check, sample or frame)`);
  const keys = node.map(null).keys();
  const kind = keys[0];
  if (keys.length !== 1) node.fail(`${node.what}: a step has exactly one key, found ${keys.length} (${keys.join(', ')})`);
  if (Object.hasOwn(LATER_STEPS, kind)) node.fail(`${node.what}: '${kind}' steps (${LATER_STEPS[kind]}) are not supported yet`);
  const body = node.map(STEP_KINDS).req(kind);
  const heapRef = (n: Node) => checkHeap(n, ctx.scenario);
  switch (kind) {
    case 'alloc': {
      const m = body.map(['id', 'heap', 'size', 'align', 'budget', 'stream', 'mode', 'at']);
      const id = readId(m.req('id'), ctx);
      const heap = heapRef(m.req('heap'));
      const budget = m.get('budget');
      if (budget) checkBudgetName(budget, ctx.scenario);
      // An allocator with placement modes models a real API: it judges size and alignment itself.
      const modes = allocatorOf(heap, ctx.scenario).modes;
      if (!modes) for (const key of ['mode', 'at']) if (m.has(key)) m.req(key).fail(`alloc: '${key}' is for allocators with placement modes (psp-sysmem); heap '${heap}' uses ${heapSpec(heap, ctx.scenario).allocator}`);
      const alignNode = m.get('align');
      const align = modes && alignNode ? alignNode.int() : readAlign(alignNode);
      ctx.allocHeaps.set(id, heap);
      return { kind, line, id, heap, size: readSizeSpec(m.req('size')), align, budget: budget?.name() ?? null, stream: m.get('stream')?.name() ?? `size:${id}`, mode: readMode(m.get('mode')), at: m.get('at')?.size() ?? null };
    }
    case 'grow': {
      const m = body.map(['heap', 'pages']);
      const heap = heapRef(m.req('heap'));
      if (!allocatorOf(heap, ctx.scenario).grows) m.req('heap').fail(`grow: heap '${heap}' uses ${heapSpec(heap, ctx.scenario).allocator}, which cannot grow (use a wasm heap)`);
      return { kind, line, heap, pages: m.req('pages').int() };
    }
    case 'segment': {
      const m = body.map(['component', 'size']);
      const componentNode = m.req('component');
      const component = componentNode.name();
      const layout = ctx.scenario.layout;
      if (layout?.strategy !== 'dynamic') node.fail(`segment: segment steps need a dynamic layout (layout: {strategy: dynamic, ...}); ${layout ? `this scenario's layout is static (line ${layout.line})` : 'this scenario has no layout'}`);
      if (layout.shared.some((s) => s.name === component)) componentNode.fail(`segment: '${component}' is a shared region; segment steps place, resize and release components`);
      const names = layout.components.map((c) => c.name);
      if (!names.includes(component)) componentNode.fail(`segment: unknown component '${component}'${suggest(component, names)} (components: ${names.join(', ')})`);
      return { kind, line, component, size: m.req('size').size() };
    }
    case 'free': {
      if (!body.isMap()) return { kind, line, id: readId(body, ctx), heap: null };
      const m = body.map(['id', 'heap']);
      return { kind, line, id: readId(m.req('id'), ctx), heap: m.get('heap') ? heapRef(m.req('heap')) : null };
    }
    case 'realloc': {
      const m = body.map(['id', 'size', 'stream']);
      const id = readId(m.req('id'), ctx);
      const heap = ctx.allocHeaps.get(id);
      const missing = heap === undefined ? undefined : allocatorOf(heap, ctx.scenario).noRealloc;
      if (missing) m.req('id').fail(`realloc: id ${id} lives in heap '${heap}' (${heapSpec(heap!, ctx.scenario).allocator}), which has no realloc: ${missing}`);
      return { kind, line, id, size: readSizeSpec(m.req('size')), stream: m.get('stream')?.name() ?? `size:${id}` };
    }
    case 'scope': {
      const m = body.map(['heap', 'budget', 'steps']);
      const heap = heapRef(m.req('heap'));
      if (!allocatorOf(heap, ctx.scenario).scopes) m.req('heap').fail(`scope: heap '${heap}' uses ${heapSpec(heap, ctx.scenario).allocator}, which has no scopes (use a bump heap)`);
      return { kind, line, heap, budget: m.get('budget')?.size() ?? null, steps: readSteps(m.req('steps'), ctx) };
    }
    case 'repeat': {
      const m = body.map(['times', 'var', 'steps']);
      const variable = m.get('var')?.name() ?? 'i';
      ctx.variables.push(variable);
      const steps = readSteps(m.req('steps'), ctx);
      ctx.variables.pop();
      return { kind, line, times: m.req('times').int(0), variable, steps };
    }
    case 'random': {
      const m = body.map(['count', 'heap', 'size', 'align', 'max_live', 'free_order', 'stream', 'workload', 'drain']);
      const heap = heapRef(m.req('heap'));
      const n = (ctx.randomCounts.get(heap) ?? 0) + 1;
      ctx.randomCounts.set(heap, n);
      // A named workload replays the same requests wherever it appears (to compare allocators);
      // a stream goes on where its last draw stopped.
      const workload = m.get('workload');
      if (workload && m.has('stream')) workload.fail(`random: give 'stream' (a sequence that continues) or 'workload' (the same sequence each time), not both`);
      const stream = workload?.name() ?? m.get('stream')?.name() ?? `random:${heap}:${n}`;
      return {
        kind, line, heap,
        count: m.req('count').int(0),
        size: readSizeSpec(m.req('size')),
        align: readAlign(m.get('align')),
        maxLive: m.get('max_live')?.int(1) ?? 64,
        freeOrder: m.get('free_order')?.oneOf(FREE_ORDERS) ?? 'random',
        stream,
        drain: m.get('drain')?.bool() ?? true,
        workload: workload !== undefined,
        ids: workload ? `${stream}@${heap}` : stream,
      };
    }
    case 'read':
    case 'write': {
      const m = body.map(['id', 'addr', 'offset', 'len', 'width', 'by']);
      const width = readWidth(m.get('width'), ctx.scenario.target.cpu.word);
      const len = m.get('len')?.size() ?? (width === 'multiple' ? 8 : width);
      if (len === 0) m.req('len').fail(`${kind}: len must be at least 1`);
      return { kind, line, at: readLocation(m, kind, ctx), len, width, by: readActor(m.get('by'), ctx.scenario) };
    }
    case 'copy': {
      const m = body.map(['from', 'to', 'len', 'by']);
      const end = (key: string) => readLocation(m.req(key).map(['id', 'addr', 'offset']), `copy.${key}`, ctx);
      return { kind, line, from: end('from'), to: end('to'), len: m.req('len').size(), by: readActor(m.get('by'), ctx.scenario) };
    }
    case 'wait':
      return { kind, line, channel: readChannel(body.map(['channel']).req('channel'), kind, ctx.scenario) };
    case 'dma': {
      const m = body.map(['channel', 'from', 'to', 'len', 'by']);
      const channel = readChannel(m.req('channel'), kind, ctx.scenario);
      const end = (key: string): DmaEnd => {
        const n = m.req(key);
        if (!n.isMap()) {
          const name = n.name();
          if (name === 'device') return { kind: 'device' };
          const regions = ctx.scenario.target.regions.map((r) => r.name);
          if (!regions.includes(name)) n.fail(`dma.${key}: unknown region '${name}'${suggest(name, regions)} (or 'device', {id, offset} or {addr})`);
          return { kind: 'region', name };
        }
        return readLocation(n.map(['id', 'addr', 'offset']), `dma.${key}`, ctx);
      };
      return { kind, line, channel, from: end('from'), to: end('to'), len: m.req('len').size(), by: readActor(m.get('by'), ctx.scenario) };
    }
    case 'lock':
    case 'unlock':
      return readLockStep(kind, body, line, ctx.scenario);
    case 'cache': {
      const m = body.map(['op', 'id', 'addr', 'offset', 'len']);
      if (!ctx.scenario.target.cache) m.req('op').fail(`cache: target ${ctx.scenario.target.name} has no data cache`);
      return { kind, line, op: m.req('op').oneOf(CACHE_OPS), at: readLocation(m, 'cache', ctx), len: m.req('len').size() };
    }
    case 'replay': {
      const m = body.map(['file', 'format', 'heap', 'align']);
      const fileNode = m.req('file');
      const file = resolve(dirname(ctx.scenario.file), fileNode.name());
      if (!existsSync(file)) fileNode.fail(`replay: no log file ${file}`);
      return { kind, line, file, format: m.req('format').oneOf(FORMATS), heap: heapRef(m.req('heap')), align: readAlign(m.get('align')) };
    }
    case 'wasm':
      return readWasm(body, line, ctx);
    case 'idle':
      return { kind, line, cycles: body.duration(ctx.scenario.target.cpu.clockHz) };
    case 'frame': {
      if (body.value === null) return { kind, line, budget: null };
      const m = body.map(['budget']);
      return { kind, line, budget: m.get('budget')?.duration(ctx.scenario.target.cpu.clockHz) ?? null };
    }
    default: // check, sample: no arguments
      if (body.value !== null && !(body.isMap() && body.map(null).keys().length === 0)) body.fail(`${kind} takes no arguments`);
      return { kind: kind as 'check' | 'sample', line };
  }
}

/** The functions emu gives a module: allocation from an emu heap. */
const WASM_IMPORTS: Record<string, { params: string[]; results: string[] }> = {
  'env.emu_malloc': { params: ['i32'], results: ['i32'] },
  'env.emu_free': { params: ['i32'], results: [] },
};
const WASM_VALUES = ['i32', 'i64', 'f32', 'f64'];

/** Modules read once per parse: a scenario calls the same module many times. */
const wasmInfos = new Map<string, WasmInfo>();

/**
 * `wasm: {component, module, call, args, heap}`: the module is read here, so a file that is not
 * WebAssembly, a module without a memory, an export that does not exist or the wrong number of
 * arguments is an input error at its line, before anything runs.
 */
function readWasm(body: Node, line: number, ctx: StepContext): Step {
  const m = body.map(['component', 'module', 'call', 'args', 'heap']);
  const layout = ctx.scenario.layout;
  const compNode: Node = m.req('component');
  const component = compNode.name();
  const components = layout?.components ?? [];
  const spec = components.find((c) => c.name === component);
  if (!spec) compNode.fail(`wasm: unknown component '${component}'${suggest(component, components.map((c) => c.name))}${components.length ? ` (components: ${components.map((c) => c.name).join(', ')})` : ' (the scenario has no layout components)'}`);
  const modNode: Node = m.req('module');
  const module = modNode.name();
  const file = resolve(dirname(ctx.scenario.file), module);
  if (!existsSync(file)) modNode.fail(`wasm: no module file ${file}`);
  const earlier = ctx.wasmModules.get(component);
  if (earlier && earlier.file !== file) modNode.fail(`wasm: component ${component} already runs ${earlier.file} (line ${earlier.line}); a component has one module instance`);
  ctx.wasmModules.set(component, earlier ?? { file, line });
  const info = wasmInfo(file, modNode, module);
  if (!info.memory) modNode.fail(`wasm: ${module} has no memory: there is nothing to place in segment ${component}`);
  // A dynamic segment's size changes with segment steps: it is checked when the module is instantiated.
  if (layout!.strategy !== 'dynamic' && info.memory.initial * 65536 > spec.size) modNode.fail(`wasm: ${module}'s memory starts at ${info.memory.initial} pages (${info.memory.initial * 65536} bytes), more than component ${component}'s ${spec.size} bytes`);
  let allocates = false;
  for (const imp of info.imports) {
    if (imp.kind === 'memory') continue;
    const key = `${imp.module}.${imp.name}`;
    const wanted = WASM_IMPORTS[key];
    if (imp.kind !== 'func' || !wanted) modNode.fail(`wasm: ${module} imports ${imp.kind} ${key}, which emu does not provide (it provides ${Object.keys(WASM_IMPORTS).join(' and ')}, and the memory)`);
    const sig = `(${imp.type!.params.join(', ')}) -> (${imp.type!.results.join(', ')})`;
    if (sig !== `(${wanted.params.join(', ')}) -> (${wanted.results.join(', ')})`) modNode.fail(`wasm: ${module} imports ${key} as ${sig}; emu's is (${wanted.params.join(', ')}) -> (${wanted.results.join(', ')})`);
    allocates = true;
  }
  const callNode: Node = m.req('call');
  const call = callNode.name();
  const exported = info.exports.find((e) => e.name === call && e.kind === 'func');
  const functions = info.exports.filter((e) => e.kind === 'func').map((e) => e.name);
  if (!exported) callNode.fail(`wasm: ${module} exports no function '${call}'${suggest(call, functions)}${functions.length ? ` (its functions: ${functions.join(', ')})` : ' (it exports no functions)'}`);
  const type = info.functions[exported.index].type;
  const bad = [...type.params, ...type.results].find((t) => !WASM_VALUES.includes(t));
  if (bad) callNode.fail(`wasm: ${call} takes or returns ${bad}; emu passes i32, i64, f32 and f64`);
  if (type.results.length > 1) callNode.fail(`wasm: ${call} returns ${type.results.length} values; emu records calls that return one or none`);
  const argsNode = m.get('args');
  const argNodes = argsNode ? argsNode.seq() : [];
  if (argNodes.length !== type.params.length) {
    (argsNode ?? callNode).fail(`wasm: ${call} takes ${type.params.length} argument${type.params.length === 1 ? '' : 's'} (${type.params.join(', ') || 'none'}), given ${argNodes.length}`);
  }
  const sharedNames = layout?.shared.map((s) => s.name) ?? [];
  const args = argNodes.map((n, i): WasmArg => {
    const t = type.params[i];
    if (n.isMap()) {
      const am = n.map(['shared', 'offset', 'addr']);
      if (t !== 'i32') n.fail(`wasm: argument ${i + 1} of ${call} is ${t}; an address is an i32`);
      if (am.has('addr')) return { kind: 'addr', addr: am.req('addr').size() };
      const name = am.req('shared').name();
      if (!sharedNames.includes(name)) am.req('shared').fail(`wasm: unknown shared region '${name}'${suggest(name, sharedNames)}${sharedNames.length ? ` (shared regions: ${sharedNames.join(', ')})` : ''}`);
      return { kind: 'shared', name, offset: am.get('offset')?.size() ?? 0 };
    }
    if (t === 'f32' || t === 'f64') {
      if (typeof n.value !== 'number') n.fail(`wasm: argument ${i + 1} of ${call} (${t}): expected a number, got ${JSON.stringify(n.value)}`);
      return { kind: 'number', value: n.value as number };
    }
    // Integers: decimal (negative too) or hex and sizes, within the type (i64s as exact JavaScript numbers).
    const value = typeof n.value === 'number' ? (t === 'i32' ? n.int(-(2 ** 31), 2 ** 32 - 1) : n.int(-Number.MAX_SAFE_INTEGER)) : n.size(t === 'i32' ? 2 ** 32 - 1 : Number.MAX_SAFE_INTEGER);
    return { kind: 'number', value };
  });
  const heapNode = m.get('heap');
  let heap: string | null = null;
  if (heapNode) {
    heap = checkHeap(heapNode, ctx.scenario);
    if (!allocates) heapNode.fail(`wasm: ${module} imports neither env.emu_malloc nor env.emu_free, so it has no use for heap '${heap}'`);
  } else if (allocates) {
    const inSegment = ctx.scenario.heaps.filter((h) => h.place.in === component);
    if (inSegment.length !== 1) modNode.fail(`wasm: ${module} imports env.emu_malloc; name its heap with 'heap:' (${inSegment.length ? `segment ${component} holds ${inSegment.map((h) => h.name).join(', ')}` : `segment ${component} holds no heap`})`);
    heap = inSegment[0].name;
  }
  if (heap !== null && heapSpec(heap, ctx.scenario).place.in !== component) (heapNode ?? modNode).fail(`wasm: heap '${heap}' is not in segment ${component}; the module reaches only its own segment`);
  return { kind: 'wasm', line, component, module, file, call, args, types: type.params as WasmValue[], result: (type.results[0] as WasmValue | undefined) ?? null, heap };
}

function wasmInfo(file: string, node: Node, module: string): WasmInfo {
  let info = wasmInfos.get(file);
  if (!info) {
    try {
      info = readModule(readInput(file));
    } catch (e) {
      if (e instanceof WasmFormatError) node.fail(`wasm: ${module}: ${e.message}`);
      throw e;
    }
    wasmInfos.set(file, info);
  }
  return info;
}

function readChannel(node: Node, step: string, scenario: Scenario): string {
  const channels = scenario.target.dma.map((c) => c.name);
  const channel = node.name();
  if (!channels.includes(channel)) node.fail(`${step}: target ${scenario.target.name} has no channel '${channel}'${suggest(channel, channels)}${channels.length ? ` (channels: ${channels.join(', ')})` : ' (it defines no DMA channels)'}`);
  return channel;
}

function checkHeap(node: Node, scenario: Scenario): string {
  const name = node.name();
  const names = scenario.heaps.map((h) => h.name);
  if (!names.includes(name)) node.fail(`unknown heap '${name}'${suggest(name, names)}${names.length ? ` (heaps: ${names.join(', ')})` : ' (declare it under heaps:)'}`);
  return name;
}

/** Block ids; `${var}` placeholders must name an enclosing repeat's variable. */
function readId(node: Node, ctx: StepContext): string {
  if (node.value === null || node.value === '') node.fail(`${node.what}: missing block id`);
  const id = node.name();
  for (const m of id.matchAll(/\$\{([^}]*)\}/g)) {
    if (!ctx.variables.includes(m[1])) node.fail(`id '${id}': '\${${m[1]}}' is not the variable of an enclosing repeat${ctx.variables.length ? ` (in scope: ${ctx.variables.join(', ')})` : ''}`);
  }
  return id;
}

/** `{id, offset}` (a block, offset 0 by default) or `{addr}`. */
function readLocation(m: MapNode, what: string, ctx: StepContext): Location {
  if (m.has('id') === m.has('addr')) m.node.fail(`${what}: give 'id' (a block, with an optional offset) or 'addr' (an absolute address)`);
  if (m.has('addr')) {
    if (m.has('offset')) m.req('offset').fail(`${what}: 'offset' goes with 'id'; add it to the address instead`);
    return { kind: 'addr', addr: m.req('addr').size() };
  }
  // A negative offset reaches below the block (its header, an underflow).
  return { kind: 'block', id: readId(m.req('id'), ctx), offset: m.get('offset')?.int(-Number.MAX_SAFE_INTEGER) ?? 0 };
}

const WIDTHS = [1, 2, 4, 8];

function readWidth(node: Node | undefined, word: number): Width {
  if (!node) return word as Width;
  if (node.value === 'multiple') return 'multiple';
  const width = node.int();
  if (!WIDTHS.includes(width)) node.fail(`width: ${width} is not 1, 2, 4, 8 or multiple`);
  return width as Width;
}

/** `by`: the component doing the access, checked against segment ownership and shared rights. */
function readActor(node: Node | undefined, scenario: Scenario): string | null {
  if (!node) return null;
  const name = node.name();
  const components = scenario.layout?.components.map((c) => c.name) ?? [];
  if (!components.includes(name)) node.fail(`by: unknown component '${name}'${suggest(name, components)}${components.length ? ` (components: ${components.join(', ')})` : ' (the scenario has no layout components)'}`);
  return name;
}

/**
 * `lock`/`unlock: {region, by}`: the lock guarding a shared region, taken or released by a component
 * with a right to the region, in a layout whose components run at the same time.
 */
function readLockStep(kind: 'lock' | 'unlock', body: Node, line: number, scenario: Scenario): Step {
  const m = body.map(['region', 'by']);
  const regionNode: Node = m.req('region');
  const region = regionNode.name();
  const layout = scenario.layout;
  const shared = layout?.shared ?? [];
  const spec = shared.find((s) => s.name === region);
  if (!spec) {
    const names = shared.map((s) => s.name);
    regionNode.fail(`${kind}: unknown shared region '${region}'${suggest(region, names)}${names.length ? ` (shared regions: ${names.join(', ')})` : ' (the layout declares no shared regions)'}`);
  }
  if (!layout!.concurrent) regionNode.fail(`${kind}: the layout's components run one after another, so a lock guards nothing; say 'concurrent: true' under layout: if they run at the same time`);
  const byNode: Node = m.req('by');
  const by = readActor(byNode, scenario)!;
  if (!spec.access.some((a) => a.component === by)) byNode.fail(`${kind}: ${by} has no access to the shared region ${region} (access: ${spec.access.map((a) => `${a.component}: ${a.access}`).join(', ')})`);
  return { kind, line, region, by };
}

function heapSpec(name: string, scenario: Scenario): HeapSpec {
  return scenario.heaps.find((h) => h.name === name)!;
}

function allocatorOf(heap: string, scenario: Scenario): AllocatorEntry {
  return ALLOCATORS.get(heapSpec(heap, scenario).allocator)!;
}

/** A placement mode by name, or by the PSP's type number (numbers it rejects reach the allocator). */
function readMode(node: Node | undefined): number | null {
  if (!node) return null;
  if (typeof node.value === 'number') return node.int();
  return MODES.indexOf(node.oneOf(MODES));
}

/** An alloc's alignment: none is the C library's malloc (0: the allocator's own), one is memalign. */
function readAlign(node: Node | undefined): number {
  if (!node) return 0;
  const align = node.size();
  if (!isPow2(align)) node.fail(`align: ${align} is not a power of two`);
  return align;
}

function readSizeSpec(node: Node): SizeSpec {
  if (!node.isMap()) return { kind: 'fixed', bytes: node.size() };
  const m = node.map(['uniform', 'pow2', 'choice']);
  const keys = m.keys();
  if (keys.length !== 1) node.fail('size: give exactly one of uniform, pow2 or choice');
  const arg = m.req(keys[0]);
  if (keys[0] === 'choice') {
    const options = arg.seq().map((n) => n.size());
    if (options.length === 0) arg.fail('choice: give at least one size');
    return { kind: 'choice', options };
  }
  const range = arg.seq();
  if (range.length !== 2) arg.fail(`${keys[0]}: expected [lo, hi]`);
  const [lo, hi] = range.map((n) => n.size());
  if (lo > hi) arg.fail(`${keys[0]}: lo (${lo}) is greater than hi (${hi})`);
  if (keys[0] === 'pow2' && (!isPow2(lo) || !isPow2(hi))) arg.fail('pow2: lo and hi must be powers of two');
  return { kind: keys[0] as 'uniform' | 'pow2', lo, hi };
}

function readExpect(node: Node, target: Target): Expect {
  const m = node.map(['faults', 'metrics']);
  const expect: Expect = { faults: null, metrics: [] };
  const faults = m.get('faults');
  if (faults) {
    expect.faults = faults.seq().map((f) => {
      const fm = f.map(['kind', 'heap', 'id', 'line']);
      return { kind: fm.req('kind').oneOf(FAULT_KINDS), heap: fm.get('heap')?.name() ?? null, id: fm.get('id')?.name() ?? null, line: fm.get('line')?.int(1) ?? null, at: f.line };
    });
  }
  const metrics = m.get('metrics');
  if (metrics) {
    const mm: MapNode = metrics.map(null);
    for (const metric of mm.keys()) {
      const b = mm.req(metric);
      const bound = b.map(['min', 'max', 'equals']);
      const num = (k: string) => {
        const n = bound.get(k);
        return n ? (typeof n.value === 'string' ? n.duration(target.cpu.clockHz) : n.int(-Number.MAX_SAFE_INTEGER)) : null;
      };
      expect.metrics.push({ metric, min: num('min'), max: num('max'), equals: num('equals'), at: b.line });
    }
  }
  return expect;
}
