/** Opens a field log of a named format as a stream of FieldOps. */
import { statSync } from 'node:fs';
import { UsageError } from '../input/errors.js';
import { readAndroid } from './android.js';
import { readCsapp } from './csapp.js';
import { FileLines } from './lines.js';
import { readMtrace } from './mtrace.js';
import { readNativeFile } from './native.js';
import type { OpStream } from './stream.js';

export const FORMATS = ['mtrace', 'android', 'csapp', 'native'] as const;
export type LogFormat = (typeof FORMATS)[number];

export function isLogFormat(name: string): name is LogFormat {
  return (FORMATS as readonly string[]).includes(name);
}

/**
 * The log's operations, lazily (a Generator<FieldOp, number>: see OpStream); the generator returns
 * the number of lines (native: records) read: the file is read a chunk at a time as the stream is consumed.
 * Throws an InputError (file:line) when the file is not the format, a UsageError for an unknown
 * format name; problems inside a log of the right format are `problem` ops.
 */
export function readLog(path: string, format: string): OpStream {
  if (!isLogFormat(format)) throw new UsageError(`unknown field-log format ${JSON.stringify(format)} (expected one of: ${FORMATS.join(', ')})`);
  let isFile = false;
  try {
    isFile = statSync(path).isFile();
  } catch {
    throw new UsageError(`${path}: no such log file`);
  }
  if (!isFile) throw new UsageError(`${path}: not a file`);
  switch (format) {
    case 'mtrace':
      return readMtrace(new FileLines(path), path);
    case 'android':
      return readAndroid(new FileLines(path), path);
    case 'csapp':
      return readCsapp(new FileLines(path), path);
    case 'native':
      return readNativeFile(path);
  }
}
