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

/** Resamples processed together: counts and ranks are interleaved in groups of this many. */
export const BATCH = 4;

/** Per-batch scratch for one RDM's self-distance groups: weights and ranks, [value][b]. */
interface SelfGroups { weight: Float64Array; rank: Float64Array }

function selfGroups(p: PreparedRdm, C: Float64Array, convention: DuplicateConvention): SelfGroups {
  const S = p.selfValues.length;
  const weight = new Float64Array(S * BATCH);
  if (convention === 'keep') {
    for (let i = 0; i < p.n; i++) {
      const s = p.selfValues.indexOf(p.selfDistance[i]);
      for (let b = 0; b < BATCH; b++) { const c = C[i * BATCH + b]; if (c >= 2) weight[s * BATCH + b] += (c * (c - 1)) / 2; }
    }
  }
  return { weight, rank: new Float64Array(S * BATCH) };
}

/**
 * Per-thread bootstrap state for one human RDM and several model RDMs of the same n words.
 * Resamples run four at a time: the human walk writes the four resamples' ranks side by side,
 * and each model's walk computes its ranks on the fly and meets the human ranks through one
 * random read per pair (a composite permutation prepared once), so no model rank array is
 * ever stored.
 */
export class BootstrapKernel {
  readonly n: number;
  private readonly rankH: Float32Array | Float64Array;
  /** Model weight × centred rank, scattered into buckets of human positions (scratch, reused). */
  private readonly scattered: Float64Array;
  private readonly layouts: BucketLayout[];

  constructor(readonly human: PreparedRdm, readonly models: PreparedRdm[]) {
    const n = human.n;
    this.n = n;
    const P = pairCount(n);
    // Ranks are half-integers ≤ P; float32 holds them exactly while 2·P < 2^24.
    const exact32 = 2 * P < 2 ** 24;
    this.rankH = exact32 ? new Float32Array(P * BATCH) : new Float64Array(P * BATCH);
    this.scattered = new Float64Array(P * BATCH);
    this.layouts = models.map((m) => bucketLayout(human, m));
  }

  /** Spearman ρ between the human RDM and each model RDM on one resample (counts c). */
  rho(c: Uint32Array, convention: DuplicateConvention): Float64Array {
    return this.rhoBatch([c], convention)[0];
  }

  /**
   * Spearman ρ for up to BATCH resamples at once: result[r][q] = ρ(human, model q) on
   * resample r.
   */
  rhoBatch(counts: Uint32Array[], convention: DuplicateConvention): Float64Array[] {
    const n = this.n;
    const R = counts.length;
    if (R < 1 || R > BATCH) throw new Error(`rhoBatch takes 1..${BATCH} resamples`);
    const C = new Float64Array(n * BATCH);
    for (let b = 0; b < BATCH; b++) { const c = counts[Math.min(b, R - 1)]; for (let i = 0; i < n; i++) C[i * BATCH + b] = c[i]; }
    const m = new Float64Array(BATCH);
    for (let b = 0; b < BATCH; b++) {
      let total = 0, copies = 0;
      for (let i = 0; i < n; i++) { const c = C[i * BATCH + b]; total += c; copies += (c * (c - 1)) / 2; }
      const N = (total * (total - 1)) / 2 - (convention === 'exclude' ? copies : 0);
      m[b] = (N + 1) / 2;
    }
    const selfH = selfGroups(this.human, C, convention);
    const sxx = this.humanWalk(C, m, selfH);
    const diagH = this.diagonal(C, m, selfH, this.human, selfH, this.human, convention);
    for (let b = 0; b < BATCH; b++) sxx[b] += diagH.yy[b];
    const out = Array.from({ length: R }, () => new Float64Array(this.models.length));
    this.models.forEach((model, q) => {
      const selfM = selfGroups(model, C, convention);
      const syy = this.modelWalk(model, this.layouts[q], C, m, selfM);
      const sxy = this.correlateBuckets(this.layouts[q], m);
      const diag = this.diagonal(C, m, selfH, this.human, selfM, model, convention);
      for (let r = 0; r < R; r++) {
        const xy = sxy[r] + diag.xy[r], yy = syy[r] + diag.yy[r];
        out[r][q] = sxx[r] === 0 || yy === 0 ? NaN : Math.max(-1, Math.min(1, xy / Math.sqrt(sxx[r] * yy)));
      }
    });
    return out;
  }

