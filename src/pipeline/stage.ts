import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { sha256 } from '../util/hash.js';
import { log } from '../util/log.js';
import { SmftError } from '../util/errors.js';
import { smftVersion } from '../util/version.js';
import { MARKER } from '../util/marker.js';
import { tempName } from '../util/temp.js';

/**
 * One cached stage of a pipeline. Its output folder is `<runDir>/<name>`; `stage.json` there
 * records the hash of the stage's inputs (its config and the hashes of the stages it reads).
 * A finished stage with the same hash is skipped; otherwise it runs in `<name>.partial/`
 * (kept across interruptions, so work inside a stage can resume too; `.smft-stage-key` there
 * holds the hash it runs for) and is renamed into place when done. Only folders smft made as
 * stages are ever removed: a folder of that name without stage.json is refused.
 */
export interface StageResult { name: string; dir: string; key: string; skipped: boolean; seconds: number }

export const STAGE_FILE = 'stage.json';
export const STAGE_KEY = '.smft-stage-key';
const LEGACY_KEY = '.key';

/** The key a finished stage folder records; undefined when it has none or it is unreadable (then the stage runs again). */
function finishedKey(dir: string): string | undefined {
  const file = join(dir, STAGE_FILE);
  if (!existsSync(file)) return undefined;
  try {
    const key = (JSON.parse(readFileSync(file, 'utf8')) as { key?: unknown }).key;
    if (typeof key === 'string') return key;
  } catch { /* below */ }
  log.warn({ file }, `${file}: unreadable or truncated; running the stage again`);
  return undefined;
}

/** Is `dir` a stage folder smft made (finished, in progress, or a run folder of a library writer)? */
export function isStageFolder(dir: string): boolean {
  return [STAGE_FILE, STAGE_KEY, LEGACY_KEY, MARKER].some((f) => existsSync(join(dir, f)));
}

/** Remove a stage folder, refusing anything that is not one (or empty). */
function removeStageFolder(dir: string): void {
  if (!existsSync(dir)) return;
  if (!isStageFolder(dir) && readdirSync(dir).length > 0) {
    throw new SmftError(`is not a stage folder of smft (no ${STAGE_FILE}); move it away, the study writes its stages here`, dir);
  }
  rmSync(dir, { recursive: true, force: true });
}

export async function runStage(
  runDir: string, name: string, inputs: unknown, work: (dir: string) => Promise<void>,
): Promise<StageResult> {
  // The smft version is part of every stage's inputs: an upgrade reruns the study.
  const key = sha256(JSON.stringify({ smft: smftVersion(), inputs })).slice(0, 16);
  const dir = join(runDir, name);
  if (existsSync(dir)) {
    if (finishedKey(dir) === key) {
      log.info({ stage: name, key }, `${name}: up to date (cached)`);
      return { name, dir, key, skipped: true, seconds: 0 };
    }
    if (!isStageFolder(dir) && readdirSync(dir).length > 0) throw new SmftError(`is not a stage folder of smft (no ${STAGE_FILE}); move it away, the study writes its stages here`, dir);
    log.info({ stage: name }, `${name}: inputs changed, running again`);
  }
  const partial = `${dir}.partial`;
  const partialKey = join(partial, STAGE_KEY);
  if (existsSync(join(partial, LEGACY_KEY))) renameSync(join(partial, LEGACY_KEY), partialKey);
  if (existsSync(partial) && (!existsSync(partialKey) || readFileSync(partialKey, 'utf8') !== key)) removeStageFolder(partial);
  mkdirSync(partial, { recursive: true });
  writeFileSync(partialKey, key);
  log.info({ stage: name, key }, `${name}: running`);
  const t0 = performance.now();
  await work(partial);
  const seconds = (performance.now() - t0) / 1000;
  writeFileSync(join(partial, STAGE_FILE), JSON.stringify({ key, inputs, finished: new Date().toISOString(), seconds }, null, 2) + '\n');
  rmSync(partialKey);
  if (existsSync(dir)) {
    // Moved aside first, so that a kill at any moment leaves the old stage or the new one.
    const old = join(dirname(dir), tempName(basename(dir), 'old'));
    renameSync(dir, old);
    renameSync(partial, dir);
    rmSync(old, { recursive: true, force: true });
  } else {
    renameSync(partial, dir);
  }
  log.info({ stage: name, seconds: Number(seconds.toFixed(1)) }, `${name}: done in ${seconds.toFixed(1)} s`);
  return { name, dir, key, skipped: false, seconds };
}
