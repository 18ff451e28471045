/** NumPy's legacy RandomState and scikit-learn's train_test_split, against scripts/reference/numpy_split_reference.py. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { MT19937, RandomState } from '../../src/util/mt19937.js';
import { trainTestSplit } from '../../src/data/splits.js';
import { SmftError } from '../../src/util/errors.js';
import { readJson } from '../helpers/golden.js';

interface Golden {
  raw: Array<{ seed: number; first: number[]; around624: number[]; around1248: number[] }>;
  permutations: Array<{ n: number; seed: number; perm: number[] }>;
  train_test_split: Array<{ n: number; test_size: number; seed: number; train: number[]; test: number[] }>;
}
const G = readJson<Golden>(join(import.meta.dirname, '..', 'fixtures', 'split', 'golden.json'));

test('MT19937 with legacy integer seeding gives NumPy RandomState raw outputs, across regenerations', () => {
  for (const r of G.raw) {
    const mt = new MT19937(r.seed);
    const out = Array.from({ length: 1252 }, () => mt.nextUint32());
    assert.deepEqual(out.slice(0, 8), r.first, `seed ${r.seed}`);
    assert.deepEqual(out.slice(620, 630), r.around624, `seed ${r.seed}`);
    assert.deepEqual(out.slice(1244, 1252), r.around1248, `seed ${r.seed}`);
  }
});

test('RandomState.permutation equals numpy.random.RandomState(seed).permutation(n)', () => {
  assert.ok(G.permutations.length >= 10);
  for (const p of G.permutations) assert.deepEqual(Array.from(new RandomState(p.seed).permutation(p.n)), p.perm, `n ${p.n}, seed ${p.seed}`);
});

test("trainTestSplit reproduces scikit-learn's index sets, including ceil of an inexact test_size·n", () => {
  for (const s of G.train_test_split) {
    const r = trainTestSplit(s.n, s.test_size, s.seed);
    assert.deepEqual(Array.from(r.test), s.test, `n ${s.n}, test_size ${s.test_size}`);
    assert.deepEqual(Array.from(r.train), s.train, `n ${s.n}, test_size ${s.test_size}`);
  }
  // 0.07 · 100 = 7.000000000000001 in binary, so sklearn's ceil takes 8.
  assert.equal(trainTestSplit(100, 0.07, 2).test.length, 8);
});

test('bad seeds and sizes are errors', () => {
  for (const s of [-1, 2 ** 32, 1.5, NaN]) assert.throws(() => new RandomState(s), SmftError, String(s));
  for (const t of [0, 1, -0.2, 1.5]) assert.throws(() => trainTestSplit(10, t, 0), SmftError, String(t));
  assert.throws(() => trainTestSplit(1, 0.5, 0), /train set would be empty/);
});
