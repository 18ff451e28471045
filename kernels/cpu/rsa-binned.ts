import { centreRows, pairCount, type Metric } from './rdm.js';
import { Rng } from '../../src/util/rng.js';

/**
 * RSA for word sets too large to hold their RDMs (39 707 words → 788 M pairs), in one pass
 * over the pairs with memory independent of their number.
 *
 * Each source's distances are cut into B equal-frequency bins (quantile edges from a seeded
 * sample of pairs). One pass computes every pair's human and model bins and counts them in a
 * joint B × B table per model. Spearman ρ then follows exactly for the binned variables: the
 * marginals give each bin the average rank of its members (members of a bin count as tied),
 * and Σ count·rank_h·rank_m gives the covariance. Binning into B equal-frequency levels moves
 * ρ by about ρ/B² (B = 512: < 1e-5, measured in scripts/bench against exact RSA).
 */
export interface BinnedSource {
  /** Rows prepared for the metric: unit vectors (cosine, correlation) or raw rows (euclidean). */
  rows: Float64Array;
  /** Row is degenerate (distance = fill). */
  degenerate: Uint8Array;
  /** Upper edges of bins 0 … B−2 (bin B−1 is open); ascending. */
  edges: Float64Array;
  /** Uniform grid over [lo, hi] → first candidate bin, to avoid a binary search per pair. */
  lo: number;
  scale: number;
  grid: Uint16Array;
}

export const DEFAULT_BINS = 512;
const GRID = 1 << 14;

/** Normalise rows once so a distance is one dot product (or a squared difference). */
function prepareRows(Z: Float64Array, n: number, d: number, metric: Metric): { rows: Float64Array; degenerate: Uint8Array } {
  const rows = metric === 'correlation' ? centreRows(Z, n, d) : Float64Array.from(Z);
  const degenerate = new Uint8Array(n);
  if (metric === 'euclidean') return { rows, degenerate };
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += rows[i * d + k] * rows[i * d + k];
    if (s === 0) degenerate[i] = 1;
    else { const norm = Math.sqrt(s); for (let k = 0; k < d; k++) rows[i * d + k] /= norm; }
  }
  return { rows, degenerate };
}

function pairDistance(rows: Float64Array, degenerate: Uint8Array, i: number, j: number, d: number, metric: Metric, fill: number): number {
  let acc = 0;
  if (metric === 'euclidean') {
    for (let k = 0; k < d; k++) { const t = rows[i * d + k] - rows[j * d + k]; acc += t * t; }
    return Math.sqrt(acc);
  }
  if (degenerate[i] || degenerate[j]) return fill;
  for (let k = 0; k < d; k++) acc += rows[i * d + k] * rows[j * d + k];
  return 1 - acc;
}

/** Prepare one source: rows for the metric and quantile bin edges from `sample` random pairs. */
export function binnedSource(Z: Float64Array, n: number, d: number, metric: Metric, fill: number, bins = DEFAULT_BINS, sample = 1 << 20, seed = 1): BinnedSource {
  const { rows, degenerate } = prepareRows(Z, n, d, metric);
  const rng = new Rng(seed);
  const P = pairCount(n);
  const S = Math.min(sample, P);
  const values = new Float64Array(S);
  for (let s = 0; s < S; s++) {
    let i = rng.int(n), j = rng.int(n - 1);
    if (j >= i) j++;
    values[s] = pairDistance(rows, degenerate, Math.min(i, j), Math.max(i, j), d, metric, fill);
  }
  values.sort();
  const edges = new Float64Array(bins - 1);
  for (let b = 1; b < bins; b++) edges[b - 1] = values[Math.min(S - 1, Math.floor((b * S) / bins))];
  const lo = values[0], hi = values[S - 1];
  const scale = hi > lo ? GRID / (hi - lo) : 0;
  // grid[g] = number of edges ≤ the grid cell's lower bound: the smallest bin a value there can have.
  const grid = new Uint16Array(GRID + 1);
  let e = 0;
  for (let g = 0; g <= GRID; g++) {
    const v = lo + g / (scale || 1);
    while (e < edges.length && edges[e] <= v) e++;
    grid[g] = e;
  }
  return { rows, degenerate, edges, lo, scale, grid };
}

export interface BinnedJob {
  sources: BinnedSource[];
  n: number;
  d: number;
  metric: Metric;
  fill: number;
  rowStart: number;
  rowEnd: number;
}

/**
 * Rows [rowStart, rowEnd) against all later rows: joint counts of (human bin, model bin) for
 * each model, added into `joint` (one B × B table per model, human bin major).
 */
