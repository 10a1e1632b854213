/** The readable summary of a run: what the terminal prints and what golden/NAME.md holds. */
import { formatBytes, group } from '../util/text.js';
import type { RunResult } from '../engine/engine.js';
import type { HeapSummary } from '../heap/heap.js';
import { percent, table } from './format.js';

export function formatSummary(result: RunResult): string {
  const { header, summary } = result;
  const lines: string[] = [];
  lines.push(`${header.scenario} on ${header.target} (seed ${header.seed}, policy ${header.policy}, verification ${header.verification})`);
  const f = summary.frame_cycles;
  const frames = summary.frames ? `   frames ${group(summary.frames)} (cycles p50/p99/max ${group(f.p50)}/${group(f.p99)}/${group(f.max)})` : '';
  lines.push(`ops ${group(summary.ops)}   cycles ${group(summary.cycles)}${frames}   events ${group(result.events)}${summary.halted ? '   HALTED' : ''}`);
  if (summary.heaps.length > 0) {
    lines.push('');
    const rows = [['heap', 'allocator', 'capacity', 'peak in use', 'peak requested', 'allocs', 'frees', 'failed', 'ext frag', 'int frag', 'heap/live', 'alloc cycles p50/p99/max', 'free p50/max']];
    for (const h of summary.heaps) {
      rows.push([
        h.name, h.allocator, formatBytes(h.capacity), group(h.peak_in_use), group(h.peak_requested), group(h.allocs), group(h.frees), group(h.failed),
        // Johnstone and Wilson's measure 4: the heap's high-water mark over peak live bytes.
        percent(h.ext_frag_ppm), percent(h.int_frag_ppm), `${(h.peak_ratio_ppm / 1_000_000).toFixed(2)}x`,
        `${group(h.alloc_cycles.p50)}/${group(h.alloc_cycles.p99)}/${group(h.alloc_cycles.max)}`,
        `${group(h.free_cycles.p50)}/${group(h.free_cycles.max)}`,
      ]);
    }
    lines.push(table(rows));
    lines.push('', 'worst-case heap sizes (Robson for any allocator, and the allocator\'s own), for this run\'s peak requested bytes and request sizes (failed requests included):');
    // Compared with the bytes the allocator can hand out: its control structure is not available.
    const bounds = [['heap', 'usable', 'sizes', 'Robson', 'own bound', 'verdict']];
    for (const h of summary.heaps) {
      const b = h.bounds;
      const sizes = `${group(h.min_demand_size)}..${group(h.max_demand_size)}`;
      const own = b?.allocator == null ? '-' : `${group(b.allocator)} = ${b.allocator_formula}`;
      bounds.push([h.name, group(h.capacity - h.fixed_overhead), sizes, b ? group(b.robson) : '-', own, boundsVerdict(h)]);
    }
    lines.push(table(bounds));
    for (const h of summary.heaps) {
      if (h.diagnostics) lines.push(`${h.name}: ` + Object.entries(h.diagnostics).map(([k, v]) => `${k} ${group(v)}`).join(', '));
    }
  }
  const arena = summary.arena;
  if (arena) {
    // The dynamic layout's arena, measured as a heap is: free bytes for segment bodies, the largest range, external fragmentation.
    lines.push('', `arena (dynamic layout, ${arena.placement}): ${formatBytes(arena.capacity)}, in use ${group(arena.in_use)} (peak ${group(arena.peak_in_use)}) with guards; free ${group(arena.free)} in ${arena.free_ranges} range(s), largest ${group(arena.largest_free)}, ext frag ${percent(arena.ext_frag_ppm)}; ${arena.segments} segment(s) live; ${group(arena.creates)} created, ${group(arena.resizes)} resized, ${group(arena.releases)} released, ${group(arena.refused)} refused`);
  }
  if (summary.budgets.length > 0) {
    lines.push('', 'budgets: ' + summary.budgets.map((b) => `${b.crate} ${group(b.used)}/${group(b.limit)}`).join(', '));
  }
  const env = summary.environment;
  if (env) {
    const share = (name: string, s: { peak: number; limit: number }) => `${name} ${group(s.peak)}/${group(s.limit)}${s.peak > s.limit ? ' (over)' : ''}`;
    const margin = Math.ceil((env.total * env.margin_percent) / 100);
    const kept = env.free_at_peak >= margin ? 'kept' : 'not kept';
    lines.push('', `environment budget at peak: ${share('runtime', env.runtime)}, ${share('user modules', env.user)}; in use ${group(env.peak_in_use)} of ${group(env.total)}, ${group(env.free_at_peak)} free (margin ${env.margin_percent}% = ${group(margin)}: ${kept})`);
  }
  lines.push('');
  if (result.faultCount === 0) {
    lines.push('faults: none');
  } else {
    lines.push(`faults: ${group(result.faultCount)} (` + Object.entries(summary.faults).map(([k, n]) => `${k} ${n}`).join(', ') + ')');
    const shown = result.faults.slice(0, 20);
    for (const f of shown) {
      const where = [f.heap && `heap ${f.heap}`, f.id && `id ${f.id}`, f.caller && `caller ${f.caller}`].filter(Boolean).join(' ');
      const cause = f.cause ? `, caused at line ${f.cause.line} (op ${f.cause.op})` : '';
      lines.push(`  line ${f.line}${f.logLine !== null ? ` (log line ${f.logLine})` : ''}, op ${f.op}: ${f.kind} (${f.detected}${cause})${where ? ' ' + where : ''}: ${f.detail}`);
    }
    if (result.faultCount > shown.length) lines.push(`  ... ${group(result.faultCount - shown.length)} more in the trace`);
  }
  return lines.join('\n') + '\n';
}

