import { test } from 'node:test';
import assert from 'node:assert/strict';
import { condensedRdm, degenerateRows, type Metric } from '../../kernels/cpu/rdm.js';
import { spearman } from '../../kernels/cpu/correlate.js';
import { BootstrapKernel, countsOf, prepareRdm, type DuplicateConvention } from '../../kernels/cpu/bootstrap.js';
import { exactRho } from '../../kernels/cpu/bootstrap-exact.js';
import { Rng } from '../../src/util/rng.js';
import { zscoreColumns } from '../../src/eval/rdm.js';

/** Brute force: materialise the resampled rows, recompute RDMs, spearman. */
function bruteForce(Xs: Float64Array[], n: number, d: number, idx: number[], metric: Metric, fill: number, conv: DuplicateConvention): number[] {
  const rdms = Xs.map((X) => {
    const R = new Float64Array(idx.length * d);
    idx.forEach((src, r) => { for (let k = 0; k < d; k++) R[r * d + k] = X[src * d + k]; });
    const D = condensedRdm(R, idx.length, d, metric, fill);
    const deg = degenerateRows(X, n, d, metric);
    const keep: number[] = [];
    let o = 0;
    for (let a = 0; a < idx.length; a++) for (let b = a + 1; b < idx.length; b++, o++) {
      if (idx[a] === idx[b]) {
        if (conv === 'exclude') continue;
        D[o] = deg[idx[a]] ? fill : 0;
      }
      keep.push(o);
    }
    return Float64Array.from(keep, (k) => D[k]);
  });
  return rdms.slice(1).map((m) => spearman(rdms[0], m));
}

function dataset(rng: Rng, n: number, d: number, integer: boolean, sources: number): Float64Array[] {
  const base = Array.from({ length: n * d }, () => rng.next() * 5);
  return Array.from({ length: sources }, (_, s) => {
    const X = new Float64Array(n * d);
    for (let t = 0; t < n * d; t++) {
      const v = s === 0 ? base[t] : base[t] + rng.normal() * 1.5;
      X[t] = integer ? Math.max(0, Math.min(5, Math.round(v))) : v;
    }
    return zscoreColumns(X, n, d);
  });
}

for (const metric of ['cosine', 'euclidean', 'correlation'] as Metric[]) {
  for (const conv of ['keep', 'exclude'] as DuplicateConvention[]) {
    for (const integer of [false, true]) {
      test(`weighted-rank bootstrap equals brute-force resampling (${metric}, ${conv}, ${integer ? 'tied integer' : 'continuous'} ratings)`, () => {
        const rng = new Rng(42);
        const n = 37, d = 4;
        const Xs = dataset(rng, n, d, integer, 3);
        if (integer) {
          // one word equal to the column means → zero z-vector (degenerate for cosine)
          for (const X of Xs) for (let k = 0; k < d; k++) X[5 * d + k] = 0;
        }
        const fill = 2;
        const prepared = Xs.map((X) => {
          const deg = degenerateRows(X, n, d, metric);
          const self = Float64Array.from(deg, (g) => (g ? fill : 0));
          return prepareRdm(condensedRdm(X, n, d, metric, fill), n, self);
        });
        const kernel = new BootstrapKernel(prepared[0], prepared.slice(1));
        // A full batch of 4 and partial batches, resamples of different shapes side by side.
        for (const size of [4, 3, 1]) {
          const idxs = Array.from({ length: size }, (_, r) => {
            const idx = Array.from({ length: n }, () => rng.int(n));
            if (integer && r % 2 === 0) idx[0] = idx[1] = idx[2] = 5; // copies of the degenerate word
            return idx;
          });
          const got = kernel.rhoBatch(idxs.map((idx) => countsOf(idx, n)), conv);
          idxs.forEach((idx, r) => {
            const want = bruteForce(Xs, n, d, idx, metric, fill, conv);
            for (let q = 0; q < want.length; q++) assert.ok(Math.abs(got[r][q] - want[q]) < 1e-12, `batch ${size} resample ${r} model ${q}: ${got[r][q]} vs ${want[q]}`);
          });
        }
      });
    }
  }
}

test('the float64 one-resample path equals brute-force resampling, and takes over where i32 lanes could overflow', () => {
  const rng = new Rng(3);
  for (const [n, heavy] of [[29, 0], [400, 300]] as const) {
    const d = 3, fill = 2, metric: Metric = 'cosine';
    const Xs = dataset(rng, n, d, true, 3);
    for (const X of Xs) for (let k = 0; k < d; k++) X[2 * d + k] = 0;
    const prepared = Xs.map((X) => prepareRdm(condensedRdm(X, n, d, metric, fill), n, Float64Array.from(degenerateRows(X, n, d, metric), (g) => (g ? fill : 0))));
    const kernel = new BootstrapKernel(prepared[0], prepared.slice(1));
    for (const conv of ['keep', 'exclude'] as DuplicateConvention[]) {
      const idx = Array.from({ length: n }, () => rng.int(n));
      // heavy: one word drawn `heavy` times, so weight × rank exceeds 2^31 in the SIMD lanes
      for (let k = 0; k < heavy; k++) idx[k] = 2;
      const c = countsOf(idx, n);
      const want = bruteForce(Xs, n, d, idx, metric, fill, conv);
      const exact = exactRho(prepared[0], prepared.slice(1), c, conv);
      const simd = kernel.rho(c, conv);
      want.forEach((w, q) => {
        assert.ok(Math.abs(exact[q] - w) < 1e-12, `n=${n} ${conv} model ${q}: exact ${exact[q]} vs brute force ${w}`);
        assert.ok(Math.abs(simd[q] - w) < 1e-12, `n=${n} ${conv} model ${q}: kernel ${simd[q]} vs brute force ${w}`);
      });
    }
  }
});
