import { spearman } from '../../kernels/cpu/correlate.js';
import type { Dimension } from '../data/dimensions.js';
import { submatrix } from './complete.js';
import { tTwoSided } from './distributions.js';
import { modelPairs } from './pairs.js';
import type { TTestEntry, WordwiseEntry } from './results.js';
import { HUMAN, modelsOf, type RatingTable } from './table.js';

export interface WordwiseSubset {
  /** Per model: distance and similarity of each row (same order as `rows`). */
  distance: Record<string, Float64Array>;
  similarity: Record<string, Float64Array>;
  summary: Record<string, WordwiseEntry>;
  ttest: Record<string, TTestEntry>;
  intermodel: Record<string, number>;
}

/**
 * Word-wise agreement on a subset: Euclidean distance d between each word's raw model and human
 * rating vectors, similarity 1/(1+d); paired t-tests and Spearman correlations between models.
 */
export function wordwise(t: RatingTable, rows: number[], dims: readonly Dimension[]): WordwiseSubset {
  const n = rows.length;
  const d = dims.length;
  const H = submatrix(t, HUMAN, rows, dims);
  const models = modelsOf(t);
  const distance: Record<string, Float64Array> = {};
  const similarity: Record<string, Float64Array> = {};
  const summary: Record<string, WordwiseEntry> = {};
  for (const m of models) {
    const X = submatrix(t, m, rows, dims);
    const dist = new Float64Array(n);
    const sim = new Float64Array(n);
    let sd = 0, ss = 0;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = 0; k < d; k++) { const e = X[i * d + k] - H[i * d + k]; s = s + e * e; }
      // Ratings far off the scale (1e200) would overflow the squares: then scale first.
      dist[i] = Number.isFinite(s) ? Math.sqrt(s) : scaledNorm(X, H, i * d, d);
      sim[i] = 1 / (1 + dist[i]);
      sd += dist[i]; ss += sim[i];
    }
    distance[m] = dist; similarity[m] = sim;
    summary[m] = { mean_distance: sd / n, mean_similarity: ss / n, n_words: n };
  }
  const ttest: Record<string, TTestEntry> = {};
  const intermodel: Record<string, number> = {};
  for (const { a, b, key } of modelPairs(models)) {
    ttest[key] = pairedT(similarity[a], similarity[b]);
    intermodel[key] = spearman(similarity[a], similarity[b]);
  }
  return { distance, similarity, summary, ttest, intermodel };
}

/** ‖x − h‖ over d entries from `off`, computed on values scaled by their largest difference. */
function scaledNorm(X: Float64Array, H: Float64Array, off: number, d: number): number {
  let m = 0;
  for (let k = 0; k < d; k++) m = Math.max(m, Math.abs(X[off + k] - H[off + k]));
  if (!Number.isFinite(m)) return m;
  let s = 0;
  for (let k = 0; k < d; k++) { const e = (X[off + k] - H[off + k]) / m; s += e * e; }
  return m * Math.sqrt(s);
}

/** Paired t-test (as scipy.stats.ttest_rel): t on n−1 degrees of freedom. */
export function pairedT(x: Float64Array, y: Float64Array): TTestEntry {
  const n = x.length;
  let m = 0;
  for (let i = 0; i < n; i++) m += x[i] - y[i];
  m /= n;
  let v = 0;
  for (let i = 0; i < n; i++) { const e = x[i] - y[i] - m; v += e * e; }
  v /= n - 1;
  const t = m / Math.sqrt(v / n);
  return { t, p: tTwoSided(t, n - 1), df: n - 1 };
}
