import { spearman } from '../../kernels/cpu/correlate.js';
import { averageRanks, sortVector } from '../../kernels/cpu/ranks.js';
import { condensedRdm, degenerateRows, pairCount, type Metric } from '../../kernels/cpu/rdm.js';
import { prepareRdm, type DuplicateConvention, type PreparedRdm } from '../../kernels/cpu/bootstrap.js';
import type { Dimension } from '../data/dimensions.js';
import { bootstrapRsa, bootstrapRsaGpu } from './bootstrap.js';
import { binnedRsa } from './rsa-large.js';
import { log } from '../util/log.js';
import { completeRows, submatrix } from './complete.js';
import { correlationP } from './correlation.js';
import { modelPairs } from './pairs.js';
import { mean, percentile } from './percentile.js';
import { zscoreColumns } from './rdm.js';
import type { ModelDistribution, PairDiff, RsaEntry } from './results.js';
import { HUMAN, modelsOf, type RatingTable } from './table.js';

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
}

/** Default limit of the exact path: 2^26 pairs (≈ 11 600 words, ~2.5 GB of working memory). */
export const EXACT_PAIR_LIMIT = 2 ** 26;

export interface SubsetRsa {
  rows: number[];
  rsa: Record<string, RsaEntry>;
  bootstrap?: Record<string, PairDiff | ModelDistribution>;
  samples?: Record<string, Float64Array>;
}

/** One source's RDM on a subset: z-scored rows, condensed distances, self-distances. */
export function subsetRdm(t: RatingTable, source: string, rows: number[], dims: readonly Dimension[], metric: Metric, fill: number): {
  rdm: Float64Array; self: Float64Array;
} {
  const Z = zscoreColumns(submatrix(t, source, rows, dims), rows.length, dims.length);
  const deg = degenerateRows(Z, rows.length, dims.length, metric);
  return { rdm: condensedRdm(Z, rows.length, dims.length, metric, fill), self: Float64Array.from(deg, (g) => (g ? fill : 0)) };
}

/**
 * RSA of each model against the humans on one subset of dimensions (rows complete across all
 * sources), and optionally the bootstrap over words.
 */
export async function subsetRsa(t: RatingTable, subset: string, dims: readonly Dimension[], opts: RsaOptions): Promise<SubsetRsa> {
  const rows = completeRows(t, dims);
  const n = rows.length;
  const P = pairCount(n);
  const models = modelsOf(t);
  if (P > (opts.exactPairLimit ?? EXACT_PAIR_LIMIT)) return largeSubsetRsa(t, rows, dims, opts);
  const wantBoot = opts.bootstrap > 0 || !!opts.indices;
  // Worker threads pay off only for RDMs of some size.
  const threads = n < 200 && opts.threadsExplicit !== true ? 1 : opts.threads;
  const prepared = new Map<string, PreparedRdm>();
  const raw: Array<{ rdm: Float64Array; self: Float64Array }> = [];
  let humanRanks: Float64Array | undefined;
  let humanRdm: Float64Array | undefined;
  const rsa: Record<string, RsaEntry> = {};
  for (const source of [HUMAN, ...models]) {
    const { rdm, self } = subsetRdm(t, source, rows, dims, opts.metric, opts.fill);
    const sorted = sortVector(rdm);
    const ranks = averageRanks(rdm, sorted);
    if (source === HUMAN) { humanRanks = ranks; humanRdm = rdm; } else {
      const rho = spearman(humanRdm!, rdm, humanRanks, ranks);
      rsa[source] = { rho, p: correlationP(rho, P), n_words: n, n_pairs: P };
    }
    if (wantBoot && opts.device === 'webgpu') raw.push({ rdm, self });
    else if (wantBoot) prepared.set(source, prepareRdm(rdm, n, self, sorted, threads > 1));
  }
  if (!wantBoot) return { rows, rsa };
  const bootOpts = {
    iterations: opts.bootstrap, seed: subsetSeed(opts.seed, subset), indices: opts.indices,
    convention: opts.duplicates, threads, label: subset,
  };
  const dist = opts.device === 'webgpu'
    ? await bootstrapRsaGpu(raw, n, bootOpts)
    : await bootstrapRsa(prepared.get(HUMAN)!, models.map((m) => prepared.get(m)!), bootOpts);
  const samples: Record<string, Float64Array> = {};
  models.forEach((m, q) => { samples[m] = dist[q]; });
  return { rows, rsa, samples, bootstrap: summarise(models, rsa, samples) };
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

/** Per model: mean and 95% percentile interval; per pair: observed difference, CI and p. */
export function summarise(models: string[], rsa: Record<string, RsaEntry>, samples: Record<string, Float64Array>): Record<string, PairDiff | ModelDistribution> {
  const out: Record<string, PairDiff | ModelDistribution> = {};
  for (const { a, b, key } of modelPairs(models)) {
    const diffs = samples[a].map((v, i) => v - samples[b][i]);
    const observed = rsa[a].rho - rsa[b].rho;
    const m = mean(diffs);
    let extreme = 0;
    for (const d of diffs) if (Math.abs(d - m) >= Math.abs(observed)) extreme++;
    out[key] = { diff: observed, ci: [percentile(diffs, 2.5), percentile(diffs, 97.5)], p: extreme / diffs.length };
  }
  for (const m of models) out[m] = { mean: mean(samples[m]), ci: [percentile(samples[m], 2.5), percentile(samples[m], 97.5)] };
  return out;
}

/** A distinct, reproducible resampling stream per subset. */
function subsetSeed(seed: number, subset: string): number {
  let h = seed >>> 0;
  for (const ch of subset) h = (Math.imul(h ^ ch.charCodeAt(0), 16777619) + 2166136261) >>> 0;
  return h;
}