export function jointCountsRows(job: BinnedJob, joint: Uint32Array[]): void {
  const { sources, n, d, metric, fill } = job;
  const B = sources[0].edges.length + 1;
  const kernel = rowKernel(d, metric);
  const hb = new Int32Array(n);
  for (let i = job.rowStart; i < job.rowEnd; i++) {
    const h = sources[0];
    if (metric !== 'euclidean' && h.degenerate[i]) hb.fill(binOfValue(h, fill) * B);
    else kernel.human(h.rows, h.degenerate, i, n, fill, h.edges, h.grid, h.lo, h.scale, GRID, hb, B, null);
    for (let q = 1; q < sources.length; q++) {
      const s = sources[q];
      if (metric !== 'euclidean' && s.degenerate[i]) {
        const b = binOfValue(s, fill), t = joint[q - 1];
        for (let o = 0; o < n - i - 1; o++) t[hb[o] + b]++;
      } else {
        kernel.model(s.rows, s.degenerate, i, n, fill, s.edges, s.grid, s.lo, s.scale, GRID, hb, 1, joint[q - 1]);
      }
    }
  }
}

function binOfValue(s: BinnedSource, v: number): number {
  let b = 0;
  while (b < s.edges.length && s.edges[b] <= v) b++;
  return b;
}

type RowKernel = (
  X: Float64Array, deg: Uint8Array, i: number, n: number, fill: number, edges: Float64Array, grid: Uint16Array,
  lo: number, scale: number, G: number, hb: Int32Array, mul: number, table: Uint32Array | null,
) => void;

const kernels = new Map<string, { human: RowKernel; model: RowKernel }>();

/**
 * A row kernel specialised (generated once) for the dimension count and metric: distances of
 * row i to rows i+1 … n−1 with the dimensions unrolled, binned on the fly. With `table` null
 * it writes bin·mul into hb (the human pass); otherwise it counts table[hb[o] + bin]++.
 */
function rowKernel(d: number, metric: Metric): { human: RowKernel; model: RowKernel } {
  const key = `${metric}/${d}`;
  let k = kernels.get(key);
  if (k) return k;
  const load = Array.from({ length: d }, (_, t) => `const x${t} = X[a + ${t}];`).join(' ');
  const dist = metric === 'euclidean'
    ? `let acc = 0, t = 0; ${Array.from({ length: d }, (_, t) => `t = x${t} - X[b + ${t}]; acc += t * t;`).join(' ')} const v = Math.sqrt(acc);`
    : `const v = deg[j] ? fill : 1 - (${Array.from({ length: d }, (_, t) => `x${t} * X[b + ${t}]`).join(' + ')});`;
  const body = (store: string) => `
    const a = i * ${d}; ${load}
    const E = edges.length;
    for (let j = i + 1, o = 0, b = (i + 1) * ${d}; j < n; j++, o++, b += ${d}) {
      ${dist}
      let g = Math.floor((v - lo) * scale);
      g = g < 0 ? 0 : g > G ? G : g;
      let bin = grid[g];
      while (bin < E && edges[bin] <= v) bin++;
      ${store}
    }`;
  const make = (store: string) => new Function('X', 'deg', 'i', 'n', 'fill', 'edges', 'grid', 'lo', 'scale', 'G', 'hb', 'mul', 'table', body(store)) as RowKernel;
  k = { human: make('hb[o] = bin * mul;'), model: make('table[hb[o] + bin]++;') };
  kernels.set(key, k);
  return k;
}

/** Spearman ρ of the binned variables from a joint count table (B × B, first variable major). */
export function rhoFromJoint(joint: Uint32Array | Float64Array, B: number): number {
  const rowSum = new Float64Array(B), colSum = new Float64Array(B);
  let N = 0;
  for (let a = 0; a < B; a++) for (let b = 0; b < B; b++) { const c = joint[a * B + b]; rowSum[a] += c; colSum[b] += c; N += c; }
  const m = (N + 1) / 2;
  const centred = (sum: Float64Array): Float64Array => {
    const r = new Float64Array(B);
    let cum = 0;
    for (let b = 0; b < B; b++) { r[b] = cum + (sum[b] + 1) / 2 - m; cum += sum[b]; }
    return r;
  };
  const rx = centred(rowSum), ry = centred(colSum);
  let sxy = 0, sxx = 0, syy = 0;
  for (let a = 0; a < B; a++) {
    sxx += rowSum[a] * rx[a] * rx[a];
    let row = 0;
    for (let b = 0; b < B; b++) row += joint[a * B + b] * ry[b];
    sxy += rx[a] * row;
  }
  for (let b = 0; b < B; b++) syy += colSum[b] * ry[b] * ry[b];
  return sxx === 0 || syy === 0 ? NaN : sxy / Math.sqrt(sxx * syy);
}

/** Row ranges with about equal numbers of pairs (row i has n − 1 − i pairs). */
export function rowChunks(n: number, chunks: number): Array<[number, number]> {
  const P = pairCount(n);
  const out: Array<[number, number]> = [];
  let start = 0, acc = 0;
  for (let i = 0; i < n; i++) {
    acc += n - 1 - i;
    if (acc >= (P * (out.length + 1)) / chunks || i === n - 1) { out.push([start, i + 1]); start = i + 1; }
  }
  return out.filter(([a, b]) => b > a);
}
