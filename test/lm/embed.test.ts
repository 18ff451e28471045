import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { fixture, relErr, useBackend } from './helpers.js';
import { SmftError } from '../../src/util/errors.js';
import { loadModel, type LoadedModel } from '../../src/lm/load.js';
import { embedWords, saveEmbeddings, loadEmbeddings, wordSpan } from '../../src/lm/embed.js';
import { PromptBuilder } from '../../src/lm/rate.js';

let lm: LoadedModel;
let tmp: string;
before(async () => {
  await useBackend('wasm');
  lm = await loadModel(fixture('tiny-llama'));
  tmp = mkdtempSync(join(tmpdir(), 'smft-embed-'));
});
after(() => {
  lm.model.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

test('word span covers exactly the word tokens', () => {
  const b = new PromptBuilder(lm.tokenizer, { chat: 'never', answerPrefix: '' });
  const { ids, start, end } = wordSpan(b, 'The word "{Word}" here.', 'thunderstorm');
  assert.equal(lm.tokenizer.decode(ids.slice(start, end)), 'thunderstorm');
  assert.equal(lm.tokenizer.decode(ids.slice(0, start)), '<|begin_of_text|>The word "');
});

test('per-layer last-token and word-mean states equal single-prompt forward passes', async () => {
  const words = ['apple', 'thunderstorm', 'één', 'x'];
  const prompt = 'The word "{Word}" here.';
  const e = await embedWords(lm.model, lm.tokenizer, { words, prompt, batchSize: 3, progress: false });
  assert.equal(e.layers, lm.config.numLayers + 1);
  assert.equal(e.last.length, e.layers * words.length * lm.config.hiddenSize);
  const b = new PromptBuilder(lm.tokenizer, { chat: 'never', answerPrefix: '' });
  const h = e.hidden;
  words.forEach((w, i) => {
    const { ids, start, end } = wordSpan(b, prompt, w);
    const out = lm.model.forward([ids], { outputHiddenStates: true, logits: 'none' });
    out.hiddenStates!.forEach((hs, l) => {
      const d = hs.dataSync();
      const o = (l * words.length + i) * h;
      assert.ok(relErr(e.last.subarray(o, o + h), d.subarray((ids.length - 1) * h, ids.length * h)) < 1e-4, `${w} layer ${l} last`);
      const m = new Float32Array(h);
      for (let t = start; t < end; t++) for (let j = 0; j < h; j++) m[j] += d[t * h + j] / (end - start);
      assert.ok(relErr(e.mean.subarray(o, o + h), m) < 1e-4, `${w} layer ${l} mean`);
    });
    tf.dispose(out.hiddenStates!);
  });
  const path = join(tmp, 'emb.safetensors');
  saveEmbeddings(path, e, 'tiny-llama');
  const r = loadEmbeddings(path);
  assert.deepEqual(r.words, words);
  assert.equal(r.model, 'tiny-llama');
  assert.deepEqual(r.last, e.last);
  assert.deepEqual(r.mean, e.mean);
});

test('an embedding prompt without the placeholder is refused', async () => {
  await assert.rejects(embedWords(lm.model, lm.tokenizer, { words: ['a'], prompt: 'no word here', progress: false }), SmftError);
});
