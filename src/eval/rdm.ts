import { condensedRdm, degenerateRows, type Metric } from '../../kernels/cpu/rdm.js';
import type { Dimension } from '../data/dimensions.js';
import { submatrix } from './complete.js';
import type { RatingTable } from './table.js';

export { condensedRdm, degenerateRows, type Metric };

/**
 * Z-score each column (mean 0, population SD 1), as scikit-learn's StandardScaler: a constant
 * column is only centred (to exactly 0). X is row-major n × d.
 */
export function zscoreColumns(X: Float64Array, n: number, d: number): Float64Array {
  const out = new Float64Array(n * d);
  for (let k = 0; k < d; k++) {
    let constant = true;
    for (let i = 1; i < n && constant; i++) if (X[i * d + k] !== X[k]) constant = false;
    // A constant column becomes exactly 0 (no ±1e-16 residues of the mean).
    if (constant) continue;
    // Scale the column by a power of two to a largest magnitude in [1, 2) before summing and
    // squaring: 1e308 in a cell, or every rating × 1e200, would otherwise overflow to Infinity
    // (or × 1e-200 underflow to 0). A power of two scales exactly, so ratings on a sane scale
    // give bit for bit the z-scores of the plain formula.
    let max = 0;
    for (let i = 0; i < n; i++) max = Math.max(max, Math.abs(X[i * d + k]));
    const c = max > 0 && Number.isFinite(max) ? 2 ** -Math.floor(Math.log2(max)) : 1;
    let s = 0;
    for (let i = 0; i < n; i++) s += X[i * d + k] * c;
    const mean = s / n;
    let ss = 0;
    for (let i = 0; i < n; i++) { const t = X[i * d + k] * c - mean; ss += t * t; }
    const sd = Math.sqrt(ss / n);
    for (let i = 0; i < n; i++) out[i * d + k] = (X[i * d + k] * c - mean) / sd;
  }
  return out;
}

/** One source's RDM on a subset: z-scored rows, condensed distances, self-distances. */
export function subsetRdm(t: RatingTable, source: string, rows: number[], dims: readonly Dimension[], metric: Metric, fill: number): {
  rdm: Float64Array; self: Float64Array;
} {
  const Z = zscoreColumns(submatrix(t, source, rows, dims), rows.length, dims.length);
  const deg = degenerateRows(Z, rows.length, dims.length, metric);
  return { rdm: condensedRdm(Z, rows.length, dims.length, metric, fill), self: Float64Array.from(deg, (g) => (g ? fill : 0)) };
}
