import { test } from 'node:test';
import assert from 'node:assert/strict';
import { argsortFloat64 } from '../../kernels/cpu/argsort.js';
import { averageRanks } from '../../kernels/cpu/ranks.js';
import { Rng } from '../../src/util/rng.js';

function reference(v: Float64Array): number[] {
  return Array.from(v.keys()).sort((a, b) => v[a] - v[b] || a - b);
}

test('radix argsort equals a stable comparison sort: negatives, ties, near-equal values, zeros', () => {
  const rng = new Rng(11);
  const v = new Float64Array(20000);
  for (let i = 0; i < v.length; i++) {
    const k = i % 5;
    v[i] = k === 0 ? Math.round(rng.next() * 10) / 10 // many exact ties
      : k === 1 ? 1 + rng.next() * 1e-9 // equal high words, different low words
      : k === 2 ? -rng.next() // negatives
      : k === 3 ? (rng.next() < 0.5 ? 0 : -0)
      : rng.next() * 2;
  }
  assert.deepEqual(Array.from(argsortFloat64(v)), reference(v));
});

test('average ranks give ties the mean of their positions (as scipy.stats.rankdata)', () => {
  assert.deepEqual(Array.from(averageRanks(Float64Array.of(3, 1, 3, 2, 3))), [4, 1, 4, 2, 4]);
});
