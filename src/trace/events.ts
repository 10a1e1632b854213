/**
 * The two events every workload writes most, as classes whose own keys come in the order the fields
 * are declared (ES2022 class fields): the encoder writes them without discovering their keys, and
 * they encode exactly as the same plain objects would (a test checks both against msgpackr).
 */
export class AllocEvent {
  seq: number;
  op: number;
  cycle: number;
  type: 'alloc';
  line: number;
  heap: string;
  id: string;
  size: number;
  align: number;
  addr: number | null;
  block: number;
  cycles: number;

  constructor(seq: number, op: number, cycle: number, line: number, heap: string, id: string, size: number, align: number, addr: number | null, block: number, cycles: number) {
    this.seq = seq;
    this.op = op;
    this.cycle = cycle;
    this.type = 'alloc';
    this.line = line;
    this.heap = heap;
    this.id = id;
    this.size = size;
    this.align = align;
    this.addr = addr;
    this.block = block;
    this.cycles = cycles;
  }
}

export class FreeEvent {
  seq: number;
  op: number;
  cycle: number;
  type: 'free';
  line: number;
  heap: string;
  id: string;
  addr: number | null;
  block: number;
  cycles: number;

  constructor(seq: number, op: number, cycle: number, line: number, heap: string, id: string, addr: number | null, block: number, cycles: number) {
    this.seq = seq;
    this.op = op;
    this.cycle = cycle;
    this.type = 'free';
    this.line = line;
    this.heap = heap;
    this.id = id;
    this.addr = addr;
    this.block = block;
    this.cycles = cycles;
  }
}
