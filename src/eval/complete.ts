import type { Dimension } from '../data/dimensions.js';
import type { RatingTable } from './table.js';

/** Indices of words with no missing value on `dims` in every source (listwise deletion). */
export function completeRows(t: RatingTable, dims: readonly Dimension[]): number[] {
  const d = t.dimensions.length;
  const cols = dims.map((dim) => {
    const j = t.dimensions.indexOf(dim);
    if (j < 0) throw new Error(`dimension ${dim} is not in the table`);
    return j;
  });
  const rows: number[] = [];
  for (let i = 0; i < t.words.length; i++) {
    let ok = true;
    for (const s of t.sources) {
      const v = t.values.get(s)!;
      for (const j of cols) if (Number.isNaN(v[i * d + j])) { ok = false; break; }
      if (!ok) break;
    }
    if (ok) rows.push(i);
  }
  return rows;
}

/** Row-major matrix of `source` restricted to `rows` × `dims`. */
export function submatrix(t: RatingTable, source: string, rows: readonly number[], dims: readonly Dimension[]): Float64Array {
  const d = t.dimensions.length;
  const v = t.values.get(source)!;
  const cols = dims.map((dim) => t.dimensions.indexOf(dim));
  const out = new Float64Array(rows.length * cols.length);
  rows.forEach((i, r) => cols.forEach((j, k) => { out[r * cols.length + k] = v[i * d + j]; }));
  return out;
}
