/**
 * LoRA adapters on the tiny fixture models (CPU backend): PEFT config and tensor layout,
 * init, frozen base, gradients against finite differences, merge equivalence, and the errors
 * for corrupt or mismatched adapters.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync, writeFileSync, truncateSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { fixture, useBackend } from '../lm/helpers.js';
import { randomizeB } from './lora-helpers.js';
import { SmftError } from '../../src/util/errors.js';
import { loadModel, type LoadedModel } from '../../src/lm/load.js';
import { readSafetensors, SafetensorsFile } from '../../src/lm/safetensors.js';
import {
  LoraAdapters, resolveLoraConfig, toPeftConfig, fromPeftConfig, loraModuleNames, saveAdapter, loadAdapter, baseInfoFromModel,
  mergeLora, applyCheckpoint, LoraStepper, RatingObjective, ratingTarget, type LoraConfig,
} from '../../src/train/lora/index.js';

let llama: LoadedModel;
let qwen: LoadedModel;
let tmp: string;

before(async () => {
  await useBackend('cpu');
  llama = await loadModel(fixture('tiny-llama'));
  qwen = await loadModel(fixture('tiny-qwen2'));
  tmp = mkdtempSync(join(tmpdir(), 'smft-lora-'));
});
after(() => {
  llama.model.dispose();
  qwen.model.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

const templates = new Map([['auditory' as const, { dimension: 'auditory' as const, text: 'Word: {Word}. Sound rating (0-5)?', source: 'test' }]]);

/** Give B random values (B = 0 at init would make every A gradient zero). */
function lastLogits(lm: LoadedModel, texts: string[]): Float32Array {
  const rows = texts.map((t) => lm.tokenizer.encode(t));
  const t = Math.max(...rows.map((r) => r.length));
  const ids = rows.map((r) => [...r, ...new Array<number>(t - r.length).fill(0)]);
  const mask = rows.map((r) => [...r.map(() => 1), ...new Array<number>(t - r.length).fill(0)]);
  const out = lm.model.forward(ids, { attentionMask: mask, logitsAt: rows.map((r) => r.length - 1) });
  const d = Float32Array.from(out.logits!.dataSync());
  out.logits!.dispose();
  return d;
}

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  let d = 0, m = 0;
  for (let i = 0; i < a.length; i++) { d = Math.max(d, Math.abs(a[i] - b[i])); m = Math.max(m, Math.abs(b[i])); }
  return d / m;
}

test('config: validation, canonical order, PEFT adapter_config round trip', () => {
  const c = resolveLoraConfig({ r: 8, alpha: 16, dropout: 0.1, targetModules: ['v_proj', 'q_proj'], layers: [1, 0] });
  assert.deepEqual(c.targetModules, ['q_proj', 'v_proj']);
  assert.deepEqual(c.layers, [0, 1]);
  const peft = toPeftConfig(c, 'tiny-llama');
  assert.equal(peft.peft_type, 'LORA');
  assert.equal(peft.task_type, 'CAUSAL_LM');
  assert.equal(peft.r, 8);
  assert.equal(peft.lora_alpha, 16);
  assert.equal(peft.lora_dropout, 0.1);
  assert.deepEqual(peft.target_modules, ['q_proj', 'v_proj']);
  assert.equal(peft.base_model_name_or_path, 'tiny-llama');
  assert.deepEqual(fromPeftConfig(JSON.parse(JSON.stringify(peft)), 'x'), c);
  for (const bad of [{ r: 0 }, { alpha: -1 }, { dropout: 1 }, { targetModules: ['lm_head'] }, { targetModules: [] }, { rank: 4 }] as Partial<LoraConfig>[]) {
    assert.throws(() => resolveLoraConfig(bad), SmftError, JSON.stringify(bad));
  }
  assert.throws(() => fromPeftConfig({ ...peft, use_dora: true }, 'x'), /DoRA/);
  assert.throws(() => fromPeftConfig({ ...peft, peft_type: 'IA3' }, 'x'), /not a LoRA adapter/);
  assert.throws(() => loraModuleNames(llama.config, resolveLoraConfig({ layers: [5] })), /do not exist/);
});

