/**
 * Gradient checkpointing in the LoRA forward pass (CausalLM ForwardOptions.checkpoint): the loss
 * and every LoRA gradient equal those of the ordinary backward pass, with and without dropout,
 * on cpu and wasm; the recomputation really draws the dropout masks again (a changed seed
 * shows up in the gradients, so the comparison can fail); the forward pass keeps far less
 * memory for the backward pass; and training with checkpointing gives the same weights as
 * without, also when a run is resumed with the other setting.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { BACKENDS, fixture, useBackend } from '../lm/helpers.js';
import { SOUND_TEMPLATES, randomizeB } from './lora-helpers.js';
import { loadModel, type LoadedModel } from '../../src/lm/load.js';
import { parseConfig } from '../../src/lm/config.js';
import { randomModel } from '../../src/lm/random.js';
import {
  LoraAdapters, RatingObjective, resolveLoraConfig, trainLora, resolveTrainConfig,
  type LoraTrainConfig, type RatingExample,
} from '../../src/train/lora/index.js';

let tmp: string;
before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'smft-ckpt-'));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

const templates = SOUND_TEMPLATES;
const WORDS: RatingExample[] = [
  { word: 'bell tower', dimension: 'auditory', mean: 4.2 }, { word: 'moss', dimension: 'auditory', mean: 0.7 },
  { word: 'drum', dimension: 'auditory', mean: 3.1 }, { word: 'quiet library', dimension: 'auditory', mean: 1.4 },
];

/** max |a − b| / max |b|. */
function rel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let d = 0, m = 0;
  for (let i = 0; i < a.length; i++) { d = Math.max(d, Math.abs(a[i] - b[i])); m = Math.max(m, Math.abs(b[i])); }
  return m === 0 ? d : d / m;
}

interface Grads { loss: number; grads: Float32Array[] }

/**
 * Loss and LoRA gradients of the rating loss with dropout seed `seed`; `between` runs after the
 * forward pass and before the backward pass.
 */
function lossAndGrads(lm: LoadedModel, a: LoraAdapters, obj: RatingObjective, checkpoint: boolean, seed: number, between?: () => void): Grads {
  lm.model.gradientCheckpointing = checkpoint;
  a.training = true;
  a.dropoutSeed = seed;
  try {
    const vars = a.variables();
    const { value, grads } = tf.variableGrads(() => {
      const l = obj.lossSum(Int32Array.from(WORDS.keys()));
      between?.();
      return l;
    }, vars);
    const out = { loss: value.dataSync()[0], grads: vars.map((v) => Float32Array.from(grads[v.name].dataSync())) };
    value.dispose();
    Object.values(grads).forEach((g) => g.dispose());
    return out;
  } finally {
    lm.model.gradientCheckpointing = false;
    a.training = false;
  }
}

