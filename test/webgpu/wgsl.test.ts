/**
 * CPU-side parts of the WebGPU kernels: index arithmetic shared with the shaders, chunk plans,
 * host preparation of rows and sorted items, resample counts, shader text. No GPU needed.
 */
import './env.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  condIndex, condIndexU32, MAX_N_U32, planRowChunks, pairWords, sortItems, resampleCounts, prepareRows, isSoftwareAdapter,
} from '../../kernels/webgpu/index.js';
import { distanceShader, gatherShader, spearmanBlockSumShader, spearmanLocalScanShader, spearmanRankShader, spearmanReduceShader, spearmanScanBlocksShader } from '../../kernels/webgpu/wgsl.js';

test('condIndex enumerates pairs in SciPy pdist order', () => {
  for (const n of [2, 3, 7, 20]) {
    let o = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) {
      assert.equal(condIndex(i, j, n), o);
      assert.equal(condIndexU32(i, j, n), o);
      o++;
    }
  }
});

test('u32 condensed index arithmetic (as in WGSL) is exact up to MAX_N_U32', () => {
  for (const n of [39707, 65535, MAX_N_U32]) {
    for (const [i, j] of [[0, 1], [1, 2], [n - 3, n - 1], [n - 2, n - 1], [Math.floor(n / 2), n - 1], [Math.floor(n / 3) + 1, Math.floor(n / 3) + 7]]) {
      const exact = Number((BigInt(i) * BigInt(2 * n - i - 1)) / 2n + BigInt(j - i - 1));
      assert.ok(exact < 2 ** 32, `n=${n}: index fits u32`);
      assert.equal(condIndexU32(i, j, n), exact, `n=${n} (${i},${j})`);
    }
  }
  assert.ok((MAX_N_U32 + 1) * MAX_N_U32 / 2 >= 2 ** 32, 'MAX_N_U32 is the largest n');
});

test('row chunks cover every pair once and respect the size cap', () => {
  for (const [n, cap] of [[10, 9], [10, 12], [100, 1000], [1572, 65536], [5, 1]] as const) {
    const chunks = planRowChunks(n, cap);
    assert.equal(chunks[0][0], 0);
    assert.equal(chunks[chunks.length - 1][1], n - 1);
    let total = 0;
    for (let c = 0; c < chunks.length; c++) {
      const [a, b] = chunks[c];
      if (c > 0) assert.equal(a, chunks[c - 1][1]);
      const pairs = condIndex(b - 1, n - 1, n) + 1 - condIndex(a, a + 1, n);
      assert.ok(pairs <= Math.max(cap, n - 1 - a), `chunk ${a}..${b} has ${pairs} pairs`);
      total += pairs;
    }
    assert.equal(total, (n * (n - 1)) / 2);
  }
  assert.deepEqual(planRowChunks(1, 10), []);
});

test('prepareRows: unit rows for cosine, centred unit rows for correlation, degenerate flags', () => {
  const X = new Float64Array([3, 4, 0, 0, 0, 0, 2, 2, 2, 1, 2, 3]); // 4 rows × 3
  const cos = prepareRows(X.subarray(0, 12), 4, 3, 'cosine');
  assert.deepEqual(Array.from(cos.degenerate), [0, 1, 0, 0]);
  assert.ok(Math.abs(cos.rows[0] - 0.6) < 1e-7 && Math.abs(cos.rows[1] - 0.8) < 1e-7);
  const cor = prepareRows(X, 4, 3, 'correlation');
  assert.deepEqual(Array.from(cor.degenerate), [0, 1, 1, 0]);
  const s = Math.SQRT1_2;
  assert.ok(Math.abs(cor.rows[9] + s) < 1e-7 && Math.abs(cor.rows[10]) < 1e-7 && Math.abs(cor.rows[11] - s) < 1e-7);
  assert.equal(cor.kind, 'half_sq_euclidean');
  const euc = prepareRows(X, 4, 3, 'euclidean');
  assert.deepEqual(Array.from(euc.degenerate), [0, 0, 0, 0]);
  assert.equal(euc.kind, 'euclidean');
  assert.throws(() => prepareRows(X, 5, 3, 'cosine'), /expected n·d/);
});

test('pairWords packs (p, q) in condensed order', () => {
  const pq = pairWords(5);
  assert.equal(pq.length, 10);
  assert.equal(pq[condIndex(1, 3, 5)], 1 | (3 << 16));
  assert.equal(pairWords(3)[2], 1 | (2 << 16));
});

test('sortItems: pairs then self-items, ties grouped', () => {
  const { order, gStart, gEnd } = sortItems([0.5, 0, 0.5], [0, 2, 0]); // m = 3, n = 3 → E = 6
  const vals = [0.5, 0, 0.5, 0, 2, 0];
  const sorted = Array.from(order, (e) => vals[e]);
  assert.deepEqual(sorted, [0, 0, 0, 0.5, 0.5, 2]);
  assert.deepEqual(Array.from(gStart), [0, 0, 0, 3, 3, 5]);
  assert.deepEqual(Array.from(gEnd), [2, 2, 2, 4, 4, 5]);
  assert.throws(() => sortItems([NaN], [0, 0]), /NaN/);
});

test('resampleCounts validates indices', () => {
  assert.deepEqual(Array.from(resampleCounts(new Uint32Array([0, 0, 2, 1, 1, 1]), 2, 3, 3)), [2, 0, 1, 0, 3, 0]);
  assert.throws(() => resampleCounts(new Uint32Array([0, 3, 1]), 1, 3, 3), /out of range/);
  assert.throws(() => resampleCounts(new Uint32Array([0, 1]), 1, 3, 3), /expected 1×3/);
});

test('shader sources carry their constants and bindings', () => {
  const s = distanceShader(11, 'euclidean');
  assert.match(s, /const D: u32 = 11u;/);
  assert.match(s, /sqrt\(s\)/);
  assert.match(distanceShader(6, 'half_sq_euclidean'), /0\.5 \* s/);
  assert.throws(() => distanceShader(0, 'euclidean'));
  for (const src of [gatherShader(), spearmanBlockSumShader(), spearmanScanBlocksShader(), spearmanLocalScanShader(), spearmanRankShader(), spearmanReduceShader()]) {
    assert.match(src, /@compute @workgroup_size\(/);
    assert.match(src, /fn main\(/);
  }
});

test('software adapters are recognised', () => {
  assert.ok(isSoftwareAdapter({ vendor: 'mesa', architecture: 'software', device: 'llvmpipe' }));
  assert.ok(isSoftwareAdapter({ vendor: 'google', description: 'SwiftShader Device (Subzero)' }));
  assert.ok(isSoftwareAdapter({ vendor: 'nvidia' }, true));
  assert.ok(!isSoftwareAdapter({ vendor: 'nvidia', architecture: 'hopper', device: '', description: 'NVIDIA H100 80GB HBM3' }));
});