test('init: A ~ U(±1/√in) seeded, B = 0, attached adapters leave the logits unchanged', () => {
  const cfg = resolveLoraConfig({ r: 4, alpha: 8 });
  const a = LoraAdapters.init(llama.model, cfg, 3);
  const b = LoraAdapters.init(llama.model, cfg, 3);
  try {
    assert.equal(a.modules.length, 2 * 7);
    for (const [i, m] of a.modules.entries()) {
      const bound = 1 / Math.sqrt(m.inFeatures);
      const av = m.a.dataSync();
      assert.ok(av.every((x) => Math.abs(x) <= bound), m.name);
      assert.ok(Math.max(...Array.from(av, Math.abs)) > 0.8 * bound);
      assert.ok(m.b.dataSync().every((x) => x === 0));
      assert.deepEqual(Array.from(av), Array.from(b.modules[i].a.dataSync()));
    }
    const texts = ['Word: thunder. Sound rating (0-5)?', 'hello'];
    const base = lastLogits(llama, texts);
    a.attach(llama.model);
    assert.deepEqual(Array.from(lastLogits(llama, texts)), Array.from(base));
  } finally {
    a.dispose();
    b.dispose();
  }
});

test('only the LoRA matrices train: one step changes A/B, never the base weights', async () => {
  const cfg = resolveLoraConfig({ r: 4, alpha: 8, dropout: 0.1 });
  const a = LoraAdapters.init(llama.model, cfg, 1);
  randomizeB(a, 2);
  const obj = new RatingObjective(llama.model, llama.tokenizer, [
    { word: 'bell', dimension: 'auditory', mean: 4.5 }, { word: 'moss', dimension: 'auditory', mean: 0.5 },
  ], { templates });
  const kernelName = 'model.layers.0.self_attn.q_proj.weight';
  const before0 = Float32Array.from(llama.model.params.get(kernelName)!.dataSync());
  const a0 = Float32Array.from(a.modules[0].a.dataSync());
  a.attach(llama.model);
  const stepper = new LoraStepper(a, obj, { batchSize: 2, maxGradNorm: 1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 });
  try {
    const n0 = tf.memory().numTensors;
    const r = await stepper.step(Int32Array.from([0, 1]), 1e-2, () => 7);
    assert.ok(Number.isFinite(r.loss) && r.gradNorm > 0);
    assert.equal(tf.memory().numTensors, n0, 'a step leaks no tensors');
    assert.deepEqual(Array.from(llama.model.params.get(kernelName)!.dataSync()), Array.from(before0));
    assert.notDeepEqual(Array.from(a.modules[0].a.dataSync()), Array.from(a0));
    assert.equal(stepper.optimizer.params.length, a.variables().length);
  } finally {
    stepper.dispose();
    obj.dispose();
    a.dispose();
  }
});

test('gradients of the rating loss match central finite differences', () => {
  const cfg = resolveLoraConfig({ r: 2, alpha: 4, dropout: 0.2, targetModules: ['q_proj', 'v_proj', 'down_proj'] });
  const a = LoraAdapters.init(llama.model, cfg, 5);
  randomizeB(a, 6, 0.3);
  const obj = new RatingObjective(llama.model, llama.tokenizer, [
    { word: 'bell tower', dimension: 'auditory', mean: 4.2 }, { word: 'moss', dimension: 'auditory', mean: 0.7 }, { word: 'drum', dimension: 'auditory', mean: 3.1 },
  ], { templates, loss: 'ce-gaussian' });
  a.attach(llama.model);
  a.training = true; // dropout on, with a fixed seed: the same masks in every evaluation
  a.dropoutSeed = 1234;
  const idx = Int32Array.from([0, 1, 2]);
  const lossAt = (): number => {
    const l = obj.lossSum(idx);
    const v = l.dataSync()[0];
    l.dispose();
    return v;
  };
  try {
    const vars = a.variables();
    const { value, grads } = tf.variableGrads(() => obj.lossSum(idx), vars);
    value.dispose();
    let checked = 0;
    // Three variables (an A and two Bs in different layers), two entries each: the largest gradients.
    for (const k of [0, 3, 11]) {
      const v = vars[k];
      const g = grads[v.name].dataSync();
      const order = Array.from(g.keys()).sort((x, y) => Math.abs(g[y]) - Math.abs(g[x])).slice(0, 2);
      for (const i of order) {
        const data = Float32Array.from(v.dataSync());
        const x0 = data[i];
        const eps = 1e-2;
        const at = (x: number): number => {
          data[i] = x;
          tf.tidy(() => v.assign(tf.tensor(data, v.shape)));
          return lossAt();
        };
        const fd = (at(x0 + eps) - at(x0 - eps)) / (2 * eps);
        at(x0);
        const rel = Math.abs(fd - g[i]) / Math.max(Math.abs(g[i]), 1e-4);
        assert.ok(rel < 1e-2, `${v.name}[${i}]: analytic ${g[i]}, finite difference ${fd} (rel ${rel})`);
        checked++;
      }
    }
    assert.equal(checked, 6);
    Object.values(grads).forEach((t) => t.dispose());
  } finally {
    obj.dispose();
    a.dispose();
  }
});

