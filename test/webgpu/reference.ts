/**
 * A deliberately plain f64 reference for the GPU kernel tests: SciPy's pdist (cosine,
 * euclidean, correlation; NaN → fill), average ranks, Spearman, and the bootstrap done the
 * slow, obvious way (resample the rows, recompute the RDMs, rank, correlate).
 */
export type Metric = 'cosine' | 'euclidean' | 'correlation';

export function pdist(X: ArrayLike<number>, n: number, d: number, metric: Metric, fill: number): number[] {
  const row = (i: number): number[] => Array.from({ length: d }, (_, k) => X[i * d + k]);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let u = row(i);
      let v = row(j);
      let dist: number;
      if (metric === 'euclidean') {
        dist = Math.sqrt(u.reduce((s, x, k) => s + (x - v[k]) ** 2, 0));
      } else {
        if (metric === 'correlation') {
          const mu = u.reduce((a, b) => a + b, 0) / d;
          const mv = v.reduce((a, b) => a + b, 0) / d;
          u = u.map((x) => x - mu);
          v = v.map((x) => x - mv);
        }
        const uv = u.reduce((s, x, k) => s + x * v[k], 0);
        const uu = u.reduce((s, x) => s + x * x, 0);
        const vv = v.reduce((s, x) => s + x * x, 0);
        dist = 1 - uv / Math.sqrt(uu * vv);
      }
      out.push(Number.isNaN(dist) ? fill : dist);
    }
  }
  return out;
}

export function averageRanks(x: number[]): number[] {
  const idx = x.map((_, i) => i).sort((a, b) => x[a] - x[b]);
  const r = new Array<number>(x.length);
  for (let s = 0; s < idx.length; ) {
    let e = s;
    while (e + 1 < idx.length && x[idx[e + 1]] === x[idx[s]]) e++;
    for (let k = s; k <= e; k++) r[idx[k]] = (s + e) / 2 + 1;
    s = e + 1;
  }
  return r;
}

export function pearson(a: number[], b: number[]): number {
  const n = a.length;
  const ma = a.reduce((s, x) => s + x, 0) / n;
  const mb = b.reduce((s, x) => s + x, 0) / n;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

export function spearman(a: number[], b: number[]): number {
  return pearson(averageRanks(a), averageRanks(b));
}

/**
 * The resampled condensed RDM, computed from the resampled rows (what the paper's code does):
 * copies of one word are at distance 0, or fill for a degenerate vector; under 'exclude' such
 * pairs are NaN (to be dropped).
 */
export function resampledRdm(
  X: ArrayLike<number>, n: number, d: number, idx: ArrayLike<number>, metric: Metric, fill: number, exclude: boolean,
): number[] {
  const N = idx.length;
  const Y: number[] = [];
  for (let a = 0; a < N; a++) for (let k = 0; k < d; k++) Y.push(X[idx[a] * d + k]);
  const D = pdist(Y, N, d, metric, fill);
  // A word's copy: distance exactly 0 (pdist may give ±1 ulp), or fill for a degenerate row.
  let o = 0;
  for (let a = 0; a < N; a++) {
    for (let c = a + 1; c < N; c++, o++) {
      if (idx[a] !== idx[c]) continue;
      D[o] = exclude ? NaN : degenerate(X, idx[a], d, metric) ? fill : 0;
    }
  }
  return D;
}

/** Whether the metric is undefined (NaN) for row i: all-zero for cosine, constant for correlation. */
export function degenerate(X: ArrayLike<number>, i: number, d: number, metric: Metric): boolean {
  if (metric === 'euclidean') return false;
  const v = Array.from({ length: d }, (_, k) => X[i * d + k]);
  const mu = metric === 'correlation' ? v.reduce((a, b) => a + b, 0) / d : 0;
  return v.every((x) => x - mu === 0);
}
