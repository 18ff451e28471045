/**
 * The ONNX Runtime LoRA engine on ONNX Runtime's WebGPU execution provider (lavapipe in CI),
 * with CPU fallback disabled, so every op of the forward, backward and head graphs must be one
 * the WebGPU provider implements: the loss and every LoRA gradient equal the CPU engine's (with
 * dropout), and validation scores equal too. A graph with an op the provider lacks is refused
 * under the same options (the check is real).
 */
import './env.js';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { fixture, relErr, useBackend } from '../lm/helpers.js';
import { SOUND_TEMPLATES, randomizeB } from '../train/lora-helpers.js';
import { loadModel, type LoadedModel } from '../../src/lm/load.js';
import { loadOrt } from '../../src/lm/onnx/runtime.js';
import { GraphBuilder } from '../../src/lm/onnx/graph.js';
import { DType } from '../../src/lm/onnx/proto.js';
import { LoraAdapters, resolveLoraConfig, RatingObjective } from '../../src/train/lora/index.js';
import { OnnxLoraEngine, sessionOptions } from '../../src/train/lora/onnx/engine.js';

let lm: LoadedModel;
before(async () => {
  await useBackend('cpu');
  lm = await loadModel(fixture('tiny-qwen2'));
});
after(() => lm.model.dispose());

test('strict WebGPU sessions refuse an op the WebGPU provider lacks', async () => {
  const ort = await loadOrt();
  const g = new GraphBuilder('det');
  g.output(g.op('Det', [g.input('m', DType.float, [3, 3])]), 'd', DType.float, []);
  await assert.rejects(ort.InferenceSession.create(g.build(), sessionOptions({ device: 'webgpu', strictDevice: true })));
  const lax = await ort.InferenceSession.create(g.build(), sessionOptions({ device: 'webgpu' }));
  await lax.release();
});

test('WebGPU engine (every node on the GPU provider): loss, LoRA gradients and validation scores equal the CPU engine', async () => {
  const obj = new RatingObjective(lm.model, lm.tokenizer, [
    { word: 'bell tower', dimension: 'auditory', mean: 4.2 }, { word: 'moss', dimension: 'auditory', mean: 0.7 },
  ], { templates: SOUND_TEMPLATES, loss: 'ce-interp' });
  const a = LoraAdapters.init(lm.model, resolveLoraConfig({ r: 2, alpha: 4, dropout: 0.1, targetModules: ['q_proj', 'v_proj', 'o_proj', 'up_proj', 'down_proj'] }), 5);
  randomizeB(a, 6, 0.3);
  a.attach(lm.model, { frozenGradHooks: true });
  const cpu = await OnnxLoraEngine.create(lm.model, a, obj);
  const gpu = await OnnxLoraEngine.create(lm.model, a, obj, { device: 'webgpu', strictDevice: true });
  try {
    assert.equal(gpu.name, 'onnxruntime-webgpu');
    const idx = Int32Array.from([0, 1]);
    const [ref, got] = [await cpu.gradients(idx, 2, 77), await gpu.gradients(idx, 2, 77)];
    const loss = [(await ref.loss.data())[0], (await got.loss.data())[0]];
    assert.ok(Math.abs(loss[1] - loss[0]) <= 1e-5 * Math.abs(loss[0]), `loss ${loss[1]} vs ${loss[0]}`);
    for (let k = 0; k < ref.grads.length; k++) {
      const e = relErr(await got.grads[k].data(), await ref.grads[k].data());
      assert.ok(e <= 1e-4, `${a.variables()[k].name}: relative difference ${e}`);
    }
    tf.dispose([ref.loss, got.loss, ...ref.grads, ...got.grads]);
    const batch = obj.batch(idx);
    const [sc, sg] = [await cpu.scoreRows(batch), await gpu.scoreRows(batch)];
    assert.ok(relErr(sg.logits, sc.logits) <= 1e-4);
  } finally {
    await gpu.dispose();
    await cpu.dispose();
    a.dispose();
    obj.dispose();
  }
});
