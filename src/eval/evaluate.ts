import type { DuplicateConvention } from '../../kernels/cpu/bootstrap.js';
import type { Metric } from '../../kernels/cpu/rdm.js';
import { defaultThreads, KernelPool } from '../../kernels/cpu/pool.js';
import { subsetsFor } from '../data/dimensions.js';
import { log } from '../util/log.js';
import { Progress } from '../util/progress.js';
import { SmftError } from '../util/errors.js';
import { completeRows } from './complete.js';
import { dimensionwise } from './dimensionwise.js';
import type { EvaluationResults } from './results.js';
import { subsetRsa } from './rsa.js';
import { BAD_INDICES } from './bootstrap.js';
import { modelsOf, type RatingTable } from './table.js';
import { wordwise, type WordwiseSubset } from './wordwise.js';

export interface EvaluateOptions {
  metric?: Metric;
  /** Distance used where the metric is undefined (zero vector); the paper uses 2.0. */
  fill?: number;
  /** Bootstrap iterations (0 = none). */
  bootstrap?: number;
  seed?: number;
  /** Explicit bootstrap resamples per subset (indices into the subset's complete rows). */
  indices?: Record<string, number[][]>;
  duplicates?: DuplicateConvention;
  threads?: number;
  /** Run the bootstrap on 'webgpu' (needs an adapter) instead of the CPU kernels. */
  device?: 'cpu' | 'webgpu';
}

/** Everything an evaluation computes: results.json plus the per-word and per-iteration detail. */
export interface Evaluation {
  results: EvaluationResults;
  table: RatingTable;
  rows: Record<string, number[]>;
  samples: Record<string, Record<string, Float64Array>>;
  wordwise: Record<string, WordwiseSubset>;
}

/**
 * A model with no rating at all on some dimension (an empty or all-NaN column) would empty
 * every subset by listwise deletion and take the RSA of every other model with it: such a
 * model is left out, with a warning and its reason in results.json `excluded_models`.
 */
export function dropEmptyModels(t: RatingTable): { table: RatingTable; excluded: Record<string, string> } {
  const d = t.dimensions.length;
  const excluded: Record<string, string> = {};
  for (const m of modelsOf(t)) {
    const v = t.values.get(m)!;
    const empty = t.dimensions.filter((_, j) => { for (let i = 0; i < t.words.length; i++) if (!Number.isNaN(v[i * d + j])) return false; return true; });
    if (!empty.length) continue;
    excluded[m] = empty.length === d ? 'no ratings' : `no ratings on ${empty.join(', ')}`;
    log.warn({ model: m, dimensions: empty }, `model ${m} has ${excluded[m]} (empty or NaN column): left out of the evaluation; the other models are evaluated without it`);
  }
  const gone = Object.keys(excluded);
  if (!gone.length) return { table: t, excluded };
  const sources = t.sources.filter((s) => !gone.includes(s));
  if (modelsOf({ ...t, sources }).length === 0) throw new SmftError(`no model has ratings on every dimension (${gone.map((m) => `${m}: ${excluded[m]}`).join('; ')})`);
  return { table: { ...t, sources, values: new Map(sources.map((s) => [s, t.values.get(s)!])) }, excluded };
}

/**
 * The paper's analysis of one rating table (humans + models): dimension-wise Spearman and
 * Steiger tests, RSA per subset with a bootstrap over words, and word-wise distances.
 */
export async function evaluate(t: RatingTable, options: EvaluateOptions = {}): Promise<Evaluation> {
  const opts = {
    metric: options.metric ?? 'cosine', fill: options.fill ?? 2.0, bootstrap: options.bootstrap ?? 200,
    seed: options.seed ?? 1, duplicates: options.duplicates ?? 'keep', threads: options.threads ?? defaultThreads(), threadsExplicit: options.threads !== undefined, device: options.device ?? 'cpu',
  } as const;
  if (modelsOf(t).length === 0) throw new SmftError('the predictions have no model ratings');
  const { table: kept, excluded } = dropEmptyModels(t);
  t = kept;
  const models = modelsOf(t);
  if (t.words.length < 3) throw new SmftError(`only ${t.words.length} word(s): correlations need at least 3`);
  const timings: Record<string, number> = {};
  let t0 = performance.now();
  const { dimensions, steiger } = dimensionwise(t);
  timings.dimensions = (performance.now() - t0) / 1000;

  const results: EvaluationResults = {
    lang: t.lang, n_words: t.words.length, metric: opts.metric, fill: opts.fill, duplicates: opts.duplicates, models,
    rsa: {}, dimensions, steiger, wordwise: {}, wordwise_ttest: {}, wordwise_intermodel: {},
    ...(Object.keys(excluded).length ? { excluded_models: excluded } : {}),
  };
  const wantBoot = opts.bootstrap > 0 || !!options.indices;
  if (wantBoot) { results.bootstrap = {}; results.bootstrap_iterations = options.indices ? Object.values(options.indices)[0]?.length ?? 0 : opts.bootstrap; }
  const rows: Record<string, number[]> = {};
  const samples: Record<string, Record<string, Float64Array>> = {};
  const words: Record<string, WordwiseSubset> = {};
  const subsets = Object.entries(subsetsFor(t.lang)).filter(([subset, dims]) => {
    if (!dims.every((d) => t.dimensions.includes(d))) {
      log.info({ subset }, `${subset}: not every dimension of the subset is rated; no RSA for it`);
      return false;
    }
    if (completeRows(t, dims).length < 3) {
      log.warn({ subset }, `${subset}: fewer than 3 words rated on every dimension; no RSA for it`);
      return false;
    }
    return true;
  });
  // One pool of threads for all subsets: one subset's RDMs are prepared while another's
  // bootstrap runs. Worker threads pay off only for RDMs of some size.
  const cpu = opts.device === 'cpu';
  const pool = cpu ? new KernelPool(t.words.length < 200 && !opts.threadsExplicit ? 1 : opts.threads) : undefined;
  const iterations = results.bootstrap_iterations ?? 0;
  const progress = cpu && wantBoot ? new Progress('bootstrap (iterations × subsets)', iterations * subsets.length) : undefined;
  t0 = performance.now();
  let runs;
  try {
    runs = await Promise.all(subsets.map(async ([subset, dims]) => {
      const indices = options.indices?.[subset];
      if (options.indices && !indices) throw new SmftError(`bootstrap indices: no entry for subset '${subset}'`, undefined, BAD_INDICES);
      const r = await subsetRsa(t, subset, dims, { ...opts, indices, pool, progress });
      timings[`rsa_${subset}`] = (performance.now() - t0) / 1000;
      return r;
    }));
  } finally {
    await pool?.close();
  }
  t0 = performance.now();
  subsets.forEach(([subset, dims], s) => {
    const r = runs[s];
    rows[subset] = r.rows;
    const dropped = t.words.length - r.rows.length;
    if (dropped > 0) log.info({ subset, dropped }, `${subset}: ${dropped} word(s) with a missing rating left out of RSA and word-wise analysis`);
    results.rsa[subset] = r.rsa;
    if (r.bootstrap && results.bootstrap) { results.bootstrap[subset] = r.bootstrap; samples[subset] = r.samples!; }
    const w = wordwise(t, r.rows, dims);
    words[subset] = w;
    results.wordwise[subset] = w.summary;
    results.wordwise_ttest[subset] = w.ttest;
    results.wordwise_intermodel[subset] = w.intermodel;
  });
  timings.wordwise = (performance.now() - t0) / 1000;
  results.timings = timings;
  return { results, table: t, rows, samples, wordwise: words };
}
