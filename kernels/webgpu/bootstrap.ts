/// <reference types="@webgpu/types" />
/**
 * Bootstrap over words for RSA on the GPU. RDM 0 is the human RDM, RDMs 1..R−1 the models', all
 * condensed over the same n words. Two operations per batch of resamples (index vectors into
 * the n words):
 *
 *  - gather(): the resampled condensed RDMs themselves (B × R × N(N−1)/2 f32), as if pdist had
 *    been run on the resampled rows. Useful to check, and for consumers that need the values;
 *    the output is large, so batches are small.
 *  - spearman(): Spearman ρ(human, model) of every resample without materialising anything of
 *    size B·N²: weights from word counts, ranks from one host sort per RDM plus a GPU prefix sum
 *    per resample (see wgsl.ts). ρ comes out with ≈1e-6 absolute accuracy (f32 sums of exact
 *    half-integer ranks, f64 final sum on the host).
 *
 * Duplicate-word pairs: 'keep' (the paper; a pair of copies has the word's self-distance, 0 or
 * the fill value) or 'exclude' (rsatoolbox).
 */
import { SmftError } from '../../src/util/errors.js';
import { sortVector } from '../cpu/ranks.js';
import { getGpuDevice, webGpuUnavailableReason } from './device.js';
import { bindGroup, pipelineFor, readBuffer, storageBuffer, uniformBuffer, uploadBuffer, withErrorScope } from './gpu-util.js';
import {
  condIndex, gatherShader, PAIR_WG_X, PAIR_WG_Y, SCAN_BLOCK, spearmanBlockSumShader, spearmanLocalScanShader,
  spearmanRankShader, spearmanReduceShader, spearmanScanBlocksShader, WG,
} from './wgsl.js';

export type Convention = 'keep' | 'exclude';

export interface BootstrapOptions {
  /** Per RDM, each word's distance to a copy of itself (default all 0). */
  selfDistances?: Array<Float32Array | Float64Array | null>;
  convention?: Convention;
  /** Upper bound for one batch's per-resample scratch, bytes (default 512 MiB or the binding limit). */
  maxBatchBytes?: number;
  /** Resamples whose partial sums are collected on the GPU before one read-back (rounded to batches). */
  flushResamples?: number;
}

/** Largest n for the spearman kernels: word indices are packed as two u16 in one u32. */
export const MAX_BOOTSTRAP_N = 65535;

/** Packed (p | q << 16) word pair of each condensed index. */
export function pairWords(n: number): Uint32Array {
  const m = (n * (n - 1)) / 2;
  const pq = new Uint32Array(m);
  let o = 0;
  for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) pq[o++] = (p | (q << 16)) >>> 0;
  return pq;
}

/**
 * Sorted items of one RDM for the spearman kernels: the m pair distances followed by the n
 * self-distances, sorted; for every sorted position the first and last position of its tie group.
 */
export function sortItems(rdm: ArrayLike<number>, self: ArrayLike<number>): { order: Uint32Array; gStart: Uint32Array; gEnd: Uint32Array } {
  const m = rdm.length;
  const E = m + self.length;
  const v = new Float64Array(E);
  for (let k = 0; k < m; k++) v[k] = rdm[k];
  for (let p = 0; p < self.length; p++) v[m + p] = self[p];
  for (let k = 0; k < E; k++) if (Number.isNaN(v[k])) throw new SmftError('bootstrap: an RDM contains NaN (fill degenerate pairs first)');
  const { order, groupStart } = sortVector(v);
  const gStart = new Uint32Array(E);
  const gEnd = new Uint32Array(E);
  for (let g = 0; g + 1 < groupStart.length; g++) {
    const a = groupStart[g];
    const b = groupStart[g + 1];
    for (let t = a; t < b; t++) {
      gStart[t] = a;
      gEnd[t] = b - 1;
    }
  }
  return { order, gStart, gEnd };
}

/** Counts of each word in each of B resamples (rows of N indices). */
export function resampleCounts(indices: Uint32Array | Int32Array | number[], B: number, N: number, n: number): Uint32Array {
  if (indices.length !== B * N) throw new SmftError(`bootstrap: ${indices.length} indices, expected ${B}×${N}`);
  const c = new Uint32Array(B * n);
  for (let b = 0; b < B; b++) {
    for (let a = 0; a < N; a++) {
      const p = indices[b * N + a];
      if (!(p >= 0 && p < n) || !Number.isInteger(p)) throw new SmftError(`bootstrap: index ${p} out of range 0..${n - 1}`);
      c[b * n + p]++;
    }
  }
  return c;
}

