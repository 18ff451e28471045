/**
 * GPU bootstrap kernels against the obvious computation: resample the rows, recompute each RDM
 * with pdist (copies of a word at distance 0, or the fill for a degenerate vector), Spearman with
 * average ranks. Tolerances: gathered RDMs equal the f32 originals exactly (a gather moves
 * values); ρ within 2e-6 of the f64 reference (f32 sums of exact ranks).
 */
import './env.js';
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { GpuRsaBootstrap, pairwiseDistances, releaseWebGpu, selfDistances, condIndex } from '../../kernels/webgpu/index.js';
import { requireGpu, lcg } from './helpers.js';
import { pdist, resampledRdm, spearman, type Metric } from './reference.js';

after(releaseWebGpu);

const RHO_TOL = 2e-6;

interface Fixture { n: number; d: number; X: Float64Array[]; metric: Metric; fill: number }

/** Human ratings and two "models": one close to the humans, one unrelated; ties, zero rows. */
function fixture(n: number, d: number, metric: Metric, seed: number): Fixture {
  const r = lcg(seed);
  const H = new Float64Array(n * d).map(() => Math.round(r() * 20) / 4);
  const M1 = H.map((v) => Math.round((v + (r() - 0.5) * 2) * 2) / 2);
  const M2 = new Float64Array(n * d).map(() => Math.round(r() * 10) / 2);
  H.fill(0, 0, d); // word 0: zero vector for the humans
  M1.fill(0, 3 * d, 4 * d); // word 3: zero vector for model 1
  M2.fill(1.5, 5 * d, 6 * d); // word 5: constant for model 2
  return { n, d, X: [H, M1, M2], metric, fill: 2.0 };
}

function resamples(B: number, n: number, seed: number): Uint32Array {
  const r = lcg(seed);
  const idx = new Uint32Array(B * n);
  for (let k = 0; k < idx.length; k++) idx[k] = Math.floor(r() * n);
  // Resample 0 draws word 0 (degenerate for the humans) three times, word 3 twice.
  idx.set([0, 0, 0, 3, 3], 0);
  return idx;
}

async function makeBoot(f: Fixture, convention: 'keep' | 'exclude', f64: boolean): Promise<GpuRsaBootstrap> {
  const rdms = f64
    ? f.X.map((X) => Float64Array.from(pdist(X, f.n, f.d, f.metric, f.fill)))
    : await Promise.all(f.X.map((X) => pairwiseDistances(X, f.n, f.d, f.metric, f.fill)));
  return GpuRsaBootstrap.create(f.n, rdms, {
    convention,
    selfDistances: f.X.map((X) => selfDistances(X, f.n, f.d, f.metric, f.fill)),
  });
}

function referenceRho(f: Fixture, idx: Uint32Array, b: number, exclude: boolean): number[] {
  const row = idx.subarray(b * f.n, (b + 1) * f.n);
  const D = f.X.map((X) => resampledRdm(X, f.n, f.d, row, f.metric, f.fill, exclude));
  const keep = D[0].map((v) => !Number.isNaN(v));
  const h = D[0].filter((_, k) => keep[k]);
  return D.slice(1).map((m) => spearman(h, m.filter((_, k) => keep[k])));
}

