/**
 * The target's data cache: set-associative, write-back, write-allocate, LRU replacement. It holds
 * tags, never data, and serves both models: timing (which accesses hit and which fill a line from
 * memory, writing a dirty victim back) and coherency with DMA (which resident lines hold the
 * program's unwritten data, and which hold data older than what a DMA wrote under them). One cache
 * for both, so a line evicted and written back is clean for a DMA that reads it afterwards, and a
 * line not resident cannot be stale. The geometry is the target's (PSP 16 KiB 2-way 64-byte lines,
 * Dreamcast 16 KiB direct-mapped 32-byte lines, Cortex-M7 32-byte lines).
 *
 * Assumption (no published per-line figure for these targets): a line fill pays the region's read
 * latency once, for its first bus word, and one cycle for each further word of the burst; a dirty
 * victim is written back the same way. The PSP's "about 70 cycles" is a cache-miss latency.
 */
import type { Cache, Region } from '../target/types.js';

/** A hit costs one cycle (the load-use slot); a miss pays for the line as well. */
const HIT_CYCLES = 1;

/** A resident line in a coherency state, with the operation and scenario line that put it there. */
export interface LineState {
  addr: number;
  op: number;
  line: number;
}

export class DataCache {
  private readonly setMask: number;
  private readonly ways: number;
  private readonly lineShift: number;
  /**
   * Line number held in each way (-1: empty), a use stamp for LRU, and a dirty flag. Line numbers are
   * kept and compared as int32 (`| 0`), as the Int32Array holds them: the lookups stay in int32 arithmetic.
   */
  private readonly tags: Int32Array;
  private readonly used: Float64Array;
  /**
   * Each set's most recently used way (the one with the highest stamp): a line found there needs no
   * search and no new stamp, as re-stamping the newest way leaves the set's LRU order as it was.
   */
  private readonly newest: Int32Array;
  private readonly dirty: Uint8Array;
  /**
   * Coherency, per way: the program's own data is dirty in the line (allocator metadata alone does not
   * count: a device reading the program's buffer does not care about a header beside it), and the line
   * is stale (a DMA wrote the memory under it). Each with the operation and scenario line that did it.
   */
  private readonly dataDirty: Uint8Array;
  private readonly dataBy: Int32Array;
  private readonly stale: Uint8Array;
  private readonly staleBy: Int32Array;
  private clock = 0;
  /**
   * The lines (and ways) of the last two different lines accessed: allocator metadata goes back and
   * forth between a few lines (a control structure, a block header), so most accesses hit one of them
   * and need no search.
   */
  private lastLine = -1;
  private lastWay = 0;
  private prevLine = -1;
  private prevWay = 0;

  constructor(readonly geometry: Cache) {
    this.ways = geometry.ways;
    // Target caches have power-of-two sizes and lines, so sets are too.
    const sets = Math.max(1, geometry.size / (geometry.line * geometry.ways));
    this.setMask = sets - 1;
    this.lineShift = Math.log2(geometry.line);
    this.tags = new Int32Array(sets * this.ways).fill(-1);
    this.used = new Float64Array(sets * this.ways);
    this.newest = Int32Array.from({ length: sets }, (_, set) => set * this.ways);
    this.dirty = new Uint8Array(sets * this.ways);
    this.dataDirty = new Uint8Array(sets * this.ways);
    this.dataBy = new Int32Array(sets * this.ways * 2);
    this.stale = new Uint8Array(sets * this.ways);
    this.staleBy = new Int32Array(sets * this.ways * 2);
  }

  /** Cycles for one access of up to a line at `addr` (a 32-bit address) in `region` (a cached window of it). */
  access(addr: number, write: boolean, region: Region): number {
    const line = (addr >>> this.lineShift) | 0;
    if (line === this.lastLine) {
      // Already the most recently used line: LRU order does not change.
      if (write) this.dirty[this.lastWay] = 1;
      return HIT_CYCLES;
    }
    if (line === this.prevLine) return this.promotePrevious(write);
    const first = (line & this.setMask) * this.ways;
    const end = first + this.ways;
    const tags = this.tags;
    let way = first;
    while (way < end && tags[way] !== line) way++;
    let cycles = HIT_CYCLES;
    if (way === end) {
      way = this.victim(first);
      const burst = this.geometry.line / region.bus - 1;
      cycles += region.read + burst;
      if (tags[way] >= 0 && this.dirty[way] !== 0) cycles += region.write + burst;
      // The victim may be a line the memory of recent lines still names (always so when direct-mapped).
      if (tags[way] === this.lastLine) this.lastLine = -1;
      if (tags[way] === this.prevLine) this.prevLine = -1;
      this.refill(way, line);
    }
    this.stamp(way, line);
    if (write) this.dirty[way] = 1;
    this.remember(line, way);
    return cycles;
  }