  /** Copy pairs (keep convention): Σ w·(rankX − m)(rankY − m) and Σ w·(rankY − m)² per resample. */
  private diagonal(C: Float64Array, m: Float64Array, gx: SelfGroups, px: PreparedRdm, gy: SelfGroups, py: PreparedRdm, convention: DuplicateConvention): { xy: Float64Array; yy: Float64Array } {
    const xy = new Float64Array(BATCH), yy = new Float64Array(BATCH);
    if (convention === 'exclude') return { xy, yy };
    for (let i = 0; i < this.n; i++) {
      const sx = px.selfValues.indexOf(px.selfDistance[i]);
      const sy = py.selfValues.indexOf(py.selfDistance[i]);
      for (let b = 0; b < BATCH; b++) {
        const c = C[i * BATCH + b];
        if (c < 2) continue;
        const w = (c * (c - 1)) / 2;
        const a = gx.rank[sx * BATCH + b] - m[b];
        const d = gy.rank[sy * BATCH + b] - m[b];
        xy[b] += w * a * d; yy[b] += w * d * d;
      }
    }
    return { xy, yy };
  }

  /** Human ranks of every pair for the batch (sorted order, interleaved) and Σ w·(r − m)². */
  private humanWalk(C: Float64Array, m: Float64Array, self: SelfGroups): Float64Array {
    const p = this.human;
    const I = p.sortedI, J = p.sortedJ, out = this.rankH;
    const P = I.length;
    let c0 = 0, c1 = 0, c2 = 0, c3 = 0;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    const m0 = m[0], m1 = m[1], m2 = m[2], m3 = m[3];
    const ev = walkEvents(p);
    const E = ev.start.length;
    const sw = self.weight, sr = self.rank;
    let k = 0;
    for (let e = 0; e <= E; e++) {
      const stop = e < E ? ev.start[e] : P;
      for (; k < stop; k++) {
        const bi = I[k] * 4, bj = J[k] * 4, o = k * 4;
        const w0 = C[bi] * C[bj], w1 = C[bi + 1] * C[bj + 1], w2 = C[bi + 2] * C[bj + 2], w3 = C[bi + 3] * C[bj + 3];
        const r0 = c0 + (w0 + 1) / 2, r1 = c1 + (w1 + 1) / 2, r2 = c2 + (w2 + 1) / 2, r3 = c3 + (w3 + 1) / 2;
        out[o] = r0; out[o + 1] = r1; out[o + 2] = r2; out[o + 3] = r3;
        c0 += w0; c1 += w1; c2 += w2; c3 += w3;
        const a0 = r0 - m0, a1 = r1 - m1, a2 = r2 - m2, a3 = r3 - m3;
        s0 += w0 * a0 * a0; s1 += w1 * a1 * a1; s2 += w2 * a2 * a2; s3 += w3 * a3 * a3;
      }
      if (e === E) break;
      // A tie group (and/or the copy pairs of a self-distance): one shared rank.
      const end = ev.end[e], sv = ev.self[e];
      let o0 = 0, o1 = 0, o2 = 0, o3 = 0;
      for (let q = k; q < end; q++) {
        const bi = I[q] * 4, bj = J[q] * 4;
        o0 += C[bi] * C[bj]; o1 += C[bi + 1] * C[bj + 1]; o2 += C[bi + 2] * C[bj + 2]; o3 += C[bi + 3] * C[bj + 3];
      }
      let W0 = o0, W1 = o1, W2 = o2, W3 = o3;
      if (sv >= 0) { W0 += sw[sv * 4]; W1 += sw[sv * 4 + 1]; W2 += sw[sv * 4 + 2]; W3 += sw[sv * 4 + 3]; }
      const r0 = c0 + (W0 + 1) / 2, r1 = c1 + (W1 + 1) / 2, r2 = c2 + (W2 + 1) / 2, r3 = c3 + (W3 + 1) / 2;
      if (sv >= 0) { sr[sv * 4] = r0; sr[sv * 4 + 1] = r1; sr[sv * 4 + 2] = r2; sr[sv * 4 + 3] = r3; }
      for (let q = k; q < end; q++) { const o = q * 4; out[o] = r0; out[o + 1] = r1; out[o + 2] = r2; out[o + 3] = r3; }
      s0 += o0 * (r0 - m0) ** 2; s1 += o1 * (r1 - m1) ** 2; s2 += o2 * (r2 - m2) ** 2; s3 += o3 * (r3 - m3) ** 2;
      c0 += W0; c1 += W1; c2 += W2; c3 += W3;
      k = end;
    }
    return Float64Array.of(s0, s1, s2, s3);
  }