function params(vals: number[]): ArrayBuffer {
  const buf = new ArrayBuffer(32);
  new Uint32Array(buf).set(vals);
  return buf;
}

export class GpuRsaBootstrap {
  readonly n: number;
  readonly R: number;
  readonly m: number;
  readonly convention: Convention;
  private readonly device: GPUDevice;
  /** The RDMs as given (their order and ties define the ranks) and as f32 (for gather). */
  private readonly rdmHost: Array<Float32Array | Float64Array>;
  private readonly rdm32: Float32Array[];
  private readonly selfHost: Float32Array[];
  private readonly maxBatchBytes: number;
  private readonly flushResamples: number | undefined;
  private rdmBuf: GPUBuffer | null = null;
  private selfBuf: GPUBuffer | null = null;
  private spear: {
    E: number; nBlocks: number; pq: GPUBuffer; sorted: GPUBuffer; gStart: GPUBuffer; gEnd: GPUBuffer;
  } | null = null;
  private readonly owned: GPUBuffer[] = [];

  private constructor(
    device: GPUDevice, n: number, rdms: Array<Float32Array | Float64Array>, selfs: Float32Array[], convention: Convention, maxBatchBytes: number,
    flushResamples?: number,
  ) {
    this.device = device;
    this.n = n;
    this.R = rdms.length;
    this.m = (n * (n - 1)) / 2;
    this.rdmHost = rdms;
    this.rdm32 = rdms.map((r) => (r instanceof Float32Array ? r : Float32Array.from(r)));
    this.selfHost = selfs;
    this.convention = convention;
    this.maxBatchBytes = maxBatchBytes;
    this.flushResamples = flushResamples;
  }

  /**
   * Prepare R condensed RDMs over n words (RDM 0: human). Throws SmftError without a device.
   */
  static async create(n: number, rdms: Array<Float32Array | Float64Array>, opts: BootstrapOptions = {}): Promise<GpuRsaBootstrap> {
    const m = (n * (n - 1)) / 2;
    if (rdms.length < 1) throw new SmftError('bootstrap: no RDMs');
    for (const r of rdms) if (r.length !== m) throw new SmftError(`bootstrap: RDM of length ${r.length}, expected ${m} for n = ${n}`);
    const device = await getGpuDevice();
    if (!device) throw new SmftError(`no WebGPU device: ${webGpuUnavailableReason()}`);
    const selfs = rdms.map((_, r) => {
      const s = opts.selfDistances?.[r];
      if (s && s.length !== n) throw new SmftError(`bootstrap: self-distances of length ${s.length}, expected ${n}`);
      return s ? Float32Array.from(s) : new Float32Array(n);
    });
    const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
    return new GpuRsaBootstrap(
      device, n, rdms, selfs,
      opts.convention ?? 'keep', Math.min(opts.maxBatchBytes ?? 512 * 2 ** 20, limit), opts.flushResamples,
    );
  }

  private own(b: GPUBuffer): GPUBuffer {
    this.owned.push(b);
    return b;
  }

  private ensureGather(): void {
    if (this.rdmBuf) return;
    const all = new Float32Array(this.R * this.m);
    this.rdm32.forEach((r, i) => all.set(r, i * this.m));
    const selfAll = new Float32Array(this.R * this.n);
    this.selfHost.forEach((s, i) => selfAll.set(s, i * this.n));
    this.rdmBuf = this.own(uploadBuffer(this.device, all, 'boot-rdms'));
    this.selfBuf = this.own(uploadBuffer(this.device, selfAll, 'boot-self'));
  }

