/**
 * Names that come from data (a hub index, a checkpoint's JSON, a study config, results.json)
 * are data: they never lead outside the folder they belong to. One place decides what such a
 * name may be; every reader that turns one into a path goes through it.
 */
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { SmftError } from './errors.js';

/** Why `name` cannot be one path segment (a bare file or folder name), or null when it can. */
function bareProblem(name: unknown): string | null {
  if (typeof name !== 'string') return `is not a string (${JSON.stringify(name)?.slice(0, 40)})`;
  if (name === '') return 'is empty';
  if (name === '.' || name === '..') return `is '${name}'`;
  if (/[/\\]/.test(name)) return 'contains a path separator';
  if (/[\u0000-\u001f]/.test(name)) return 'contains a control character';
  if (/^[a-zA-Z]:/.test(name)) return 'is a drive path';
  if (name.length > 255) return 'is longer than 255 characters';
  return null;
}

/**
 * A bare name (one path segment: no separator, not `.`/`..`, not absolute). `what` says what
 * the name is (e.g. "shard name in model.safetensors.index.json"), `where` the file it came from.
 */
export function bareName(name: unknown, what: string, where?: string): string {
  const p = bareProblem(name);
  if (p) throw new SmftError(`${what} ${JSON.stringify(String(name)).slice(0, 80)} ${p}: expected a plain file name`, where);
  return name as string;
}

/** True when `name` is a bare name (see bareName). */
export function isBareName(name: unknown): name is string {
  return bareProblem(name) === null;
}

/**
 * `dir`/`rel` for a relative path from data (segments separated by '/'), refusing absolute
 * paths, `..` segments, backslashes and drive letters: the result is always inside `dir`.
 */
export function pathInside(dir: string, rel: unknown, what: string, where?: string): string {
  const fail = (why: string): never => {
    throw new SmftError(`${what} ${JSON.stringify(String(rel)).slice(0, 80)} ${why}: expected a path inside ${dir}`, where);
  };
  if (typeof rel !== 'string' || rel === '') return fail('is empty or not a string');
  if (isAbsolute(rel) || rel.startsWith('/')) fail('is an absolute path');
  for (const seg of rel.split('/')) {
    const p = bareProblem(seg);
    if (p) fail(`has a segment that ${p}`);
  }
  const out = join(dir, rel);
  const r = relative(resolve(dir), resolve(out));
  if (r === '' || r.startsWith('..') || isAbsolute(r) || r.split(sep).includes('..')) fail('leads outside its folder');
  return out;
}

/**
 * A Hugging Face repo id `org/name`, as the hub allows them: letters, digits, '-', '_', '.';
 * no '--' or '..', no '.'/'-' at either end of a part, at most 96 characters a part.
 */
export function isHubId(id: string): boolean {
  const parts = id.split('/');
  if (parts.length !== 2) return false;
  return parts.every((p) => /^[A-Za-z0-9][\w.-]{0,94}[A-Za-z0-9_]$|^[A-Za-z0-9]$/.test(p) && !p.includes('--') && !p.includes('..'));
}
