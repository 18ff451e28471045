import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SmftError } from '../util/errors.js';
import { log } from '../util/log.js';
import { sha256File } from '../util/hash.js';
import { writeFileAtomic } from '../util/atomic.js';
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
  const lock: Lock = existsSync(lockFile) ? (JSON.parse(readFileSync(lockFile, 'utf8')) as Lock) : {};
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
    const hash = await download(src, target, expected, opts.timeoutMs ?? 60_000);
    lock[id] = { url: src.url, sha256: hash, fetched: new Date().toISOString() };
    writeFileAtomic(lockFile, JSON.stringify(lock, null, 2) + '\n');
    done.push(target);
  }
  return done;
}

async function download(src: DataSource, target: string, expected: string | undefined, timeoutMs: number): Promise<string> {
  const tmp = `${target}.download`;
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
    renameSync(tmp, target);
    log.info({ file: target, sha256: got }, `downloaded ${src.file}`);
    return got;
  } finally {
    rmSync(tmp, { force: true });
  }
}
