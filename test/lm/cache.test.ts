import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { BACKENDS, PREFIX_CASE, fixture, relErr, useBackend } from './helpers.js';
import { loadModel, type LoadedModel } from '../../src/lm/load.js';
import { disposeCache } from '../../src/lm/model.js';

const TOL = 1e-4;

for (const backend of BACKENDS) {
  for (const name of ['tiny-llama', 'tiny-qwen2']) {
    describe(`KV cache ${name} on ${backend}`, () => {
      let lm: LoadedModel;
      before(async () => {
        await useBackend(backend);
        lm = await loadModel(fixture(name), { tokenizer: false });
      });
      after(() => lm.model.dispose());

      test('incremental decoding with a cache equals the full forward', () => {
        const ids = [3, 141, 59, 265, 35, 89, 79, 323, 84];
        const full = lm.model.forward([ids], { outputHiddenStates: true });
        const a = lm.model.forward([ids.slice(0, 5)], { useCache: true });
        const b = lm.model.forward([ids.slice(5, 7)], { pastKeyValues: a.pastKeyValues, useCache: true });
        const c = lm.model.forward([ids.slice(7)], { pastKeyValues: b.pastKeyValues, outputHiddenStates: true });
        const f = full.logits!.arraySync()[0];
        const parts = [...a.logits!.arraySync()[0], ...b.logits!.arraySync()[0], ...c.logits!.arraySync()[0]];
        for (let i = 0; i < ids.length; i++) assert.ok(relErr(parts[i], f[i]) < TOL, `position ${i}`);
        for (let l = 0; l <= lm.config.numLayers; l++) {
          const h = full.hiddenStates![l].arraySync()[0].slice(7);
          const hc = c.hiddenStates![l].arraySync()[0];
          assert.ok(relErr(hc.flat(), h.flat()) < TOL, `hidden state ${l}`);
        }
        disposeCache(a.pastKeyValues);
        disposeCache(b.pastKeyValues);
        tf.dispose([full, a, b, c] as unknown as tf.TensorContainer);
      });

      test('a batch-1 prefix cache broadcast over right-padded suffixes equals uncached prompts', () => {
        const { prefix, suffixes, ids, attentionMask, positionIds, logitsAt, tokenIds: digits } = PREFIX_CASE;
        const before = tf.memory().numTensors;
        const pre = lm.model.forward([prefix], { useCache: true, logits: 'none' });
        const cached = lm.model.forward(ids, { pastKeyValues: pre.pastKeyValues, attentionMask, positionIds, logitsAt, logitsTokenIds: digits });
        const got = cached.logits!.arraySync();
        for (let i = 0; i < suffixes.length; i++) {
          const full = lm.model.forward([[...prefix, ...suffixes[i]]], { logitsAt: [prefix.length + suffixes[i].length - 1] });
          const want = digits.map((d) => full.logits!.arraySync()[0][0][d]);
          assert.ok(relErr(got[i][0], want) < TOL, `suffix ${i}: ${got[i][0]} vs ${want}`);
          full.logits!.dispose();
        }
        disposeCache(pre.pastKeyValues);
        cached.logits!.dispose();
        assert.equal(tf.memory().numTensors, before, 'leaked tensors');
      });
    });
  }
}

test('gradients flow through the model and a LoRA-style adapter', async () => {
  await useBackend('cpu');
  const lm = await loadModel(fixture('tiny-qwen2'), { tokenizer: false });
  const name = 'model.layers.1.self_attn.q_proj';
  const { kernel } = lm.model.linearWeights(name);
  const [inDim, outDim] = kernel.shape;
  const A = tf.variable(tf.randomNormal([inDim, 2], 0, 0.1, 'float32', 1));
  const B = tf.variable(tf.zeros([2, outDim]));
  lm.model.setAdapter(name, (x, y) => tf.add(y, tf.matMul(tf.matMul(x, A), B)));
  const { value, grads } = tf.variableGrads(() => {
    const out = lm.model.forward([[5, 6, 7, 8]], { logitsAt: [3], logitsTokenIds: [48, 49, 50, 51, 52, 53] });
    return tf.sum(tf.logSoftmax(out.logits!)).neg() as tf.Scalar;
  }, [A, B]);
  assert.ok(Number.isFinite(value.dataSync()[0]));
  const gB = grads[B.name].abs().sum().dataSync()[0];
  assert.ok(gB > 0, 'gradient reaches the adapter');
  assert.equal(lm.model.linearNames().length, lm.config.numLayers * 7);
  lm.model.setAdapter(name, undefined);
  tf.dispose([value, A, B, ...Object.values(grads)]);
  lm.model.dispose();
});
