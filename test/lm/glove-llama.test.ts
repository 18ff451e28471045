import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { loadGlove } from '../../src/features/glove.js';
import { initBackend } from '../../src/lm/backend.js';
import { tfEngine } from '../../src/lm/engine.js';
import { buildVocab, gloveLlamaTensors, layout, DEFAULT_SCALES, wordPieces } from '../../src/lm/glove-llama/index.js';
import { writeSafetensors } from '../../src/lm/safetensors.js';
import { loadModel } from '../../src/lm/load.js';
import { loadTemplates } from '../../src/lm/prompts.js';
import { digitTokenIds, rateWords } from '../../src/lm/rate.js';
import { letterTokenIds } from '../../src/train/lora/objectives/qa.js';
import { DEMO_MODEL_ID, demoModelStage, demoVocabInputs } from '../../src/pipeline/demo-model.js';
import { loadStudyConfig } from '../../src/pipeline/config.js';
import { projectRoot } from '../../src/data/datadir.js';
import { loadRecipe } from '../../src/train/lora/recipes.js';
import { testDataDir } from '../helpers/data.js';

const tmp = mkdtempSync(join(tmpdir(), 'smft-glove-llama-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('vocabulary: norm words are salient (less so when a prompt uses them), modality words by how few templates share them', () => {
  const v = buildVocab({
    normWords: ['bell', 'hearing', 'waiting room', 'bel'],
    templateSets: [['Rate "{Word}" by hearing the sound.', 'Rate "{Word}" by seeing the sound.', 'Rate "{Word}" by seeing light.']],
    texts: ['Answer:'],
    aliases: new Map([['bel', 'bell'], ['Rate', 'rank']]),
  });
  const s = (t: string) => ({ word: v.word[v.index.get(t)!], modality: v.modality[v.index.get(t)!] });
  assert.deepEqual(s('bell'), { word: 1, modality: 0 });
  assert.deepEqual(s('hearing'), { word: 0.5, modality: 1 }); // a norm word that a template uses
  assert.deepEqual(s('seeing'), { word: 0, modality: 0.5 }); // in 2 of 3 templates
  assert.deepEqual(s('sound'), { word: 0, modality: 0.5 });
  assert.deepEqual(s('Rate'), { word: 0, modality: 0 }); // in every template
  assert.equal(s('light').modality, 1);
  assert.ok(v.index.has('waiting') && v.index.has('room') && !v.index.has('waiting room'), 'multi-word entries are cut into words');
  assert.deepEqual([...v.alias], [['bel', 'bell']], 'a prompt word keeps its own vector');
  for (const d of '0123456789') assert.ok(v.index.has(d));
  assert.deepEqual(wordPieces('The concept is: "felt-tip pen". Answer:'), ['The', 'concept', 'is', ':', '"', 'felt-tip', 'pen', '"', '.', 'Answer', ':']);
});

test('the demo model: a Hugging Face folder that loadModel loads, labelled synthetic, deterministic, a cached study stage', async () => {
  const dataDir = testDataDir();
  // smft's GloVe cache (SMFT_CACHE_DIR; npm test gives the tests a private one).
  const glove = loadGlove();
  // configs/demo.json names it; the study generates it once per run folder.
  const study = loadStudyConfig(join(projectRoot(), 'configs', 'demo.json'), projectRoot());
  assert.equal(study.model, DEMO_MODEL_ID);
  for (const recipe of Object.values(study.conditions)) loadRecipe(recipe);
  const first = await demoModelStage(join(tmp, 'run'), dataDir, {}, { glove });
  assert.equal((await demoModelStage(join(tmp, 'run'), dataDir, {}, { glove })).stage.skipped, true);
  const dir = first.dir;
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.match(String(cfg.smft_synthetic), /hand-built .*Llama.*GloVe/);
  assert.equal(cfg.model_type, 'llama');
  // The same inputs give the same weights, byte for byte.
  const again = join(tmp, 'again.safetensors');
  writeSafetensors(again, gloveLlamaTensors(buildVocab(await demoVocabInputs(dataDir)), glove, DEFAULT_SCALES).tensors, { format: 'pt', smft_synthetic: String(cfg.smft_synthetic) });
  const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
  assert.equal(sha(again), sha(join(dir, 'model.safetensors')));

  await initBackend('cpu');
  const lm = await loadModel(dir);
  try {
    assert.equal(lm.config.architecture, 'LlamaForCausalLM');
    assert.equal(digitTokenIds(lm.tokenizer).length, 6);
    assert.equal(letterTokenIds(lm.tokenizer).length, 4);
    // Every norm word (English and Dutch) is known and round-trips through the tokenizer.
    const { normWords } = await demoVocabInputs(dataDir);
    // The paper split's 2358 + 1572 English–Dutch pairs: ≈ 7860 words (a few Dutch words are spelled like English ones).
    assert.ok(normWords.length > 7500, `${normWords.length} norm words`);
    assert.equal(lm.config.vocabSize, lm.tokenizer.vocabSize);
    const unk = 0;
    const bad = normWords.filter((w) => {
      const ids = lm.tokenizer.encode(w, { addSpecialTokens: false });
      return ids.includes(unk) || lm.tokenizer.decode(ids) !== w;
    });
    assert.deepEqual(bad, []);
    assert.equal(lm.tokenizer.encode('bell')[0], lm.tokenizer.encode('<s>', { addSpecialTokens: false })[0], 'BOS first, as Llama');

    // At the answer position the hidden state holds the asked word's vector.
    const L = layout(DEFAULT_SCALES.wordDim);
    const templates = [...loadTemplates(join(dataDir, 'paper', 'prompts'), 'en').values()];
    const engine = tfEngine(lm.model);
    for (const word of ['bell', 'lemon', 'shouter']) {
      const own = await engine.hiddenStates([lm.tokenizer.encode(word)], [[1, 1]]);
      const e = own[0].subarray(L.hidden, L.hidden + L.k); // embedding of the word token
      for (const t of [templates[0], templates[7]]) {
        const ids = lm.tokenizer.encode(t.text.replace('{Word}', word) + '\nAnswer: ');
        const h = (await engine.hiddenStates([ids], [ids.map(() => 1)]))[1];
        const last = h.subarray((ids.length - 1) * L.hidden, (ids.length - 1) * L.hidden + L.k);
        let dot = 0, a = 0, b = 0;
        for (let j = 0; j < L.k; j++) { dot += last[j] * e[j]; a += last[j] ** 2; b += e[j] ** 2; }
        assert.ok(dot / Math.sqrt(a * b) > 0.999, `${word}, ${t.dimension}: cos = ${dot / Math.sqrt(a * b)}`);
      }
    }

    // It rates: a distribution over 0–5 that depends on the word and on the dimension asked.
    const { rows } = await rateWords(lm.model, lm.tokenizer, { words: ['bell', 'lemon'], templates: loadTemplates(join(dataDir, 'paper', 'prompts'), 'en'), lang: 'en', progress: false });
    const r = (w: string, d: string) => rows.find((x) => x.word === w && x.dimension === d)!.rating;
    assert.ok(rows.every((x) => x.rating > 0 && x.rating < 5));
    assert.ok(r('bell', 'auditory') > r('lemon', 'auditory') && r('lemon', 'gustatory') > r('bell', 'gustatory'),
      `bell/lemon auditory ${r('bell', 'auditory')}/${r('lemon', 'auditory')}, gustatory ${r('bell', 'gustatory')}/${r('lemon', 'gustatory')}`);
  } finally {
    lm.model.dispose();
  }
});
