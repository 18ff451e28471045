import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../data/datadir.js';

/** smft's version (package.json), or 'unknown'. */
export function smftVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