test('rating targets: interpolation keeps the mean, rounded is one-hot, Gaussian normalised', () => {
  const q = ratingTarget(2.3, 'ce-interp');
  assert.ok(Math.abs(q[2] - 0.7) < 1e-12 && Math.abs(q[3] - 0.3) < 1e-12);
  assert.ok(Math.abs(q.reduce((s, x, k) => s + k * x, 0) - 2.3) < 1e-12);
  assert.deepEqual(Array.from(ratingTarget(5, 'ce-interp')), [0, 0, 0, 0, 0, 1]);
  assert.deepEqual(Array.from(ratingTarget(2.5, 'ce-rounded')), [0, 0, 0, 1, 0, 0]);
  const g = ratingTarget(1, 'ce-gaussian', 0.5);
  assert.ok(Math.abs(g.reduce((s, x) => s + x, 0) - 1) < 1e-12 && g[1] > g[0] && g[1] > g[2]);
  assert.throws(() => ratingTarget(5.5, 'mse'), SmftError);
});

test("normalize 'vocab': full-softmax cross-entropy is at least the digits-only one", async () => {
  const ex = [{ word: 'bell', dimension: 'auditory' as const, mean: 3.4 }, { word: 'moss', dimension: 'auditory' as const, mean: 1.2 }];
  const digits = new RatingObjective(llama.model, llama.tokenizer, ex, { templates, loss: 'ce-interp' });
  const vocab = new RatingObjective(llama.model, llama.tokenizer, ex, { templates, loss: 'ce-interp', normalize: 'vocab' });
  try {
    const idx = Int32Array.from([0, 1]);
    const d = await digits.evaluate(idx, 2);
    const v = await vocab.evaluate(idx, 2);
    assert.ok(v.loss > d.loss, `${v.loss} vs ${d.loss}`);
    assert.equal(v.mae, d.mae, 'ratings are read from the digits either way');
    assert.equal(vocab.describe().normalize, 'vocab');
  } finally {
    digits.dispose();
    vocab.dispose();
  }
});

