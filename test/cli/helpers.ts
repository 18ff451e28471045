import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { testDataDir } from '../helpers/data.js';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const BIN = join(ROOT, 'bin', 'smft.js');
export const BAD = join(ROOT, 'test', 'fixtures', 'bad');

export interface CliResult { code: number | null; stdout: string; stderr: string; ms: number }

/**
 * Run a node script as a child process (`process.execPath`), with SMFT_LOG_LEVEL=silent and the
 * test data directory unless `env` says otherwise; resolves when it exits, or rejects after
 * `timeoutMs` (the child is killed).
 */
export function runNode(script: string, args: string[], opts: { env?: Record<string, string>; nodeArgs?: string[]; timeoutMs?: number; cwd?: string } = {}): Promise<CliResult> {
  const t0 = Date.now();
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), script, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, SMFT_LOG_LEVEL: 'silent', SMFT_DATA_DIR: testDataDir(), ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '', stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rej(new Error(`${script} ${args.join(' ')} did not finish within ${opts.timeoutMs} ms`));
    }, opts.timeoutMs ?? 60_000);
    child.on('error', (e) => { clearTimeout(timer); rej(e); });
    child.on('close', (code) => { clearTimeout(timer); res({ code, stdout, stderr, ms: Date.now() - t0 }); });
  });
}

/** `node bin/smft.js …`. */
export function runCli(args: string[], opts: Parameters<typeof runNode>[2] = {}): Promise<CliResult> {
  return runNode(BIN, args, opts);
}

/** `smft split …` through bin/smft.js. */
export function runSplit(args: string[], opts: Parameters<typeof runNode>[2] = {}): Promise<CliResult> {
  return runCli(['split', ...args], opts);
}

