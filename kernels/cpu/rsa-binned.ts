import { centreRows, pairCount, type Metric } from './rdm.js';
import { Rng } from '../../src/util/rng.js';
import { Arena, instantiate } from './wasm.js';

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
 *
 * The pass itself runs in WebAssembly SIMD (kernels/wasm/assembly/binned.ts), four rows
 * against two columns per step, with distances summed in dimension order exactly like
 * pairDistance below (the tests compare the joint tables count for count).
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

interface BinnedWasm {
  countTile(src: number, S: number, i0: number, rows: number, j0: number, j1: number, n: number, d: number, stride: number, euclid: number, fill: number, G: number, B: number, hb: number, J: number, ix: number): void;
}

/** Columns j per tile: the tile's human bins (4 × J) stay in L1 while the models count. */
const TILE_COLS = 2048;

/**
 * Per-thread state of the binned pass (kernels/wasm/assembly/binned.ts): the sources' vectors
 * (transposed, dimension-major), their bin edges and grids, and one B × B joint table per
 * model, accumulated over the row blocks this thread is given.
 */
export class BinnedKernel {
  private readonly arena: Arena;
  private readonly wasm: BinnedWasm;
  private readonly B: number;
  private readonly stride: number;
  private readonly desc: number;
  private readonly hb: number;
  private readonly ix: number;
  private readonly tables: number[];

  constructor(readonly sources: BinnedSource[], readonly n: number, readonly d: number, readonly metric: Metric, readonly fill: number) {
    const B = sources[0].edges.length + 1, S = sources.length;
    // Room past n for the four rows and two lanes of the last step.
    const stride = n + 6;
    this.B = B;
    this.stride = stride;
    this.arena = new Arena(S * (d * stride * 8 + stride + B * 8 + (GRID + 1) * 2 + 512) + (S - 1) * (B * B + 1) * 4 + 8 * (TILE_COLS + 2) * 4 + (1 << 16));
    this.wasm = instantiate<BinnedWasm>('binned', this.arena);
    const a = this.arena;
    this.desc = a.alloc(S * 48);
    this.hb = a.alloc(4 * TILE_COLS * 4);
    this.ix = a.alloc(4 * (TILE_COLS + 2) * 4);
    this.tables = [];
    sources.forEach((s, q) => {
      const X = a.alloc(d * stride * 8);
      const cols = a.f64(X, d * stride);
      for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) cols[k * stride + i] = s.rows[i * d + k];
      const deg = a.alloc(stride);
      new Uint8Array(a.memory.buffer, deg, n).set(s.degenerate);
      // The edges with a +∞ sentinel: the bin search needs no bounds check.
      const edges = a.alloc(s.edges.byteLength + 8);
      a.f64(edges, s.edges.length + 1).set([...s.edges, Infinity]);
      const grid = a.alloc(s.grid.byteLength);
      new Uint16Array(a.memory.buffer, grid, s.grid.length).set(s.grid);
      const table = q === 0 ? 0 : a.alloc((B * B + 1) * 4);
      if (q > 0) this.tables.push(table);
      const view = new DataView(a.memory.buffer, this.desc + q * 48, 48);
      // Offsets as in kernels/wasm/assembly/binned.ts (X_, DEG, EDGES, GRID_, TABLE, LO, SCALE).
      [[0, X], [4, deg], [8, edges], [16, grid], [20, table]].forEach(([at, v]) => view.setUint32(at, v, true));
      view.setFloat64(24, s.lo, true);
      view.setFloat64(32, s.scale, true);
    });
  }

  /** Rows [rowStart, rowEnd) against all later rows, counted into the joint tables. */
  countRows(rowStart: number, rowEnd: number): void {
    const { n, d, B, stride, wasm } = this;
    const euclid = this.metric === 'euclidean' ? 1 : 0;
    for (let i0 = rowStart; i0 < rowEnd; i0 += 4) {
      const rows = Math.min(4, rowEnd - i0);
      for (let j0 = i0 + 1; j0 < n; j0 += TILE_COLS) {
        wasm.countTile(this.desc, this.sources.length, i0, rows, j0, Math.min(n, j0 + TILE_COLS), n, d, stride, euclid, this.fill, GRID, B, this.hb, TILE_COLS, this.ix);
      }
    }
  }

  /** The joint table of model q (a view into the kernel's memory). */
  table(q: number): Uint32Array {
    return new Uint32Array(this.arena.memory.buffer, this.tables[q], this.B * this.B);
  }
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
