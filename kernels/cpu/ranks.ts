import { argsortFloat64 } from './argsort.js';

/**
 * Sorted view of one vector, prepared once and reused: the order, the sorted values, and the
 * start of each run of equal values (tie group). Bootstrap resamples derive their ranks from it
 * in linear time.
 */
export interface SortedVector {
  order: Uint32Array;
  sorted: Float64Array;
  /** groupStart[g] = first sorted position of tie group g; groupStart[G] = length. */
  groupStart: Uint32Array;
}

export function sortVector(values: Float64Array): SortedVector {
  const order = argsortFloat64(values);
  const n = values.length;
  const sorted = new Float64Array(n);
  for (let k = 0; k < n; k++) sorted[k] = values[order[k]];
  let groups = n > 0 ? 1 : 0;
  for (let k = 1; k < n; k++) if (sorted[k] !== sorted[k - 1]) groups++;
  const groupStart = new Uint32Array(groups + 1);
  let g = 0;
  for (let k = 0; k < n; k++) if (k === 0 || sorted[k] !== sorted[k - 1]) groupStart[g++] = k;
  groupStart[groups] = n;
  return { order, sorted, groupStart };
}

/** Average (fractional) ranks, 1-based, ties get the mean of their positions — as SciPy's rankdata. */
export function averageRanks(values: Float64Array, prepared?: SortedVector): Float64Array {
  const { order, groupStart } = prepared ?? sortVector(values);
  const ranks = new Float64Array(values.length);
  for (let g = 0; g + 1 < groupStart.length; g++) {
    const a = groupStart[g];
    const b = groupStart[g + 1];
    const r = (a + b + 1) / 2;
    for (let k = a; k < b; k++) ranks[order[k]] = r;
  }
  return ranks;
}
