import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normsFromTable } from '../../src/data/norms.js';
import { layerwiseRsa } from '../../src/eval/representations.js';
import { Rng } from '../../src/util/rng.js';

test('layer-wise RSA: a layer holding the human ratings scores 1, a random layer about 0', () => {
  const rng = new Rng(5);
  const n = 60;
  const header = ['Word', 'Auditory.mean', 'Gustatory.mean', 'Haptic.mean', 'Interoceptive.mean', 'Olfactory.mean', 'Visual.mean', 'Foot_leg.mean', 'Hand_arm.mean', 'Head.mean', 'Mouth.mean', 'Torso.mean'];
  const rows = Array.from({ length: n }, (_, i) => [`W${i}`, ...Array.from({ length: 11 }, () => (rng.next() * 5).toFixed(3))]);
  const norms = normsFromTable({ file: 'norms.csv', header, rows, line: (r) => r + 2, col: (c) => header.indexOf(c) }, 'en');
  const hidden = 16, layers = 2;
  const data = new Float32Array(layers * n * hidden);
  for (let i = 0; i < n; i++) {
    for (let h = 0; h < hidden; h++) data[(0 * n + i) * hidden + h] = rng.normal();
    // Layer 1: the 11 ratings scaled per unit (z-scoring undoes the scale), rest constant.
    for (let h = 0; h < 11; h++) data[(1 * n + i) * hidden + h] = Number(rows[i][1 + h]) * (h + 1);
  }
  const words = rows.map((r) => r[0].toLowerCase());
  const out = layerwiseRsa({ words, layers, hidden, pooled: { last: data } }, norms, 'en');
  assert.deepEqual(Object.keys(out), ['motor', 'sensory', 'all']);
  const all = out.all;
  assert.equal(all.length, 2);
  assert.ok(Math.abs(all[0].rho) < 0.15, `random layer: ${all[0].rho}`);
  // Layer 1 holds all 11 dimensions: identical RDM for 'all' → ρ = 1 up to float32 rounding.
  assert.ok(all[1].rho > 0.999, `rating layer: ${all[1].rho}`);
  assert.ok(out.motor[1].rho > 0.2 && out.motor[1].rho < all[1].rho, `motor subset sees a mixture: ${out.motor[1].rho}`);
});