  /**
   * One model's walk: centred ranks of the batch's four resamples, scattered to the pair's
   * slot in the bucketed layout; returns Σ w·(r − m)² per resample.
   */
  private modelWalk(p: PreparedRdm, layout: BucketLayout, C: Float64Array, m: Float64Array, self: SelfGroups): Float64Array {
    const I = p.sortedI, J = p.sortedJ, D = this.scattered, slot = layout.slot;
    const P = I.length;
    let c0 = 0, c1 = 0, c2 = 0, c3 = 0;
    let yy0 = 0, yy1 = 0, yy2 = 0, yy3 = 0;
    const m0 = m[0], m1 = m[1], m2 = m[2], m3 = m[3];
    const ev = walkEvents(p);
    const E = ev.start.length;
    const sw = self.weight, sr = self.rank;
    let k = 0;
    for (let e = 0; e <= E; e++) {
      const stop = e < E ? ev.start[e] : P;
      for (; k < stop; k++) {
        const bi = I[k] * 4, bj = J[k] * 4, o = slot[k] * 4;
        const w0 = C[bi] * C[bj], w1 = C[bi + 1] * C[bj + 1], w2 = C[bi + 2] * C[bj + 2], w3 = C[bi + 3] * C[bj + 3];
        const d0 = c0 + (w0 + 1) / 2 - m0, d1 = c1 + (w1 + 1) / 2 - m1, d2 = c2 + (w2 + 1) / 2 - m2, d3 = c3 + (w3 + 1) / 2 - m3;
        c0 += w0; c1 += w1; c2 += w2; c3 += w3;
        D[o] = w0 * d0; D[o + 1] = w1 * d1; D[o + 2] = w2 * d2; D[o + 3] = w3 * d3;
        yy0 += w0 * d0 * d0; yy1 += w1 * d1 * d1; yy2 += w2 * d2 * d2; yy3 += w3 * d3 * d3;
      }
      if (e === E) break;
      const end = ev.end[e], sv = ev.self[e];
      let o0 = 0, o1 = 0, o2 = 0, o3 = 0;
      for (let q = k; q < end; q++) {
        const bi = I[q] * 4, bj = J[q] * 4;
        o0 += C[bi] * C[bj]; o1 += C[bi + 1] * C[bj + 1]; o2 += C[bi + 2] * C[bj + 2]; o3 += C[bi + 3] * C[bj + 3];
      }
      let W0 = o0, W1 = o1, W2 = o2, W3 = o3;
      if (sv >= 0) { W0 += sw[sv * 4]; W1 += sw[sv * 4 + 1]; W2 += sw[sv * 4 + 2]; W3 += sw[sv * 4 + 3]; }
      const d0 = c0 + (W0 + 1) / 2 - m0, d1 = c1 + (W1 + 1) / 2 - m1, d2 = c2 + (W2 + 1) / 2 - m2, d3 = c3 + (W3 + 1) / 2 - m3;
      if (sv >= 0) { sr[sv * 4] = d0 + m0; sr[sv * 4 + 1] = d1 + m1; sr[sv * 4 + 2] = d2 + m2; sr[sv * 4 + 3] = d3 + m3; }
      for (let q = k; q < end; q++) {
        const bi = I[q] * 4, bj = J[q] * 4, o = slot[q] * 4;
        D[o] = C[bi] * C[bj] * d0; D[o + 1] = C[bi + 1] * C[bj + 1] * d1; D[o + 2] = C[bi + 2] * C[bj + 2] * d2; D[o + 3] = C[bi + 3] * C[bj + 3] * d3;
      }
      yy0 += o0 * d0 * d0; yy1 += o1 * d1 * d1; yy2 += o2 * d2 * d2; yy3 += o3 * d3 * d3;
      c0 += W0; c1 += W1; c2 += W2; c3 += W3;
      k = end;
    }
    return Float64Array.of(yy0, yy1, yy2, yy3);
  }

