/**
 * One error type for everything a user can get wrong: the CLI prints `message` as a single
 * line and exits non-zero. `where` names the file (and line/column when known).
 */
export class SmftError extends Error {
  readonly where: string | undefined;
  /** Machine-readable reason, for callers that can recover (e.g. 'needs-norms'). */
  readonly code: string | undefined;
  constructor(message: string, where?: string, code?: string) {
    super(where ? `${where}: ${message}` : message);
    this.name = 'SmftError';
    this.where = where;
    this.code = code;
  }
}

/** Format a location as `file:line[:column]` for error messages. */
export function at(file: string, line?: number, column?: string | number): string {
  let s = file;
  if (line !== undefined) s += `:${line}`;
  if (column !== undefined) s += ` (column ${typeof column === 'number' ? column : JSON.stringify(column)})`;
  return s;
}
