/**
 * Names of smft's temporary files and folders, and the clean-up of those an interrupted run
 * left behind. An atomic write of `<parent>/<name>` goes through `<parent>/.<name>.smft-tmp-<pid>-<hex>`
 * (renamed onto `<name>` when complete); replacing a folder first moves the old one to
 * `.<name>.smft-old-<pid>-<hex>`. Leftovers whose process is gone are removed by the next write
 * into the same folder; an `old` folder whose replacement never arrived is put back.
 */
import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { log } from './log.js';
import { pidAlive } from './lock.js';

export type TempRole = 'tmp' | 'old';

/** A fresh temp name for `name` in the same folder. */
export function tempName(name: string, role: TempRole = 'tmp'): string {
  return `.${name}.smft-${role}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Is this entry name one of smft's own (temps, locks, markers), never a user's file? */
export function isSmftInternal(entry: string): boolean {
  return entry === '.smft-output.json' || entry === '.smft-stage-key' || /^\..+\.smft-(tmp|old)-\d+-[0-9a-f]{8}$/.test(entry) || /^\..+\.smft-lock$/.test(entry);
}

/**
 * Leftovers with the owner's pid: current names, and those of earlier smft versions
 * (`.<name>.<pid>.<ms>.tmp` files; `<name>.old-<pid>-<ms>` folders, which are only ever put
 * back, never removed: their name does not say "smft").
 */
const PATTERNS: Array<{ re: RegExp; role: TempRole | 'restore-only' }> = [
  { re: /^\.(?<name>.+)\.smft-tmp-(?<pid>\d+)-[0-9a-f]{8}$/, role: 'tmp' },
  { re: /^\.(?<name>.+)\.smft-old-(?<pid>\d+)-[0-9a-f]{8}$/, role: 'old' },
  { re: /^\.(?<name>.+)\.(?<pid>\d+)\.\d{13}\.tmp$/, role: 'tmp' },
  { re: /^(?<name>.+)\.old-(?<pid>\d+)-\d{13}$/, role: 'restore-only' },
];

/**
 * Remove (or, for a replaced folder whose successor is missing, restore) the temp entries in
 * `dir` whose writing process is no longer alive. Returns the entries handled.
 */
export function cleanStaleTemps(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  const handled: string[] = [];
  for (const entry of entries) {
    for (const { re, role } of PATTERNS) {
      const m = re.exec(entry);
      if (!m) continue;
      const { name, pid } = m.groups!;
      if (pidAlive(Number(pid))) break;
      const path = join(dir, entry);
      const target = join(dir, name);
      if (role !== 'tmp' && !existsSync(target)) {
        renameSync(path, target);
        log.warn({ restored: target }, `restored ${name}: an interrupted run had moved it aside`);
      } else if (role === 'restore-only') {
        break;
      } else {
        rmSync(path, { recursive: true, force: true });
        log.info({ removed: path }, 'removed the leftovers of an interrupted write');
      }
      handled.push(entry);
      break;
    }
  }
  return handled;
}

/**
 * Private temp folders outside the output (e.g. ONNX weights in the system temp folder) are
 * named `<prefix><pid>-<random>`; this removes those whose process is gone.
 */
export function cleanStalePrivateTemps(dir: string, prefix: string): void {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const entry of entries) {
    if (!entry.startsWith(prefix)) continue;
    const pid = /^(\d+)-/.exec(entry.slice(prefix.length))?.[1];
    if (pid && !pidAlive(Number(pid))) {
      rmSync(join(dir, entry), { recursive: true, force: true });
      log.info({ removed: join(dir, entry) }, 'removed the temp folder of an interrupted run');
    }
  }
}
