/**
 * The output guard: every command that writes calls `prepareOutput` with its `-o` before it
 * computes anything. It refuses, with one line and nothing touched,
 *   - an empty path, the working folder or a folder above it, the file-system root;
 *   - an input of the command, or a folder holding one;
 *   - a device, FIFO, socket or symbolic link (never replaced, not even with --force);
 *   - anything that exists and is not an smft output of the same kind (see ./marker.ts), or is
 *     one but holds files smft did not write;
 *   - an smft output of the same kind unless `force` (replace it) or `resume` (continue it);
 *   - a place it cannot write to (checked by creating and removing a probe folder there);
 *   - an output another smft process is writing (a lock, ./lock.ts).
 * It then takes the lock (released at exit) and cleans the leftovers of interrupted writes.
 * Writers then use writeDirAtomic / writeFileAtomic (./atomic.ts), which apply the same
 * replacement rule again at the moment of replacing.
 */
import { existsSync, mkdirSync, openSync, closeSync, realpathSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { SmftError, describeErrno } from './errors.js';
import { acquireLock } from './lock.js';
import { describeExisting, inspectOutput, kindSpec, type Existing, type OutputKind } from './marker.js';
import { cleanStaleTemps } from './temp.js';

export { MARKER, OUTPUT_KINDS, markOutput, readMarker, inspectOutput, assertReplaceable, type OutputKind, type OutputMarker } from './marker.js';
export { writeDirAtomic, writeFileAtomic } from './atomic.js';

export interface OutputRequest {
  /** The path as the user gave it (relative to the working folder); undefined or '' is refused. */
  path: string | undefined;
  kind: OutputKind;
  /** Replace an existing smft output of the same kind (--force). */
  force?: boolean;
  /** Continue an existing smft output of the same kind (rate, train --resume, reproduce, trajectory). */
  resume?: boolean;
  /** The command's inputs (files or folders; undefined entries are skipped): never the output, never inside it. */
  inputs?: Array<string | undefined>;
  /** The option, for messages (default '-o'). */
  option?: string;
}

export interface PreparedOutput {
  /** Absolute path to write. */
  path: string;
  /** What was there: nothing, an empty file/folder, or an smft output of the kind (resumed or to replace). */
  existing: 'absent' | 'empty' | 'ours';
  /** Release the lock (done at process exit anyway). */
  release(): void;
}

/** Kinds whose outputs grow over a run: --force removes the old one before the run starts. */
const GROWING: ReadonlySet<OutputKind> = new Set(['lora-run', 'trajectory', 'study', 'ratings']);

/** The real path of `p` (symbolic links in its folders resolved; `p` itself need not exist). */
function realPath(p: string): string {
  const rest: string[] = [];
  let d = p;
  for (;;) {
    try {
      return join(realpathSync(d), ...rest.reverse());
    } catch {
      const up = dirname(d);
      if (up === d) return p;
      rest.push(basename(d));
      d = up;
    }
  }
}

const inside = (child: string, parent: string): boolean => parent === sep ? child !== sep : child.startsWith(parent + sep);

function nearestExisting(p: string): string {
  let d = p;
  for (;;) {
    try {
      statSync(d);
      return d;
    } catch {
      const up = dirname(d);
      if (up === d) return d;
      d = up;
    }
  }
}

/** Can this process create entries in `dir`? (A probe folder is made and removed: umask, ACLs, read-only mounts and root all count.) */
function probeWritable(dir: string, out: string): void {
  const probe = join(dir, `.smft-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    mkdirSync(probe);
    rmdirSync(probe);
  } catch (e) {
    throw new SmftError(`cannot write there: ${dir}: ${describeErrno(e as NodeJS.ErrnoException)}`, out);
  }
}

const createdDirs: string[] = [];
let exitHook = false;

/** mkdir -p, remembering what it made: folders left empty by a failed command are removed at exit. */
function makeParents(dir: string): void {
  const missing: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    try { statSync(d); break; } catch { missing.push(d); }
    if (dirname(d) === d) break;
  }
  mkdirSync(dir, { recursive: true });
  createdDirs.push(...missing);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => { for (const d of createdDirs) { try { rmdirSync(d); } catch { /* not empty: it holds the output */ } } });
  }
}

/** Check `-o`, lock it and clean leftovers before any computation; see the module comment. */
export function prepareOutput(req: OutputRequest): PreparedOutput {
  const option = req.option ?? '-o';
  if (req.path === undefined || req.path.trim() === '') throw new SmftError(`${option}: empty path; give the name of the ${kindSpec(req.kind).type === 'file' ? 'file' : 'folder'} to write`);
  if (req.path.includes('\0')) throw new SmftError(`${option}: the path contains a NUL character`);
  const path = resolve(req.path);
  const real = realPath(path);
  const cwd = realPath(process.cwd());
  if (real === sep) throw new SmftError('is the root of the file system; give a new folder name', path);
  if (real === cwd) throw new SmftError(`is the working folder; give ${option} a new ${kindSpec(req.kind).type === 'file' ? 'file' : 'folder'} name`, path);
  if (inside(cwd, real)) throw new SmftError(`holds the working folder; give ${option} a new folder name`, path);
  for (const input of req.inputs ?? []) {
    // Inputs that are not here (hub ids, files that will fail to load later) cannot be lost.
    if (!input || !existsSync(resolve(input))) continue;
    const ri = realPath(resolve(input));
    if (ri === real) throw new SmftError('is an input of this command; an output never replaces its input', path);
    if (inside(ri, real)) throw new SmftError(`holds ${resolve(input)}, an input of this command; choose another ${option}`, path);
  }

  const refuse = (e: Existing): never => {
    const spec = kindSpec(req.kind);
    if (e.state === 'special') throw new SmftError(`exists and is ${e.detail}; smft never writes over it, not even with --force`, path);
    if (e.state === 'ours') {
      const how = req.kind === 'lora-run' ? 'add --resume to continue it, or --force to start over' : 'add --force to replace it';
      throw new SmftError(`${spec.what} of smft exists here; ${how}`, path);
    }
    throw new SmftError(`${describeExisting(e, req.kind)}; choose another ${option}, or move it away${e.state === 'other-kind' || e.state === 'foreign-entries' ? ' (--force replaces only an smft output of the same kind, holding only what smft wrote)' : ''}`, path);
  };
  // Cheap refusals first (before creating the parent or locking).
  const before = inspectOutput(path, req.kind);
  if (before.state !== 'absent' && before.state !== 'empty' && before.state !== 'ours') refuse(before);

  const parent = dirname(path);
  const base = nearestExisting(parent);
  if (!statSync(base).isDirectory()) throw new SmftError(`cannot create it: ${base} is a file, not a folder`, path);
  probeWritable(base, path);
  if (before.state === 'ours' && (req.resume || req.force)) {
    if (kindSpec(req.kind).type === 'dir') probeWritable(path, path);
    else {
      try { closeSync(openSync(path, 'r+')); } catch (e) { throw new SmftError(`cannot write it: ${describeErrno(e as NodeJS.ErrnoException)}`, path); }
    }
  }
  makeParents(parent);
  const release = acquireLock(path);
  try {
    cleanStaleTemps(parent);
    const e = inspectOutput(path, req.kind);
    if (e.state === 'ours' && !req.resume && !req.force) refuse(e);
    if (e.state !== 'absent' && e.state !== 'empty' && e.state !== 'ours') refuse(e);
    if (e.state === 'ours' && req.force && !req.resume && GROWING.has(req.kind)) {
      rmSync(path, { recursive: true, force: true });
      if (req.kind === 'ratings') rmSync(`${path}.meta.json`, { force: true });
    }
    return { path, existing: e.state as PreparedOutput['existing'], release };
  } catch (err) {
    release();
    throw err;
  }
}

/** Characters safe in a file name made from a model id or recipe name ('Qwen/Qwen2.5-0.5B' → 'Qwen2.5-0.5B'). */
export function safeName(s: string): string {
  const last = s.replace(/[\\/]+$/, '').split(/[\\/]/).pop() ?? '';
  return last.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '') || 'output';
}

/** Where an output goes when `-o` is omitted: `runs/<parts…>` under the working folder (ignored by git). */
export function defaultOutput(...parts: string[]): string {
  return join('runs', ...parts);
}

