/**
 * The ONNX Runtime LoRA engine (explicit backward graphs) against TF.js autodiff of the same
 * model and objective, on both fixture families (tiny-llama: untied head, no biases;
 * tiny-qwen2: tied head, q/k/v biases; both grouped-query attention): loss and every LoRA
 * gradient with and without dropout, adapters on subsets of modules and layers, the rating
 * losses, the QA objective, a left-padded batch read at several weighted rows with a
 * full-vocabulary cross-entropy, kept and recomputed activations; central finite differences;
 * validation scored by its forward pass; the host dropout masks; a tiny recipe trained on each
 * engine; objectives the graphs cannot express falling back to TF.js.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { fixture, relErr, useBackend } from '../lm/helpers.js';
import { SOUND_TEMPLATES, randomizeB } from './lora-helpers.js';
import { loadModel, type LoadedModel } from '../../src/lm/load.js';
import {
  LoraAdapters, resolveLoraConfig, RatingObjective, QaObjective, PaperTextObjective, TfjsEngine, TfBatchLoss, letterTokenIds, runRecipe, trainLora,
  type LoraConfig, type ObjectiveBatch, type RatingLoss, type TrainObjective,
} from '../../src/train/lora/index.js';
import type { QaItem } from '../../src/train/qa.js';
import { OnnxLoraEngine } from '../../src/train/lora/onnx/engine.js';
import { dropoutMask, dropoutMaskScalar, moduleDropoutSeed } from '../../src/train/lora/dropout.js';
import { testDataDir } from '../helpers/data.js';

const MODELS = ['tiny-llama', 'tiny-qwen2'] as const;
const models = new Map<string, LoadedModel>();

before(async () => {
  await useBackend('cpu');
  for (const m of MODELS) models.set(m, await loadModel(fixture(m)));
});
after(() => {
  for (const m of models.values()) m.model.dispose();
});

const WORDS = [
  { word: 'bell tower', dimension: 'auditory' as const, mean: 4.2 },
  { word: 'moss', dimension: 'auditory' as const, mean: 0.7 },
  { word: 'drum', dimension: 'auditory' as const, mean: 3.1 },
];
const QA_ITEMS: QaItem[] = [
  { index: 1, question: 'Which is loud?', options: { A: 'moss', B: 'drum', C: 'silk', D: 'sand' }, correct_option: 'B' },
  { index: 2, question: 'Which is soft?', options: { A: 'silk', B: 'horn', C: 'bell', D: 'drum' }, correct_option: 'A' },
  { index: 3, question: 'Which can you smell?', options: { A: 'drum', B: 'bell', C: 'horn', D: 'rose' }, correct_option: 'D' },
];
const MCQ = 'Question {index}: {question}\n{options}\nAnswer with one letter.';

/**
 * Fixed token rows, left-padded, each read at its last two positions with row weights, with a
 * cross-entropy on one token per row normalised over the whole vocabulary: the general "token
 * cross-entropy at selected positions" a decimal-text target needs.
 */
class LeftPaddedObjective implements TrainObjective {
  readonly kind = 'left-padded-test';
  private readonly rows = [[11, 40, 93, 7, 302], [5, 88, 17], [60, 61, 62, 63]];
  private readonly tf: TfBatchLoss;
  constructor(model: LoadedModel['model']) {
    this.tf = new TfBatchLoss(model);
  }
  get size(): number { return this.rows.length; }
  group(i: number): string { return String(i); }
  tokens(i: number): number { return this.rows[i].length; }
  batch(idx: Int32Array): ObjectiveBatch {
    const rows = Array.from(idx, (i) => this.rows[i]);
    const t = Math.max(...rows.map((r) => r.length));
    const ids = rows.map((r) => [...new Array<number>(t - r.length).fill(0), ...r]);
    const mask = rows.map((r) => [...new Array<number>(t - r.length).fill(0), ...r.map(() => 1)]);
    const read = rows.flatMap((_, b) => [b * t + t - 2, b * t + t - 1]);
    const tokenIds = [48, 49, 50, 300];
    const targets = new Float32Array(read.length * tokenIds.length);
    read.forEach((_, r) => { targets[r * tokenIds.length + (r % tokenIds.length)] = 1; });
    const weights = Float32Array.from(read, (_, r) => 0.5 + r * 0.25);
    return { ids, mask, rows: read, tokenIds, weights, logZ: true, loss: { kind: 'cross-entropy', targets, normalize: 'vocab' } };
  }
  lossSum(idx: Int32Array): tf.Scalar { return this.tf.lossSum(this.batch(idx)); }
  async evaluate(): Promise<{ loss: number }> { return { loss: 0 }; }
  describe(): Record<string, unknown> { return { kind: this.kind }; }
  dispose(): void { this.tf.dispose(); }
}

