import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { PREFIX_CASE, assertGolden, fixture, readGolden, relErr, useBackend } from './helpers.js';
import { loadModel, type LoadedModel } from '../../src/lm/load.js';
import { OnnxCausalLM } from '../../src/lm/onnx/session.js';
import { loadTemplates } from '../../src/lm/prompts.js';
import { rateWords, type RatingRow } from '../../src/lm/rate.js';
import { embedWords } from '../../src/lm/embed.js';

const TOL = 1e-4;

for (const name of ['tiny-llama', 'tiny-qwen2', 'tiny-llama-bf16']) {
  describe(`ONNX Runtime engine, ${name}`, () => {
    let lm: LoadedModel;
    let ort: OnnxCausalLM;
    before(async () => {
      await useBackend('cpu');
      lm = await loadModel(fixture(name), { tokenizer: false });
      ort = await OnnxCausalLM.fromModel(lm.model);
    });
    after(async () => {
      await ort.dispose();
      lm.model.dispose();
    });

    for (const c of readGolden(name).cases) {
      test(`${c.name}: logits and hidden states match the NumPy reference`, async () => {
        const out = await ort.forward(c.input_ids, { attentionMask: c.attention_mask, outputHiddenStates: true });
        assertGolden(c, lm.config.vocabSize, out.logits!, out.hiddenStates!, TOL);
      });
    }

    test('a batch-1 prefix cache broadcast over right-padded suffixes equals uncached prompts and TF.js', async () => {
      const { prefix, suffixes, tokenIds: digits } = PREFIX_CASE;
      const pre = await ort.forward([prefix], { useCache: true, logits: 'none' });
      assert.equal(pre.pastKeyValues!.length, prefix.length);
      const got = await ort.selectedLogits(PREFIX_CASE, pre.pastKeyValues);
      assert.equal(got.length, suffixes.length * digits.length);
      for (let i = 0; i < suffixes.length; i++) {
        const full = await ort.forward([[...prefix, ...suffixes[i]]], { logitsAt: [prefix.length + suffixes[i].length - 1] });
        const want = digits.map((d) => full.logits![d]);
        const row = got.subarray(i * 6, i * 6 + 6);
        assert.ok(relErr(row, want) < TOL, `suffix ${i}: ${row} vs ${want}`);
        const tfOut = lm.model.forward([[...prefix, ...suffixes[i]]], { logitsAt: [prefix.length + suffixes[i].length - 1], logitsTokenIds: digits });
        assert.ok(relErr(row, tfOut.logits!.dataSync()) < TOL, `suffix ${i} against TF.js`);
        tf.dispose(tfOut.logits!);
      }
    });
  });
}

test('the ONNX Runtime engine refuses a model with attached adapters', async () => {
  await useBackend('cpu');
  const lm = await loadModel(fixture('tiny-qwen2'), { tokenizer: false });
  lm.model.setAdapter('model.layers.0.self_attn.q_proj', (_x, y) => y);
  await assert.rejects(OnnxCausalLM.fromModel(lm.model), /merge the LoRA checkpoint/);
  lm.model.dispose();
});

test('rateWords on ONNX Runtime (prefix-cached) equals TF.js (uncached) for a chat and a base model', async () => {
  await useBackend('cpu');
  const words = ['ABANDON', 'apple', 'zoë', 'thunder', 'één', 'x'];
  const templates = loadTemplates(undefined, 'en');
  for (const name of ['tiny-qwen2', 'tiny-llama']) {
    const lm = await loadModel(fixture(name));
    const engine = await OnnxCausalLM.fromModel(lm.model);
    try {
      const a = await rateWords(engine, lm.tokenizer, { words, templates, batchSize: 4, progress: false });
      const u = await rateWords(lm.model, lm.tokenizer, { words, templates, batchSize: 3, prefixCache: false, progress: false });
      assert.equal(a.rows.length, words.length * 11);
      assert.ok(a.stats.tokensSaved > 0.5 * a.stats.fullTokens);
      const key = (r: RatingRow): string => `${r.word}|${r.dimension}`;
      const ref = new Map(u.rows.map((r) => [key(r), r]));
      for (const r of a.rows) {
        const s = ref.get(key(r))!;
        assert.ok(Math.abs(r.rating - s.rating) < 1e-4, `${name} ${key(r)}: ${r.rating} vs ${s.rating}`);
        assert.equal(r.argmax, s.argmax);
      }
    } finally {
      await engine.dispose();
      lm.model.dispose();
    }
  }
});

test('embedWords on ONNX Runtime equals TF.js (last-token and word-mean states of every layer)', async () => {
  await useBackend('cpu');
  const lm = await loadModel(fixture('tiny-qwen2'));
  const engine = await OnnxCausalLM.fromModel(lm.model);
  try {
    const words = ['thunder', 'apple', 'één', 'x', 'velvet'];
    const a = await embedWords(engine, lm.tokenizer, { words, batchSize: 2, progress: false });
    const b = await embedWords(lm.model, lm.tokenizer, { words, batchSize: 3, progress: false });
    assert.equal(a.last.length, (lm.config.numLayers + 1) * words.length * lm.config.hiddenSize);
    assert.ok(relErr(a.last, b.last) < TOL, 'last-token states');
    assert.ok(relErr(a.mean, b.mean) < TOL, 'word-mean states');
  } finally {
    await engine.dispose();
    lm.model.dispose();
  }
});
