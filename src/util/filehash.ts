/**
 * Content hashes of large input files (model weights) with a fast path: a file whose size,
 * modification time, inode and device are unchanged since it was hashed is not read again.
 * The cache is one JSON file in smft's cache folder ($SMFT_CACHE_DIR or ~/.cache/smft/hub);
 * files below 64 MiB are always read (cheaper than the bookkeeping).
 */
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic.js';
import { sha256File } from './hash.js';
import { log } from './log.js';

const CACHE_FROM_BYTES = 64 * 2 ** 20;

interface Entry { size: number; mtimeMs: number; ino: number; dev: number; sha256: string }

/** The cache file: beside the hub cache (SMFT_CACHE_DIR), never inside a model folder. */
export function hashCacheFile(): string {
  return join(process.env.SMFT_CACHE_DIR || join(homedir(), '.cache', 'smft', 'hub'), '.sha256-cache.json');
}

function readCache(file: string): Record<string, Entry> {
  try {
    const raw = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return raw && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, Entry>) : {};
  } catch {
    return {};
  }
}

const memo = new Map<string, Entry>();

function fresh(e: Entry | undefined, s: { size: number; mtimeMs: number; ino: number; dev: number }): e is Entry {
  return !!e && e.size === s.size && e.mtimeMs === s.mtimeMs && e.ino === s.ino && e.dev === s.dev && /^[0-9a-f]{64}$/.test(e.sha256);
}

/** SHA-256 (hex) of a file's content, from the cache when the file is unchanged. */
export async function contentSha256(file: string): Promise<string> {
  const path = realpathSync(file);
  const s = statSync(path);
  const st = { size: s.size, mtimeMs: s.mtimeMs, ino: s.ino, dev: s.dev };
  const m = memo.get(path);
  if (fresh(m, st)) return m.sha256;
  const cacheFile = hashCacheFile();
  const big = s.size >= CACHE_FROM_BYTES;
  if (big) {
    const c = readCache(cacheFile)[path];
    if (fresh(c, st)) { memo.set(path, c); return c.sha256; }
  }
  const t0 = Date.now();
  const sha256 = await sha256File(path);
  const e = { ...st, sha256 };
  memo.set(path, e);
  if (big) {
    log.debug({ file: path, bytes: s.size, ms: Date.now() - t0 }, 'hashed');
    rememberSha256(path, sha256);
  }
  return sha256;
}

/** Record a file's known SHA-256 (e.g. verified while downloading) for the fast path. */
export function rememberSha256(file: string, sha256: string): void {
  try {
    const path = realpathSync(file);
    const s = statSync(path);
    const e: Entry = { size: s.size, mtimeMs: s.mtimeMs, ino: s.ino, dev: s.dev, sha256 };
    memo.set(path, e);
    if (s.size < CACHE_FROM_BYTES) return;
    const cacheFile = hashCacheFile();
    const cache = readCache(cacheFile);
    // Forget files that are gone, so the cache does not grow without end.
    for (const k of Object.keys(cache)) if (!existsSync(k)) delete cache[k];
    cache[path] = e;
    writeFileAtomic(cacheFile, JSON.stringify(cache) + '\n');
  } catch (err) {
    log.debug({ err, file }, 'could not update the hash cache');
  }
}
