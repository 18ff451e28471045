import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256 } from '../util/hash.js';
import { log } from '../util/log.js';
import { smftVersion } from '../eval/provenance.js';

/**
 * One cached stage of a pipeline. Its output folder is `<runDir>/<name>`; `stage.json` there
 * records the hash of the stage's inputs (its config and the hashes of the stages it reads).
 * A finished stage with the same hash is skipped; otherwise it runs in `<name>.partial/`
 * (kept across interruptions, so work inside a stage can resume too) and is renamed into
 * place when done.
 */
export interface StageResult { name: string; dir: string; key: string; skipped: boolean; seconds: number }

export async function runStage(
  runDir: string, name: string, inputs: unknown, work: (dir: string) => Promise<void>,
): Promise<StageResult> {
  // The smft version is part of every stage's inputs: an upgrade reruns the study.
  const key = sha256(JSON.stringify({ smft: smftVersion(), inputs })).slice(0, 16);
  const dir = join(runDir, name);
  const marker = join(dir, 'stage.json');
  if (existsSync(marker)) {
    const done = JSON.parse(readFileSync(marker, 'utf8')) as { key: string };
    if (done.key === key) {
      log.info({ stage: name, key }, `${name}: up to date (cached)`);
      return { name, dir, key, skipped: true, seconds: 0 };
    }
    log.info({ stage: name }, `${name}: inputs changed, running again`);
  }
  const partial = `${dir}.partial`;
  const partialKey = join(partial, '.key');
  if (existsSync(partial) && (!existsSync(partialKey) || readFileSync(partialKey, 'utf8') !== key)) rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  writeFileSync(partialKey, key);
  log.info({ stage: name, key }, `${name}: running`);
  const t0 = performance.now();
  await work(partial);
  const seconds = (performance.now() - t0) / 1000;
  rmSync(partialKey);
  writeFileSync(join(partial, 'stage.json'), JSON.stringify({ key, inputs, finished: new Date().toISOString(), seconds }, null, 2) + '\n');
  rmSync(dir, { recursive: true, force: true });
  renameSync(partial, dir);
  log.info({ stage: name, seconds: Number(seconds.toFixed(1)) }, `${name}: done in ${seconds.toFixed(1)} s`);
  return { name, dir, key, skipped: false, seconds };
}
