/**
 * GPU pairwise distances (f32) against a plain f64 pdist. Tolerance, stated once:
 * |gpu − ref| ≤ 2e-6·ref + 2e-7 for every pair (f32 rounding of the prepared rows and sums).
 */
import './env.js';
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { condIndex, pairwiseDistances, pairwiseDistancesToGpu, releaseWebGpu } from '../../kernels/webgpu/index.js';
import { readBuffer } from '../../kernels/webgpu/gpu-util.js';
import { requireGpu, lcg } from './helpers.js';
import { pdist, type Metric } from './reference.js';

after(releaseWebGpu);

const REL = 2e-6;
const ABS = 2e-7;

function closeTo(gpu: Float32Array, ref: number[], what: string): void {
  assert.equal(gpu.length, ref.length, `${what}: length`);
  for (let k = 0; k < ref.length; k++) {
    const err = Math.abs(gpu[k] - ref[k]);
    if (!(err <= REL * Math.abs(ref[k]) + ABS)) assert.fail(`${what}: pair ${k}: gpu ${gpu[k]} vs ref ${ref[k]} (|Δ| = ${err})`);
  }
}

/** z-scored-looking data with ties, a zero row, a constant row and duplicate rows. */
function data(n: number, d: number, seed: number): Float64Array {
  const r = lcg(seed);
  const X = new Float64Array(n * d);
  for (let k = 0; k < X.length; k++) X[k] = Math.round((r() * 4 - 2) * 8) / 8;
  X.fill(0, 2 * d, 3 * d); // zero vector
  X.fill(0.75, 4 * d, 5 * d); // constant vector (degenerate for correlation)
  X.copyWithin(6 * d, 7 * d, 8 * d); // duplicate of row 7
  return X;
}

const METRICS: Metric[] = ['cosine', 'euclidean', 'correlation'];

test('pairwise distances match the f64 reference for every metric', async () => {
  await requireGpu();
  const n = 157, d = 11;
  const X = data(n, d, 7);
  for (const metric of METRICS) {
    const gpu = await pairwiseDistances(X, n, d, metric, 2.0);
    closeTo(gpu, pdist(X, n, d, metric, 2.0), metric);
  }
});

test('degenerate rows get the fill value; Float32Array input; d = 6', async () => {
  await requireGpu();
  const n = 40, d = 6;
  const X = Float32Array.from(data(n, d, 3));
  for (const metric of METRICS) closeTo(await pairwiseDistances(X, n, d, metric, -1.5), pdist(X, n, d, metric, -1.5), `${metric} d=6`);
  const cos = await pairwiseDistances(X, n, d, 'cosine', 2.0);
  const cor = await pairwiseDistances(X, n, d, 'correlation', 2.0);
  const euc = await pairwiseDistances(X, n, d, 'euclidean', 2.0);
  // Row 2 is all zeros: cosine and correlation are undefined; row 4 is constant: correlation is.
  assert.equal(cos[condIndex(2, 3, n)], 2.0);
  assert.equal(cos[condIndex(0, 2, n)], 2.0);
  assert.equal(cor[condIndex(2, 9, n)], 2.0);
  assert.equal(cor[condIndex(4, 9, n)], 2.0);
  assert.notEqual(cos[condIndex(4, 9, n)], 2.0);
  assert.notEqual(euc[condIndex(2, 3, n)], 2.0);
  // Rows 6 and 7 are equal: distance 0 up to f32 rounding.
  assert.ok(Math.abs(cos[condIndex(6, 7, n)]) < 1e-7 && euc[condIndex(6, 7, n)] === 0);
});

test('chunked output (many row chunks) equals the single-chunk result', async () => {
  await requireGpu();
  const n = 203, d = 11;
  const X = data(n, d, 11);
  const whole = await pairwiseDistances(X, n, d, 'cosine', 2.0);
  const chunked = await pairwiseDistances(X, n, d, 'cosine', 2.0, { maxChunkBytes: 4 * 1000 });
  assert.deepEqual(chunked, whole);
  closeTo(chunked, pdist(X, n, d, 'cosine', 2.0), 'chunked');
});

test('tiny inputs: n = 0, 1, 2', async () => {
  await requireGpu();
  assert.equal((await pairwiseDistances(new Float64Array(0), 0, 3, 'cosine', 2)).length, 0);
  assert.equal((await pairwiseDistances(new Float64Array(3), 1, 3, 'cosine', 2)).length, 0);
  const two = await pairwiseDistances(new Float64Array([1, 0, 0, 1]), 2, 2, 'euclidean', 2);
  assert.ok(Math.abs(two[0] - Math.SQRT2) < 1e-6);
});

test('distances left on the GPU equal the read-back ones', async () => {
  const device = await requireGpu();
  const n = 64, d = 11;
  const X = data(n, d, 5);
  const { buffer, pairs } = await pairwiseDistancesToGpu(X, n, d, 'correlation', 2.0);
  const onGpu = new Float32Array(await readBuffer(device, buffer, pairs * 4));
  buffer.destroy();
  assert.deepEqual(onGpu, await pairwiseDistances(X, n, d, 'correlation', 2.0));
});