  /** The line before last again: a hit, and it becomes the most recently used. */
  private promotePrevious(write: boolean): number {
    const line = this.prevLine;
    const way = this.prevWay;
    this.stamp(way, line);
    if (write) this.dirty[way] = 1;
    this.remember(line, way);
    return HIT_CYCLES;
  }

  /** `way`, holding `line`, is now its set's most recently used. */
  private stamp(way: number, line: number): void {
    this.used[way] = ++this.clock;
    this.newest[line & this.setMask] = way;
  }

  private remember(line: number, way: number): void {
    if (this.lastLine >= 0) {
      this.prevLine = this.lastLine;
      this.prevWay = this.lastWay;
    }
    this.lastLine = line;
    this.lastWay = way;
  }

  /**
   * Cycles for a run of accesses (an allocator call's metadata words, in order): access() inlined.
   * Consecutive words in one line cost a cycle each and no lookup; a new line is searched for a hit
   * first, and only a miss picks the least recently used way as its victim.
   */
  accessAll(addrs: Int32Array, writes: Uint8Array, count: number, region: Region): number {
    const { tags, used, newest, dirty, dataDirty, stale, ways, setMask, lineShift } = this;
    const burst = this.geometry.line / region.bus - 1;
    const fill = region.read + burst;
    const writeBack = region.write + burst;
    let clock = this.clock;
    let lastLine = this.lastLine;
    let lastWay = this.lastWay;
    let cycles = count * HIT_CYCLES;
    // Whether the run of accesses to the current line wrote it: its dirty flag is set once, as the run ends.
    let written = 0;
    let i = 0;
    for (;;) {
      // The common case, kept free of inner loops so that V8 peels it and checks the arrays once: the
      // same line as the last access, or the line its set used last.
      let line = 0;
      for (; i < count; i++) {
        line = (addrs[i] >>> lineShift) | 0;
        if (line !== lastLine) {
          if (written !== 0) dirty[lastWay] = 1;
          const way = newest[line & setMask];
          if (tags[way] !== line) break;
          written = 0;
          lastLine = line;
          lastWay = way;
        }
        written |= writes[i];
      }
      if (i === count) break;
      // Another way of the set, or a miss: victim() and refill() written out: calling them cost 118M
      // more instructions over 200k operations of first-fit's traces (about four misses an operation).
      const set = line & setMask;
      const first = set * ways;
      const end = first + ways;
      let way = first;
      while (way < end && tags[way] !== line) way++;
      if (way === end) {
        way = first;
        for (let w = first + 1; w < end; w++) if (used[w] < used[way]) way = w;
        cycles += tags[way] >= 0 && dirty[way] !== 0 ? fill + writeBack : fill;
        tags[way] = line;
        dirty[way] = 0;
        dataDirty[way] = 0;
        stale[way] = 0;
      }
      used[way] = ++clock;
      newest[set] = way;
      lastLine = line;
      lastWay = way;
      written = writes[i];
      i++;
    }
    if (written !== 0) dirty[lastWay] = 1;
    this.clock = clock;
    this.lastLine = lastLine;
    this.lastWay = lastWay;
    this.prevLine = -1;
    return cycles;
  }

  /** The least recently used way of the set starting at `first`. */
  private victim(first: number): number {
    const used = this.used;
    let victim = first;
    for (let w = first + 1; w < first + this.ways; w++) if (used[w] < used[victim]) victim = w;
    return victim;
  }

  /** `way` now holds `line`, clean and fresh. */
  private refill(way: number, line: number): void {
    this.tags[way] = line;
    this.dirty[way] = 0;
    this.dataDirty[way] = 0;
    this.stale[way] = 0;
  }