interface Case {
  name: string;
  lora: Partial<LoraConfig>;
  objective: (lm: LoadedModel) => TrainObjective & { dispose(): void };
  recompute: boolean;
}

const rating = (loss: RatingLoss, normalize: 'digits' | 'vocab' = 'digits') => (lm: LoadedModel) =>
  new RatingObjective(lm.model, lm.tokenizer, WORDS, { templates: SOUND_TEMPLATES, loss, normalize });

const CASES: Case[] = [
  { name: 'rating ce-interp, every module of every layer, dropout 0.2', lora: { r: 2, alpha: 4, dropout: 0.2 }, objective: rating('ce-interp'), recompute: false },
  {
    name: 'rating mse, q/v/down on layer 1 only, no dropout, recomputed layers',
    lora: { r: 3, alpha: 5, dropout: 0, targetModules: ['q_proj', 'v_proj', 'down_proj'], layers: [1] }, objective: rating('mse'), recompute: true,
  },
  {
    name: 'rating ce-gaussian over the whole vocabulary, o/gate/up on layer 0 only, dropout 0.1',
    lora: { r: 2, alpha: 8, dropout: 0.1, targetModules: ['o_proj', 'gate_proj', 'up_proj'], layers: [0] }, objective: rating('ce-gaussian', 'vocab'), recompute: false,
  },
  {
    name: 'QA letters, k/v/down on both layers, dropout 0.1, recomputed layers',
    lora: { r: 4, alpha: 4, dropout: 0.1, targetModules: ['k_proj', 'v_proj', 'down_proj'] },
    objective: (lm) => new QaObjective(lm.model, lm.tokenizer, QA_ITEMS, { template: MCQ }), recompute: true,
  },
  {
    // The paper's decimal answers (src/train/paper-examples.ts): every answer token a row, 1/length weights.
    name: "the paper's answer texts (teacher-forced answer tokens, whole-vocabulary cross-entropy), v/o/gate, dropout 0.2",
    lora: { r: 2, alpha: 4, dropout: 0.2, targetModules: ['v_proj', 'o_proj', 'gate_proj'] },
    objective: (lm) => new PaperTextObjective(lm.model, lm.tokenizer, WORDS.map((w) => ({
      group: w.word, source: w, messages: [{ role: 'user' as const, content: `How loud is ${w.word}? Answer 0 to 5.` }, { role: 'assistant' as const, content: String(w.mean) }],
    }))),
    recompute: true,
  },
  {
    name: 'left padding, two weighted rows per prompt, vocabulary cross-entropy, dropout 0.3',
    lora: { r: 2, alpha: 4, dropout: 0.3, targetModules: ['q_proj', 'o_proj', 'up_proj'] }, objective: (lm) => new LeftPaddedObjective(lm.model), recompute: false,
  },
];

/** Fresh adapters with random B (B = 0 would make every A gradient zero), attached as the trainer does. */
function adapters(lm: LoadedModel, cfg: Partial<LoraConfig>, seed: number): LoraAdapters {
  const a = LoraAdapters.init(lm.model, resolveLoraConfig(cfg), seed);
  randomizeB(a, seed + 1, 0.3);
  a.attach(lm.model, { frozenGradHooks: true });
  return a;
}

async function read(ts: tf.Tensor[]): Promise<Float32Array[]> {
  const out = await Promise.all(ts.map(async (t) => Float32Array.from(await t.data())));
  ts.forEach((t) => t.dispose());
  return out;
}

for (const name of MODELS) {
  describe(`ONNX Runtime engine = TF.js autodiff, ${name}`, () => {
    for (const c of CASES) {
      test(c.name, async () => {
        const lm = models.get(name)!;
        const obj = c.objective(lm);
        const a = adapters(lm, c.lora, 5);
        const engine = await OnnxLoraEngine.create(lm.model, a, obj, { gradientCheckpointing: c.recompute });
        try {
          const idx = Int32Array.from({ length: obj.size }, (_, i) => i);
          const terms = obj.size + 1; // the micro-batch is part of a larger batch
          const ref = await new TfjsEngine(a, obj, false).gradients(idx, terms, 77);
          const got = await engine.gradients(idx, terms, 77);
          const [refLoss, gotLoss] = [(await ref.loss.data())[0], (await got.loss.data())[0]];
          ref.loss.dispose();
          got.loss.dispose();
          assert.ok(Number.isFinite(refLoss) && refLoss > 0);
          assert.ok(Math.abs(gotLoss - refLoss) <= 1e-5 * Math.abs(refLoss), `loss ${gotLoss} vs ${refLoss}`);
          const [r, g] = [await read(ref.grads), await read(got.grads)];
          assert.equal(g.length, a.variables().length);
          r.forEach((x, k) => {
            const v = a.variables()[k];
            assert.ok(x.some((e) => e !== 0), `${v.name}: the reference gradient is zero`);
            const e = relErr(g[k], x);
            assert.ok(e <= 1e-4, `${v.name}: relative difference ${e}`);
          });
        } finally {
          await engine.dispose();
          a.dispose();
          obj.dispose();
        }
      });
    }
  });
}

