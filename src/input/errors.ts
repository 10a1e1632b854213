/** Where something came from in an input file: 1-based line and column. */
export interface SourcePos {
  file: string;
  line: number;
  col: number;
}

/**
 * Bad input: a scenario, target or trace that cannot be used as written.
 * The CLI prints it as `file:line:col: error: message` and exits 2, without a stack trace.
 */
export class InputError extends Error {
  constructor(
    readonly pos: SourcePos,
    message: string,
  ) {
    super(message);
    this.name = 'InputError';
  }

  override toString(): string {
    return `${this.pos.file}:${this.pos.line}:${this.pos.col}: ${this.message}`;
  }

  /** As compilers print it, which editors and CI problem matchers link to the file: `file:line:col: error: message`. */
  diagnostic(): string {
    return `${this.pos.file}:${this.pos.line}:${this.pos.col}: error: ${this.message}`;
  }
}

/** Bad usage of a command, with no position in a file. Also exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A file emu cannot use as it is (a damaged or cut-off trace): exit 2, with no hint about usage. */
export class FileError extends UsageError {
  constructor(message: string) {
    super(message);
    this.name = 'FileError';
  }
}
