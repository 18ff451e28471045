/**
 * QA head: learns a synthetic multiple-choice task (the question's features point at the
 * correct option's), from chance to high held-out accuracy; QA file checks; checkpoint kind.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/util/rng.js';
import { SmftError } from '../../src/util/errors.js';
import { Head } from '../../src/train/head.js';
import { evaluateQa, readQaItems, trainQaHead, type QaData } from '../../src/train/qa.js';
import { loadHeadCheckpoint } from '../../src/train/checkpoint.js';
import { testDataDir } from '../helpers/data.js';

let tmp = '';
before(async () => { await tf.setBackend('cpu'); tmp = mkdtempSync(join(tmpdir(), 'smft-qa-')); });
after(() => { rmSync(tmp, { recursive: true, force: true }); });

function synthetic(n: number, D: number, seed: number): QaData {
  const rng = new Rng(seed);
  const question = new Float32Array(n * D);
  const options = new Float32Array(n * 4 * D);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < 4 * D; j++) options[i * 4 * D + j] = rng.normal();
    labels[i] = rng.int(4);
    for (let d = 0; d < D; d++) question[i * D + d] = options[(i * 4 + labels[i]) * D + d] + 0.5 * rng.normal();
  }
  return { ids: Array.from({ length: n }, (_, i) => i), dim: D, question, options, labels, source: 'synthetic' };
}

describe('QA head', () => {
  test('learns a synthetic task: held-out accuracy far above chance', async () => {
    const train = synthetic(300, 8, 1);
    const test = synthetic(200, 8, 2);
    const fresh = Head.init({ kind: 'qa', inputDim: 8, outputDim: 4, hidden: 8, activation: 'gelu', dropout: 0 }, 4);
    const before = evaluateQa(fresh, test).accuracy;
    fresh.dispose();
    const out = join(tmp, 'qa');
    const r = await trainQaHead(train, { rank: 8, dropout: 0, epochs: 40, lr: 1e-2, seed: 4, patience: 10 }, { out });
    const after = evaluateQa(r.head, test);
    assert.ok(before < 0.45, `untrained accuracy ${before}`);
    assert.ok(after.accuracy > 0.8, `trained accuracy ${after.accuracy}`);
    assert.equal(after.n, 200);
    assert.equal(after.predictions.length, 200);
    const h = r.fit.history;
    assert.ok(h[h.length - 1].loss < h[0].loss / 2);
    const { head, config } = loadHeadCheckpoint(out, { kind: 'qa' });
    assert.deepEqual(config.dimensions, ['A', 'B', 'C', 'D']);
    assert.equal(evaluateQa(head, test).accuracy, after.accuracy);
    assert.throws(() => loadHeadCheckpoint(out, { kind: 'regression' }), /a regression head is needed/);
    head.dispose(); r.head.dispose();
  });

  test('full bilinear (rank 0) also learns', async () => {
    const r = await trainQaHead(synthetic(300, 6, 5), { rank: 0, dropout: 0, epochs: 30, lr: 1e-2, patience: 10 });
    assert.ok(evaluateQa(r.head, synthetic(200, 6, 6)).accuracy > 0.8);
    r.head.dispose();
  });

  test('QA files: the paper\'s items parse; broken items are clear errors', () => {
    const items = readQaItems(join(testDataDir(), 'paper', 'qa_train_840.json'));
    assert.equal(items.length, 840);
    assert.ok(items.every((x) => ['A', 'B', 'C', 'D'].includes(x.correct_option)));
    const bad = join(tmp, 'bad.json');
    writeFileSync(bad, JSON.stringify([{ index: 1, question: 'q', options: { A: 'a', B: 'b', C: 'c' }, correct_option: 'A' }]));
    assert.throws(() => readQaItems(bad), (e: unknown) => e instanceof SmftError && /item 0.*lacks option D/.test(e.message));
    writeFileSync(bad, JSON.stringify([{ index: 1, question: 'q', options: { A: 'a', B: 'b', C: 'c', D: 'd' }, correct_option: 'E' }]));
    assert.throws(() => readQaItems(bad), /correct_option "E" is not one of A–D/);
    writeFileSync(bad, '{');
    assert.throws(() => readQaItems(bad), /cannot read QA items/);
  });
});
