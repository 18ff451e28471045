/**
 * LoRA recipes (configs/recipes/*.json): validation and overrides, and the tiny variants run end
 * to end on the fixture models with the paper's data (from SMFT_DATA_DIR; fails without it).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture, useBackend } from '../lm/helpers.js';
import { SmftError } from '../../src/util/errors.js';
import { loadModel, type LoadedModel } from '../../src/lm/load.js';
import { testDataDir } from '../helpers/data.js';
import { rateWords } from '../../src/lm/rate.js';
import { loadTemplates } from '../../src/lm/prompts.js';
import { loadRecipe, applyOverrides, runRecipe, trainLoraRecipe, applyCheckpoint, validateRecipe, type RatingRecipeData, type QaRecipeData } from '../../src/train/lora/index.js';

const DATA = testDataDir();
let tmp: string;
let llama: LoadedModel;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'smft-recipes-'));
  await useBackend('wasm');
  llama = await loadModel(fixture('tiny-llama'));
});
after(() => {
  llama.model.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

test('the shipped recipes validate; the paper conditions use the paper data', () => {
  for (const name of ['en_ft', 'nl_ft', 'qa_ft', 'en_ft_tiny', 'nl_ft_tiny', 'qa_ft_tiny']) {
    const r = loadRecipe(name);
    assert.equal(r.name, name);
  }
  const en = loadRecipe('en_ft');
  assert.deepEqual(en.data, { lang: 'en', words: 'paper-train', templates: 'paper' });
  assert.equal((loadRecipe('nl_ft').data as RatingRecipeData).lang, 'nl');
  assert.equal((loadRecipe('qa_ft').data as QaRecipeData).train, 'paper/qa_train_840.json');
  assert.equal((loadRecipe('qa_ft').data as QaRecipeData).test, 'paper/qa_test_560.json');
});

test('recipe errors and overrides', () => {
  const en = loadRecipe('en_ft_tiny');
  assert.throws(() => loadRecipe('no_such_recipe'), (e: unknown) => e instanceof SmftError && /no recipe/.test(e.message));
  assert.throws(() => validateRecipe({ ...en, extra: 1 }), /unknown recipe field 'extra'/);
  assert.throws(() => validateRecipe({ ...en, task: 'poetry' }), /task/);
  assert.throws(() => validateRecipe({ ...en, objective: { loss: 'hinge' } }), /hinge/);
  assert.throws(() => validateRecipe({ ...en, data: { ...en.data, dimensions: ['horen'] } }), /not a Lancaster dimension/);
  assert.throws(() => validateRecipe({ ...en, train: { lr: -1 } }), /lr=-1/);
  assert.throws(() => validateRecipe({ ...en, lora: { rank: 4 } }), /unknown LoRA setting 'rank'/);
  const bad = join(tmp, 'bad.json');
  writeFileSync(bad, '{"name": ');
  assert.throws(() => loadRecipe(bad), /not valid JSON/);
  const o = applyOverrides(en, ['train.lr=0.01', 'lora.r=2', 'objective.loss=mse', 'description=hello world']);
  assert.equal(o.train!.lr, 0.01);
  assert.equal(o.lora!.r, 2);
  assert.equal(o.objective!.loss, 'mse');
  assert.equal(o.description, 'hello world');
  assert.equal(applyOverrides(en, { train: { seed: 5 } }).train!.batchSize, en.train!.batchSize);
  assert.throws(() => applyOverrides(en, ['train.lr']), /key.path=value/);
});

test('en_ft_tiny end to end: checkpoints, metrics, then rating with the checkpoint', async () => {
  const out = join(tmp, 'en_ft_tiny');
  const r = await runRecipe('en_ft_tiny', { model: llama, out, dataDir: DATA });
  assert.equal(r.train.interrupted, false);
  assert.ok(r.train.steps >= 2);
  assert.equal(r.train.split.train + r.train.split.val, 48);
  // PEFT's base_model_name_or_path: where the base model can be loaded from.
  assert.equal(JSON.parse(readFileSync(join(r.finalDir, 'adapter_config.json'), 'utf8')).base_model_name_or_path, fixture('tiny-llama'));
  const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, r.train.steps);
  assert.ok(lines.every((l) => Number.isFinite(l.loss) && l.tokensPerSec > 0));
  assert.ok(lines.some((l) => Number.isFinite(l.valLoss) && Number.isFinite(l.valMae)));
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.equal(summary.steps, r.train.steps);

  // smft rate --checkpoint: the adapted model rates differently from the base.
  const templates = new Map([...loadTemplates(join(DATA, 'paper', 'prompts'), 'en')].filter(([d]) => d === 'auditory'));
  const words = ['THUNDER', 'VELVET'];
  const base = await rateWords(llama.model, llama.tokenizer, { words, templates, progress: false });
  const applied = await applyCheckpoint(llama.model, out, { modelName: 'tiny-llama' });
  assert.equal(applied.dir, r.finalDir);
  const tuned = await rateWords(llama.model, llama.tokenizer, { words, templates, progress: false });
  applied.adapters!.dispose();
  assert.ok(tuned.rows.some((row, i) => Math.abs(row.rating - base.rows[i].rating) > 1e-4));
});

test('qa_ft_tiny end to end: test accuracy of tuned and base model', async () => {
  const out = join(tmp, 'qa_ft_tiny');
  const r = await runRecipe('qa_ft_tiny', { model: llama, out, dataDir: DATA, overrides: { train: { maxSteps: 3 } } });
  assert.equal(r.train.steps, 3);
  assert.ok(r.test && r.test.n === 16 && r.test.accuracy >= 0 && r.test.accuracy <= 1 && r.test.baseAccuracy !== undefined);
  assert.equal(JSON.parse(readFileSync(join(out, 'qa_test.json'), 'utf8')).n, 16);
  // The same run measured on ONNX Runtime (adapter merged): the same test results.
  const o = await runRecipe('qa_ft_tiny', { model: llama, out: join(tmp, 'qa_ft_tiny_onnx'), dataDir: DATA, overrides: { train: { maxSteps: 3 } }, inference: 'cpu' });
  assert.ok(o.test && Math.abs(o.test.loss - r.test.loss) < 1e-4, `loss ${o.test?.loss} vs ${r.test.loss}`);
  assert.equal(o.test.accuracy, r.test.accuracy);
  assert.equal(o.test.baseAccuracy, r.test.baseAccuracy);
});

test('nl_ft_tiny builds Dutch prompts and trains a step; the CLI helper needs a model', async () => {
  const r = await runRecipe('nl_ft_tiny', { model: llama, out: join(tmp, 'nl_ft_tiny'), dataDir: DATA, overrides: ['train.maxSteps=1', 'train.valFraction=0'] });
  assert.equal(r.train.steps, 1);
  assert.equal(r.train.split.train, 32);
  await assert.rejects(trainLoraRecipe({ recipe: 'en_ft', out: join(tmp, 'x') }), /--model/);
});
