import { centreRows, pairCount, type Metric } from './rdm.js';

/**
 * RSA for word sets too large to hold their RDMs (39 707 words → 788 M pairs): distances are
 * computed on the fly, twice. Pass 1 counts each source's distances into B equal-width bins;
 * the counts give every bin the average rank of its members (all members of a bin are
 * treated as tied). Pass 2 recomputes the distances and accumulates Σ (rank_h − m)(rank_m − m).
 * Memory is O(n·d + B) whatever the number of pairs; the error against exact ranks is
 * bounded by the bin width (measured in scripts/bench: < 1e-6 in ρ at B = 2^18).
 */
export interface BinnedSource {
  /** Rows prepared for the metric: unit vectors (cosine, correlation) or raw rows (euclidean). */
  rows: Float64Array;
  /** Row is degenerate (distance = fill). */
  degenerate: Uint8Array;
  lo: number;
  hi: number;
}

export const DEFAULT_BINS = 1 << 18;

/** Normalise rows once so a distance is one dot product (or a squared difference). */
export function binnedSource(Z: Float64Array, n: number, d: number, metric: Metric, fill: number): BinnedSource {
  const rows = metric === 'correlation' ? centreRows(Z, n, d) : Float64Array.from(Z);
  const degenerate = new Uint8Array(n);
  let maxNorm = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += rows[i * d + k] * rows[i * d + k];
    const norm = Math.sqrt(s);
    maxNorm = Math.max(maxNorm, norm);
    if (metric !== 'euclidean') {
      if (s === 0) degenerate[i] = 1;
      else for (let k = 0; k < d; k++) rows[i * d + k] /= norm;
    }
  }
  const [lo, hi] = metric === 'euclidean' ? [0, 2 * maxNorm || 1] : [0, 2];
  return { rows, degenerate, lo: Math.min(lo, fill), hi: Math.max(hi, fill) };
}

/**
 * Distances from row i to rows i+1 … n−1 of a prepared source, into out[0 … n−i−2].
 * One tight loop per metric (no per-pair calls).
 */
function rowDistances(s: BinnedSource, i: number, n: number, d: number, metric: Metric, fill: number, out: Float64Array): void {
  const X = s.rows;
  const a = i * d;
  if (metric === 'euclidean') {
    for (let j = i + 1, o = 0; j < n; j++, o++) {
      let acc = 0;
      for (let k = 0, b = j * d; k < d; k++) { const t = X[a + k] - X[b + k]; acc += t * t; }
      out[o] = Math.sqrt(acc);
    }
    return;
  }
  const deg = s.degenerate;
  if (deg[i]) { out.fill(fill, 0, n - i - 1); return; }
  for (let j = i + 1, o = 0; j < n; j++, o++) {
    let dot = 0;
    for (let k = 0, b = j * d; k < d; k++) dot += X[a + k] * X[b + k];
    out[o] = deg[j] ? fill : 1 - dot;
  }
}

export interface BinnedJob {
  sources: BinnedSource[];
  n: number;
  d: number;
  metric: Metric;
  fill: number;
  bins: number;
  rowStart: number;
  rowEnd: number;
  /** Pass 2 only: centred average rank of each bin, per source. */
  ranks?: Float64Array[];
}

/** Pass 1 over rows [rowStart, rowEnd): histogram of each source's distances. */
export function histogramRows(job: BinnedJob): Float64Array[] {
  const { sources, n, d, bins } = job;
  const hist = sources.map(() => new Float64Array(bins));
  const buf = new Float64Array(n);
  for (let i = job.rowStart; i < job.rowEnd; i++) {
    const len = n - i - 1;
    for (let s = 0; s < sources.length; s++) {
      const src = sources[s], h = hist[s];
      rowDistances(src, i, n, d, job.metric, job.fill, buf);
      const scale = bins / (src.hi - src.lo), lo = src.lo, top = bins - 1;
      for (let o = 0; o < len; o++) {
        const b = Math.floor((buf[o] - lo) * scale);
        h[b < 0 ? 0 : b > top ? top : b]++;
      }
    }
  }
  return hist;
}

/** Pass 2 over rows [rowStart, rowEnd): Σ rank_human · rank_model for each model (source ≥ 1). */
export function crossRows(job: BinnedJob): Float64Array {
  const { sources, n, d, bins } = job;
  const ranks = job.ranks!;
  const out = new Float64Array(sources.length - 1);
  const rh = new Float64Array(n);
  const buf = new Float64Array(n);
  const top = bins - 1;
  for (let i = job.rowStart; i < job.rowEnd; i++) {
    const len = n - i - 1;
    const h = sources[0];
    rowDistances(h, i, n, d, job.metric, job.fill, buf);
    let scale = bins / (h.hi - h.lo), lo = h.lo;
    const r0 = ranks[0];
    for (let o = 0; o < len; o++) { const b = Math.floor((buf[o] - lo) * scale); rh[o] = r0[b < 0 ? 0 : b > top ? top : b]; }
    for (let s = 1; s < sources.length; s++) {
      const src = sources[s], r = ranks[s];
      rowDistances(src, i, n, d, job.metric, job.fill, buf);
      scale = bins / (src.hi - src.lo); lo = src.lo;
      let acc = 0;
      for (let o = 0; o < len; o++) { const b = Math.floor((buf[o] - lo) * scale); acc += rh[o] * r[b < 0 ? 0 : b > top ? top : b]; }
      out[s - 1] += acc;
    }
  }
  return out;
}

/** Centred average rank of every bin, and Σ count·rank² (the variance term). */
export function binRanks(hist: Float64Array, P: number): { ranks: Float64Array; sumSq: number } {
  const m = (P + 1) / 2;
  const ranks = new Float64Array(hist.length);
  let cum = 0, sumSq = 0;
  for (let b = 0; b < hist.length; b++) {
    const c = hist[b];
    ranks[b] = cum + (c + 1) / 2 - m;
    sumSq += c * ranks[b] * ranks[b];
    cum += c;
  }
  return { ranks, sumSq };
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