test('ONNX Runtime engine gradients match central finite differences of its own loss (tiny-qwen2, dropout on)', async () => {
  const lm = models.get('tiny-qwen2')!;
  const obj = rating('ce-gaussian')(lm);
  const a = adapters(lm, { r: 2, alpha: 4, dropout: 0.2, targetModules: ['q_proj', 'v_proj', 'gate_proj', 'down_proj'] }, 9);
  const engine = await OnnxLoraEngine.create(lm.model, a, obj);
  const idx = Int32Array.from([0, 1, 2]);
  const lossAt = async (): Promise<number> => {
    const r = await engine.gradients(idx, 1, 1234); // the same masks at every evaluation
    r.grads.forEach((t) => t.dispose());
    const v = (await r.loss.data())[0];
    r.loss.dispose();
    return v;
  };
  try {
    const vars = a.variables();
    const r = await engine.gradients(idx, 1, 1234);
    r.loss.dispose();
    const grads = await read(r.grads);
    let checked = 0;
    // An A of layer 0, a B of layer 0 and an A of layer 1: the two largest entries of each.
    for (const k of [0, 3, 12]) {
      const v = vars[k];
      const g = grads[k];
      const order = Array.from(g.keys()).sort((x, y) => Math.abs(g[y]) - Math.abs(g[x])).slice(0, 2);
      for (const i of order) {
        const data = Float32Array.from(await v.data());
        const x0 = data[i];
        const eps = 1e-2;
        const at = async (x: number): Promise<number> => {
          data[i] = x;
          tf.tidy(() => v.assign(tf.tensor(data, v.shape)));
          return lossAt();
        };
        const fd = ((await at(x0 + eps)) - (await at(x0 - eps))) / (2 * eps);
        await at(x0);
        const rel = Math.abs(fd - g[i]) / Math.max(Math.abs(g[i]), 1e-4);
        assert.ok(rel < 1e-2, `${v.name}[${i}]: analytic ${g[i]}, finite difference ${fd} (rel ${rel})`);
        checked++;
      }
    }
    assert.equal(checked, 6);
  } finally {
    await engine.dispose();
    a.dispose();
    obj.dispose();
  }
});

test('validation through the ONNX Runtime forward equals the TF.js model (rating digits and vocabulary, QA)', async () => {
  for (const name of MODELS) {
    const lm = models.get(name)!;
    const a = adapters(lm, { r: 2, alpha: 4, dropout: 0.1 }, 21);
    const objs = [rating('ce-interp')(lm), rating('ce-interp', 'vocab')(lm), rating('mse')(lm), new QaObjective(lm.model, lm.tokenizer, QA_ITEMS, { template: MCQ })];
    const engine = await OnnxLoraEngine.create(lm.model, a, undefined);
    try {
      for (const obj of objs) {
        const idx = Int32Array.from({ length: obj.size }, (_, i) => i);
        const viaTf = await obj.evaluate(idx, 2);
        const viaOnnx = await obj.evaluate(idx, 2, engine.scorer);
        assert.deepEqual(Object.keys(viaOnnx), Object.keys(viaTf));
        for (const k of Object.keys(viaTf)) assert.ok(Math.abs(viaOnnx[k] - viaTf[k]) <= 1e-4 * Math.max(1, Math.abs(viaTf[k])), `${name} ${obj.kind} ${k}: ${viaOnnx[k]} vs ${viaTf[k]}`);
      }
      assert.deepEqual(letterTokenIds(lm.tokenizer).length, 4);
    } finally {
      await engine.dispose();
      objs.forEach((o) => o.dispose());
      a.dispose();
    }
  }
});