/**
 * What the bounds say about a heap, after what the run did: a heap whose allocator refused a request
 * for lack of memory failed, whatever the bounds (which then count that request in). Refusals by a
 * budget or of the call's arguments fail at any heap size, so they leave the verdict to the bounds
 * and are only named beside it.
 */
export function boundsVerdict(h: HeapSummary): string {
  if (h.memory_failures > 0) {
    const times = h.memory_failures === 1 ? 'once' : `${group(h.memory_failures)} times`;
    return `failed ${times} in this run (largest failed request ${formatBytes(h.largest_memory_failure)})`;
  }
  const b = h.bounds;
  if (!b) return 'freed memory is not reused';
  const usable = h.capacity - h.fixed_overhead;
  if (usable < b.robson) return 'below Robson: some sequence fails';
  if (usable < (b.allocator ?? 0)) return 'above Robson, below own bound';
  const others = h.failed - h.memory_failures;
  return others === 0 ? 'cannot fail' : `cannot fail for lack of memory (${group(others)} other refusal${others === 1 ? '' : 's'}: budget or arguments)`;
}

/** golden/NAME.md: the summary for reviewers, readable in a pull request. */
export function goldenMarkdown(result: RunResult, scenarioPath: string, eventsDigest: string): string {
  return `# ${result.header.scenario}\n\nGolden summary of \`${scenarioPath}\`, written by \`emu run --update\`. The binary trace beside it is what runs are compared with.\n\n\`\`\`text\n${formatSummary(result)}\`\`\`\n\n${DIGEST_LABEL} \`${eventsDigest}\`\n`;
}

/** The line of a golden summary that names its trace: the pair is checked with it (harness/check.ts). */
const DIGEST_LABEL = 'Events digest of the trace beside it (sha256 of its bytes after the header):';

/** The events digest a golden summary names; null when it names none (a summary older than the line). */
export function markdownDigest(markdown: string): string | null {
  const at = markdown.lastIndexOf(DIGEST_LABEL);
  if (at < 0) return null;
  return /^ `([0-9a-f]{64})`/.exec(markdown.slice(at + DIGEST_LABEL.length))?.[1] ?? null;
}
