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

const ERRNO: Record<string, string> = {
  EACCES: 'permission denied', EPERM: 'operation not permitted', ENOENT: 'no such file or folder', EISDIR: 'is a folder, expected a file',
  ENOTDIR: 'a part of the path is not a folder', EROFS: 'read-only file system', ENOSPC: 'no space left on the device', EDQUOT: 'disk quota exceeded',
  EEXIST: 'already exists', ENOTEMPTY: 'folder not empty', EMFILE: 'too many open files', ENFILE: 'too many open files', ENAMETOOLONG: 'name too long',
  ELOOP: 'too many levels of symbolic links', EBUSY: 'busy', EIO: 'input/output error', EFBIG: 'file too large', EXDEV: 'crosses file systems', EINVAL: 'invalid argument',
};

/** A failed file-system call (Node's errors carry `code`, `syscall` and `path`). */
export function isFsError(e: unknown): e is NodeJS.ErrnoException & { path: string } {
  const x = e as NodeJS.ErrnoException;
  return e instanceof Error && typeof x.code === 'string' && /^E[A-Z]+$/.test(x.code) && typeof x.path === 'string';
}

/** What a file-system error code means, for one error line: 'permission denied (EACCES)'. */
export function describeErrno(e: NodeJS.ErrnoException): string {
  const what = (e.code && ERRNO[e.code]) ?? e.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '');
  return `${what} (${e.syscall ? `${e.syscall}: ` : ''}${e.code})`;
}

/** A file-system error as the one-line SmftError naming its file. */
export function fsError(e: NodeJS.ErrnoException & { path: string }): SmftError {
  return new SmftError(describeErrno(e), e.path);
}