  /**
   * Resampled condensed RDMs: `indices` holds B rows of N word indices. Returns B × R × N(N−1)/2
   * f32 (resample-major, then RDM); copy pairs are NaN under 'exclude'.
   */
  async gather(indices: Uint32Array, B: number, N = this.n): Promise<Float32Array> {
    resampleCounts(indices, B, N, this.n); // validates
    const Mp = (N * (N - 1)) / 2;
    const bytes = B * this.R * Mp * 4;
    if (bytes > Math.min(this.device.limits.maxStorageBufferBindingSize, this.device.limits.maxBufferSize)) {
      throw new SmftError(`bootstrap gather: ${B} resamples × ${this.R} RDMs × ${Mp} pairs exceed one GPU buffer; use smaller batches`);
    }
    if (Mp === 0 || B === 0) return new Float32Array(B * this.R * Mp);
    this.ensureGather();
    const d = this.device;
    const pipe = pipelineFor(d, gatherShader(), 'boot-gather');
    const idxBuf = uploadBuffer(d, Uint32Array.from(indices), 'boot-idx');
    const outBuf = storageBuffer(d, bytes, 'boot-gathered');
    const ub = uniformBuffer(d, params([this.n, N, this.R, this.m, Mp, this.convention === 'exclude' ? 1 : 0, 0x7fc00000, 0]), 'boot-gather-params');
    try {
      const raw = await withErrorScope(d, 'bootstrap gather', async () => {
        const enc = d.createCommandEncoder();
        const pass = enc.beginComputePass();
        pass.setPipeline(pipe);
        pass.setBindGroup(0, bindGroup(d, pipe, [this.rdmBuf!, this.selfBuf!, idxBuf, outBuf, ub], 'boot-gather'));
        pass.dispatchWorkgroups(Math.ceil((N - 1) / PAIR_WG_X), Math.ceil((N - 1) / PAIR_WG_Y), B);
        pass.end();
        d.queue.submit([enc.finish()]);
        return readBuffer(d, outBuf, bytes);
      });
      return new Float32Array(raw);
    } finally {
      idxBuf.destroy();
      outBuf.destroy();
      ub.destroy();
    }
  }

  private ensureSpearman(): NonNullable<GpuRsaBootstrap['spear']> {
    if (this.spear) return this.spear;
    if (this.n > MAX_BOOTSTRAP_N) throw new SmftError(`bootstrap: n = ${this.n} exceeds the GPU kernel's limit of ${MAX_BOOTSTRAP_N} words`);
    if (this.R < 2) throw new SmftError('bootstrap spearman: needs the human RDM and at least one model RDM');
    const E = this.m + this.n;
    const nBlocks = Math.ceil(E / SCAN_BLOCK);
    if (nBlocks > this.device.limits.maxComputeWorkgroupsPerDimension) {
      throw new SmftError(`bootstrap: n = ${this.n} is too large for the GPU scan (${nBlocks} blocks)`);
    }
    const sorted = new Uint32Array(this.R * E);
    const gStart = new Uint32Array(this.R * E);
    const gEnd = new Uint32Array(this.R * E);
    for (let r = 0; r < this.R; r++) {
      const s = sortItems(this.rdmHost[r], this.selfHost[r]);
      sorted.set(s.order, r * E);
      gStart.set(s.gStart, r * E);
      gEnd.set(s.gEnd, r * E);
    }
    const d = this.device;
    this.spear = {
      E, nBlocks,
      pq: this.own(uploadBuffer(d, pairWords(this.n), 'boot-pq')),
      sorted: this.own(uploadBuffer(d, sorted, 'boot-sorted')),
      gStart: this.own(uploadBuffer(d, gStart, 'boot-gstart')),
      gEnd: this.own(uploadBuffer(d, gEnd, 'boot-gend')),
    };
    return this.spear;
  }

  /** Resamples per GPU batch for spearman(). */
  spearmanBatchSize(): number {
    const E = this.m + this.n;
    return Math.max(1, Math.min(256, this.device.limits.maxComputeWorkgroupsPerDimension, Math.floor(this.maxBatchBytes / (this.R * E * 4))));
  }

  /**
   * Spearman ρ between RDM 0 and each other RDM for B resamples (rows of N word indices).
   * Returns B × (R−1), resample-major. NaN where a resample's ranks are constant.
   */
  async spearman(indices: Uint32Array, B: number, N = this.n): Promise<Float64Array> {
    const counts = resampleCounts(indices, B, N, this.n);
    return this.spearmanFromCounts(counts, B);
  }

