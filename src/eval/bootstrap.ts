import { BootstrapKernel, BATCH, runIterations, type DuplicateConvention, type PreparedRdm } from '../../kernels/cpu/bootstrap.js';
import type { BootstrapJob } from '../../kernels/cpu/bootstrap.worker.js';
import { startKernelWorker } from '../../kernels/cpu/pool.js';
import { Rng } from '../util/rng.js';
import { Progress } from '../util/progress.js';

export interface BootstrapOptions {
  iterations: number;
  /** Seed of the resampling; ignored when `indices` is given. */
  seed: number;
  /** Explicit resamples (each n indices into the subset's rows), e.g. to match another tool. */
  indices?: number[][];
  convention: DuplicateConvention;
  threads: number;
  label: string;
}

/** Count vectors (iterations × n, concatenated) of the resamples: given, or drawn from the seed. */
export function resampleCounts(n: number, opts: Pick<BootstrapOptions, 'iterations' | 'seed' | 'indices'>): Uint32Array {
  const iters = opts.indices ? opts.indices.length : opts.iterations;
  const counts = new Uint32Array(iters * n);
  const rng = new Rng(opts.seed);
  for (let it = 0; it < iters; it++) {
    const c = counts.subarray(it * n, (it + 1) * n);
    if (opts.indices) {
      const idx = opts.indices[it];
      if (idx.length !== n) throw new Error(`bootstrap indices: iteration ${it} has ${idx.length} indices, expected ${n}`);
      for (const k of idx) {
        if (!Number.isInteger(k) || k < 0 || k >= n) throw new Error(`bootstrap indices: iteration ${it} has index ${k} outside 0..${n - 1}`);
        c[k]++;
      }
    } else {
      for (let k = 0; k < n; k++) c[rng.int(n)]++;
    }
  }
  return counts;
}

/**
 * Bootstrap distribution of each model's RSA ρ: one shared resample per iteration for all
 * models. Returns per model a Float64Array of ρ over iterations. Runs on worker threads when
 * `threads` > 1 (the prepared RDMs should then live in SharedArrayBuffers).
 */
export async function bootstrapRsa(human: PreparedRdm, models: PreparedRdm[], opts: BootstrapOptions): Promise<Float64Array[]> {
  const n = human.n;
  const counts = resampleCounts(n, opts);
  const iters = counts.length / n;
  const M = models.length;
  const flat = new Float64Array(iters * M);
  const progress = new Progress(`bootstrap ${opts.label} (iterations)`, iters);
  const threads = Math.max(1, Math.min(opts.threads, iters));
  if (threads === 1) {
    flat.set(runIterations(new BootstrapKernel(human, models), counts, opts.convention, (k) => progress.tick(k)));
  } else {
    // Whole batches per worker.
    const per = Math.ceil(iters / threads / BATCH) * BATCH;
    await Promise.all(
      Array.from({ length: threads }, (_, w) => {
        const from = w * per;
        const to = Math.min(iters, from + per);
        if (from >= to) return Promise.resolve();
        return new Promise<void>((resolve, reject) => {
          const worker = startKernelWorker('bootstrap.worker');
          worker.on('message', (msg: { progress?: number; done?: Float64Array }) => {
            if (msg.progress) progress.tick(msg.progress);
            if (msg.done) {
              flat.set(msg.done, from * M);
              void worker.terminate();
              resolve();
            }
          });
          worker.on('error', reject);
          const job: BootstrapJob = { human, models, counts: counts.slice(from * n, to * n), convention: opts.convention };
          worker.postMessage(job);
        });
      }),
    );
  }
  return Array.from({ length: M }, (_, q) => Float64Array.from({ length: iters }, (_, it) => flat[it * M + q]));
}

/**
 * The same bootstrap on the GPU (kernels/webgpu): the RDMs (human first) are uploaded once and
 * the resamples' ρ computed there from the same count vectors. f32 on the device: ρ agrees
 * with the CPU kernels to ~1e-6.
 */
export async function bootstrapRsaGpu(rdms: Array<{ rdm: Float64Array; self: Float64Array }>, n: number, opts: BootstrapOptions): Promise<Float64Array[]> {
  const { GpuRsaBootstrap } = await import('../../kernels/webgpu/index.js');
  const counts = resampleCounts(n, opts);
  const iters = counts.length / n;
  const gpu = await GpuRsaBootstrap.create(n, rdms.map((r) => r.rdm), { selfDistances: rdms.map((r) => r.self), convention: opts.convention });
  try {
    const flat = await gpu.spearmanFromCounts(counts, iters);
    const M = rdms.length - 1;
    return Array.from({ length: M }, (_, q) => Float64Array.from({ length: iters }, (_, it) => flat[it * M + q]));
  } finally {
    gpu.destroy();
  }
}
