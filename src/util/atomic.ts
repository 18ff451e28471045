import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { assertReplaceable, listTree, writeMarker, type OutputKind } from './marker.js';
import { cleanStaleTemps, tempName } from './temp.js';

/**
 * Write a file atomically: a temp file `.<name>.smft-tmp-<pid>-<hex>` in the same folder, then
 * renamed over the target. The file gets the user's umask. Leftovers of interrupted writes in
 * that folder (their process gone) are removed first.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const parent = dirname(path);
  mkdirSync(parent, { recursive: true });
  cleanStaleTemps(parent);
  const tmp = join(parent, tempName(basename(path)));
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

export interface WriteDirOptions {
  /** What the folder is (recorded in its marker; an existing folder must be the same kind). Default 'folder'. */
  kind?: OutputKind;
}

/**
 * Produce a whole output folder atomically: `fill` writes into a fresh temp folder beside
 * `dir` (`.<name>.smft-tmp-<pid>-<hex>`, with the user's umask); the marker `.smft-output.json`
 * listing what was written is added, and the temp folder replaces `dir`. On failure it is
 * removed and `dir` is left as it was. An existing `dir` is replaced only when it is an smft
 * output of the same kind that holds nothing smft did not write (SmftError otherwise).
 */
export async function writeDirAtomic(dir: string, fill: (tmpDir: string) => Promise<void> | void, opts: WriteDirOptions = {}): Promise<void> {
  const kind = opts.kind ?? 'folder';
  const parent = dirname(dir);
  mkdirSync(parent, { recursive: true });
  cleanStaleTemps(parent);
  assertReplaceable(dir, kind);
  const tmp = join(parent, tempName(basename(dir)));
  mkdirSync(tmp);
  try {
    await fill(tmp);
    writeMarker(tmp, kind, listTree(tmp));
    // Checked again: the folder may have changed while `fill` ran.
    const existing = assertReplaceable(dir, kind);
    if (existing.state !== 'absent') {
      const old = join(parent, tempName(basename(dir), 'old'));
      renameSync(dir, old);
      try {
        renameSync(tmp, dir);
      } catch (e) {
        renameSync(old, dir);
        throw e;
      }
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(tmp, dir);
    }
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}
