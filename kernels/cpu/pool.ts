import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { releaseKernel, runTask, type RsaTask, type TaskResult } from './rsa-tasks.js';

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

interface Pending { task: RsaTask; resolve: (r: unknown) => void; reject: (e: Error) => void; onProgress?: (done: number) => void }

/**
 * Worker threads running RSA tasks (kernels/cpu/rsa-tasks.ts) first come, first served, so
 * that the preparation of one subset overlaps the bootstrap of another. With one thread the
 * tasks run inline on the calling thread.
 */
export class KernelPool {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: Pending[] = [];
  private readonly running = new Map<Worker, Pending>();
  private closed = false;

  constructor(readonly threads: number) {
    if (threads <= 1) return;
    for (let w = 0; w < threads; w++) {
      const worker = startKernelWorker('rsa.worker');
      worker.on('message', (msg: { progress?: number; result?: unknown; error?: string }) => {
        const job = this.running.get(worker);
        if (!job) return;
        if (msg.progress !== undefined) { job.onProgress?.(msg.progress); return; }
        this.running.delete(worker);
        if (msg.error !== undefined) job.reject(new Error(msg.error));
        else job.resolve(msg.result);
        this.idle.push(worker);
        this.dispatch();
      });
      // A thread that dies takes the pool with it: fail everything still waiting.
      worker.on('error', (err) => {
        this.closed = true;
        for (const job of [...this.running.values(), ...this.queue.splice(0)]) job.reject(err);
        this.running.clear();
      });
      this.workers.push(worker);
      this.idle.push(worker);
    }
  }

  /** Queue a task; resolves with its result. */
  run<T extends RsaTask>(task: T, onProgress?: (done: number) => void): Promise<TaskResult<T>> {
    if (this.closed) return Promise.reject(new Error('the kernel pool is closed'));
    if (this.workers.length === 0) return Promise.resolve().then(() => runTask(task, false, onProgress));
    return new Promise<TaskResult<T>>((resolve, reject) => {
      this.queue.push({ task, resolve: resolve as (r: unknown) => void, reject, onProgress });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const worker = this.idle.pop()!;
      const job = this.queue.shift()!;
      this.running.set(worker, job);
      worker.postMessage({ id: 0, task: job.task });
    }
  }

  /** Stop the threads (and drop an inline kernel). */
  async close(): Promise<void> {
    this.closed = true;
    releaseKernel();
    for (const job of this.queue.splice(0)) job.reject(new Error('the kernel pool was closed'));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
