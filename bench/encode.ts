/**
 * The trace encoder alone, side by side across builds:
 *
 *   node dist/bench/encode.js [--events N] [--rounds R] [DIST...]
 *
 * encodes the events of a replayed field log (allocations of fresh ids `p<n>` with their log line and
 * caller, frees of live ones, at most 256 live) with each build's RecordEncoder (DIST/src/trace/records.js;
 * this build's when none is given), round after round, and prints the best and the median CPU
 * nanoseconds an event. The event objects are made before the clock starts, so only encoding counts.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

interface Encoder {
  event(type: string, op: number, cycle: number, fields: Record<string, unknown>): void;
}
interface RecordsModule {
  RecordEncoder: new (out: { buf: Buffer; pos: number }) => Encoder;
}
interface BytesModule {
  ByteWriter: new (capacity: number) => { buf: Buffer; pos: number };
}

interface Planned {
  type: string;
  fields: Record<string, unknown>;
}

/** The events of a replay through one heap, as the engine makes them. */
function plan(count: number): Planned[] {
  const events: Planned[] = [];
  const live: number[] = [];
  let next = 1;
  let state = 12345;
  const random = () => (state = (state * 1103515245 + 12345) >>> 0) / 2 ** 32;
  let addr = 0x08900000;
  for (let i = 0; i < count; i++) {
    const logLine = i + 2;
    if (live.length === 0 || (live.length < 256 && random() < 0.5)) {
      const n = next++;
      live.push(n);
      addr += 16 + Math.floor(random() * 4000);
      events.push({ type: 'alloc', fields: { line: 5, heap: 'main', id: `p${n}`, size: 16 + Math.floor(random() * 4000), align: 0, addr, block: 4096, cycles: 250 + Math.floor(random() * 300), log_line: logLine, caller: './prog:[0x401234]' } });
    } else {
      const [n] = live.splice(Math.floor(random() * live.length), 1);
      events.push({ type: 'free', fields: { line: 5, heap: 'main', id: `p${n}`, addr: addr - Math.floor(random() * 100000), block: 4096, cycles: 240 + Math.floor(random() * 300), log_line: logLine, caller: './prog:[0x401250]' } });
    }
  }
  return events;
}

function option(args: string[], name: string, fallback: number): number {
  const at = args.indexOf(name);
  if (at < 0) return fallback;
  return Number(args.splice(at, 2)[1]);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const count = option(args, '--events', 1_000_000);
  const rounds = option(args, '--rounds', 5);
  const builds = args.length > 0 ? args.map((d) => resolve(d)) : [resolve(new URL('..', import.meta.url).pathname)];
  const modules = await Promise.all(
    builds.map(async (b) => ({
      records: (await import(pathToFileURL(`${b}/src/trace/records.js`).href)) as RecordsModule,
      bytes: (await import(pathToFileURL(`${b}/src/trace/bytes.js`).href)) as BytesModule,
    })),
  );
  const events = plan(count);
  const times = builds.map(() => [] as number[]);
  const sizes = builds.map(() => 0);
  for (let round = 0; round < rounds; round++) {
    modules.forEach((m, j) => {
      const out = new m.bytes.ByteWriter(1 << 20);
      const encoder = new m.records.RecordEncoder(out);
      let bytes = 0;
      const start = process.cpuUsage();
      for (let i = 0; i < events.length; i++) {
        const e = events[i];
        encoder.event(e.type, i + 1, i * 300, e.fields);
        if (out.pos >= 1 << 19) {
          bytes += out.pos;
          out.pos = 0;
        }
      }
      const { user, system } = process.cpuUsage(start);
      times[j].push(((user + system) * 1000) / count);
      sizes[j] = bytes + out.pos;
    });
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  builds.forEach((b, j) => console.log(`${b}: ${Math.min(...times[j]).toFixed(0)} ns an event best, ${median(times[j]).toFixed(0)} median, ${sizes[j]} bytes`));
}

await main();
