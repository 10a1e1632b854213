/**
 * The event tables of docs/trace-format.md, generated from schema.ts so that the document cannot
 * drift from the code (a test compares them). `node dist/src/trace/format-doc.js --write` rewrites
 * the generated part of the document in place.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EVENTS, RING_SLOTS, type FieldSpec } from './schema.js';

export const BEGIN = '<!-- generated from src/trace/schema.ts: begin -->';
export const END = '<!-- generated from src/trace/schema.ts: end -->';

function coding(f: FieldSpec): string {
  return f.register ? `${f.coding} (register ${f.register})` : f.coding;
}

export function schemaTables(): string {
  const out = [`The intern ring has ${RING_SLOTS} slots.`, ''];
  for (const spec of EVENTS) {
    out.push(`### \`${spec.type}\` (tag ${spec.tag})`, '', `${spec.doc[0].toUpperCase()}${spec.doc.slice(1)}.`, '', '| field | coding | optional | meaning |', '|---|---|---|---|');
    for (const f of spec.fields) out.push(`| \`${f.name}\` | ${coding(f)} | ${f.optional ? 'yes' : ''} | ${f.doc} |`);
    out.push('');
  }
  return out.join('\n');
}

/** The document with its generated part replaced by the current tables. */
export function withTables(document: string): string {
  const begin = document.indexOf(BEGIN);
  const end = document.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`the document has no ${BEGIN} ... ${END} part`);
  return `${document.slice(0, begin + BEGIN.length)}\n\n${schemaTables()}\n${document.slice(end)}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === '--write') {
  const path = new URL('../../../docs/trace-format.md', import.meta.url);
  writeFileSync(path, withTables(readFileSync(path, 'utf8')));
}
