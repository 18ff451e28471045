import { BATCH, type BucketLayout, type DuplicateConvention, type PreparedRdm } from '../../kernels/cpu/bootstrap.js';
import { KernelPool } from '../../kernels/cpu/pool.js';
import { Rng } from '../util/rng.js';
import { Progress } from '../util/progress.js';
import { SmftError } from '../util/errors.js';

/** Error code of explicit bootstrap resamples that do not fit the data (the caller names the file). */
export const BAD_INDICES = 'bad-bootstrap-indices';

/** Check the shape of explicit resamples read from JSON: {subset: [[row index, …], …]}. */
export function checkBootstrapIndices(value: unknown, file: string): Record<string, number[][]> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new SmftError('bootstrap indices must be a JSON object {subset: [[row indices], …]}', file);
  for (const [subset, its] of Object.entries(value)) {
    if (!Array.isArray(its) || its.length === 0) throw new SmftError(`bootstrap indices of '${subset}' must be a non-empty array of resamples`, file);
    its.forEach((idx: unknown, it) => {
      if (!Array.isArray(idx) || !idx.every((k) => Number.isInteger(k) && k >= 0)) throw new SmftError(`bootstrap indices of '${subset}', resample ${it}: expected an array of row indices (whole numbers ≥ 0)`, file);
    });
  }
  return value as Record<string, number[][]>;
}

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
      if (idx.length !== n) throw new SmftError(`bootstrap indices: resample ${it} has ${idx.length} indices, the subset has ${n} words`, undefined, BAD_INDICES);
      for (const k of idx) {
        if (!Number.isInteger(k) || k < 0 || k >= n) throw new SmftError(`bootstrap indices: resample ${it} has index ${k} outside 0..${n - 1}`, undefined, BAD_INDICES);
        c[k]++;
      }
    } else {
      for (let k = 0; k < n; k++) c[rng.int(n)]++;
    }
  }
  return counts;
}

/** Resamples per task: a few blocks per thread, so threads finish together. */
function blockSize(rows: number, threads: number): number {
  return Math.max(BATCH, Math.ceil(rows / Math.max(1, threads) / 4 / BATCH) * BATCH);
}

/**
 * ρ of every model against the humans for each count vector (rows of `counts`, n each),
 * computed in blocks on the pool's threads. Returns ρ flat, row-major (row × model).
 * `key` names the RSA (one subset's RDMs): a thread reuses its kernel for blocks of one key.
 */
export async function rhoForCounts(
  pool: KernelPool, key: string, human: PreparedRdm, models: PreparedRdm[], layouts: BucketLayout[],
  counts: Uint32Array, convention: DuplicateConvention, onProgress?: (done: number) => void,
): Promise<Float64Array> {
  const n = human.n, rows = counts.length / n, M = models.length;
  const block = blockSize(rows, pool.threads);
  const parts: Array<Promise<Float64Array>> = [];
  for (let from = 0; from < rows; from += block) {
    const to = Math.min(rows, from + block);
    parts.push(pool.run({ kind: 'rho', key, human, models, layouts, counts: counts.slice(from * n, to * n), convention }, onProgress));
  }
  const flat = new Float64Array(rows * M);
  (await Promise.all(parts)).forEach((part, b) => flat.set(part, b * block * M));
  return flat;
}

/** Per model, its column of a flat row-major (row × model) result. */
export function byModel(flat: Float64Array, M: number): Float64Array[] {
  const rows = flat.length / M;
  return Array.from({ length: M }, (_, q) => Float64Array.from({ length: rows }, (_, r) => flat[r * M + q]));
}

let keys = 0;
/** A key unique to one RSA within this process (see rhoForCounts). */
export function rsaKey(label: string): string {
  return `${label}#${++keys}`;
}

/**
 * Bootstrap distribution of each model's RSA ρ: one shared resample per iteration for all
 * models. Returns per model a Float64Array of ρ over iterations. The prepared RDMs should
 * live in SharedArrayBuffers when `threads` > 1; `pool` reuses running threads.
 */
export async function bootstrapRsa(human: PreparedRdm, models: PreparedRdm[], opts: BootstrapOptions, pool?: KernelPool): Promise<Float64Array[]> {
  const p = pool ?? new KernelPool(opts.threads);
  try {
    const layouts = await Promise.all(models.map((model) => p.run({ kind: 'layout', human, model })));
    const counts = resampleCounts(human.n, opts);
    const progress = new Progress(`bootstrap ${opts.label} (iterations)`, counts.length / human.n);
    const flat = await rhoForCounts(p, rsaKey(opts.label), human, models, layouts, counts, opts.convention, (k) => progress.tick(k));
    return byModel(flat, models.length);
  } finally {
    if (!pool) await p.close();
  }
}

/**
 * The same bootstrap on the GPU (kernels/webgpu): the RDMs (human first) are uploaded once and
 * the resamples' ρ computed there from the same count vectors. f32 on the device: ρ agrees
 * with the CPU kernels to ~1e-6.
 */
export async function bootstrapRsaGpu(rdms: Array<{ rdm: Float64Array; self: Float64Array }>, n: number, opts: BootstrapOptions): Promise<Float64Array[]> {
  const { GpuRsaBootstrap } = await import('../../kernels/webgpu/index.js');
  const counts = resampleCounts(n, opts);
  const gpu = await GpuRsaBootstrap.create(n, rdms.map((r) => r.rdm), { selfDistances: rdms.map((r) => r.self), convention: opts.convention });
  try {
    return byModel(await gpu.spearmanFromCounts(counts, counts.length / n), rdms.length - 1);
  } finally {
    gpu.destroy();
  }
}
