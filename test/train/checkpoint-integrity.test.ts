/**
 * Every load of a LoRA checkpoint verifies the checksums training recorded; a trainer_state
 * that does not fit its run is refused; `maxSteps` runs exactly that many steps (Hugging Face's
 * max_steps). One small run on the cpu backend serves all cases.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture, useBackend } from '../lm/helpers.js';
import { SOUND_TEMPLATES, markerTask } from './lora-helpers.js';
import { SmftError } from '../../src/util/errors.js';
import { loadModel, type LoadedModel } from '../../src/lm/load.js';
import {
  trainLora, RatingObjective, readAdapterFiles, applyCheckpoint, inferenceModel, mergeLora, readPointer, type LoraTrainConfig,
} from '../../src/train/lora/index.js';
import { readTrainerState } from '../../src/train/lora/checkpoint.js';

let tmp = '';
let lm: LoadedModel;
let obj: RatingObjective;
const TRAIN: Partial<LoraTrainConfig> = { epochs: 1, maxSteps: 5, batchSize: 4, gradAccumSteps: 1, lr: 1e-3, valFraction: 0, saveEvery: 1, keepLast: 0, seed: 5 };
const LORA = { r: 2, alpha: 4, dropout: 0, targetModules: ['q_proj' as const, 'v_proj' as const] };
const run = (out: string, resume = false) => trainLora({ model: lm.model, modelName: 'tiny-llama', objective: obj, out, lora: LORA, train: TRAIN, resume });

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'smft-ck-integrity-'));
  await useBackend('cpu');
  lm = await loadModel(fixture('tiny-llama'));
  obj = new RatingObjective(lm.model, lm.tokenizer, markerTask(12, 4), { templates: SOUND_TEMPLATES });
});
after(() => {
  obj?.dispose();
  lm?.model.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

const refused = (re: RegExp) => (e: unknown): boolean => {
  assert.ok(e instanceof SmftError, (e as Error).stack);
  assert.ok(!e.message.includes('\n'), e.message);
  assert.match(e.message, re);
  return true;
};

test('maxSteps runs exactly that many optimizer steps, over as many epochs as needed', async () => {
  const r = await run(join(tmp, 'run'));
  r.adapters.dispose();
  // 12 examples, batch 4: 3 steps an epoch; maxSteps 5 goes into the second epoch (epochs: 1 is overridden).
  assert.equal(r.totalSteps, 5);
  assert.equal(r.steps, 5);
  assert.deepEqual(r.history.map((h) => h.epoch), [1, 1, 1, 2, 2]);
});

test('a tampered adapter is refused by every loader (rate, embed, merge, trajectory go through them)', async () => {
  const ck = join(tmp, 'tampered');
  cpSync(join(tmp, 'run', 'step-5'), ck, { recursive: true });
  readAdapterFiles(ck); // intact: loads
  const w = join(ck, 'adapter_model.safetensors');
  const bytes = readFileSync(w);
  bytes[bytes.length - 5] ^= 0x40;
  writeFileSync(w, bytes);
  const re = /tampered: corrupt checkpoint: adapter_model\.safetensors does not match its checksum in trainer_state\.json/;
  assert.throws(() => readAdapterFiles(ck), refused(re));
  await assert.rejects(applyCheckpoint(lm.model, ck), refused(re));
  await assert.rejects(inferenceModel(lm.model, { onnx: false, checkpoint: ck }), refused(re));
  await assert.rejects(inferenceModel(lm.model, { onnx: 'cpu', checkpoint: ck }), refused(re));
  await assert.rejects(mergeLora({ base: fixture('tiny-llama'), adapter: ck, out: join(tmp, 'merged') }), refused(re));
  // A config edited by hand is caught the same way.
  cpSync(join(tmp, 'run', 'step-5'), ck, { recursive: true });
  const cfg = join(ck, 'adapter_config.json');
  writeFileSync(cfg, readFileSync(cfg, 'utf8').replace('"r": 2', '"r": 2 '));
  assert.throws(() => readAdapterFiles(ck), refused(/adapter_config\.json does not match its checksum/));
});

test('trainer_state: file names from it stay in the folder; wrong types and a state that does not fit the run are refused', async () => {
  const fresh = (name: string, edit: (s: Record<string, any>) => void): string => {
    const dir = join(tmp, name);
    rmSync(dir, { recursive: true, force: true });
    cpSync(join(tmp, 'run'), dir, { recursive: true });
    // Resume from step 4: mid-epoch (stepInEpoch 1), so the data order matters.
    writeFileSync(join(dir, 'latest'), 'step-4\n');
    const p = join(dir, 'step-4', 'trainer_state.json');
    const s = JSON.parse(readFileSync(p, 'utf8'));
    edit(s);
    writeFileSync(p, JSON.stringify(s));
    return dir;
  };
  const ok = fresh('ok', () => {});
  assert.equal(readTrainerState(readPointer(ok, 'latest')!).stepInEpoch, 1);
  const r = await run(ok, true);
  r.adapters.dispose();
  assert.equal(r.steps, 5);

  const cases: Array<[string, (s: Record<string, any>) => void, RegExp]> = [
    ['escape', (s) => { s.files['../../../etc/passwd'] = 'a'.repeat(64); }, /file name "\.\.\/\.\.\/\.\.\/etc\/passwd" in "files" is not a plain file name/],
    ['nosum', (s) => { delete s.files['adapter_model.safetensors']; }, /no checksum recorded for adapter_model\.safetensors/],
    ['past-end', (s) => { s.step = 99; }, /step 99 is past the end of the run \(totalSteps 5\)/],
    ['string-step', (s) => { s.step = '4'; }, /corrupt checkpoint: step="4"/],
    ['total', (s) => { s.totalSteps = 7; s.step = 4; }, /checkpoint does not fit this run: it was saved for 7 steps, the run has 5/],
    ['in-epoch', (s) => { s.stepInEpoch = 3; }, /stepInEpoch 3 is not below the 3 steps of an epoch/],
    ['order-range', (s) => { s.order[0] = 999; }, /the data order has example index 999, which is not a training example of this run/],
    ['order-twice', (s) => { s.order[1] = s.order[0]; }, /lists example \d+ twice/],
    ['order-type', (s) => { s.order[0] = 'x'; }, /data order is not a list of example indices/],
    ['rng', (s) => { s.rng.shuffle = [1, 2, 3]; }, /data order or RNG state missing/],
    ['best', (s) => { s.best = { step: 9, valLoss: 1 }; }, /best=/],
    ['done', (s) => { s.done = 'no'; }, /done="no"/],
  ];
  for (const [name, edit, re] of cases) await assert.rejects(run(fresh(name, edit), true), refused(re), name);
});
