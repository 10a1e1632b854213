/**
 * A position-aware reader over YAML documents. Every accessor either returns a typed value or throws
 * an InputError naming the file, line and column of the offending node, so the loaders above it read
 * like a schema and never lose track of where a value came from.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node as YamlNode, type Pair } from 'yaml';
import { InputError, type SourcePos } from './errors.js';
import { describe, parseDuration, parseSize } from './literals.js';
import { closest, formatBytes } from '../util/text.js';

export class Source {
  readonly lines = new LineCounter();
  constructor(
    readonly file: string,
    readonly text: string,
  ) {}

  pos(offset: number): SourcePos {
    const { line, col } = this.lines.linePos(offset);
    return { file: this.file, line, col };
  }
}

/** 2^32: the bytes a 32-bit address space holds, the bound of every size. */
export const ADDRESS_SPACE = 2 ** 32;

/** Parses a whole YAML file; syntax errors become InputErrors at their position. */
export function readYaml(file: string, text: string): Node {
  const source = new Source(file, text);
  const doc = parseDocument(text, { lineCounter: source.lines, prettyErrors: false, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    const message = first.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    throw new InputError(source.pos(first.pos[0]), `YAML syntax: ${message}`);
  }
  refuseAliases(source, doc);
  return new Node(source, (doc.contents as YamlNode | null) ?? null, 0, 'document');
}

/**
 * YAML aliases (`*name`, and `<<: *name` merges) are refused where they stand: the readers above walk
 * the tree node by node, and an alias of an alias of a list would multiply the work without bound.
 */
function refuseAliases(source: Source, doc: Document): void {
  visit(doc, {
    Alias(_, alias) {
      throw new InputError(source.pos(alias.range?.[0] ?? 0), `YAML aliases are not supported (*${alias.source}): write the value out where it is used`);
    },
  });
}

export class Node {
  constructor(
    readonly source: Source,
    readonly yaml: YamlNode | null,
    /** Offset to report when the node itself is missing (an empty value). */
    private readonly fallbackOffset: number,
    /** What this node is, for messages: "heap 'main'", "steps[3]". */
    readonly what: string,
  ) {}

  get pos(): SourcePos {
    return this.source.pos(this.yaml?.range?.[0] ?? this.fallbackOffset);
  }

  get line(): number {
    return this.pos.line;
  }

  fail(message: string): never {
    throw new InputError(this.pos, message);
  }

  /** The plain JavaScript value (scalars only are meaningful). */
  get value(): unknown {
    if (this.yaml === null) return null;
    if (isScalar(this.yaml)) return this.yaml.value;
    if (isMap(this.yaml)) return {};
    if (isSeq(this.yaml)) return [];
    return undefined;
  }

  isMap(): boolean {
    return isMap(this.yaml);
  }
  isSeq(): boolean {
    return isSeq(this.yaml);
  }
  isScalar(): boolean {
    return this.yaml === null || isScalar(this.yaml);
  }

  /**
   * A map whose keys must all be in `allowed`; unknown keys are errors with a suggestion.
   * `null` allows any name (maps keyed by the user's own names: budgets, access rights, metrics).
   */
  map(allowed: readonly string[] | null): MapNode {
    if (!isMap(this.yaml)) this.fail(`${this.what}: expected a map, got ${describe(this.value)}`);
    const entries = new Map<string, { key: Node; value: Node }>();
    for (const pair of this.yaml.items as Pair<YamlNode, YamlNode | null>[]) {
      const keyNode: Node = new Node(this.source, pair.key, this.yaml.range?.[0] ?? 0, `${this.what} key`);
      const key = keyNode.value;
      if (typeof key !== 'string') keyNode.fail(`${this.what}: keys must be names, got ${describe(key)}`);
      if (allowed && !allowed.includes(key)) keyNode.fail(`${this.what}: unknown key '${key}'${suggest(key, allowed)}`);
      const end = pair.key?.range?.[1] ?? 0;
      entries.set(key, { key: keyNode, value: new Node(this.source, pair.value, end, `${this.what}.${key}`) });
    }
    return new MapNode(this, entries);
  }

  /** The items of a list. */
  seq(): Node[] {
    if (!isSeq(this.yaml)) this.fail(`${this.what}: expected a list, got ${describe(this.value)}`);
    const start = this.yaml.range?.[0] ?? 0;
    return (this.yaml.items as (YamlNode | null)[]).map((item, i) => new Node(this.source, item, start, `${this.what}[${i}]`));
  }

  str(): string {
    const v = this.value;
    if (typeof v !== 'string' || !this.isScalar()) this.fail(`${this.what}: expected a string, got ${describe(v)}`);
    return v;
  }

  /** A name: letters, digits, `.`, `_`, `-`, and `${i}` placeholders. */
  name(): string {
    const v = this.value;
    if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
    const s = this.str();
    if (!/^[A-Za-z0-9_.\-/#:${}]+$/.test(s)) this.fail(`${this.what}: '${s}' is not a valid name (letters, digits, . _ - / # :)`);
    return s;
  }

  int(min = 0, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.value;
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) this.fail(`${this.what}: expected a whole number, got ${describe(v)}`);
    if (v < min || v > max) this.fail(`${this.what}: ${v} is out of range (${min}..${max})`);
    return v;
  }

  bool(): boolean {
    const v = this.value;
    if (typeof v !== 'boolean') this.fail(`${this.what}: expected true or false, got ${describe(v)}`);
    return v;
  }

  /** A size in bytes; at most `max`, by default what a 32-bit address space holds (every emu target is 32-bit). */
  size(max = ADDRESS_SPACE): number {
    const r = parseSize(this.value);
    if (typeof r === 'string') this.fail(`${this.what}: ${r}`);
    if (r > max) this.fail(`${this.what}: ${r} bytes is more than ${max === ADDRESS_SPACE ? 'a 32-bit address space holds (4 GiB)' : `${formatBytes(max)}, the most allowed here`}`);
    return r;
  }

  duration(clockHz: number): number {
    const r = parseDuration(this.value, clockHz);
    if (typeof r === 'string') this.fail(`${this.what}: ${r}`);
    return r;
  }

  /** One of a fixed set of words. */
  oneOf<T extends string>(choices: readonly T[]): T {
    const v = this.value;
    if (typeof v !== 'string' || !choices.includes(v as T)) {
      this.fail(`${this.what}: expected one of ${choices.join(', ')}, got ${describe(v)}${typeof v === 'string' ? suggest(v, choices) : ''}`);
    }
    return v as T;
  }

  /** A list of items, or a single item standing for a one-item list. */
  list(): Node[] {
    return this.isSeq() ? this.seq() : [this];
  }
}

export class MapNode {
  constructor(
    readonly node: Node,
    private readonly entries: Map<string, { key: Node; value: Node }>,
  ) {}

  has(key: string): boolean {
    return this.entries.has(key);
  }

  get(key: string): Node | undefined {
    return this.entries.get(key)?.value;
  }

  key(key: string): Node | undefined {
    return this.entries.get(key)?.key;
  }

  req(key: string): Node {
    const v = this.entries.get(key)?.value;
    if (!v) this.node.fail(`${this.node.what}: missing required key '${key}'`);
    return v;
  }

  /** Keys in the order they appear in the file. */
  keys(): string[] {
    return [...this.entries.keys()];
  }
}

/** " (did you mean 'x'?)" for a near miss, by edit distance. */
export function suggest(word: string, choices: readonly string[]): string {
  const best = closest(word, choices);
  return best !== null ? ` (did you mean '${best}'?)` : '';
}

