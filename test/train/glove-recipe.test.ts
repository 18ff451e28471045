import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { spearman } from '../../kernels/cpu/correlate.js';
import { loadNorms } from '../../src/data/norms.js';
import { initBackend } from '../../src/lm/backend.js';
import { rateWithHead, trainGloveHead } from '../../src/train/recipes.js';
import { testDataDir } from '../helpers/data.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * The frozen-feature recipe end to end on real data: a linear head on GloVe vectors of the
 * paper's English training words predicts held-out eval words' human ratings far above chance.
 */
test('glove-head: trained on the training words, it rates unseen eval words in line with the humans', async () => {
  await initBackend('wasm');
  const dataDir = testDataDir();
  const out = join(tempDir('glove-head'), 'head');
  const r = await trainGloveHead({ out, dataDir, config: { hidden: 0, dropout: 0, seed: 3 } });
  assert.ok(r.trainingWords > 2300 && r.trainingWords <= 2358, `training words: ${r.trainingWords} (the paper split has 2358)`);
  const norms = await loadNorms(join(dataDir, 'paper', 'eval_en_1572_with_predictions.csv'), 'en');
  const words = norms.words.slice(0, 400);
  const rated = await rateWithHead({ head: out, words });
  for (const dim of ['auditory', 'visual', 'mouth'] as const) {
    const j = rated.dimensions.indexOf(dim), h = norms.dimensions.indexOf(dim);
    const ok = words.map((_, i) => i).filter((i) => Number.isFinite(rated.values[i * rated.dimensions.length + j]) && Number.isFinite(norms.values[i * norms.dimensions.length + h]));
    const rho = spearman(Float64Array.from(ok, (i) => rated.values[i * rated.dimensions.length + j]), Float64Array.from(ok, (i) => norms.values[i * norms.dimensions.length + h]));
    assert.ok(rho > 0.35, `${dim}: ρ = ${rho} on ${ok.length} unseen words`);
  }
});