  /**
   * A cache maintenance operation over [addr, addr + len): write back dirty lines (the cost of each as
   * for an evicted victim) and/or drop the lines. Cycles: one per line looked up, plus the write-backs.
   */
  maintain(writeBack: boolean, invalidate: boolean, addr: number, len: number, region: Region): { cycles: number; lines: number; writtenBack: number } {
    const burst = this.geometry.line / region.bus - 1;
    const lines = this.lineCount(addr, len);
    let cycles = lines * HIT_CYCLES;
    let writtenBack = 0;
    this.forLines(addr, len, (_, way) => {
      if (writeBack && this.dirty[way]) {
        cycles += region.write + burst;
        writtenBack++;
      }
      // Written back, or discarded with the line: either way the cache no longer holds unwritten data.
      this.dirty[way] = 0;
      this.dataDirty[way] = 0;
      if (invalidate) {
        this.tags[way] = -1;
        this.stale[way] = 0;
      }
    });
    this.lastLine = -1;
    this.prevLine = -1;
    return { cycles, lines, writtenBack };
  }

  /** The program stored [addr, addr + len) through the cache (after access() made the lines resident). */
  programWrote(addr: number, len: number, op: number, line: number): void {
    if (!this.geometry.writeBack) return;
    this.forLines(addr, len, (_, way) => {
      if (!this.dataDirty[way]) this.mark(this.dataDirty, this.dataBy, way, op, line);
      this.stale[way] = 0;
    });
  }

  /** A device reads memory: the first resident line holding the program's unwritten data, if any. */
  dirtyUnder(addr: number, len: number): LineState | null {
    return this.first(this.dataDirty, this.dataBy, addr, len);
  }

  /** A CPU read: the first resident line older than what a DMA wrote under it, if any. */
  staleIn(addr: number, len: number): LineState | null {
    return this.first(this.stale, this.staleBy, addr, len);
  }

  /**
   * A device wrote memory: the resident lines now hold older data (stale until invalidated). Returns
   * the first that held the program's unwritten data: its write-back would overwrite the device's.
   */
  deviceWrote(addr: number, len: number, op: number, line: number): LineState | null {
    const dirty = this.dirtyUnder(addr, len);
    this.forLines(addr, len, (_, way) => this.mark(this.stale, this.staleBy, way, op, line));
    return dirty;
  }

  private mark(flags: Uint8Array, by: Int32Array, way: number, op: number, line: number): void {
    flags[way] = 1;
    by[2 * way] = op;
    by[2 * way + 1] = line;
  }

  private first(flags: Uint8Array, by: Int32Array, addr: number, len: number): LineState | null {
    let found: LineState | null = null;
    this.forLines(addr, len, (line, way) => {
      if (!found && flags[way]) found = { addr: (line * this.geometry.line) >>> 0, op: by[2 * way], line: by[2 * way + 1] };
    });
    return found;
  }

  /** How many lines [addr, addr + len) touches. */
  private lineCount(addr: number, len: number): number {
    const size = this.geometry.line;
    return Math.max(0, Math.ceil((addr + len) / size) - Math.floor(addr / size));
  }

  /**
   * Each resident line of [addr, addr + len), in address order, with the way holding it. A range of
   * more lines than the cache holds is found from the tags instead of line by line: a maintenance call
   * over a gigabyte costs what the cache's size does, not 30 million set searches.
   */
  private forLines(addr: number, len: number, each: (line: number, way: number) => void): void {
    const size = this.geometry.line;
    const firstLine = Math.floor(addr / size);
    const count = this.lineCount(addr, len);
    if (count > this.tags.length) {
      const resident: number[] = [];
      for (let way = 0; way < this.tags.length; way++) {
        const line = this.tags[way];
        if (line >= firstLine && line < firstLine + count) resident.push(way);
      }
      resident.sort((a, b) => this.tags[a] - this.tags[b]);
      for (const way of resident) each(this.tags[way], way);
      return;
    }
    for (let line = firstLine; line < firstLine + count; line++) {
      const first = (line & this.setMask) * this.ways;
      for (let w = first; w < first + this.ways; w++) if (this.tags[w] === line) each(line, w);
    }
  }

  /** Cycles for `len` bytes at `addr` touched `unit` bytes at a time (each line charged once per access). */
  range(addr: number, len: number, unit: number, write: boolean, region: Region): number {
    let cycles = 0;
    for (let a = addr; a < addr + len; a += unit) {
      const lastLine = Math.floor((Math.min(a + unit, addr + len) - 1) / this.geometry.line);
      for (let l = Math.floor(a / this.geometry.line); l <= lastLine; l++) cycles += this.access(l * this.geometry.line, write, region);
    }
    return cycles;
  }
}
