import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Dimension } from '../../src/data/dimensions.js';
import { loadNorms, promptWords } from '../../src/data/norms.js';
import { loadPredictions } from '../../src/data/predictions.js';
import { subsetRsa } from '../../src/eval/rsa.js';
import { loadGlove } from '../../src/features/glove.js';
import { initBackend } from '../../src/lm/backend.js';
import { loadModel } from '../../src/lm/load.js';
import { PredictionsWriter } from '../../src/lm/predictions.js';
import { loadTemplates } from '../../src/lm/prompts.js';
import { rateWords } from '../../src/lm/rate.js';
import { buildDemoModel } from '../../src/pipeline/demo-model.js';
import { paperWordSets } from '../../src/train/paper-data.js';
import { inferenceModel } from '../../src/train/lora/inference.js';
import { runRecipe } from '../../src/train/lora/recipes.js';
import { testDataDir } from '../helpers/data.js';

const tmp = mkdtempSync(join(tmpdir(), 'smft-demo-learning-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Four perceptual dimensions (a reduced En_FT: the test trains 600 words on these only). */
const DIMS: Dimension[] = ['auditory', 'gustatory', 'olfactory', 'visual'];

/**
 * The demo's point, at a reduced size: smft's own LoRA training of the demo model (the demo
 * recipes en_ft_demo and qa_ft_demo, fewer words and dimensions) on the paper's TRAINING words
 * raises RSA on UNSEEN eval words well above the base model's; QA fine-tuning moves it little.
 */
test('demo model: En_FT on training words lifts RSA on unseen eval words well above Base; QA_FT moves it little', async (t) => {
  await initBackend('wasm');
  const dataDir = testDataDir();
  const glove = loadGlove();
  const modelDir = join(tmp, 'glove-llama');
  await buildDemoModel({ out: modelDir, dataDir, glove });
  const lm = await loadModel(modelDir);
  try {
    const en = await runRecipe('en_ft_demo', {
      model: lm, out: join(tmp, 'en_ft'), dataDir, inference: 'cpu',
      overrides: { data: { maxWords: 600, dimensions: DIMS }, train: { lr: 0.007, valFraction: 0.02 } },
    });
    const qa = await runRecipe('qa_ft_demo', {
      model: lm, out: join(tmp, 'qa_ft'), dataDir, inference: 'cpu', overrides: { data: { maxItems: 160, maxTestItems: 16 } },
    });

    // 500 eval words, none of them a training word.
    const norms = await loadNorms(join(dataDir, 'paper', 'eval_en_1572_with_predictions.csv'), 'en');
    const words = promptWords(norms).slice(0, 500);
    const train = new Set((await paperWordSets(dataDir, 'en')).train.words.map((w) => w.toLowerCase()));
    assert.equal(words.filter((w) => train.has(w)).length, 0);

    const templates = new Map([...loadTemplates(join(dataDir, 'paper', 'prompts'), 'en')].filter(([d]) => DIMS.includes(d)));
    const files: string[] = [];
    for (const [name, checkpoint] of [['base', undefined], ['en_ft', en.finalDir], ['qa_ft', qa.finalDir]] as const) {
      const im = await inferenceModel(lm.model, { onnx: 'cpu', checkpoint });
      try {
        const writer = new PredictionsWriter(join(tmp, `${name}.csv`), name, { kind: 'test', checkpoint: checkpoint ?? null });
        await rateWords(im.engine, lm.tokenizer, { words, templates, lang: 'en', batchSize: 64, progress: false, onRows: (rows) => writer.append(rows) });
        files.push(writer.path);
      } finally {
        await im.release();
      }
    }
    const table = loadPredictions(files, { lang: 'en', norms });
    const { rsa } = await subsetRsa(table, 'trained', DIMS, { metric: 'cosine', fill: 2, bootstrap: 0, seed: 1, duplicates: 'keep', threads: 1 });
    const [base, enFt, qaFt] = [rsa.base.rho, rsa.en_ft.rho, rsa.qa_ft.rho];
    const gain = enFt - base;
    t.diagnostic(`RSA on ${words.length} eval words × ${DIMS.join('/')}: base ${base.toFixed(3)}, en_ft ${enFt.toFixed(3)}, qa_ft ${qaFt.toFixed(3)}`);
    assert.ok(gain > 0.1, `RSA on ${DIMS.join('/')}: base ${base.toFixed(3)}, en_ft ${enFt.toFixed(3)}, qa_ft ${qaFt.toFixed(3)}`);
    assert.ok(Math.abs(qaFt - base) < gain / 2, `QA_FT moved RSA by ${(qaFt - base).toFixed(3)} (En_FT by ${gain.toFixed(3)})`);
  } finally {
    lm.model.dispose();
  }
});