test('PEFT layout: adapter_config.json and tensor names/shapes, round trip', async () => {
  // tiny-qwen2: hidden 32, 4 heads × 8, 2 KV heads → k/v_proj out 16, intermediate 64.
  const cfg = resolveLoraConfig({ r: 3, alpha: 6, dropout: 0.05, targetModules: ['q_proj', 'v_proj', 'down_proj'], layers: [1] });
  const a = LoraAdapters.init(qwen.model, cfg, 9);
  randomizeB(a, 10);
  const dir = join(tmp, 'peft-qwen');
  await saveAdapter(dir, a, await baseInfoFromModel(qwen.model, 'tiny-qwen2'));
  try {
    const json = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8'));
    assert.equal(json.peft_type, 'LORA');
    assert.equal(json.task_type, 'CAUSAL_LM');
    assert.equal(json.r, 3);
    assert.equal(json.lora_alpha, 6);
    assert.equal(json.lora_dropout, 0.05);
    assert.deepEqual(json.target_modules, ['q_proj', 'v_proj', 'down_proj']);
    assert.deepEqual(json.layers_to_transform, [1]);
    assert.equal(json.base_model_name_or_path, 'tiny-qwen2');
    const f = SafetensorsFile.open(join(dir, 'adapter_model.safetensors'));
    const shapes = Object.fromEntries([...f.tensors.values()].map((t) => [t.name, [t.dtype, ...t.shape]]));
    f.close();
    const p = 'base_model.model.model.layers.1.';
    assert.deepEqual(shapes, {
      [`${p}self_attn.q_proj.lora_A.weight`]: ['F32', 3, 32], [`${p}self_attn.q_proj.lora_B.weight`]: ['F32', 32, 3],
      [`${p}self_attn.v_proj.lora_A.weight`]: ['F32', 3, 32], [`${p}self_attn.v_proj.lora_B.weight`]: ['F32', 16, 3],
      [`${p}mlp.down_proj.lora_A.weight`]: ['F32', 3, 64], [`${p}mlp.down_proj.lora_B.weight`]: ['F32', 32, 3],
    });
    const { adapters: back } = await loadAdapter(dir, qwen.model);
    const x = await a.toTensors();
    const y = await back.toTensors();
    for (const k of Object.keys(x)) assert.deepEqual(Array.from(y[k].data), Array.from(x[k].data), k);
    back.dispose();
  } finally {
    a.dispose();
  }
});

test('merge: the merged HF folder gives the logits of base + adapter (1e-5), in memory too', async () => {
  const cfg = resolveLoraConfig({ r: 4, alpha: 8, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] });
  const a = LoraAdapters.init(llama.model, cfg, 11);
  randomizeB(a, 12, 0.5);
  const adapterDir = join(tmp, 'merge-adapter');
  await saveAdapter(adapterDir, a, await baseInfoFromModel(llama.model, 'tiny-llama'));
  const texts = ['Word: thunder. Sound rating (0-5)?', 'The quick brown fox', 'x'];
  const base = lastLogits(llama, texts);
  a.attach(llama.model);
  const adapted = lastLogits(llama, texts);
  a.dispose();
  assert.ok(maxRelDiff(adapted, base) > 1e-2, 'the adapter changes the model');
  const out = join(tmp, 'merged');
  const r = await mergeLora({ base: fixture('tiny-llama'), adapter: adapterDir, out, offline: true });
  assert.equal(r.mergedModules, 14);
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors']) assert.ok(existsSync(join(out, f)), f);
  assert.equal(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).torch_dtype, 'float32');
  const merged = await loadModel(out);
  try {
    const d = maxRelDiff(lastLogits(merged, texts), adapted);
    assert.ok(d < 1e-5, `merged vs adapter: ${d}`);
  } finally {
    merged.model.dispose();
  }
  // In memory (smft rate --checkpoint with mode 'merge'), on a fresh copy of the base.
  const fresh = await loadModel(fixture('tiny-llama'));
  try {
    await applyCheckpoint(fresh.model, adapterDir, { mode: 'merge' });
    const d = maxRelDiff(lastLogits(fresh, texts), adapted);
    assert.ok(d < 1e-5, `in-memory merge vs adapter: ${d}`);
  } finally {
    fresh.model.dispose();
  }
});

