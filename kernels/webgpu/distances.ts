/// <reference types="@webgpu/types" />
/**
 * Pairwise distances (condensed RDMs, SciPy pdist order) on the GPU with a WGSL kernel, f32.
 *
 * The host prepares the rows in f64: for cosine it scales each row to unit length, for
 * correlation it centres and then scales; the GPU then computes ½‖a − b‖², which equals
 * 1 − cos(a, b) for unit rows and, unlike 1 − a·b, keeps its relative precision for nearly
 * identical rows. Degenerate rows (all-zero for cosine, constant for correlation — NaN in
 * SciPy) give the fill value; euclidean has none. Accuracy against an f64 reference:
 * |gpu − ref| ≤ 2e-6·ref + 2e-7 (tested in test/webgpu/distances.test.ts).
 *
 * Output larger than one storage binding is computed in row chunks that are read back while the
 * GPU computes the next chunk.
 */
import { SmftError } from '../../src/util/errors.js';
import { getGpuDevice, webGpuUnavailableReason } from './device.js';
import { bindGroup, pipelineFor, stagingBuffer, storageBuffer, uniformBuffer, uploadBuffer, withErrorScope } from './gpu-util.js';
import { condIndex, distanceShader, MAX_N_U32, PAIR_WG_X, PAIR_WG_Y, planRowChunks, type DistanceKind } from './wgsl.js';

export type GpuMetric = 'cosine' | 'euclidean' | 'correlation';

export interface PreparedRows {
  /** Rows as f32, prepared for the kernel (unit length for cosine/correlation). */
  rows: Float32Array;
  /** 1 where the metric is undefined for the row (the pair gets the fill value). */
  degenerate: Uint32Array;
  kind: DistanceKind;
}

/** Host-side (f64) preparation of the rows for the distance kernel. */
export function prepareRows(X: Float32Array | Float64Array, n: number, d: number, metric: GpuMetric): PreparedRows {
  if (X.length !== n * d) throw new SmftError(`pairwiseDistances: X has ${X.length} values, expected n·d = ${n * d}`);
  const rows = new Float32Array(n * d);
  const degenerate = new Uint32Array(n);
  if (metric === 'euclidean') {
    rows.set(X);
    return { rows, degenerate, kind: 'euclidean' };
  }
  if (metric !== 'cosine' && metric !== 'correlation') throw new SmftError(`unknown metric '${metric as string}'`);
  const tmp = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    let mean = 0;
    if (metric === 'correlation') {
      for (let k = 0; k < d; k++) mean += X[i * d + k];
      mean /= d;
    }
    let ss = 0;
    for (let k = 0; k < d; k++) {
      const v = X[i * d + k] - mean;
      tmp[k] = v;
      ss += v * v;
    }
    if (ss === 0) {
      degenerate[i] = 1;
      continue;
    }
    const inv = 1 / Math.sqrt(ss);
    for (let k = 0; k < d; k++) rows[i * d + k] = tmp[k] * inv;
  }
  return { rows, degenerate, kind: 'half_sq_euclidean' };
}

/**
 * Distance of a word to a copy of itself, per row: 0, or `fill` for a degenerate row (what a
 * resample with a duplicated word gets for that pair).
 */
export function selfDistances(X: Float32Array | Float64Array, n: number, d: number, metric: GpuMetric, fill: number): Float32Array {
  const { degenerate } = prepareRows(X, n, d, metric);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = degenerate[i] ? fill : 0;
  return out;
}

async function requireDevice(): Promise<GPUDevice> {
  const device = await getGpuDevice();
  if (!device) throw new SmftError(`no WebGPU device: ${webGpuUnavailableReason()}`);
  return device;
}

function checkSize(n: number): number {
  if (!Number.isInteger(n) || n < 0) throw new SmftError(`pairwiseDistances: bad n ${n}`);
  if (n > MAX_N_U32) throw new SmftError(`pairwiseDistances: n = ${n} exceeds the GPU kernel's limit of ${MAX_N_U32} rows`);
  return (n * (n - 1)) / 2;
}

function paramsFor(n: number, rowStart: number, rowEnd: number, base: number, fill: number): ArrayBuffer {
  const buf = new ArrayBuffer(32);
  const u = new Uint32Array(buf);
  const f = new Float32Array(buf);
  u[0] = n;
  u[1] = rowStart;
  u[2] = rowEnd;
  u[3] = base;
  f[4] = fill;
  return buf;
}

export interface DistanceOptions {
  /** Largest output chunk in bytes (default: min(binding limit, 256 MiB)). */
  maxChunkBytes?: number;
}

/**
 * Condensed pairwise distances of the n rows of X (row-major n × d) on the GPU, as f32.
 * Throws SmftError when no WebGPU device is available.
 */
