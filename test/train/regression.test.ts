/**
 * Regression head training on a learnable synthetic task (CPU backend): real learning on
 * held-out rows, determinism, gradient accumulation, early stopping with best-weights restore,
 * and the NaN/Inf guard.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { SmftError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';
import { Head } from '../../src/train/head.js';
import { trainRegressionHead } from '../../src/train/regression.js';
import { loadHeadCheckpoint } from '../../src/train/checkpoint.js';
import { linearTask, meanColumnR } from './synthetic.js';

let tmp = '';
before(async () => { await tf.setBackend('cpu'); tmp = mkdtempSync(join(tmpdir(), 'smft-regression-')); });
after(() => { rmSync(tmp, { recursive: true, force: true }); });

const task = linearTask({ n: 300, nTest: 150, dim: 12, k: 3, noise: 0.25, seed: 7 });
const FAST = { epochs: 40, batchSize: 32, lr: 1e-2, patience: 8, valFraction: 0.15 };

describe('regression head', () => {
  test('learns: loss goes down and held-out correlation rises far above the untrained head', async () => {
    const untrained = Head.init({ kind: 'regression', inputDim: 12, outputDim: 3, hidden: 0, activation: 'gelu', dropout: 0 }, 1);
    const before = meanColumnR(untrained.predictRatings(task.test.features.values, 150), task.test.targets, 150, 3);
    untrained.dispose();
    const r = await trainRegressionHead(task, FAST);
    const h = r.fit.history;
    assert.ok(h[h.length - 1].loss < h[0].loss / 4, `loss ${h[0].loss} → ${h[h.length - 1].loss}`);
    const after = meanColumnR(r.head.predictRatings(task.test.features.values, 150), task.test.targets, 150, 3);
    assert.ok(Math.abs(before) < 0.5, `untrained r = ${before}`);
    assert.ok(after > 0.9, `trained r = ${after}`);
    assert.ok((r.config.metrics.valR as number) > 0.9);
    assert.equal(r.split.train.length + r.split.val.length, 300);
    r.head.dispose();
  });

  test('hidden layer with dropout and missing targets also learns', async () => {
    const targets = Float32Array.from(task.targets);
    const rng = new Rng(3);
    for (let i = 0; i < targets.length; i++) if (rng.next() < 0.1) targets[i] = NaN;
    const r = await trainRegressionHead({ ...task, targets }, { ...FAST, hidden: 16, dropout: 0.1, epochs: 60 });
    const after = meanColumnR(r.head.predictRatings(task.test.features.values, 150), task.test.targets, 150, 3);
    assert.ok(after > 0.85, `trained r = ${after}`);
    r.head.dispose();
  });

  test('same seed → identical weights; another seed → different weights', async () => {
    const cfg = { ...FAST, epochs: 6, hidden: 8, dropout: 0.2, seed: 11 };
    const a = await trainRegressionHead(task, cfg);
    const b = await trainRegressionHead(task, cfg);
    const c = await trainRegressionHead(task, { ...cfg, seed: 12 });
    const wa = a.head.weights(), wb = b.head.weights(), wc = c.head.weights();
    for (const k of Object.keys(wa)) assert.deepEqual(wb[k].data, wa[k].data, k);
    assert.notDeepEqual(wc.w1.data, wa.w1.data);
    assert.deepEqual(a.fit.history.map((m) => m.loss), b.fit.history.map((m) => m.loss));
    [a, b, c].forEach((x) => x.head.dispose());
  });

  test('gradient accumulation (8 × 4) matches one batch of 32', async () => {
    const cfg = { ...FAST, epochs: 5, valFraction: 0, patience: 0 };
    const big = await trainRegressionHead(task, { ...cfg, batchSize: 32, gradAccumSteps: 1 });
    const acc = await trainRegressionHead(task, { ...cfg, batchSize: 8, gradAccumSteps: 4 });
    assert.equal(acc.fit.steps, big.fit.steps);
    const a = big.head.weights().w.data, b = acc.head.weights().w.data;
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-4, `w[${i}] ${a[i]} vs ${b[i]}`);
    big.head.dispose(); acc.head.dispose();
  });

  test('early stopping restores the best epoch\'s weights', async () => {
    // Pure-noise targets from many features: validation loss rises after a few epochs.
    const rng = new Rng(5);
    const n = 48, D = 30;
    const features = { words: Array.from({ length: n }, (_, i) => `n${i}`), dim: D, values: Float32Array.from({ length: n * D }, () => rng.normal()), source: 'noise' };
    const targets = Float32Array.from({ length: n }, () => rng.normal() + 2);
    const r = await trainRegressionHead({ features, targets, dimensions: ['d0'] }, { epochs: 60, batchSize: 8, lr: 0.03, weightDecay: 0, patience: 4, valFraction: 0.25, warmupRatio: 0 });
    assert.ok(r.fit.stoppedEarly, 'should stop early');
    assert.ok(r.fit.bestEpoch < r.fit.history.length);
    assert.equal(r.fit.history.length - r.fit.bestEpoch, 4);
    // Validation loss of the final weights = the best epoch's, not the last epoch's.
    const val = r.split.val;
    const xs = new Float32Array(val.length * D);
    val.forEach((row, i) => xs.set(features.values.subarray(row * D, (row + 1) * D), i * D));
    const pred = r.head.predictRatings(xs, val.length);
    const { out_mean: mu, out_std: sd } = r.head.buffers;
    let se = 0;
    val.forEach((row, i) => { se += (((pred[i] - mu[0]) / sd[0]) - ((targets[row] - mu[0]) / sd[0])) ** 2; });
    const best = r.fit.history[r.fit.bestEpoch - 1].valLoss!;
    const last = r.fit.history[r.fit.history.length - 1].valLoss!;
    assert.ok(Math.abs(se / val.length - best) < 1e-4, `restored val loss ${se / val.length} vs best ${best} (last ${last})`);
    assert.ok(last > best);
    r.head.dispose();
  });

  test('NaN/Inf loss stops with a clear error and the last good checkpoint stays', async () => {
    const out = join(tmp, 'guard');
    const good = await trainRegressionHead(task, { ...FAST, epochs: 3 }, { out });
    good.head.dispose();
    const before = loadHeadCheckpoint(out);
    const targets = Float32Array.from(task.targets);
    targets[4] = 1e30; // squared, overflows float32
    await assert.rejects(
      trainRegressionHead({ ...task, targets }, { ...FAST, standardizeTargets: false }, { out }),
      (e: unknown) => e instanceof SmftError && /training diverged: loss is (NaN|Infinity) in epoch 1/.test(e.message),
    );
    const afterLoad = loadHeadCheckpoint(out);
    assert.deepEqual(afterLoad.config, before.config);
    assert.deepEqual(afterLoad.head.weights(), before.head.weights());
    before.head.dispose(); afterLoad.head.dispose();
  });

  test('bad inputs and settings are SmftErrors', async () => {
    await assert.rejects(trainRegressionHead(task, { epochs: 0 }), /epochs=0/);
    await assert.rejects(trainRegressionHead({ ...task, targets: task.targets.subarray(0, 10) }), /targets have 10 values/);
    const values = Float32Array.from(task.features.values);
    values[3] = NaN;
    await assert.rejects(trainRegressionHead({ ...task, features: { ...task.features, values } }), /non-finite value at word 'w0'/);
  });
});
