/** Checks a run against its scenario's `expect:` block: the exact fault list and metric bounds. */
import type { FaultRecord, RunResult } from '../engine/engine.js';
import type { Expect } from '../scenario/types.js';
import { flatten } from '../trace/compare.js';

export function checkExpectations(expect: Expect | null, result: RunResult): string[] {
  if (!expect) return [];
  const failures: string[] = [];
  if (expect.faults) {
    const actual = result.faults;
    const n = Math.max(expect.faults.length, result.faultCount);
    for (let i = 0; i < n; i++) {
      const want = expect.faults[i];
      const got: FaultRecord | undefined = actual[i];
      if (!want) {
        failures.push(`unexpected fault #${i + 1}: ${got ? describe(got) : '(beyond the kept list)'}`);
        break;
      }
      if (!got) {
        failures.push(`expected fault #${i + 1} (line ${want.at}): ${want.kind}, but the run had only ${result.faultCount} fault(s)`);
        break;
      }
      const mismatch = (want.kind !== got.kind && 'kind') || (want.heap !== null && want.heap !== got.heap && 'heap') || (want.id !== null && want.id !== got.id && 'id') || (want.line !== null && want.line !== got.line && 'line');
      if (mismatch) {
        failures.push(`fault #${i + 1} (expected at line ${want.at}): wanted ${want.kind}${want.heap ? ` heap ${want.heap}` : ''}${want.id ? ` id ${want.id}` : ''}${want.line ? ` line ${want.line}` : ''}, got ${describe(got)}`);
        break;
      }
    }
  }
  const metrics = flatten(result.summary);
  for (const bound of expect.metrics) {
    const value = metrics.get(bound.metric);
    if (typeof value !== 'number') {
      failures.push(`metric ${bound.metric} (line ${bound.at}) does not exist; known metrics include ${[...metrics.keys()].slice(0, 8).join(', ')}, ...`);
      continue;
    }
    if (bound.equals !== null && value !== bound.equals) failures.push(`metric ${bound.metric} = ${value}, expected exactly ${bound.equals} (line ${bound.at})`);
    if (bound.min !== null && value < bound.min) failures.push(`metric ${bound.metric} = ${value}, below the minimum ${bound.min} (line ${bound.at})`);
    if (bound.max !== null && value > bound.max) failures.push(`metric ${bound.metric} = ${value}, above the maximum ${bound.max} (line ${bound.at})`);
  }
  return failures;
}

function describe(f: FaultRecord): string {
  return `${f.kind}${f.heap ? ` heap ${f.heap}` : ''}${f.id ? ` id ${f.id}` : ''} at line ${f.line}`;
}