  /**
   * Σ w·(r_model − m)(r_human − m) over all pairs, bucket by bucket: within a bucket the human
   * ranks read lie in one cache-sized range.
   */
  private correlateBuckets(layout: BucketLayout, m: Float64Array): Float64Array {
    const D = this.scattered, H = this.rankH, hpos = layout.humanPos;
    const P = hpos.length;
    const m0 = m[0], m1 = m[1], m2 = m[2], m3 = m[3];
    let xy0 = 0, xy1 = 0, xy2 = 0, xy3 = 0;
    for (let t = 0; t < P; t++) {
      const h = hpos[t] * 4, o = t * 4;
      xy0 += D[o] * (H[h] - m0);
      xy1 += D[o + 1] * (H[h + 1] - m1);
      xy2 += D[o + 2] * (H[h + 2] - m2);
      xy3 += D[o + 3] * (H[h + 3] - m3);
    }
    return Float64Array.of(xy0, xy1, xy2, xy3);
  }
}

/**
 * Pairs of a model RDM regrouped by the human sorted position they map to, in buckets small
 * enough that a bucket's human ranks stay in cache. slot[k] = place of model sorted position
 * k in that layout; humanPos, i, j = the human position and words of each place.
 */
interface BucketLayout { slot: Uint32Array; humanPos: Uint32Array; i: Index; j: Index }

const BUCKET_PAIRS = 1 << 14;

function bucketLayout(human: PreparedRdm, model: PreparedRdm): BucketLayout {
  const n = human.n;
  const P = pairCount(n);
  const I = model.sortedI, J = model.sortedJ, pos = human.position;
  const hp = new Uint32Array(P);
  for (let k = 0; k < P; k++) { const i = I[k]; hp[k] = pos[rowOffset(i, n) + J[k] - i - 1]; }
  const buckets = Math.ceil(P / BUCKET_PAIRS) || 1;
  const start = new Uint32Array(buckets + 1);
  for (let k = 0; k < P; k++) start[((hp[k] / BUCKET_PAIRS) | 0) + 1]++;
  for (let b = 0; b < buckets; b++) start[b + 1] += start[b];
  const slot = new Uint32Array(P);
  const humanPos = new Uint32Array(P);
  const Ctor = I instanceof Uint16Array ? Uint16Array : Uint32Array;
  const i = new Ctor(P), j = new Ctor(P);
  const fill = start.slice(0, buckets);
  for (let k = 0; k < P; k++) {
    const t = fill[(hp[k] / BUCKET_PAIRS) | 0]++;
    slot[k] = t; humanPos[t] = hp[k]; i[t] = I[k]; j[t] = J[k];
  }
  return { slot, humanPos, i, j };
}

/**
 * Run the kernel over concatenated count vectors (iterations × n): ρ of every model per
 * iteration, flat (iteration-major). `onBatch` reports progress.
 */
export function runIterations(kernel: BootstrapKernel, counts: Uint32Array, convention: DuplicateConvention, onBatch?: (done: number) => void): Float64Array {
  const n = kernel.n;
  const iters = counts.length / n;
  const M = kernel.models.length;
  const out = new Float64Array(iters * M);
  for (let it = 0; it < iters; it += BATCH) {
    const batch: Uint32Array[] = [];
    for (let b = it; b < Math.min(iters, it + BATCH); b++) batch.push(counts.subarray(b * n, (b + 1) * n));
    kernel.rhoBatch(batch, convention).forEach((rho, r) => out.set(rho, (it + r) * M));
    onBatch?.(batch.length);
  }
  return out;
}


/**
 * Where the walk must leave its fast path, in sorted order: tie groups of the RDM, and the
 * insertion points of self-distance values (merged with the run of equal distances there).
 * `self` is the index into p.selfValues, or −1.
 */
interface WalkEvents { start: Uint32Array; end: Uint32Array; self: Int32Array }
const eventCache = new WeakMap<PreparedRdm, WalkEvents>();

function walkEvents(p: PreparedRdm): WalkEvents {
  const cached = eventCache.get(p);
  if (cached) return cached;
  const events: Array<{ start: number; end: number; self: number }> = [];
  for (let t = 0; t < p.tieStart.length; t++) events.push({ start: p.tieStart[t], end: p.tieEnd[t], self: -1 });
  for (let s = 0; s < p.selfValues.length; s++) {
    const start = p.selfInsert[s], end = p.selfEqualEnd[s];
    // Equal distances at the insertion point: a tie group already listed, or a lone value.
    const existing = end > start ? events.find((e) => e.start === start) : undefined;
    if (existing) existing.self = s;
    else events.push({ start, end, self: s });
  }
  events.sort((a, b) => a.start - b.start || a.end - b.end);
  const out = { start: Uint32Array.from(events, (e) => e.start), end: Uint32Array.from(events, (e) => e.end), self: Int32Array.from(events, (e) => e.self) };
  eventCache.set(p, out);
  return out;
}
