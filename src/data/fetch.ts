import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { SmftError } from '../util/errors.js';
import { log } from '../util/log.js';
import { sha256File } from '../util/hash.js';
import { readJsonFile } from '../util/json.js';
import { writeFileAtomic } from '../util/atomic.js';
import { acquireLock } from '../util/lock.js';
import { cleanStaleTemps, tempName } from '../util/temp.js';
import { SOURCES, type DataSource } from './sources.js';

type Lock = Record<string, { url: string; sha256: string; fetched: string }>;

/**
 * Download the official norms files into `dataDir`, verifying SHA-256 (the published hash, or
 * the one pinned in SOURCES.lock.json by an earlier download). Existing verified files are kept.
 * Offline, it fails with one line saying what to put where.
 */
export async function fetchData(dataDir: string, ids: string[] = SOURCES.map((s) => s.id), opts: { timeoutMs?: number } = {}): Promise<string[]> {
  mkdirSync(dataDir, { recursive: true });
  const lockFile = join(dataDir, 'SOURCES.lock.json');
  // One fetch at a time per data directory; leftovers of interrupted downloads are removed.
  const release = acquireLock(lockFile);
  try {
    cleanStaleTemps(dataDir);
    return await fetchAll(dataDir, lockFile, ids, opts);
  } finally {
    release();
  }
}

async function fetchAll(dataDir: string, lockFile: string, ids: string[], opts: { timeoutMs?: number }): Promise<string[]> {
  const lock: Lock = existsSync(lockFile) ? readJsonFile<Lock>(lockFile) : {};
  const done: string[] = [];
  for (const id of ids) {
    const src = SOURCES.find((s) => s.id === id);
    if (!src) throw new SmftError(`unknown data source '${id}' (known: ${SOURCES.map((s) => s.id).join(', ')})`);
    const target = join(dataDir, src.file);
    const expected = src.sha256 ?? lock[id]?.sha256;
    if (existsSync(target) && expected && (await sha256File(target)) === expected) {
      log.info({ file: target }, `${src.file}: present and verified`);
      done.push(target);
      continue;
    }
    if (existsSync(target) && expected) {
      throw new SmftError(`exists but is not the official file (its sha256 differs from ${expected}); smft does not replace it: move it away to download the official one`, target);
    }
    const hash = await download(src, target, expected, opts.timeoutMs ?? 60_000);
    lock[id] = { url: src.url, sha256: hash, fetched: new Date().toISOString() };
    writeFileAtomic(lockFile, JSON.stringify(lock, null, 2) + '\n');
    done.push(target);
  }
  return done;
}

async function download(src: DataSource, target: string, expected: string | undefined, timeoutMs: number): Promise<string> {
  const tmp = join(dirname(target), tempName(basename(target)));
  let res: Response;
  try {
    res = await fetch(src.url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
  } catch (e) {
    throw new SmftError(`cannot download ${src.description} from ${src.url} (${(e as Error).cause ? String((e as Error & { cause: Error }).cause.message ?? (e as Error).cause) : (e as Error).message}); download it by hand and save it as ${target}`);
  }
  if (!res.ok) throw new SmftError(`download of ${src.url} failed with HTTP ${res.status}; download it by hand and save it as ${target}`);
  try {
    writeFileSync(tmp, new Uint8Array(await res.arrayBuffer()));
    const got = await sha256File(tmp);
    if (expected && got !== expected) throw new SmftError(`checksum mismatch for ${src.url}: got sha256 ${got}, expected ${expected}`);
    // Nothing pinned yet: an existing file is kept unless it is the same as the download.
    if (existsSync(target) && (await sha256File(target)) !== got) {
      throw new SmftError(`exists and differs from the file at ${src.url} (no checksum pinned to tell which is right); smft does not replace it: move it away to download it`, target);
    }
    renameSync(tmp, target);
    log.info({ file: target, sha256: got }, `downloaded ${src.file}`);
    return got;
  } finally {
    rmSync(tmp, { force: true });
  }
}
