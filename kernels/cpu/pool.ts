import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';

/**
 * Start a worker thread running the kernel module `name` in this folder. Works from compiled
 * JavaScript and from the TypeScript sources under tsx.
 */
export function startKernelWorker(name: string): Worker {
  const ts = import.meta.url.endsWith('.ts');
  const url = new URL(`./${name}${ts ? '.ts' : '.js'}`, import.meta.url);
  if (!ts) return new Worker(url);
  // Sources run under tsx: register its loader inside the worker before importing the module.
  // tsx is resolved from this module, not from the working directory.
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(boot, { eval: true });
}

/** Worker threads to use: SMFT_THREADS, else the machine's parallelism (at most 16). */
export function defaultThreads(): number {
  const env = Number(process.env.SMFT_THREADS);
  if (Number.isInteger(env) && env > 0) return env;
  return Math.min(16, availableParallelism());
}
