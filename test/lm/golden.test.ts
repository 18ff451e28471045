import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { BACKENDS, assertGolden, fixture, readGolden, relErr, useBackend } from './helpers.js';
import { loadModel, type LoadedModel } from '../../src/lm/load.js';

const TOL = 1e-4;

for (const backend of BACKENDS) {
  for (const name of ['tiny-llama', 'tiny-qwen2', 'tiny-llama-bf16']) {
    describe(`golden ${name} on ${backend}`, () => {
      let lm: LoadedModel;
      before(async () => {
        await useBackend(backend);
        lm = await loadModel(fixture(name), { tokenizer: false });
        // Tied models build their [hidden, vocab] head kernel on the first full-logits call.
        tf.dispose(lm.model.forward([[1, 2]]).logits!);
      });
      after(() => lm.model.dispose());

      for (const c of readGolden(name).cases) {
        test(`${c.name}: logits and hidden states match the NumPy reference`, () => {
          const before = tf.memory().numTensors;
          const out = lm.model.forward(c.input_ids, { attentionMask: c.attention_mask, outputHiddenStates: true });
          assert.equal(out.hiddenStates!.length, lm.config.numLayers + 1);
          assertGolden(c, lm.config.vocabSize, out.logits!.dataSync(), out.hiddenStates!.map((h) => h.dataSync()), TOL);
          tf.dispose(out as unknown as tf.TensorContainer);
          assert.equal(tf.memory().numTensors, before, 'forward leaked tensors');
        });
      }

      test('left padding gives the same last-token logits as no padding', () => {
        const ids = [[5, 77, 300, 12, 9], [0, 0, 5, 77, 300]];
        const mask = [[1, 1, 1, 1, 1], [0, 0, 1, 1, 1]];
        const out = lm.model.forward(ids, { attentionMask: mask, logitsAt: [2, 4] });
        const single = lm.model.forward([[5, 77, 300]], { logitsAt: [2] });
        const l = out.logits!.arraySync();
        const s = single.logits!.arraySync();
        assert.ok(relErr(l[0][0], s[0][0]) < TOL);
        assert.ok(relErr(l[1][0], s[0][0]) < TOL);
        tf.dispose([out.logits!, single.logits!]);
      });
    });
  }
}
