/**
 * LoRA training on TF.js's webgpu backend (Dawn; lavapipe in CI), where tensors can only be read
 * asynchronously: a short run of the tiny Llama fixture with dropout, gradient accumulation,
 * validation and checkpoints, stopped after step 2 and resumed, finishes, writes its adapter and
 * metrics, and equals the same (uninterrupted) run on the cpu backend within float tolerance.
 */
import './env.js';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { releaseWebGpu } from '../../kernels/webgpu/index.js';
import { initBackend } from '../../src/lm/backend.js';
import { loadModel } from '../../src/lm/load.js';
import { readSafetensors } from '../../src/lm/safetensors.js';
import { trainLora, RatingObjective, readPointer, type RatingExample, type StepMetrics, type LoraTrainConfig } from '../../src/train/lora/index.js';
import { fixture, relErr } from '../lm/helpers.js';
import { SOUND_TEMPLATES, markerTask } from '../train/lora-helpers.js';
import { requireGpu } from './helpers.js';

let tmp: string;
before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'smft-webgpu-lora-'));
});
after(async () => {
  rmSync(tmp, { recursive: true, force: true });
  await releaseWebGpu();
});

const TRAIN: Partial<LoraTrainConfig> = {
  epochs: 2, batchSize: 4, gradAccumSteps: 2, lr: 3e-3, warmupRatio: 0.2, valFraction: 0.25,
  evalEvery: 2, patience: 0, saveEvery: 1, keepLast: 0, seed: 5, logIntervalMs: 60_000,
};
const LORA = { r: 4, alpha: 8, dropout: 0.1, targetModules: ['q_proj' as const, 'v_proj' as const, 'down_proj' as const] };
const EXAMPLES = markerTask(24, 3);

interface Run {
  history: StepMetrics[];
  adapter: Map<string, { shape: number[]; data: Float32Array }>;
  optimizer: Map<string, { shape: number[]; data: Float32Array }>;
  seconds: number;
}

/** Train on `backend` (stopping after `stopAfter` and resuming when given); the model is loaded on that backend. */
async function run(backend: 'cpu' | 'webgpu', out: string, stopAfter?: number): Promise<Run> {
  assert.equal(await initBackend(backend), backend);
  const t0 = performance.now();
  const lm = await loadModel(fixture('tiny-llama'));
  const obj = new RatingObjective(lm.model, lm.tokenizer, EXAMPLES, { templates: SOUND_TEMPLATES, loss: 'ce-interp' });
  try {
    const go = (extra: { stopAfterStep?: number; resume?: boolean }) =>
      trainLora({ model: lm.model, modelName: 'tiny-llama', objective: obj, out, lora: LORA, train: TRAIN, ...extra });
    if (stopAfter !== undefined) {
      const first = await go({ stopAfterStep: stopAfter });
      first.adapters.dispose();
      assert.equal(first.interrupted, true);
      assert.equal(first.steps, stopAfter);
    }
    const res = await go({ resume: stopAfter !== undefined });
    res.adapters.dispose();
    assert.equal(res.interrupted, false);
    assert.equal(res.steps, res.totalSteps);
    assert.equal(tf.getBackend(), backend);
    const last = readPointer(out, 'latest')!;
    return {
      history: res.history,
      adapter: readSafetensors(join(last, 'adapter_model.safetensors')).tensors,
      optimizer: readSafetensors(join(last, 'optimizer.safetensors')).tensors,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    obj.dispose();
    lm.model.dispose();
  }
}

function close(name: string, gpu: number | undefined, cpu: number | undefined, tol: number): void {
  assert.equal(typeof gpu, typeof cpu, `${name}: ${gpu} vs ${cpu}`);
  if (gpu === undefined || cpu === undefined) return;
  assert.ok(Number.isFinite(gpu), `${name} not finite: ${gpu}`);
  assert.ok(Math.abs(gpu - cpu) <= tol * Math.max(1, Math.abs(cpu)), `${name}: webgpu ${gpu} vs cpu ${cpu}`);
}

test('LoRA training on webgpu (validation, checkpoints, resume) equals the cpu run', async (t) => {
  await requireGpu();
  const gpuDir = join(tmp, 'webgpu');
  const gpu = await run('webgpu', gpuDir, 2);
  const cpu = await run('cpu', join(tmp, 'cpu'));

  // (1) Finished, with the adapter, optimizer state and metrics of every step.
  assert.equal(gpu.history.length, 6);
  assert.ok(existsSync(join(gpuDir, 'step-6', 'adapter_model.safetensors')));
  assert.ok(existsSync(join(gpuDir, 'step-6', 'adapter_config.json')));
  assert.equal(readFileSync(join(gpuDir, 'metrics.jsonl'), 'utf8').trim().split('\n').length, 6);
  assert.ok(existsSync(join(gpuDir, 'summary.json')));
  assert.ok(readPointer(gpuDir, 'best'));
  assert.ok(gpu.history.some((h) => h.valLoss !== undefined));

  // (2) The same numbers as on the cpu backend (GPU float order differs: 1e-3 relative).
  const TOL = 1e-3;
  assert.equal(gpu.history.length, cpu.history.length);
  gpu.history.forEach((g, i) => {
    const c = cpu.history[i];
    for (const k of ['loss', 'gradNorm', 'lr', 'valLoss', 'valMae', 'valRmse', 'valR'] as const) close(`step ${g.step} ${k}`, g[k], c[k], TOL);
  });
  for (const [what, a, b] of [['adapter', gpu.adapter, cpu.adapter], ['optimizer', gpu.optimizer, cpu.optimizer]] as const) {
    assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort(), `${what} tensor names`);
    for (const [name, g] of a) {
      const c = b.get(name)!;
      assert.deepEqual(g.shape, c.shape, `${what} ${name} shape`);
      assert.ok(g.data.every(Number.isFinite), `${what} ${name} not finite`);
      const e = relErr(g.data, c.data);
      assert.ok(e <= TOL, `${what} ${name}: relative error ${e}`);
    }
  }
  t.diagnostic(`webgpu ${gpu.seconds.toFixed(1)} s (stop after 2 + resume), cpu ${cpu.seconds.toFixed(1)} s`);
});
