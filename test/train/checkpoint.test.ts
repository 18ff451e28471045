/**
 * Head checkpoints: round trip (weights, config, metrics, predictions), and clear errors for
 * truncated, corrupt or mismatched checkpoints; `predictRatings` on word lists.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { SmftError } from '../../src/util/errors.js';
import { trainRegressionHead } from '../../src/train/regression.js';
import { HEAD_CONFIG, HEAD_METRICS, HEAD_WEIGHTS, loadHeadCheckpoint, type HeadCheckpointConfig } from '../../src/train/checkpoint.js';
import { predictRatings } from '../../src/train/predict.js';
import { linearTask } from './synthetic.js';
import { MARKER, readMarker } from '../../src/util/marker.js';

let tmp = '';
let dir = '';
const task = linearTask({ n: 120, nTest: 10, dim: 6, k: 3, noise: 0.1, seed: 3 });

before(async () => {
  await tf.setBackend('cpu');
  tmp = mkdtempSync(join(tmpdir(), 'smft-ckpt-'));
  dir = join(tmp, 'head');
  const r = await trainRegressionHead(task, { epochs: 8, batchSize: 16, lr: 1e-2, hidden: 4, valFraction: 0.2, seed: 9 }, { out: dir, provenance: { note: 'test' } });
  r.head.dispose();
});
after(() => { rmSync(tmp, { recursive: true, force: true }); });

/** A copy of the good checkpoint to break. */
function copy(name: string): string {
  const d = join(tmp, name);
  cpSync(dir, d, { recursive: true });
  return d;
}

const isSmft = (re: RegExp) => (e: unknown): boolean => e instanceof SmftError && re.test(e.message);

describe('head checkpoint', () => {
  test('round trip: files, config, metrics and identical predictions', async () => {
    assert.deepEqual(readdirSync(dir).sort(), [HEAD_CONFIG, HEAD_WEIGHTS, HEAD_METRICS, MARKER].sort());
    assert.equal(readMarker(dir)?.kind, 'head');
    assert.deepEqual(readdirSync(tmp).filter((f) => f.startsWith('.')), [], 'no temp folders left behind');
    const { head, config, metrics } = loadHeadCheckpoint(dir, { kind: 'regression', featureDim: 6, dimensions: ['d0', 'd1', 'd2'], featureSource: 'synthetic' });
    assert.equal(config.kind, 'regression');
    assert.deepEqual(config.arch, { kind: 'regression', inputDim: 6, outputDim: 3, hidden: 4, activation: 'gelu', dropout: 0 });
    assert.equal(config.seed, 9);
    assert.equal(config.hyper.lr, 1e-2);
    assert.deepEqual(config.provenance, { note: 'test' });
    assert.equal(metrics.length, 8);
    assert.equal(metrics[7].epoch, 8);
    assert.equal(config.epoch, metrics.reduce((b, m) => (m.valLoss! < b.valLoss! - 1e-4 ? m : b)).epoch);
    // Retrain with the same seed: the saved weights are exactly the trained ones.
    const again = await trainRegressionHead(task, { epochs: 8, batchSize: 16, lr: 1e-2, hidden: 4, valFraction: 0.2, seed: 9 });
    assert.deepEqual(head.weights(), again.head.weights());
    const a = predictRatings(head, config, task.test.features, { clamp: false });
    assert.deepEqual(Array.from(a.values), Array.from(again.head.predictRatings(task.test.features.values, 10)));
    head.dispose(); again.head.dispose();
  });

  test('truncated or corrupt weights', () => {
    const d = copy('trunc');
    truncateSync(join(d, HEAD_WEIGHTS), readFileSync(join(d, HEAD_WEIGHTS)).length - 7);
    assert.throws(() => loadHeadCheckpoint(d), isSmft(/truncated safetensors file/));
    const g = copy('garbage');
    writeFileSync(join(g, HEAD_WEIGHTS), 'nonsense');
    assert.throws(() => loadHeadCheckpoint(g), isSmft(/safetensors/));
    const m = copy('noweights');
    rmSync(join(m, HEAD_WEIGHTS));
    assert.throws(() => loadHeadCheckpoint(m), isSmft(/incomplete head checkpoint/));
  });

  test('corrupt or inconsistent config', () => {
    const c = copy('badjson');
    writeFileSync(join(c, HEAD_CONFIG), '{"format": "smft-head", ');
    assert.throws(() => loadHeadCheckpoint(c), isSmft(/corrupt head config/));
    const w = copy('wrongdims');
    const cfg = JSON.parse(readFileSync(join(w, HEAD_CONFIG), 'utf8')) as HeadCheckpointConfig;
    cfg.arch.inputDim = 7; cfg.featureDim = 7;
    writeFileSync(join(w, HEAD_CONFIG), JSON.stringify(cfg));
    assert.throws(() => loadHeadCheckpoint(w), isSmft(/saved for architecture .* but head.json says/));
    const k = copy('wrongk');
    const cfg2 = JSON.parse(readFileSync(join(k, HEAD_CONFIG), 'utf8')) as HeadCheckpointConfig;
    cfg2.dimensions = ['d0', 'd1'];
    writeFileSync(join(k, HEAD_CONFIG), JSON.stringify(cfg2));
    assert.throws(() => loadHeadCheckpoint(k), isSmft(/lists 2 dimensions for 3 outputs/));
    assert.throws(() => loadHeadCheckpoint(join(tmp, 'nothing')), isSmft(/no such head checkpoint folder/));
    assert.ok(!existsSync(join(tmp, 'nothing')));
  });

  test('a head that does not fit the features or dimensions', () => {
    assert.throws(() => loadHeadCheckpoint(dir, { featureDim: 100 }), isSmft(/takes 6-d features \(synthetic\), the features given are 100-d/));
    assert.throws(() => loadHeadCheckpoint(dir, { kind: 'qa' }), isSmft(/a qa head is needed/));
    assert.throws(() => loadHeadCheckpoint(dir, { dimensions: ['auditory', 'gustatory', 'haptic'] }), isSmft(/predicts \[d0, d1, d2\]/));
    assert.throws(() => loadHeadCheckpoint(dir, { featureSource: 'glove-6b-100d' }), isSmft(/trained on features 'synthetic'/));
  });

  test('predictRatings: word order, NaN rows for missing words, clamping, source and size checks', () => {
    const { head, config } = loadHeadCheckpoint(dir);
    const f = task.test.features;
    const r = predictRatings(head, config, f, { words: ['T3', 'nope', 't0'], clamp: false });
    assert.deepEqual(r.words, ['T3', 'nope', 't0']);
    assert.deepEqual(r.missing, ['nope']);
    assert.ok(r.values.subarray(3, 6).every((v) => Number.isNaN(v)));
    const all = predictRatings(head, config, f, { clamp: false });
    assert.deepEqual(Array.from(r.values.subarray(0, 3)), Array.from(all.values.subarray(9, 12)));
    // Extreme features push predictions outside 0–5; clamping keeps the norms' range.
    const wild = { ...f, values: f.values.map((v) => v * 100) };
    const clamped = predictRatings(head, config, wild);
    assert.ok(clamped.values.every((v) => v >= 0 && v <= 5));
    assert.ok(predictRatings(head, config, wild, { clamp: false }).values.some((v) => v < 0 || v > 5));
    assert.throws(() => predictRatings(head, config, { ...f, source: 'other' }), isSmft(/trained on 'synthetic' features/));
    assert.throws(() => predictRatings(head, config, { ...f, dim: 3, values: new Float32Array(30) }), isSmft(/takes 6-d features/));
    head.dispose();
  });
});
