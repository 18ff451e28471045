import { existsSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SmftError } from '../util/errors.js';

/** The project root (two levels above src/data or dist/src/data). */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}

/** Data directory: explicit flag > SMFT_DATA_DIR > data/ in the project. */
export function resolveDataDir(flag?: string): string {
  if (flag !== undefined) {
    if (flag.trim() === '') throw new SmftError('--data-dir: empty path; give the data folder');
    return resolve(flag);
  }
  if (process.env.SMFT_DATA_DIR) return resolve(process.env.SMFT_DATA_DIR);
  return join(projectRoot(), 'data');
}
