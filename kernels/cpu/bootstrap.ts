import { type SortedVector, sortVector } from './ranks.js';
import { pairCount, rowOffset } from './rdm.js';

/**
 * Linear-time bootstrap of RSA over words.
 *
 * A bootstrap resample of n words with replacement is described by counts c[i] (how often word
 * i was drawn). Its RDM needs no recomputation: the pair (i, j) of distinct words occurs
 * c[i]·c[j] times with the original distance, and each word drawn c[i] ≥ 2 times contributes
 * C(c[i], 2) pairs of copies at the word's self-distance (0, or the fill value for a degenerate
 * vector; dropped entirely under the 'exclude' convention). Average ranks of that weighted
 * vector follow from one global sort done beforehand: walk the sorted order once, accumulating
 * weights, with ties sharing their group's mean rank. Spearman ρ of the resample is then a
 * weighted Pearson correlation of those ranks over the original pairs. This equals recomputing
 * the RDMs on the resampled rows and calling spearmanr, at O(pairs) per RDM and resample.
 */
export type DuplicateConvention = 'keep' | 'exclude';

type Index = Uint16Array | Uint32Array;

/** One RDM prepared for resampling (all arrays can live in SharedArrayBuffers). */
export interface PreparedRdm {
  n: number;
  /** Word indices (i, j) of each pair, in sorted order of distance. */
  sortedI: Index;
  sortedJ: Index;
  /** Sorted position of each pair (inverse of the sort order). */
  position: Uint32Array;
  /** Tie groups of two or more equal distances: [start, end) in sorted positions. */
  tieStart: Uint32Array;
  tieEnd: Uint32Array;
  /** Distance of a word to its own copy: 0, or the fill value for degenerate vectors. */
  selfDistance: Float64Array;
  /** For each distinct self-distance value: where it falls in the sorted order. */
  selfValues: Float64Array;
  /** First sorted position whose distance is ≥ the value. */
  selfInsert: Uint32Array;
  /** End of the tie run equal to the value at selfInsert (== selfInsert when none is equal). */
  selfEqualEnd: Uint32Array;
}

/**
 * Prepare an RDM for resampling. `presorted` reuses a sort already done for the point estimate;
 * `shared` puts the arrays in SharedArrayBuffers so worker threads read them without copies.
 */
export function prepareRdm(
  rdm: Float64Array, n: number, selfDistance: Float64Array, presorted?: SortedVector, shared = false,
): PreparedRdm {
  const P = pairCount(n);
  if (rdm.length !== P) throw new Error('prepareRdm: RDM length does not match n');
  const { order, sorted, groupStart } = presorted ?? sortVector(rdm);
  const wide = n > 65536;
  const alloc = <T>(Ctor: new (b: ArrayBufferLike) => T, bytes: number, len: number): T =>
    new Ctor(shared ? new SharedArrayBuffer(bytes * len) : new ArrayBuffer(bytes * len));
  const index = (): Index => (wide ? alloc(Uint32Array, 4, P) : alloc(Uint16Array, 2, P));
  const sortedI = index();
  const sortedJ = index();
  const position = alloc(Uint32Array, 4, P);
  const rowOf = wide ? new Uint32Array(P) : new Uint16Array(P);
  const colOf = wide ? new Uint32Array(P) : new Uint16Array(P);
  let o = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) { rowOf[o] = i; colOf[o] = j; o++; }
  for (let k = 0; k < P; k++) {
    const p = order[k];
    sortedI[k] = rowOf[p]; sortedJ[k] = colOf[p]; position[p] = k;
  }
  const starts: number[] = [];
  const ends: number[] = [];
  for (let g = 0; g + 1 < groupStart.length; g++) {
    if (groupStart[g + 1] - groupStart[g] > 1) { starts.push(groupStart[g]); ends.push(groupStart[g + 1]); }
  }
  const values = [...new Set(selfDistance)].sort((a, b) => a - b);
  const selfInsert = new Uint32Array(values.length);
  const selfEqualEnd = new Uint32Array(values.length);
  values.forEach((v, s) => {
    let lo = 0, hi = P;
    while (lo < hi) { const mid = (lo + hi) >>> 1; if (sorted[mid] < v) lo = mid + 1; else hi = mid; }
    let end = lo;
    while (end < P && sorted[end] === v) end++;
    selfInsert[s] = lo; selfEqualEnd[s] = end;
  });
  return {
    n, sortedI, sortedJ, position,
    tieStart: Uint32Array.from(starts), tieEnd: Uint32Array.from(ends),
    selfDistance, selfValues: Float64Array.from(values), selfInsert, selfEqualEnd,
  };
}

/** Counts per word from an index vector of a resample. */
export function countsOf(indices: ArrayLike<number>, n: number): Uint32Array {
  const c = new Uint32Array(n);
  for (let k = 0; k < indices.length; k++) c[indices[k]]++;
  return c;
}

/**
 * Weighted average ranks of one RDM under counts c, in sorted order (into `out`), and the rank
 * of each self-distance value's copy pairs (into `selfRank`, indexed like p.selfValues).
 */
