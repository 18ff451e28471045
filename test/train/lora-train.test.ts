/**
 * The LoRA trainer on the tiny fixture models: a real learning test (held-out words), exact
 * resume on the CPU backend, NaN/Inf handling, and refused resumes.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, writeFileSync, mkdirSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture, useBackend } from '../lm/helpers.js';
import { SOUND_TEMPLATES, markerTask } from './lora-helpers.js';
import { SmftError } from '../../src/util/errors.js';
import { loadModel, type LoadedModel } from '../../src/lm/load.js';
import {
  trainLora, RatingObjective, pearson, readPointer, loadTrainingCheckpoint, baseInfoFromModel, listCheckpoints,
  type RatingExample, type StepMetrics, type LoraTrainConfig,
} from '../../src/train/lora/index.js';

let tmp: string;
before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'smft-lora-train-'));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

const templates = SOUND_TEMPLATES;

const all = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i);

for (const [engine, backend] of [['onnx', 'cpu'], ['tfjs', 'wasm']] as const) {
test(`learning (${engine} engine, TF.js ${backend}): loss falls and held-out ratings correlate with the targets after training`, async () => {
  await useBackend(backend);
  const lm = await loadModel(fixture('tiny-llama'));
  const train = new RatingObjective(lm.model, lm.tokenizer, markerTask(96, 7), { templates });
  const heldOut = markerTask(48, 8);
  const testObj = new RatingObjective(lm.model, lm.tokenizer, heldOut, { templates });
  const targets = heldOut.map((e) => e.mean);
  try {
    const rBefore = pearson((await testObj.predict(all(heldOut.length))).ratings, targets);
    const res = await trainLora({
      model: lm.model, modelName: 'tiny-llama', objective: train, out: join(tmp, `learn-${engine}`), engine,
      lora: { r: 8, alpha: 16, dropout: 0 },
      train: { epochs: 10, batchSize: 16, gradAccumSteps: 1, lr: 5e-3, warmupRatio: 0.05, valFraction: 0, saveEvery: 0 },
    });
    const rAfter = pearson((await testObj.predict(all(heldOut.length))).ratings, targets);
    const losses = res.history.map((h) => h.loss);
    const mean = (a: number[]): number => a.reduce((s, x) => s + x, 0) / a.length;
    assert.equal(res.steps, 60);
    assert.ok(mean(losses.slice(-10)) < 0.5 * mean(losses.slice(0, 5)), `loss ${mean(losses.slice(0, 5))} → ${mean(losses.slice(-10))}`);
    assert.ok(Math.abs(rBefore) < 0.4, `before training r = ${rBefore}`);
    assert.ok(rAfter > 0.6 && rAfter - rBefore > 0.5, `held-out r ${rBefore} → ${rAfter}`);
    assert.ok(res.tokensPerSec > 0);
    // Without validation the last step's checkpoint is the result; metrics.jsonl has every step.
    assert.equal(res.finalDir, join(tmp, `learn-${engine}`, 'step-60'));
    assert.equal(res.engine, engine === 'onnx' ? 'onnxruntime-cpu' : 'tfjs-wasm');
    assert.equal(readFileSync(join(tmp, `learn-${engine}`, 'metrics.jsonl'), 'utf8').trim().split('\n').length, 60);
    res.adapters.dispose();
  } finally {
    train.dispose();
    testObj.dispose();
    lm.model.dispose();
  }
});
}

// Small but complete: dropout, gradient accumulation, validation with early-stopping state,
// two epochs (the stop falls mid-epoch, so the data order and position are restored).
const RESUME_TRAIN: Partial<LoraTrainConfig> = {
  epochs: 2, batchSize: 4, gradAccumSteps: 2, lr: 3e-3, warmupRatio: 0.2, valFraction: 0.25,
  evalEvery: 2, patience: 0, saveEvery: 3, keepLast: 2, seed: 11,
};
const RESUME_LORA = { r: 4, alpha: 8, dropout: 0.1, targetModules: ['q_proj' as const, 'v_proj' as const, 'down_proj' as const] };

function comparable(h: StepMetrics[]): unknown[] {
  return h.map(({ step, epoch, loss, lr, gradNorm, examples, tokens, valLoss, valMae, valR }) => ({ step, epoch, loss, lr, gradNorm, examples, tokens, valLoss, valMae, valR }));
}

for (const engine of ['onnx', 'tfjs'] as const) {
test(`exact resume (${engine} engine, cpu): stopped after step 4 and resumed = uninterrupted, bit for bit`, async () => {
  await useBackend('cpu');
  const dir = (name: string): string => join(tmp, `${name}-${engine}`);
  const lm = await loadModel(fixture('tiny-llama'));
  const obj = new RatingObjective(lm.model, lm.tokenizer, markerTask(24, 3), { templates, loss: 'ce-interp' });
  try {
    const run = (out: string, extra: { resume?: boolean; stopAfterStep?: number } = {}): ReturnType<typeof trainLora> =>
      trainLora({ model: lm.model, modelName: 'tiny-llama', objective: obj, out, lora: RESUME_LORA, train: RESUME_TRAIN, engine, ...extra });
    const a = await run(dir('full'));
    a.adapters.dispose();
    assert.equal(a.totalSteps, 6);
    assert.equal(a.steps, 6);

    const b1 = await run(dir('split'), { stopAfterStep: 4 });
    b1.adapters.dispose();
    assert.equal(b1.interrupted, true);
    assert.equal(b1.steps, 4);
    assert.equal(readPointer(dir('split'), 'latest'), join(dir('split'), 'step-4'));
    // Debris of a write killed midway must not matter.
    mkdirSync(join(dir('split'), '.step-5.tmp-XXXX'));
    writeFileSync(join(dir('split'), '.step-5.tmp-XXXX', 'adapter_model.safetensors'), 'half');
    const deadPid = spawnSync(process.execPath, ['-e', '0']).pid!;
    mkdirSync(join(dir('split'), `.step-5.smft-tmp-${deadPid}-0000abcd`));
    writeFileSync(join(dir('split'), `.step-5.smft-tmp-${deadPid}-0000abcd`, 'adapter_model.safetensors'), 'half');
    const b2 = await run(dir('split'), { resume: true });
    b2.adapters.dispose();
    assert.equal(b2.steps, 6);
    assert.equal(b2.interrupted, false);

    assert.deepEqual(comparable(b2.history), comparable(a.history));
    assert.equal(readFileSync(join(dir('split'), 'metrics.jsonl'), 'utf8').trim().split('\n').length, 6);
    for (const f of ['adapter_model.safetensors', 'optimizer.safetensors']) {
      assert.ok(readFileSync(join(dir('split'), 'step-6', f)).equals(readFileSync(join(dir('full'), 'step-6', f))), `${f} differs`);
    }
    assert.equal(a.bestStep, b2.bestStep);
    assert.equal(a.finalDir.replace(dir('full'), dir('split')), b2.finalDir);
    assert.ok(!readdirSync(dir('split')).some((n) => n.includes('.tmp-') || n.includes('.smft-tmp-') || n.includes('.smft-old-')), 'temp folders cleaned');
    // keepLast 2 plus best and latest.
    assert.ok(listCheckpoints(dir('full')).length <= 3);

    // Resuming a finished run trains nothing and returns the same result.
    const again = await run(dir('full'), { resume: true });
    again.adapters.dispose();
    assert.equal(again.steps, 6);

    if (engine === 'tfjs') return; // the refusals below do not depend on the engine
    // Refused: a run folder reused without --resume, other settings, other rank, corruption.
    await assert.rejects(run(dir('split')), (e: unknown) => e instanceof SmftError && /already holds checkpoints/.test(e.message));
    await assert.rejects(
      trainLora({ model: lm.model, modelName: 'tiny-llama', objective: obj, out: dir('split'), lora: RESUME_LORA, train: { ...RESUME_TRAIN, lr: 1e-3 }, resume: true, engine }),
      (e: unknown) => e instanceof SmftError && /other settings/.test(e.message) && /lr/.test(e.message));
    await assert.rejects(
      trainLora({ model: lm.model, modelName: 'tiny-llama', objective: obj, out: dir('split'), lora: { ...RESUME_LORA, r: 8 }, train: RESUME_TRAIN, resume: true, engine }),
      (e: unknown) => e instanceof SmftError && /rank r=4/.test(e.message));
    const w = join(dir('split'), 'step-6', 'adapter_model.safetensors');
    const bytes = readFileSync(w);
    bytes[bytes.length - 3] ^= 0xff;
    writeFileSync(w, bytes);
    await assert.rejects(run(dir('split'), { resume: true }), (e: unknown) => e instanceof SmftError && /checksum/.test(e.message));
    // Another base model.
    const qwen = await loadModel(fixture('tiny-qwen2'));
    try {
      const qwenInfo = await baseInfoFromModel(qwen.model, 'tiny-qwen2');
      await assert.rejects(loadTrainingCheckpoint(join(dir('full'), 'step-6'), qwen.model, { baseInfo: qwenInfo, expectRank: 4 }),
        (e: unknown) => e instanceof SmftError && /another base model/.test(e.message));
    } finally {
      qwen.model.dispose();
    }
  } finally {
    obj.dispose();
    lm.model.dispose();
  }
});
}

test('NaN/Inf loss stops with a clear SmftError; the last good checkpoint stays', async () => {
  await useBackend('wasm');
  const lm = await loadModel(fixture('tiny-qwen2'));
  const obj = new RatingObjective(lm.model, lm.tokenizer, markerTask(8, 5), { templates });
  const out = join(tmp, 'nan');
  try {
    await assert.rejects(
      trainLora({
        model: lm.model, modelName: 'tiny-qwen2', objective: obj, out, lora: { r: 2, alpha: 4, dropout: 0 },
        // An absurd learning rate: AdamW moves every B entry by ~1e30 at step 1, so step 2's loss is not finite.
        train: { epochs: 5, batchSize: 4, gradAccumSteps: 1, lr: 1e30, warmupRatio: 0, schedule: 'constant', valFraction: 0, saveEvery: 1, maxGradNorm: 0 },
      }),
      (e: unknown) => e instanceof SmftError && /diverged at step 2/.test(e.message) && /step-1/.test(e.message) && /lower the learning rate/.test(e.message),
    );
    assert.equal(readPointer(out, 'latest'), join(out, 'step-1'));
    assert.ok(!existsSync(join(out, 'step-2')));
    const ck = await loadTrainingCheckpoint(join(out, 'step-1'), lm.model, { baseInfo: await baseInfoFromModel(lm.model, 'tiny-qwen2'), expectRank: 2 });
    assert.equal(ck.state.step, 1);
    ck.adapters.dispose();
  } finally {
    obj.dispose();
    lm.model.dispose();
  }
});