  /** As spearman(), from per-resample word counts (B × n). */
  async spearmanFromCounts(counts: Uint32Array, B: number): Promise<Float64Array> {
    const S = this.ensureSpearman();
    const { E, nBlocks } = S;
    const R = this.R;
    const n = this.n;
    const out = new Float64Array(B * (R - 1));
    if (B === 0) return out;
    const d = this.device;
    const Bb = Math.min(B, this.spearmanBatchSize());
    // Few threads per workgroup-row of partial sums keep the partials small enough to collect
    // those of many batches on the GPU and read them back at once (one round trip per flush).
    const nRed = Math.max(1, Math.min(64, Math.ceil(E / (WG * 8))));
    const nRank = Math.max(1, Math.min(4096, Math.ceil(E / WG)));
    const perResample = (R - 1) * nRed * 3 * 4;
    const flushCap = this.flushResamples ?? Math.floor(Math.min(64 * 2 ** 20, this.maxBatchBytes) / perResample);
    const flushB = Math.max(Bb, Math.floor(flushCap / Bb) * Bb);
    const pBlock = pipelineFor(d, spearmanBlockSumShader(), 'boot-blocksum');
    const pScanB = pipelineFor(d, spearmanScanBlocksShader(), 'boot-scanblocks');
    const pLocal = pipelineFor(d, spearmanLocalScanShader(), 'boot-localscan');
    const pRank = pipelineFor(d, spearmanRankShader(), 'boot-rank');
    const pRed = pipelineFor(d, spearmanReduceShader(), 'boot-reduce');
    const countsBuf = storageBuffer(d, Bb * n * 4, 'boot-counts');
    const blockBuf = storageBuffer(d, Bb * R * nBlocks * 4, 'boot-blocksums');
    const prefixBuf = storageBuffer(d, Bb * R * E * 4, 'boot-prefix');
    const rankBuf = storageBuffer(d, Bb * R * E * 4, 'boot-ranks');
    const partBuf = storageBuffer(d, Math.min(flushB, B) * perResample, 'boot-partials');
    const ub = uniformBuffer(d, params([n, E, this.m, R, nBlocks, this.convention === 'keep' ? 1 : 0, nRed, 0]), 'boot-params');
    const bgBlock = bindGroup(d, pBlock, [ub, S.pq, countsBuf, S.sorted, blockBuf], 'boot-blocksum');
    const bgScanB = bindGroup(d, pScanB, [ub, blockBuf], 'boot-scanblocks');
    const bgLocal = bindGroup(d, pLocal, [ub, S.pq, countsBuf, S.sorted, blockBuf, prefixBuf], 'boot-localscan');
    const bgRank = bindGroup(d, pRank, [ub, S.sorted, S.gStart, S.gEnd, prefixBuf, rankBuf], 'boot-rank');
    const bgRed = bindGroup(d, pRed, [ub, S.pq, countsBuf, rankBuf, partBuf], 'boot-reduce');
    const collect = (part: Float32Array, first: number, count: number): void => {
      for (let b = 0; b < count; b++) {
        for (let r = 0; r < R - 1; r++) {
          let sxy = 0, sxx = 0, syy = 0;
          const o = (b * (R - 1) + r) * nRed * 3;
          for (let w = 0; w < nRed; w++) {
            sxy += part[o + 3 * w];
            sxx += part[o + 3 * w + 1];
            syy += part[o + 3 * w + 2];
          }
          out[(first + b) * (R - 1) + r] = sxx === 0 || syy === 0 ? NaN : Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)));
        }
      }
    };
    try {
      await withErrorScope(d, 'bootstrap spearman', async () => {
        for (let f0 = 0; f0 < B; f0 += flushB) {
          const fEnd = Math.min(B, f0 + flushB);
          for (let b0 = f0; b0 < fEnd; b0 += Bb) {
            const nb = Math.min(Bb, fEnd - b0);
            // Queue writes are ordered with submissions: the previous batch has used these.
            d.queue.writeBuffer(countsBuf, 0, counts.buffer, counts.byteOffset + b0 * n * 4, nb * n * 4);
            d.queue.writeBuffer(ub, 28, Uint32Array.of(b0 - f0));
            const enc = d.createCommandEncoder();
            const pass = enc.beginComputePass();
            pass.setPipeline(pBlock);
            pass.setBindGroup(0, bgBlock);
            pass.dispatchWorkgroups(nBlocks, R, nb);
            pass.setPipeline(pScanB);
            pass.setBindGroup(0, bgScanB);
            pass.dispatchWorkgroups(1, R, nb);
            pass.setPipeline(pLocal);
            pass.setBindGroup(0, bgLocal);
            pass.dispatchWorkgroups(nBlocks, R, nb);
            pass.setPipeline(pRank);
            pass.setBindGroup(0, bgRank);
            pass.dispatchWorkgroups(nRank, R, nb);
            pass.setPipeline(pRed);
            pass.setBindGroup(0, bgRed);
            pass.dispatchWorkgroups(nRed, R - 1, nb);
            pass.end();
            d.queue.submit([enc.finish()]);
          }
          const part = new Float32Array(await readBuffer(d, partBuf, (fEnd - f0) * perResample));
          collect(part, f0, fEnd - f0);
        }
      });
    } finally {
      for (const b of [countsBuf, blockBuf, prefixBuf, rankBuf, partBuf, ub]) b.destroy();
    }
    return out;
  }

  /** Free the GPU buffers. */
  destroy(): void {
    for (const b of this.owned) b.destroy();
    this.owned.length = 0;
    this.rdmBuf = null;
    this.selfBuf = null;
    this.spear = null;
  }
}

export { condIndex };
