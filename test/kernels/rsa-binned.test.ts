import { test } from 'node:test';
import assert from 'node:assert/strict';
import { condensedRdm } from '../../kernels/cpu/rdm.js';
import { spearman } from '../../kernels/cpu/correlate.js';
import { BinnedKernel, binnedSource, rowChunks, type BinnedSource } from '../../kernels/cpu/rsa-binned.js';
import { binnedRsa } from '../../src/eval/rsa-large.js';
import { zscoreColumns } from '../../src/eval/rdm.js';
import { Rng } from '../../src/util/rng.js';

function sources(n: number, d: number, seed: number): Float64Array[] {
  const rng = new Rng(seed);
  const base = Float64Array.from({ length: n * d }, () => rng.next() * 5);
  return [0, 1, 2].map((s) => zscoreColumns(base.map((v) => (s === 0 ? v : v + rng.normal() * (s + 0.5))), n, d));
}

for (const metric of ['cosine', 'euclidean', 'correlation'] as const) {
  test(`binned RSA agrees with exact RSA (${metric}) and converges with more bins`, async () => {
    const n = 400, d = 6;
    const Z = sources(n, d, 3);
    const rdms = Z.map((z) => condensedRdm(z, n, d, metric, 2));
    const exact = rdms.slice(1).map((r) => spearman(rdms[0], r));
    const coarse = await binnedRsa(Z, n, d, { metric, fill: 2, bins: 16, threads: 1 });
    const fine = await binnedRsa(Z, n, d, { metric, fill: 2, bins: 512, threads: 2 });
    exact.forEach((e, q) => {
      assert.ok(Math.abs(fine[q] - e) < 2e-5, `512 bins: ${fine[q]} vs exact ${e}`);
      assert.ok(Math.abs(coarse[q] - e) > Math.abs(fine[q] - e), `16 bins (${coarse[q]}) must be further from exact than 512 bins`);
      assert.ok(Math.abs(coarse[q] - e) < 0.02, `16 bins: ${coarse[q]} vs exact ${e}`);
    });
  });
}

test('row chunks cover every row once with balanced pair counts', () => {
  const n = 1000;
  const chunks = rowChunks(n, 16);
  assert.equal(chunks[0][0], 0);
  assert.equal(chunks[chunks.length - 1][1], n);
  for (let k = 1; k < chunks.length; k++) assert.equal(chunks[k][0], chunks[k - 1][1]);
  const pairs = chunks.map(([a, b]) => { let s = 0; for (let i = a; i < b; i++) s += n - 1 - i; return s; });
  assert.ok(Math.max(...pairs) < 1.2 * (n * (n - 1)) / 2 / 16 + n);
});

test('the SIMD pass counts exactly the joint bins of a plain pair loop (odd sizes, zero vectors, every metric)', () => {
  const n = 203, d = 5, B = 32, fill = 2;
  for (const metric of ['cosine', 'euclidean', 'correlation'] as const) {
    const Z = sources(n, d, 11);
    for (const k of [0, 1, 2, 3, 4]) { Z[0][7 * d + k] = 0; Z[2][7 * d + k] = 0; Z[1][200 * d + k] = 0; }
    const src = Z.map((z) => binnedSource(z, n, d, metric, fill, B, 4096));
    const kernel = new BinnedKernel(src, n, d, metric, fill);
    for (const [a, b] of rowChunks(n, 7)) kernel.countRows(a, b);
    // Reference: every pair, its distance summed in dimension order, bin = number of edges ≤ value.
    const dist = (s: BinnedSource, i: number, j: number): number => {
      let acc = 0;
      if (metric === 'euclidean') { for (let k = 0; k < d; k++) { const t = s.rows[i * d + k] - s.rows[j * d + k]; acc += t * t; } return Math.sqrt(acc); }
      if (s.degenerate[i] || s.degenerate[j]) return fill;
      for (let k = 0; k < d; k++) acc += s.rows[i * d + k] * s.rows[j * d + k];
      return 1 - acc;
    };
    const bin = (s: BinnedSource, v: number): number => s.edges.filter((e) => e <= v).length;
    src.slice(1).forEach((m, q) => {
      const want = new Uint32Array(B * B);
      for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) want[bin(src[0], dist(src[0], i, j)) * B + bin(m, dist(m, i, j))]++;
      assert.deepEqual(Array.from(kernel.table(q)), Array.from(want), `${metric}, model ${q}`);
    });
  }
});
