import { pairCount } from './rdm.js';
import { bucketLayout, type BucketLayout, type PreparedRdm } from './prepared.js';
import { exactRho, type DuplicateConvention } from './bootstrap-exact.js';
import { Arena, instantiate } from './wasm.js';

export type { DuplicateConvention } from './bootstrap-exact.js';
export { prepareRdm, bucketLayout, type PreparedRdm, type BucketLayout } from './prepared.js';

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
 *
 * The walks run in WebAssembly SIMD (kernels/wasm/assembly/bootstrap.ts), four resamples per
 * pass in the lanes of a v128, in exact integers (ranks doubled). The human walk stores the
 * ranks in human sorted order; each model walk stores weight × centred rank at the pair's
 * place in a layout bucketed by human position (kernels/cpu/prepared.ts), and the correlate
 * pass meets the two bucket by bucket, with the bucket's human ranks in cache. The copy pairs
 * of the self-distances (a handful of values) are added here in float64.
 */

/** Resamples processed together (the four i32 lanes). */
export const BATCH = 4;

interface Walks {
  humanWalk(C: number, pairs: number, P: number, evStart: number, evEnd: number, evSelf: number, E: number, selfW: number, selfR: number, H: number, M2: number, out: number): void;
  modelWalk(C: number, pairs: number, slot: number, P: number, evStart: number, evEnd: number, evSelf: number, E: number, selfW: number, selfR: number, D: number, M2: number, out: number): void;
  correlate(D: number, H: number, hpos: number, bucketStart: number, buckets: number, bits: number, P: number, M2: number, out: number): void;
}

/** Where one prepared RDM lives in the kernel's memory. */
interface RdmRegion { rdm: PreparedRdm; pairs: number; evStart: number; evEnd: number; evSelf: number; E: number; selfW: number; selfR: number; S: number }
interface LayoutRegion { slot: number; hpos: number; bucketStart: number; buckets: number; bits: number }

/**
 * Per-thread bootstrap state for one human RDM and several model RDMs of the same n words.
 * `layouts` (one per model, from bucketLayout) can be computed once and shared by threads.
 */
export class BootstrapKernel {
  readonly n: number;
  private readonly P: number;
  private readonly arena: Arena;
  private readonly wasm: Walks;
  private readonly C: number;
  private readonly M2: number;
  private readonly out: number;
  private readonly H: number;
  private readonly D: number;
  private readonly humanRegion: RdmRegion;
  private readonly modelRegions: Array<RdmRegion & LayoutRegion>;

