/**
 * Representational dissimilarity matrices as condensed upper triangles in SciPy `pdist` order:
 * (0,1), (0,2), …, (0,n−1), (1,2), …. Rows are word vectors (row-major n × d, float64).
 *
 * Sums run sequentially over the d dimensions with separate multiply and add, so results are
 * bit-for-bit reproducible across platforms (and equal to the NumPy reference in scripts/).
 */
export type Metric = 'cosine' | 'euclidean' | 'correlation';
export const METRICS: readonly Metric[] = ['cosine', 'euclidean', 'correlation'];

/** Number of pairs of n items. */
export function pairCount(n: number): number {
  return (n * (n - 1)) / 2;
}

/** Offset in the condensed vector of the first pair (i, i+1). */
export function rowOffset(i: number, n: number): number {
  return i * n - (i * (i + 1)) / 2;
}

/**
 * Rows that make the metric undefined (NaN in SciPy, replaced by the fill value): an all-zero
 * vector for cosine, a constant vector for correlation; none for euclidean.
 */
export function degenerateRows(X: Float64Array, n: number, d: number, metric: Metric): Uint8Array {
  const out = new Uint8Array(n);
  if (metric === 'euclidean') return out;
  const rows = metric === 'correlation' ? centreRows(X, n, d) : X;
  for (let i = 0; i < n; i++) {
    let nu = 0;
    for (let k = 0; k < d; k++) nu = nu + rows[i * d + k] * rows[i * d + k];
    if (nu === 0) out[i] = 1;
  }
  return out;
}

/** Subtract each row's mean (sequential sum) — the correlation metric's first step. */
export function centreRows(X: Float64Array, n: number, d: number): Float64Array {
  const out = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < d; k++) s = s + X[i * d + k];
    const m = s / d;
    for (let k = 0; k < d; k++) out[i * d + k] = X[i * d + k] - m;
  }
  return out;
}

/**
 * Condensed RDM of rows [rowStart, rowEnd) against all later rows, written into `out` at the
 * condensed offsets (so workers can fill disjoint slices of one shared buffer).
 */
export function condensedRdmRows(
  X: Float64Array, n: number, d: number, metric: Metric, fill: number,
  out: Float64Array, rowStart = 0, rowEnd = n,
): void {
  if (metric === 'euclidean') {
    for (let i = rowStart; i < rowEnd; i++) {
      let o = rowOffset(i, n);
      const a = i * d;
      for (let j = i + 1; j < n; j++) {
        const b = j * d;
        let s = 0;
        for (let k = 0; k < d; k++) {
          const t = X[a + k] - X[b + k];
          s = s + t * t;
        }
        out[o++] = Math.sqrt(s);
      }
    }
    return;
  }
  const Y = metric === 'correlation' ? centreRows(X, n, d) : X;
  const norms = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < d; k++) s = s + Y[i * d + k] * Y[i * d + k];
    norms[i] = s;
  }
  for (let i = rowStart; i < rowEnd; i++) {
    let o = rowOffset(i, n);
    const a = i * d;
    const nu = norms[i];
    for (let j = i + 1; j < n; j++) {
      const b = j * d;
      let dot = 0;
      for (let k = 0; k < d; k++) dot = dot + Y[a + k] * Y[b + k];
      const nv = norms[j];
      out[o++] = nu === 0 || nv === 0 ? fill : 1 - dot / Math.sqrt(nu * nv);
    }
  }
}

/** Condensed RDM of all rows. */
export function condensedRdm(X: Float64Array, n: number, d: number, metric: Metric, fill: number): Float64Array {
  const out = new Float64Array(pairCount(n));
  condensedRdmRows(X, n, d, metric, fill, out);
  return out;
}
