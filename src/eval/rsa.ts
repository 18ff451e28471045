import { pairCount, type Metric } from '../../kernels/cpu/rdm.js';
import type { DuplicateConvention } from '../../kernels/cpu/bootstrap.js';
import { exactRho } from '../../kernels/cpu/bootstrap-exact.js';
import { KernelPool } from '../../kernels/cpu/pool.js';
import type { Dimension } from '../data/dimensions.js';
import { byModel, resampleCounts, rhoForCounts, rsaKey } from './bootstrap.js';
import { gpuSubsetRsa } from './rsa-gpu.js';
import { Progress } from '../util/progress.js';
import { binnedRsa } from './rsa-large.js';
import { log } from '../util/log.js';
import { completeRows, submatrix } from './complete.js';
import { correlationP } from './correlation.js';
import { summarise } from './summary.js';
import { zscoreColumns } from './rdm.js';
import type { ModelDistribution, PairDiff, RsaEntry } from './results.js';
import { HUMAN, modelsOf, type RatingTable } from './table.js';

export { subsetRdm } from './rdm.js';
export { summarise } from './summary.js';

export interface RsaOptions {
  metric: Metric;
  fill: number;
  bootstrap: number;
  seed: number;
  indices?: number[][];
  duplicates: DuplicateConvention;
  threads: number;
  /** Use `threads` even for small RDMs (tests). */
  threadsExplicit?: boolean;
  /** Above this many pairs, RSA uses binned ranks without storing RDMs (no bootstrap). */
  exactPairLimit?: number;
  /** Where the bootstrap runs: CPU kernels (default) or WebGPU (kernels/webgpu, f32 ranks). */
  device?: 'cpu' | 'webgpu';
  /** Threads shared by several subsets (else the RSA starts and stops its own). */
  pool?: KernelPool;
  /** Progress of the bootstrap iterations, shared by several subsets. */
  progress?: Progress;
}

/** Default limit of the exact path: 2^26 pairs (≈ 11 600 words, ~2.5 GB of working memory). */
export const EXACT_PAIR_LIMIT = 2 ** 26;

export interface SubsetRsa {
  rows: number[];
  rsa: Record<string, RsaEntry>;
  bootstrap?: Record<string, PairDiff | ModelDistribution>;
  samples?: Record<string, Float64Array>;
}

/**
 * RSA of each model against the humans on one subset of dimensions (rows complete across all
 * sources), and optionally the bootstrap over words. On the CPU every step runs as tasks of a
 * KernelPool (`opts.pool`, shared across subsets, or one of its own): the sources' RDMs are
 * prepared in parallel, then the point estimate (all counts 1) and the resamples go through
 * the same bootstrap kernel.
 */
export async function subsetRsa(t: RatingTable, subset: string, dims: readonly Dimension[], opts: RsaOptions): Promise<SubsetRsa> {
  const rows = completeRows(t, dims);
  const n = rows.length;
  const P = pairCount(n);
  const models = modelsOf(t);
  if (P > (opts.exactPairLimit ?? EXACT_PAIR_LIMIT)) return largeSubsetRsa(t, rows, dims, opts);
  if (opts.device === 'webgpu') return gpuSubsetRsa(t, subset, rows, dims, { ...opts, seed: subsetSeed(opts.seed, subset) });
  const wantBoot = opts.bootstrap > 0 || !!opts.indices;
  // Worker threads pay off only for RDMs of some size.
  const pool = opts.pool ?? new KernelPool(n < 200 && opts.threadsExplicit !== true ? 1 : opts.threads);
  try {
    const d = dims.length;
    const prepared = await Promise.all([HUMAN, ...models].map((source) => pool.run({
      kind: 'prepare', Z: zscoreColumns(submatrix(t, source, rows, dims), n, d), n, d, metric: opts.metric, fill: opts.fill, withPosition: source === HUMAN,
    })));
    const [human, ...rdms] = prepared;
    const ones = new Uint32Array(n).fill(1);
    const entries = (rho: Float64Array): Record<string, RsaEntry> =>
      Object.fromEntries(models.map((m, q) => [m, { rho: rho[q], p: correlationP(rho[q], P), n_words: n, n_pairs: P }]));
    // Without a bootstrap, the point estimate needs no kernel (and none of its memory).
    if (!wantBoot) return { rows, rsa: entries(exactRho(human, rdms, ones, opts.duplicates)) };
    const layouts = await Promise.all(rdms.map((model) => pool.run({ kind: 'layout', human, model })));
    const key = rsaKey(subset);
    const point = rhoForCounts(pool, key, human, rdms, layouts, ones, opts.duplicates);
    const counts = resampleCounts(n, { iterations: opts.bootstrap, seed: subsetSeed(opts.seed, subset), indices: opts.indices });
    const progress = opts.progress ?? new Progress(`bootstrap ${subset} (iterations)`, counts.length / n);
    const boot = rhoForCounts(pool, key, human, rdms, layouts, counts, opts.duplicates, (k) => progress.tick(k));
    const rsa = entries(await point);
    const dist = byModel(await boot, models.length);
    const samples: Record<string, Float64Array> = {};
    models.forEach((m, q) => { samples[m] = dist[q]; });
    return { rows, rsa, samples, bootstrap: summarise(models, rsa, samples) };
  } finally {
    if (!opts.pool) await pool.close();
  }
}

/** RSA of a subset too large for stored RDMs: binned ranks, computed in two streaming passes. */
async function largeSubsetRsa(t: RatingTable, rows: number[], dims: readonly Dimension[], opts: RsaOptions): Promise<SubsetRsa> {
  const n = rows.length, d = dims.length, P = pairCount(n);
  const models = modelsOf(t);
  if (opts.bootstrap > 0 || opts.indices) log.warn({ words: n }, `${n} words: RSA uses binned ranks and the bootstrap is skipped (above ${opts.exactPairLimit ?? EXACT_PAIR_LIMIT} pairs)`);
  const Z = [HUMAN, ...models].map((s) => zscoreColumns(submatrix(t, s, rows, dims), n, d));
  const rho = await binnedRsa(Z, n, d, { metric: opts.metric, fill: opts.fill, threads: opts.threads });
  const rsa: Record<string, RsaEntry> = {};
  models.forEach((m, q) => { rsa[m] = { rho: rho[q], p: correlationP(rho[q], P), n_words: n, n_pairs: P }; });
  return { rows, rsa };
}

/** A distinct, reproducible resampling stream per subset. */
export function subsetSeed(seed: number, subset: string): number {
  let h = seed >>> 0;
  for (const ch of subset) h = (Math.imul(h ^ ch.charCodeAt(0), 16777619) + 2166136261) >>> 0;
  return h;
}