test('gather reproduces pdist on the resampled rows (keep and exclude)', async () => {
  await requireGpu();
  const f = fixture(30, 11, 'cosine', 1);
  const B = 4;
  const idx = resamples(B, f.n, 2);
  for (const convention of ['keep', 'exclude'] as const) {
    const boot = await makeBoot(f, convention, false);
    const rdm32 = await Promise.all(f.X.map((X) => pairwiseDistances(X, f.n, f.d, f.metric, f.fill)));
    const g = await boot.gather(idx, B);
    const Mp = (f.n * (f.n - 1)) / 2;
    assert.equal(g.length, B * 3 * Mp);
    for (let b = 0; b < B; b++) {
      const row = idx.subarray(b * f.n, (b + 1) * f.n);
      for (let r = 0; r < 3; r++) {
        const ref = resampledRdm(f.X[r], f.n, f.d, row, f.metric, f.fill, convention === 'exclude');
        for (let k = 0; k < Mp; k++) {
          const got = g[(b * 3 + r) * Mp + k];
          if (Number.isNaN(ref[k])) { assert.ok(Number.isNaN(got), `b${b} r${r} k${k}: NaN expected`); continue; }
          assert.ok(Math.abs(got - ref[k]) <= 2e-6 * ref[k] + 2e-7, `b${b} r${r} k${k}: ${got} vs ${ref[k]}`);
        }
      }
    }
    // Copies of word 0 in resample 0: the humans' zero vector gives the fill value; model 2's word 0 gives 0.
    const c01 = condIndex(0, 1, f.n);
    assert.equal(g[(0 * 3 + 0) * Mp + c01], convention === 'keep' ? 2.0 : NaN);
    assert.equal(g[(0 * 3 + 2) * Mp + c01], convention === 'keep' ? 0 : NaN);
    // A pair of distinct words is the original f32 distance, moved bit for bit.
    const p = idx[2], q = idx[5];
    if (p !== q) assert.equal(g[(0 * 3 + 1) * Mp + condIndex(2, 5, f.n)], rdm32[1][condIndex(Math.min(p, q), Math.max(p, q), f.n)]);
    boot.destroy();
  }
});

for (const metric of ['cosine', 'euclidean', 'correlation'] as const) {
  test(`bootstrap Spearman on the GPU equals resample-and-recompute (${metric})`, async () => {
    await requireGpu();
    const f = fixture(45, 11, metric, 3);
    const B = 6;
    const idx = resamples(B, f.n, 4);
    for (const convention of ['keep', 'exclude'] as const) {
      const boot = await makeBoot(f, convention, true);
      const rho = await boot.spearman(idx, B);
      for (let b = 0; b < B; b++) {
        const ref = referenceRho(f, idx, b, convention === 'exclude');
        for (let q = 0; q < 2; q++) {
          const got = rho[b * 2 + q];
          assert.ok(Math.abs(got - ref[q]) <= RHO_TOL, `${convention} b${b} model ${q + 1}: gpu ${got} vs ref ${ref[q]}`);
        }
      }
      boot.destroy();
    }
  });
}

test('Spearman in several GPU batches equals one batch; identity resample gives the plain RSA', async () => {
  await requireGpu();
  const f = fixture(120, 11, 'cosine', 9);
  const B = 11;
  const idx = resamples(B, f.n, 10);
  const rdms = f.X.map((X) => Float64Array.from(pdist(X, f.n, f.d, f.metric, f.fill)));
  const selfs = f.X.map((X) => selfDistances(X, f.n, f.d, f.metric, f.fill));
  const one = await GpuRsaBootstrap.create(f.n, rdms, { selfDistances: selfs });
  const E = (f.n * (f.n - 1)) / 2 + f.n;
  // Batches of 4 resamples, partial sums read back every 8: flushes of 8, 3 (batches 4+4, 3).
  const small = await GpuRsaBootstrap.create(f.n, rdms, { selfDistances: selfs, maxBatchBytes: 3 * E * 4 * 4, flushResamples: 8 });
  assert.equal(small.spearmanBatchSize(), 4);
  const a = await one.spearman(idx, B);
  const b = await small.spearman(idx, B);
  for (let k = 0; k < a.length; k++) assert.ok(Math.abs(a[k] - b[k]) < 1e-12, `batching changed ρ at ${k}`);
  const identity = Uint32Array.from({ length: f.n }, (_, i) => i);
  const rsa = await one.spearman(identity, 1);
  for (let q = 0; q < 2; q++) assert.ok(Math.abs(rsa[q] - spearman(Array.from(rdms[0]), Array.from(rdms[q + 1]))) <= RHO_TOL);
  one.destroy();
  small.destroy();
});