for (const backend of BACKENDS) {
  for (const name of ['tiny-qwen2', 'tiny-llama']) {
    test(`${backend}, ${name}: loss and every LoRA gradient are the same with checkpointing, with and without dropout`, async () => {
      await useBackend(backend);
      const lm = await loadModel(fixture(name));
      const obj = new RatingObjective(lm.model, lm.tokenizer, WORDS, { templates, loss: 'ce-gaussian' });
      const n0 = tf.memory().numTensors;
      try {
        assert.equal(lm.model.config.numLayers, 2);
        for (const dropout of [0.3, 0]) {
          const a = LoraAdapters.init(lm.model, resolveLoraConfig({ r: 4, alpha: 8, dropout }), 5);
          randomizeB(a, 6, 0.3);
          a.attach(lm.model, { frozenGradHooks: true });
          try {
            const ref = lossAndGrads(lm, a, obj, false, 1234);
            const ck = lossAndGrads(lm, a, obj, true, 1234);
            assert.ok(Number.isFinite(ref.loss) && ref.loss > 0);
            assert.ok(Math.abs(ck.loss - ref.loss) <= 1e-5 * Math.abs(ref.loss), `dropout ${dropout}: loss ${ck.loss} vs ${ref.loss}`);
            assert.equal(ck.grads.length, 2 * 7 * 2);
            ck.grads.forEach((g, k) => {
              assert.ok(ref.grads[k].some((x) => x !== 0), `${a.variables()[k].name}: reference gradient is zero`);
              const r = rel(g, ref.grads[k]);
              assert.ok(r <= 1e-5, `dropout ${dropout}, ${a.variables()[k].name}: relative difference ${r}`);
            });
            if (dropout > 0) {
              // Another seed gives other masks and other gradients: the comparison above would see
              // a recomputation that drew other masks than the forward pass.
              const other = lossAndGrads(lm, a, obj, false, 999);
              assert.ok(Math.max(...other.grads.map((g, k) => rel(g, ref.grads[k]))) > 1e-2);
              // Changing the seed between the forward and the backward pass changes the masks of the
              // recomputation only: the checkpointed gradients then differ from the reference.
              const moved = lossAndGrads(lm, a, obj, true, 1234, () => { a.dropoutSeed = 999; });
              assert.equal(moved.loss, ck.loss);
              assert.ok(Math.max(...moved.grads.map((g, k) => rel(g, ref.grads[k]))) > 1e-2, 'the recomputation redraws the dropout masks');
            }
          } finally {
            a.dispose();
          }
        }
        assert.equal(tf.memory().numTensors, n0, 'no tensors leak');
      } finally {
        obj.dispose();
        lm.model.dispose();
      }
    });
  }
}

test('cpu: layers with and without adapters, explicit option, useCache refused; the forward pass keeps far less for the backward pass', async () => {
  await useBackend('cpu');
  const cfg = parseConfig({
    architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', hidden_size: 64, intermediate_size: 256, num_hidden_layers: 6,
    num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 300, rms_norm_eps: 1e-6, rope_theta: 10000,
    max_position_embeddings: 128, tie_word_embeddings: true, hidden_act: 'silu',
  });
  const model = randomModel(cfg, 3);
  // Adapters on layers 1 and 4 only: layer 0 needs no backward pass, layers 2–3 and 5 pass it on.
  const a = LoraAdapters.init(model, resolveLoraConfig({ r: 2, alpha: 4, dropout: 0.1, layers: [1, 4], targetModules: ['v_proj', 'up_proj'] }), 1);
  randomizeB(a, 2, 0.3);
  a.attach(model, { frozenGradHooks: true });
  a.training = true;
  a.dropoutSeed = 77;
  const rows = Array.from({ length: 4 }, (_, r) => Array.from({ length: 20 - 3 * r }, (_, j) => (r * 37 + j * 11) % 300));
  const w = tf.tensor2d(Array.from({ length: 64 * 3 }, (_, i) => Math.sin(i)), [64, 3]);
  const ids = rows.map((r) => [...r, ...new Array<number>(20 - r.length).fill(0)]);
  const mask = rows.map((r) => [...r.map(() => 1), ...new Array<number>(20 - r.length).fill(0)]);
  try {
    const run = (checkpoint: boolean | undefined): Grads & { keptBytes: number } => {
      const before = tf.memory().numBytes;
      let keptBytes = 0;
      const { value, grads } = tf.variableGrads(() => {
        const l = tf.tidy(() => {
          const out = model.forward(ids, { attentionMask: mask, logits: 'none', outputHiddenStates: true, checkpoint });
          const h = out.hiddenStates![out.hiddenStates!.length - 1];
          return tf.sum(tf.square(tf.matMul(tf.reshape(h, [-1, 64]), w))) as tf.Scalar;
        });
        keptBytes = tf.memory().numBytes - before; // what the tape holds for the backward pass
        return l;
      }, a.variables());
      const out = { loss: value.dataSync()[0], grads: a.variables().map((v) => Float32Array.from(grads[v.name].dataSync())), keptBytes };
      value.dispose();
      Object.values(grads).forEach((g) => g.dispose());
      assert.equal(tf.memory().numBytes, before, 'no tensors leak');
      return out;
    };
    const ref = run(false);
    const ck = run(true);
    assert.ok(Math.abs(ck.loss - ref.loss) <= 1e-5 * Math.abs(ref.loss));
    ck.grads.forEach((g, k) => {
      assert.ok(ref.grads[k].some((x) => x !== 0));
      assert.ok(rel(g, ref.grads[k]) <= 1e-5, `${a.variables()[k].name}: ${rel(g, ref.grads[k])}`);
    });
    assert.ok(ck.keptBytes * 4 < ref.keptBytes, `kept for the backward pass: ${ck.keptBytes} bytes with checkpointing, ${ref.keptBytes} without`);
    // The model-level default, as the trainer sets it, is the same as the option.
    model.gradientCheckpointing = true;
    const dflt = run(undefined);
    model.gradientCheckpointing = false;
    assert.equal(dflt.keptBytes, ck.keptBytes);
    assert.deepEqual(dflt.grads, ck.grads);
    assert.throws(() => model.forward([[1, 2, 3]], { useCache: true, checkpoint: true }), /useCache/);
  } finally {
    w.dispose();
    a.dispose();
    model.dispose();
  }
});

