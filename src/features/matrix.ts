/**
 * A word × feature matrix: the common currency between feature sources (GloVe vectors, an LLM's
 * hidden states) and their consumers (head training, prediction, RSA on representations).
 */
import { SmftError } from '../util/errors.js';
import { wordKey } from '../data/columns.js';

export { wordKey };

export interface FeatureMatrix {
  /** Row labels, in row order (as given by the source; matching is the consumer's business). */
  words: string[];
  /** Columns per row. */
  dim: number;
  /** Row-major words.length × dim. */
  values: Float32Array;
  /** Where the features come from, e.g. 'glove-6b-100d' or 'qwen2.5-0.5b:layer12'. */
  source: string;
}

/** Throw unless the matrix is internally consistent (and, with `finite`, has no NaN/Inf). */
export function checkFeatureMatrix(m: FeatureMatrix, opts: { finite?: boolean } = {}): void {
  if (!Number.isInteger(m.dim) || m.dim <= 0) throw new SmftError(`feature matrix '${m.source}': bad dim ${m.dim}`);
  if (m.values.length !== m.words.length * m.dim) {
    throw new SmftError(`feature matrix '${m.source}': ${m.words.length} words × ${m.dim} needs ${m.words.length * m.dim} values, has ${m.values.length}`);
  }
  if (opts.finite) {
    for (let i = 0; i < m.values.length; i++) {
      if (!Number.isFinite(m.values[i])) {
        throw new SmftError(`feature matrix '${m.source}': non-finite value at word '${m.words[Math.floor(i / m.dim)]}'`);
      }
    }
  }
}

/** Row i as a view (no copy). */
export function row(m: FeatureMatrix, i: number): Float32Array {
  return m.values.subarray(i * m.dim, (i + 1) * m.dim);
}

/**
 * Rows for `words` in that order, matched case-insensitively. Words the matrix lacks are left
 * out of the result and listed in `missing`.
 */
export function selectRows(m: FeatureMatrix, words: readonly string[]): { matrix: FeatureMatrix; missing: string[] } {
  const index = new Map<string, number>();
  m.words.forEach((w, i) => { const k = wordKey(w); if (!index.has(k)) index.set(k, i); });
  const keep: string[] = [];
  const missing: string[] = [];
  const rows: number[] = [];
  for (const w of words) {
    const i = index.get(wordKey(w));
    if (i === undefined) missing.push(w); else { keep.push(w); rows.push(i); }
  }
  const values = new Float32Array(rows.length * m.dim);
  rows.forEach((r, j) => values.set(row(m, r), j * m.dim));
  return { matrix: { words: keep, dim: m.dim, values, source: m.source }, missing };
}

/** Per-column mean and standard deviation (population; NaN entries skipped; std floored at `eps`). */
export function columnStats(values: ArrayLike<number>, n: number, dim: number, eps = 1e-6): { mean: Float32Array; std: Float32Array } {
  const sum = new Float64Array(dim);
  const cnt = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) {
    const v = values[i * dim + j];
    if (!Number.isNaN(v)) { sum[j] += v; cnt[j]++; }
  }
  const mean = new Float64Array(dim);
  for (let j = 0; j < dim; j++) mean[j] = cnt[j] > 0 ? sum[j] / cnt[j] : 0;
  const sq = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) {
    const v = values[i * dim + j];
    if (!Number.isNaN(v)) { const d = v - mean[j]; sq[j] += d * d; }
  }
  const std = new Float32Array(dim);
  for (let j = 0; j < dim; j++) std[j] = Math.max(eps, cnt[j] > 0 ? Math.sqrt(sq[j] / cnt[j]) : 1);
  return { mean: Float32Array.from(mean), std };
}
