/**
 * emu's public API: what the package exports (`import { runScenario } from '@emu-sim/emu'`). Each name
 * here is the function the command line itself uses, re-exported; nothing is wrapped, so the API
 * and `emu` cannot disagree. Everything else under src/ is internal and may change.
 *
 * Errors: bad input throws InputError (its `pos` gives the file, line and column), a file emu
 * cannot use (a damaged trace, a missing log) FileError or UsageError. Anything else is a bug in emu.
 */

// Load and validate a scenario (its target included): throws InputError at the first problem.
export { loadScenario, parseScenario } from './scenario/parse.js';
export type { Scenario, Step, HeapSpec, LayoutSpec, Expect, Policy, Verification } from './scenario/types.js';
export { loadTarget, parseTarget, knownTargets, resolveTarget, BUILTIN_TARGETS } from './target/load.js';
export type { Target, Region } from './target/types.js';

// Run a scenario: the events go to the sinks (a trace file, a collector), the result is the summary.
export { run as runScenario, type RunResult, type RunOptions, type RunSummary, type FaultRecord } from './engine/engine.js';
export { TraceFileWriter, EventCollector, type TraceSink } from './trace/writer.js';
export { checkExpectations } from './report/expect.js';
export { formatSummary } from './report/summary.js';

// Check a scenario against its golden (as `emu run` does: never writes a golden unless asked).
export { checkScenario, goldenDirFor, type CheckOptions, type CheckResult, type GoldenStatus } from './harness/check.js';

// Read and compare traces (the format: docs/trace-format.md).
export { readTrace, type TraceStream } from './trace/reader.js';
export { compareTraces, type Comparison, type FirstDifference, type MetricChange } from './trace/compare.js';
export { formatComparison } from './report/diff.js';
export { TRACE_FORMAT, TRACE_VERSION, type TraceEvent, type TraceHeader } from './trace/schema.js';

// Import a field log: its operations, their statistics, the scenario that replays it.
export { readLog, FORMATS as LOG_FORMATS, type LogFormat } from './import/read.js';
export type { FieldOp } from './import/ops.js';
export { computeStats, formatStats, type ImportStats } from './import/stats.js';
export { importedScenarioText, type ImportedScenario } from './import/scenario.js';

// The stable names and the errors.
export { FAULT_KINDS, type FaultKind, type Detected } from './memory/faults.js';
export { InputError, UsageError, FileError, type SourcePos } from './input/errors.js';
