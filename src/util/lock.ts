/**
 * One writer per output: a lock file `.<name>.smft-lock` beside the output, created with O_EXCL
 * and holding the owner's pid, host and command. A lock whose process is gone (same host, pid
 * not alive) is stale and taken over; one held by a live process refuses the second writer
 * with one line. Locks are released when the process exits (and by `release()`); a killed
 * process leaves its lock behind, which the next run recognises as stale.
 *
 * Why not proper-lockfile: it detects staleness by an mtime the owner refreshes on a timer, and
 * smft's long synchronous computations (TF.js on the CPU) can stall that timer for minutes, so
 * a live lock would look stale. A pid is the right owner identity for a local CLI.
 */
import { closeSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { SmftError } from './errors.js';

export interface LockOwner { pid: number; host: string; command: string; started: string }

/** Is process `pid` alive on this machine? (EPERM: it exists, owned by someone else.) */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The lock file of an output path. */
export function lockPath(output: string): string {
  return join(dirname(output), `.${basename(output)}.smft-lock`);
}

const held = new Set<string>();
let exitHook = false;

function readOwner(file: string): LockOwner | undefined {
  try {
    const o = JSON.parse(readFileSync(file, 'utf8')) as LockOwner;
    return typeof o?.pid === 'number' && typeof o.host === 'string' ? o : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Take the lock of `output` (its parent folder must exist). Throws SmftError when another live
 * process holds it. Returns `release()`; the lock is also released at process exit.
 */
export function acquireLock(output: string): () => void {
  const file = lockPath(output);
  const me: LockOwner = { pid: process.pid, host: hostname(), command: ['smft', ...process.argv.slice(2)].join(' '), started: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      try { writeSync(fd, JSON.stringify(me) + '\n'); } finally { closeSync(fd); }
      held.add(file);
      if (!exitHook) {
        exitHook = true;
        process.on('exit', () => { for (const f of [...held]) release(f); });
      }
      return () => release(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const owner = readOwner(file);
    let stale: boolean;
    if (owner) stale = owner.host === me.host && !pidAlive(owner.pid);
    else {
      // Unreadable: a writer cut off between creating and filling it, unless it is brand new.
      let age = Infinity;
      try { age = Date.now() - statSync(file).mtimeMs; } catch { /* gone meanwhile */ }
      stale = age > 10_000;
    }
    if (!stale) {
      const who = owner ? `pid ${owner.pid}${owner.host !== me.host ? ` on ${owner.host}` : ''} since ${owner.started}: ${owner.command}` : 'its lock file is being written';
      const remote = owner && owner.host !== me.host ? `, or remove ${file} if that process is gone` : '';
      throw new SmftError(`another smft process is writing this output (${who}); wait for it to finish${remote}`, output);
    }
    rmSync(file, { force: true });
  }
  throw new SmftError(`another smft process took the lock ${file} at the same moment; try again`, output);
}

function release(file: string): void {
  if (!held.delete(file)) return;
  const owner = readOwner(file);
  if (owner && owner.pid === process.pid && owner.host === hostname()) rmSync(file, { force: true });
}