const TRAIN: Partial<LoraTrainConfig> = {
  epochs: 2, batchSize: 2, gradAccumSteps: 2, lr: 5e-3, warmupRatio: 0.2, valFraction: 0, saveEvery: 0, seed: 5,
};

for (const backend of BACKENDS) test(`${backend}: training with checkpointing gives the same losses and weights as without, and resumes across the setting`, async () => {
  await useBackend(backend);
  assert.equal(resolveTrainConfig({}).gradientCheckpointing, 'auto');
  assert.throws(() => resolveTrainConfig({ gradientCheckpointing: 'yes' as unknown as boolean }), /gradientCheckpointing/);
  const lm = await loadModel(fixture('tiny-qwen2'));
  const examples = Array.from({ length: 8 }, (_, i) => ({ ...WORDS[i % 4], word: `${WORDS[i % 4].word} ${'xyzw'[i >> 1]}` }));
  const obj = new RatingObjective(lm.model, lm.tokenizer, examples, { templates, loss: 'ce-interp' });
  const lora = { r: 4, alpha: 8, dropout: 0.2 };
  try {
    const run = (out: string, gradientCheckpointing: boolean, extra: { resume?: boolean; stopAfterStep?: number } = {}): ReturnType<typeof trainLora> =>
      trainLora({ model: lm.model, modelName: 'tiny-qwen2', objective: obj, out: join(tmp, backend, out), lora, train: { ...TRAIN, gradientCheckpointing }, engine: 'tfjs', ...extra });
    const off = await run('off', false);
    off.adapters.dispose();
    const on = await run('on', true);
    on.adapters.dispose();
    assert.equal(off.steps, 4);
    assert.equal(lm.model.gradientCheckpointing, false, 'the trainer leaves the model as it found it');
    const losses = (r: typeof on): number[] => r.history.map((h) => h.loss);
    assert.ok(rel(losses(on), losses(off)) <= 1e-5, `${losses(on)} vs ${losses(off)}`);
    const wOn = readFileSync(join(on.finalDir, 'adapter_model.safetensors'));
    const wOff = readFileSync(join(off.finalDir, 'adapter_model.safetensors'));
    // Same float operations in the same order: on a deterministic backend the weights agree bit for bit.
    assert.ok(wOn.equals(wOff), 'adapter weights differ');

    // Half without, resumed with checkpointing: the setting does not block a resume.
    const half = await run('mixed', false, { stopAfterStep: 2 });
    half.adapters.dispose();
    const rest = await run('mixed', true, { resume: true });
    rest.adapters.dispose();
    assert.equal(rest.steps, 4);
    assert.ok(readFileSync(join(rest.finalDir, 'adapter_model.safetensors')).equals(wOff));
  } finally {
    obj.dispose();
    lm.model.dispose();
  }
});
