import { existsSync, statSync } from 'node:fs';
import { SmftError } from './errors.js';

/**
 * The largest text file smft reads into one string: V8's string limit (2^29 − 24 UTF-16 code
 * units; UTF-8 text of n bytes decodes to at most n units).
 */
export const MAX_TEXT_BYTES = 2 ** 29 - 24;

const mib = (n: number): string => `${(n / 2 ** 20).toFixed(n < 2 ** 30 ? 1 : 0)} MiB`;

/**
 * Check an input file before reading it: it exists, is a regular file (not a folder, device,
 * FIFO or socket: `/dev/zero` or a pipe would never end) and is at most `maxBytes` long.
 * Returns its size. Each problem is one SmftError naming the file.
 */
export function checkInputFile(file: string, opts: { maxBytes?: number; what?: string } = {}): number {
  if (!existsSync(file)) throw new SmftError('file not found', file);
  const s = statSync(file);
  if (s.isDirectory()) throw new SmftError('is a folder, expected a file', file);
  if (!s.isFile()) {
    const kind = s.isFIFO() ? 'a FIFO (named pipe)' : s.isCharacterDevice() || s.isBlockDevice() ? 'a device' : s.isSocket() ? 'a socket' : 'not a regular file';
    throw new SmftError(`is ${kind}: smft reads ${opts.what ?? 'input'} from regular files only`, file);
  }
  const max = opts.maxBytes ?? Infinity;
  if (s.size > max) throw new SmftError(`file is too large (${mib(s.size)}; smft reads ${opts.what ?? 'such files'} up to ${mib(max)})`, file);
  return s.size;
}