test('corrupt or mismatched adapters: one clear SmftError each', async () => {
  const cfg = resolveLoraConfig({ r: 2, alpha: 4, targetModules: ['q_proj'] });
  const a = LoraAdapters.init(llama.model, cfg, 1);
  const good = join(tmp, 'err-good');
  await saveAdapter(good, a, await baseInfoFromModel(llama.model, 'tiny-llama'));
  a.dispose();
  const copy = async (name: string): Promise<string> => {
    const d = join(tmp, name);
    const { cpSync } = await import('node:fs');
    cpSync(good, d, { recursive: true });
    return d;
  };
  // Another architecture.
  await assert.rejects(loadAdapter(good, qwen.model, { modelName: 'tiny-qwen2' }), (e: unknown) => e instanceof SmftError && /another base model/.test(e.message) && /tiny-llama/.test(e.message));
  // Same architecture, other weights (the bf16 copy of tiny-llama).
  const bf16 = await loadModel(fixture('tiny-llama-bf16'));
  try {
    await assert.rejects(loadAdapter(good, bf16.model), (e: unknown) => e instanceof SmftError && /different weights/.test(e.message));
    (await loadAdapter(good, bf16.model, { checkBase: false })).adapters.dispose();
  } finally {
    bf16.model.dispose();
  }
  // Rank expectation.
  await assert.rejects(loadAdapter(good, llama.model, { expectRank: 8 }), (e: unknown) => e instanceof SmftError && /rank r=2/.test(e.message));
  // Truncated weights.
  const trunc = await copy('err-trunc');
  const w = join(trunc, 'adapter_model.safetensors');
  truncateSync(w, statSync(w).size - 10);
  await assert.rejects(loadAdapter(trunc, llama.model), (e: unknown) => e instanceof SmftError && /corrupt adapter weights/.test(e.message));
  // Garbage config.
  const garbage = await copy('err-json');
  writeFileSync(join(garbage, 'adapter_config.json'), '{"peft_type": "LORA", ');
  await assert.rejects(loadAdapter(garbage, llama.model), (e: unknown) => e instanceof SmftError && /not valid JSON/.test(e.message));
  // Config and weights disagree (rank in config changed).
  const ranked = await copy('err-rank');
  const cj = JSON.parse(readFileSync(join(ranked, 'adapter_config.json'), 'utf8'));
  writeFileSync(join(ranked, 'adapter_config.json'), JSON.stringify({ ...cj, r: 3 }));
  await assert.rejects(loadAdapter(ranked, llama.model), (e: unknown) => e instanceof SmftError && /shape/.test(e.message));
  // Missing folder / not an adapter.
  await assert.rejects(loadAdapter(join(tmp, 'nope'), llama.model), SmftError);
  await assert.rejects(applyCheckpoint(llama.model, tmp), (e: unknown) => e instanceof SmftError && /not a LoRA checkpoint/.test(e.message));
  // The weights themselves are still fine.
  assert.equal(readSafetensors(join(good, 'adapter_model.safetensors')).tensors.size, 4);
});

test("the adapter's hand-written gradient equals TF.js autodiff of the plain formula (cpu and wasm, frozen hooks too)", async () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    await useBackend(backend);
    const lm = await loadModel(fixture('tiny-llama'));
    const a = LoraAdapters.init(lm.model, resolveLoraConfig({ r: 3, alpha: 5, dropout: 0, targetModules: ['q_proj', 'v_proj', 'down_proj'] }), 21);
    randomizeB(a, 22, 0.3);
    const obj = new RatingObjective(lm.model, lm.tokenizer, [
      { word: 'bell tower', dimension: 'auditory', mean: 4.2 }, { word: 'moss', dimension: 'auditory', mean: 0.7 },
    ], { templates, loss: 'mse' });
    const idx = Int32Array.from([0, 1]);
    const grads = (): Float32Array[] => {
      const { value, grads: g } = tf.variableGrads(() => obj.lossSum(idx), a.variables());
      value.dispose();
      const out = a.variables().map((v) => Float32Array.from(g[v.name].dataSync()));
      Object.values(g).forEach((t) => t.dispose());
      return out;
    };
    try {
      a.attach(lm.model, { frozenGradHooks: true });
      a.training = true;
      const mine = grads();
      a.detach();
      // Reference: the LoRA formula in plain tf ops, differentiated by TF.js itself.
      for (const m of a.modules) {
        lm.model.setAdapter(m.name, (x, y) => tf.add(y, tf.mul(tf.matMul(tf.matMul(x, m.a, false, true), m.b, false, true), a.scale)) as tf.Tensor2D);
      }
      const ref = grads();
      for (const m of a.modules) lm.model.setAdapter(m.name, undefined);
      mine.forEach((g, k) => {
        let d = 0, mx = 0;
        for (let i = 0; i < g.length; i++) { d = Math.max(d, Math.abs(g[i] - ref[k][i])); mx = Math.max(mx, Math.abs(ref[k][i])); }
        assert.ok(mx > 0 && d / mx < 1e-4, `${backend} ${a.variables()[k].name}: rel ${d / mx}`);
      });
    } finally {
      obj.dispose();
      a.dispose();
      lm.model.dispose();
    }
  }
});