export function weightedRanks(
  p: PreparedRdm, c: Float64Array, selfWeight: Float64Array, out: Float32Array | Float64Array, selfRank: Float64Array,
): void {
  const I = p.sortedI;
  const J = p.sortedJ;
  const P = I.length;
  // Events in sorted order: tie groups, and self-distance insertion points (which merge with
  // the run of equal distances starting there, if any).
  let cum = 0;
  let k = 0;
  let t = 0;
  let s = 0;
  const T = p.tieStart.length;
  const S = p.selfValues.length;
  while (k < P || s < S) {
    // Next event position.
    const nextTie = t < T ? p.tieStart[t] : P;
    const nextSelf = s < S ? p.selfInsert[s] : P + 1;
    const stop = Math.min(nextTie, nextSelf, P);
    // Singletons up to the next event.
    for (; k < stop; k++) {
      const w = c[I[k]] * c[J[k]];
      out[k] = cum + (w + 1) / 2;
      cum += w;
    }
    if (k >= P && s >= S) break;
    if (s < S && nextSelf <= nextTie) {
      // Copies at this self-distance, merged with equal original distances starting here.
      const end = p.selfEqualEnd[s];
      let W = selfWeight[s];
      for (let q = k; q < end; q++) W += c[I[q]] * c[J[q]];
      const r = cum + (W + 1) / 2;
      for (let q = k; q < end; q++) out[q] = r;
      selfRank[s] = r;
      cum += W;
      if (end > k) { k = end; while (t < T && p.tieStart[t] < k) t++; }
      s++;
      continue;
    }
    if (t < T) {
      const end = p.tieEnd[t];
      let W = 0;
      for (let q = k; q < end; q++) W += c[I[q]] * c[J[q]];
      const r = cum + (W + 1) / 2;
      for (let q = k; q < end; q++) out[q] = r;
      cum += W;
      k = end;
      t++;
    }
  }
}

/**
 * Per-thread bootstrap state for one human RDM and several model RDMs of the same n words:
 * scratch rank arrays, reused across resamples.
 */
export class BootstrapKernel {
  private readonly rankH: Float32Array | Float64Array;
  private readonly rankM: Float32Array | Float64Array;
  private readonly dh: Float64Array;
  readonly n: number;

  constructor(readonly human: PreparedRdm, readonly models: PreparedRdm[]) {
    const n = human.n;
    this.n = n;
    const P = pairCount(n);
    // Ranks are half-integers ≤ P; float32 holds them exactly while 2·P < 2^24.
    const Arr = 2 * P < 2 ** 24 ? Float32Array : Float64Array;
    this.rankH = new Arr(P);
    this.rankM = new Arr(P);
    this.dh = new Float64Array(P);
  }

  /** Spearman ρ between the human RDM and each model RDM on the resample with counts c. */
  rho(counts: Uint32Array, convention: DuplicateConvention): Float64Array {
    const n = this.n;
    const c = Float64Array.from(counts);
    let total = 0;
    for (let i = 0; i < n; i++) total += c[i];
    let N = (total * (total - 1)) / 2;
    if (convention === 'exclude') for (let i = 0; i < n; i++) N -= (c[i] * (c[i] - 1)) / 2;
    const m = (N + 1) / 2;

    const selfH = selfWeights(this.human, c, convention);
    const selfRankH = new Float64Array(this.human.selfValues.length);
    weightedRanks(this.human, c, selfH, this.rankH, selfRankH);
    // Centred human ranks of the pairs with non-zero weight, in natural order (compact).
    const dh = this.dh;
    const posH = this.human.position;
    let cnt = 0;
    let sxx = 0;
    for (let i = 0; i < n - 1; i++) {
      const ci = c[i];
      if (ci === 0) continue;
      const o = rowOffset(i, n) - i - 1;
      for (let j = i + 1; j < n; j++) {
        const cj = c[j];
        if (cj === 0) continue;
        const a = this.rankH[posH[o + j]] - m;
        dh[cnt++] = a;
        sxx += ci * cj * a * a;
      }
    }
    const out = new Float64Array(this.models.length);
    for (let q = 0; q < this.models.length; q++) {
      const model = this.models[q];
      const selfM = selfWeights(model, c, convention);
      const selfRankM = new Float64Array(model.selfValues.length);
      weightedRanks(model, c, selfM, this.rankM, selfRankM);
      const posM = model.position;
      const rM = this.rankM;
      let sxy = 0, syy = 0;
      let t = 0;
      for (let i = 0; i < n - 1; i++) {
        const ci = c[i];
        if (ci === 0) continue;
        const o = rowOffset(i, n) - i - 1;
        let bxy = 0, byy = 0;
        for (let j = i + 1; j < n; j++) {
          const cj = c[j];
          if (cj === 0) continue;
          const w = ci * cj;
          const b = rM[posM[o + j]] - m;
          const a = dh[t++];
          bxy += w * a * b; byy += w * b * b;
        }
        sxy += bxy; syy += byy;
      }
      let sxxAll = sxx;
      if (convention === 'keep') {
        for (let i = 0; i < n; i++) {
          if (c[i] < 2) continue;
          const w = (c[i] * (c[i] - 1)) / 2;
          const a = selfRankH[this.human.selfValues.indexOf(this.human.selfDistance[i])] - m;
          const b = selfRankM[model.selfValues.indexOf(model.selfDistance[i])] - m;
          sxy += w * a * b; sxxAll += w * a * a; syy += w * b * b;
        }
      }
      out[q] = sxxAll === 0 || syy === 0 ? NaN : Math.max(-1, Math.min(1, sxy / Math.sqrt(sxxAll * syy)));
    }
    return out;
  }
}

/** Number of copy pairs at each self-distance value of p (0 under 'exclude'). */
function selfWeights(p: PreparedRdm, c: Float64Array, convention: DuplicateConvention): Float64Array {
  const w = new Float64Array(p.selfValues.length);
  if (convention === 'exclude') return w;
  for (let i = 0; i < c.length; i++) {
    if (c[i] < 2) continue;
    w[p.selfValues.indexOf(p.selfDistance[i])] += (c[i] * (c[i] - 1)) / 2;
  }
  return w;
}
