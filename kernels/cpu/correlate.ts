import { averageRanks } from './ranks.js';

/**
 * Pearson correlation of two equally long vectors, with centred sums accumulated in blocks
 * (pairwise-style) so that million-element RDM vectors keep full float64 accuracy.
 */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  if (n !== y.length) throw new Error('pearson: length mismatch');
  if (n < 2) return NaN;
  const mx = blockedSum(x) / n;
  const my = blockedSum(y) / n;
  return centredPearson(x, y, mx, my);
}

/** Pearson with known means (e.g. ranks, whose mean is (n+1)/2). */
export function centredPearson(x: ArrayLike<number>, y: ArrayLike<number>, mx: number, my: number): number {
  const n = x.length;
  const B = 4096;
  let sxy = 0, sxx = 0, syy = 0;
  for (let s = 0; s < n; s += B) {
    const e = Math.min(n, s + B);
    let bxy = 0, bxx = 0, byy = 0;
    for (let i = s; i < e; i++) {
      const a = x[i] - mx;
      const b = y[i] - my;
      bxy += a * b; bxx += a * a; byy += b * b;
    }
    sxy += bxy; sxx += bxx; syy += byy;
  }
  if (sxx === 0 || syy === 0) return NaN;
  const r = sxy / Math.sqrt(sxx * syy);
  return Math.max(-1, Math.min(1, r));
}

function blockedSum(x: ArrayLike<number>): number {
  const B = 4096;
  let total = 0;
  for (let s = 0; s < x.length; s += B) {
    const e = Math.min(x.length, s + B);
    let b = 0;
    for (let i = s; i < e; i++) b += x[i];
    total += b;
  }
  return total;
}

/** Spearman ρ: Pearson correlation of average ranks (ties share the mean rank). */
export function spearman(x: Float64Array, y: Float64Array, rx?: Float64Array, ry?: Float64Array): number {
  const n = x.length;
  const a = rx ?? averageRanks(x);
  const b = ry ?? averageRanks(y);
  const m = (n + 1) / 2;
  return centredPearson(a, b, m, m);
}