export async function pairwiseDistances(
  X: Float32Array | Float64Array, n: number, d: number, metric: GpuMetric, fill: number, opts: DistanceOptions = {},
): Promise<Float32Array> {
  const m = checkSize(n);
  const out = new Float32Array(m);
  if (m === 0) return out;
  const device = await requireDevice();
  const prep = prepareRows(X, n, d, metric);
  const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  const chunkBytes = Math.max(4 * (n - 1), Math.min(opts.maxChunkBytes ?? 256 * 2 ** 20, limit));
  const chunks = planRowChunks(n, Math.floor(chunkBytes / 4));
  const maxPairs = Math.max(...chunks.map(([a, b]) => condIndex(b - 1, n - 1, n) + 1 - condIndex(a, a + 1, n)));

  const pipeline = pipelineFor(device, distanceShader(d, prep.kind), `pdist-${prep.kind}-${d}`);
  const xBuf = uploadBuffer(device, prep.rows, 'pdist-rows');
  const degBuf = uploadBuffer(device, prep.degenerate, 'pdist-degenerate');
  // Two output/staging pairs: the GPU computes chunk c+1 while the host copies chunk c.
  const outBufs = [storageBuffer(device, maxPairs * 4, 'pdist-out0'), storageBuffer(device, maxPairs * 4, 'pdist-out1')];
  const stage = [stagingBuffer(device, maxPairs * 4, 'pdist-stage0'), stagingBuffer(device, maxPairs * 4, 'pdist-stage1')];
  const uniforms: GPUBuffer[] = [];
  try {
    await withErrorScope(device, 'pairwiseDistances', async () => {
      const submit = (c: number): { base: number; count: number } => {
        const [rowStart, rowEnd] = chunks[c];
        const base = condIndex(rowStart, rowStart + 1, n);
        const count = condIndex(rowEnd - 1, n - 1, n) + 1 - base;
        const ub = uniformBuffer(device, paramsFor(n, rowStart, rowEnd, base, fill), 'pdist-params');
        uniforms.push(ub);
        const slot = c % 2;
        const bg = bindGroup(device, pipeline, [xBuf, degBuf, outBufs[slot], ub], 'pdist');
        const enc = device.createCommandEncoder();
        const pass = enc.beginComputePass();
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, bg);
        pass.dispatchWorkgroups(Math.ceil((n - 1 - rowStart) / PAIR_WG_X), Math.ceil((rowEnd - rowStart) / PAIR_WG_Y), 1);
        pass.end();
        enc.copyBufferToBuffer(outBufs[slot], 0, stage[slot], 0, count * 4);
        device.queue.submit([enc.finish()]);
        return { base, count };
      };
      let pending = submit(0);
      for (let c = 0; c < chunks.length; c++) {
        const cur = pending;
        const slot = c % 2;
        const mapped = stage[slot].mapAsync(0x0001, 0, cur.count * 4);
        if (c + 1 < chunks.length) pending = submit(c + 1);
        await mapped;
        out.set(new Float32Array(stage[slot].getMappedRange(0, cur.count * 4)), cur.base);
        stage[slot].unmap();
      }
    });
  } finally {
    for (const b of [xBuf, degBuf, ...outBufs, ...stage, ...uniforms]) b.destroy();
  }
  return out;
}

/**
 * Condensed distances left on the GPU (one storage buffer of n(n−1)/2 f32), for kernels that
 * consume them there. The caller owns (and destroys) the buffer.
 */
export async function pairwiseDistancesToGpu(
  X: Float32Array | Float64Array, n: number, d: number, metric: GpuMetric, fill: number,
): Promise<{ device: GPUDevice; buffer: GPUBuffer; pairs: number }> {
  const m = checkSize(n);
  const device = await requireDevice();
  if (m * 4 > device.limits.maxStorageBufferBindingSize) {
    throw new SmftError(`pairwiseDistancesToGpu: ${m} pairs exceed the device's storage binding limit; use pairwiseDistances()`);
  }
  const prep = prepareRows(X, n, d, metric);
  const pipeline = pipelineFor(device, distanceShader(d, prep.kind), `pdist-${prep.kind}-${d}`);
  const xBuf = uploadBuffer(device, prep.rows, 'pdist-rows');
  const degBuf = uploadBuffer(device, prep.degenerate, 'pdist-degenerate');
  const buffer = storageBuffer(device, m * 4, 'pdist-rdm');
  const ub = uniformBuffer(device, paramsFor(n, 0, n, 0, fill), 'pdist-params');
  await withErrorScope(device, 'pairwiseDistancesToGpu', () => {
    if (m === 0) return;
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup(device, pipeline, [xBuf, degBuf, buffer, ub], 'pdist'));
    pass.dispatchWorkgroups(Math.ceil((n - 1) / PAIR_WG_X), Math.ceil(n / PAIR_WG_Y), 1);
    pass.end();
    device.queue.submit([enc.finish()]);
  });
  await device.queue.onSubmittedWorkDone();
  xBuf.destroy();
  degBuf.destroy();
  ub.destroy();
  return { device, buffer, pairs: m };
}