test('dropout masks: seeded, 0 or 1/(1 − p) at rate p, independent across modules and passes; SIMD kernel = scalar definition', () => {
  for (const [seed, count, q] of [[0, 3, 0.5], [1, 17, 0.05], [0xffffffff, 4099, 0.9], [123456789, 100_003, 0.2]] as const) {
    assert.deepEqual(dropoutMask(seed, count, q), dropoutMaskScalar(seed, count, q), `seed ${seed}, ${count} elements, p ${q}`);
  }
  const n = 200_000;
  const p = 0.1;
  const m = dropoutMask(moduleDropoutSeed(7, 0), n, p);
  assert.deepEqual(m, dropoutMask(moduleDropoutSeed(7, 0), n, p));
  const keep = Math.fround(1 / (1 - p));
  let dropped = 0;
  for (const x of m) {
    assert.ok(x === 0 || x === keep);
    if (x === 0) dropped++;
  }
  assert.ok(Math.abs(dropped / n - p) < 4 * Math.sqrt((p * (1 - p)) / n), `drop rate ${dropped / n}`);
  // Another module, another pass: about p² of the elements dropped in both (independent masks).
  for (const other of [dropoutMask(moduleDropoutSeed(7, 1), n, p), dropoutMask(moduleDropoutSeed(8, 0), n, p)]) {
    let both = 0;
    for (let i = 0; i < n; i++) if (m[i] === 0 && other[i] === 0) both++;
    assert.ok(Math.abs(both / n - p * p) < 4 * Math.sqrt((p * p) / n), `joint drop rate ${both / n}`);
  }
  // Neighbouring elements are not correlated either.
  let pairs = 0;
  for (let i = 1; i < n; i++) if (m[i] === 0 && m[i - 1] === 0) pairs++;
  assert.ok(Math.abs(pairs / (n - 1) - p * p) < 4 * Math.sqrt((p * p) / n), `adjacent joint drop rate ${pairs / n}`);
});

describe('training with the ONNX Runtime engine', () => {
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'smft-onnx-engine-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  test('en_ft_tiny on each engine: the same losses, gradient norms and validation step by step for 10 steps', async () => {
    const lm = models.get('tiny-llama')!;
    const run = async (engine: 'onnx' | 'tfjs') => {
      const r = await runRecipe('en_ft_tiny', { model: lm, out: join(tmp, `tiny-${engine}`), dataDir: testDataDir(), engine, overrides: ['train.epochs=2'] });
      assert.equal(r.train.engine, engine === 'onnx' ? 'onnxruntime-cpu' : 'tfjs-cpu');
      return r.train.history;
    };
    const onnx = await run('onnx');
    const ref = await run('tfjs');
    assert.equal(ref.length, 10);
    assert.equal(onnx.length, 10);
    const close = (a: number | undefined, b: number | undefined, what: string): void => {
      assert.ok(a !== undefined && b !== undefined && Math.abs(a - b) <= 1e-4 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
    };
    ref.forEach((h, i) => {
      close(onnx[i].loss, h.loss, `step ${h.step} loss`);
      close(onnx[i].gradNorm, h.gradNorm, `step ${h.step} gradient norm`);
      if (h.valLoss !== undefined) close(onnx[i].valLoss, h.valLoss, `step ${h.step} validation loss`);
    });
    assert.ok(ref.some((h) => h.valLoss !== undefined));
  });

  test('an objective without a batch description trains on TF.js (engine auto, and onnx asked for)', async () => {
    const lm = models.get('tiny-qwen2')!;
    const rating = new RatingObjective(lm.model, lm.tokenizer, WORDS, { templates: SOUND_TEMPLATES });
    // The same objective, minus its batch description (as a TF.js-only objective would be).
    const tfOnly: TrainObjective = {
      kind: 'tf-only', size: rating.size, group: (i) => rating.group(i), tokens: (i) => rating.tokens(i),
      lossSum: (idx) => rating.lossSum(idx), evaluate: (idx, bs, s) => rating.evaluate(idx, bs, s), describe: () => rating.describe(),
    };
    try {
      for (const engine of ['auto', 'onnx'] as const) {
        const r = await trainLora({
          model: lm.model, modelName: 'tiny-qwen2', objective: tfOnly, out: join(tmp, `fallback-${engine}`), engine,
          lora: { r: 2, alpha: 4, dropout: 0 }, train: { epochs: 2, batchSize: 3, gradAccumSteps: 1, valFraction: 0, saveEvery: 0 },
        });
        r.adapters.dispose();
        assert.equal(r.engine, 'tfjs-cpu');
        assert.equal(r.steps, 2);
      }
    } finally {
      rating.dispose();
    }
  });
});