  constructor(readonly human: PreparedRdm, readonly models: PreparedRdm[], layouts?: BucketLayout[]) {
    const n = human.n, P = pairCount(n);
    if (P >= 2 ** 29) throw new Error(`bootstrap kernel: ${P} pairs; at most 2^29 are supported`);
    this.n = n;
    this.P = P;
    const lay = layouts ?? models.map((m) => bucketLayout(human, m));
    const bytes = P * 4 * (1 + 3 * models.length) + 2 * P * 16 + (n + 64) * 16 * (2 + models.length) + (1 << 20);
    this.arena = new Arena(bytes);
    this.wasm = instantiate<Walks>('bootstrap', this.arena);
    const a = this.arena;
    this.C = a.alloc(n * 16);
    this.M2 = a.alloc(16);
    this.out = a.alloc(64);
    const region = (rdm: PreparedRdm): RdmRegion => {
      const S = rdm.selfValues.length;
      return {
        rdm, pairs: a.copy(rdm.pairs), evStart: a.copy(rdm.events.start), evEnd: a.copy(rdm.events.end), evSelf: a.copy(rdm.events.self),
        E: rdm.events.start.length, selfW: a.alloc(S * 16), selfR: a.alloc(S * 16), S,
      };
    };
    this.humanRegion = region(human);
    this.modelRegions = models.map((m, q) => ({
      ...region(m), slot: a.copy(lay[q].slot), hpos: a.copy(lay[q].humanPos), bucketStart: a.copy(lay[q].bucketStart),
      buckets: lay[q].bucketStart.length - 1, bits: lay[q].bits,
    }));
    this.H = a.alloc(P * 16);
    this.D = a.alloc(P * 16);
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
    const { n, P, arena, wasm } = this;
    const R = counts.length;
    if (R < 1 || R > BATCH) throw new Error(`rhoBatch takes 1..${BATCH} resamples`);
    const lanes = Array.from({ length: BATCH }, (_, b) => counts[Math.min(b, R - 1)]);
    // Doubled mean rank 2m = N + 1 per lane, N = the resample's number of pairs.
    const m2 = new Float64Array(BATCH);
    let maxC = 0;
    const C = arena.i32(this.C, n * BATCH);
    lanes.forEach((c, b) => {
      let total = 0, copies = 0;
      for (let i = 0; i < n; i++) {
        const v = c[i];
        C[i * BATCH + b] = v;
        total += v; copies += (v * (v - 1)) / 2;
        if (v > maxC) maxC = v;
      }
      m2[b] = (total * (total - 1)) / 2 - (convention === 'exclude' ? copies : 0) + 1;
    });
    // Exact in i32: doubled ranks ≤ 2N + 1 and weight × doubled centred rank ≤ maxC²·N.
    const N = Math.max(...m2) - 1;
    if (2 * N + 1 >= 2 ** 31 || maxC * maxC * N >= 2 ** 31) {
      return counts.map((c) => exactRho(this.human, this.models, c, convention));
    }
    arena.i32(this.M2, BATCH).set(m2);
    const weights = this.copyWeights(lanes, convention);
    const h = this.humanRegion;
    this.setSelfWeights(h, weights);
    wasm.humanWalk(this.C, h.pairs, P, h.evStart, h.evEnd, h.evSelf, h.E, h.selfW, h.selfR, this.H, this.M2, this.out);
    const xx = Float64Array.from(arena.f64(this.out, BATCH));
    const selfH = Float64Array.from(arena.i32(h.selfR, h.S * BATCH));
    this.diagonal(weights, m2, h, selfH, h, selfH, xx, null);
    const result = Array.from({ length: R }, () => new Float64Array(this.models.length));
    this.modelRegions.forEach((g, q) => {
      this.setSelfWeights(g, weights);
      wasm.modelWalk(this.C, g.pairs, g.slot, P, g.evStart, g.evEnd, g.evSelf, g.E, g.selfW, g.selfR, this.D, this.M2, this.out);
      const yy = Float64Array.from(arena.f64(this.out, BATCH));
      wasm.correlate(this.D, this.H, g.hpos, g.bucketStart, g.buckets, g.bits, P, this.M2, this.out);
      const xy = Float64Array.from(arena.f64(this.out, BATCH));
      const selfM = Float64Array.from(arena.i32(g.selfR, g.S * BATCH));
      this.diagonal(weights, m2, h, selfH, g, selfM, yy, xy);
      for (let r = 0; r < R; r++) {
        result[r][q] = xx[r] === 0 || yy[r] === 0 ? NaN : Math.max(-1, Math.min(1, xy[r] / Math.sqrt(xx[r] * yy[r])));
      }
    });
    return result;
  }

  /** Copy pairs per word and lane, C(c, 2) (zero under 'exclude'), interleaved like C. */
  private copyWeights(lanes: Uint32Array[], convention: DuplicateConvention): Float64Array {
    const w = new Float64Array(this.n * BATCH);
    if (convention === 'keep') lanes.forEach((c, b) => { for (let i = 0; i < this.n; i++) w[i * BATCH + b] = (c[i] * (c[i] - 1)) / 2; });
    return w;
  }

  /** Copy pairs per self-distance value and lane, for the walk of one RDM. */
  private setSelfWeights(g: RdmRegion, weights: Float64Array): void {
    const sw = this.arena.i32(g.selfW, g.S * BATCH);
    sw.fill(0);
    const idx = g.rdm.selfIndex;
    for (let i = 0; i < this.n; i++) for (let b = 0; b < BATCH; b++) sw[idx[i] * BATCH + b] += weights[i * BATCH + b];
  }

  /**
   * The copy pairs' terms: Σ w·(y − 2m)² into `sq` and, when `cross` is given,
   * Σ w·(x − 2m)(y − 2m) into it, with x, y the doubled self-group ranks of the two RDMs.
   */
  private diagonal(weights: Float64Array, m2: Float64Array, gx: RdmRegion, selfX: Float64Array, gy: RdmRegion, selfY: Float64Array, sq: Float64Array, cross: Float64Array | null): void {
    const ix = gx.rdm.selfIndex, iy = gy.rdm.selfIndex;
    for (let i = 0; i < this.n; i++) {
      for (let b = 0; b < BATCH; b++) {
        const w = weights[i * BATCH + b];
        if (w === 0) continue;
        const y = selfY[iy[i] * BATCH + b] - m2[b];
        sq[b] += w * y * y;
        if (cross) cross[b] += w * (selfX[ix[i] * BATCH + b] - m2[b]) * y;
      }
    }
  }
}

/** Counts per word from an index vector of a resample. */
export function countsOf(indices: ArrayLike<number>, n: number): Uint32Array {
  const c = new Uint32Array(n);
  for (let k = 0; k < indices.length; k++) c[indices[k]]++;
  return c;
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
