/**
 * The paper's fine-tuning targets (src/train/paper-examples.ts, "targets": "paper"): the answer
 * text against Python, the examples of the paper's recipes against ../shared/METHOD.md, and a
 * tiny fixture model trained on decimal answers whose ratings are read back (src/lm/decimal.ts).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture, useBackend } from '../lm/helpers.js';
import { readJson } from '../helpers/golden.js';
import { testDataDir } from '../helpers/data.js';
import { loadModel, type LoadedModel } from '../../src/lm/load.js';
import { LmTokenizer } from '../../src/lm/tokenizer.js';
import { PromptBuilder } from '../../src/lm/rate.js';
import { rateWordsDecimal } from '../../src/lm/decimal.js';
import { paperSplit } from '../../src/data/splits.js';
import { readQaItems } from '../../src/train/qa.js';
import {
  PaperTextObjective, encodeChatExample, inferenceModel, loadRecipe, paperRatingExamples, pythonRound2, recipePaperExamples, runRecipe, trainLora,
} from '../../src/train/lora/index.js';

const DATA = testDataDir();
let tmp: string;
before(() => { tmp = mkdtempSync(join(tmpdir(), 'smft-paper-targets-')); });
after(() => { rmSync(tmp, { recursive: true, force: true }); });

test("pythonRound2 prints what Python's str(round(x, 2)) prints (scripts/reference/python_round_reference.py)", () => {
  const g = readJson<{ x: number[]; text: string[] }>(join(import.meta.dirname, '..', 'fixtures', 'paper', 'round2.json'));
  assert.ok(g.x.length > 3000);
  const bad = g.x.map((x, i) => [x, pythonRound2(x), g.text[i]]).filter(([, a, b]) => a !== b);
  assert.deepEqual(bad.slice(0, 5), []);
  for (const [x, s] of [[0.125, '0.12'], [0.375, '0.38'], [2.675, '2.67'], [1.005, '1.0'], [4.999, '5.0'], [2, '2.0'], [0.5, '0.5'], [4 / 3, '1.33']] as const) assert.equal(pythonRound2(x), s);
  assert.notEqual((0.125).toFixed(2), '0.12', "JavaScript's toFixed rounds ties up");
});

test("en_ft / nl_ft / qa_ft examples are the paper's: user = the prompt file with the word, assistant = the rounded mean or the letter", async () => {
  const split = await paperSplit(DATA);
  const prompts = join(DATA, 'paper', 'prompts');
  const en = await recipePaperExamples(loadRecipe('en_ft'), DATA);
  assert.equal(en.length, 2358 * 11);
  const auditory = readFileSync(join(prompts, 'auditory_prompt.txt'), 'utf8');
  const first = split.train.rows[0];
  assert.deepEqual(en[0].messages, [
    { role: 'user', content: auditory.replace('{Word}', first.en) },
    { role: 'assistant', content: pythonRound2(first.enRatings[0]) },
  ]);
  assert.match(first.en, /^[A-Z' -]+$/, 'English words upper-case, as in the norms');
  assert.ok(en[0].messages[0].content.endsWith('from 0 to 5. '), 'the file text, trailing space kept');
  for (const e of en) {
    assert.equal(e.messages.length, 2);
    assert.match(e.messages[1].content, /^[0-5]\.\d{1,2}$/);
    assert.ok(!e.messages[0].content.includes('{Word}'));
    const s = e.source as { mean: number };
    assert.ok(Math.abs(Number(e.messages[1].content) - s.mean) <= 0.005 + 1e-12);
  }
  // One block per prompt file (dimension), the training words in the split's order in each.
  assert.equal(new Set(en.map((e) => e.group)).size, 2358);
  assert.ok(readFileSync(join(prompts, 'torso_prompt.txt'), 'utf8').replace('{Word}', split.train.rows[2357].en) === en.at(-1)!.messages[0].content);

  const nl = await recipePaperExamples(loadRecipe('nl_ft'), DATA);
  assert.equal(nl.length, 2358 * 6);
  assert.equal(nl[0].messages[0].content, readFileSync(join(prompts, 'Horen_prompt.txt'), 'utf8').replace('{Woord}', first.nl));
  assert.equal(nl[0].messages[1].content, pythonRound2(first.nlRatings[0]));

  const qa = await recipePaperExamples(loadRecipe('qa_ft'), DATA);
  const items = readQaItems(join(DATA, 'paper', 'qa_train_840.json'));
  assert.equal(qa.length, 840);
  qa.forEach((e, i) => {
    assert.equal(e.messages[1].content, items[i].correct_option);
    assert.match(e.messages[1].content, /^[A-D]$/);
    assert.ok(e.messages[0].content.startsWith('Read the question and the answer choices below.'));
    assert.ok(e.messages[0].content.includes(items[i].question) && e.messages[0].content.includes(`D. ${items[i].options.D}`));
  });
});

test('answer tokens: the assistant turn as the chat template renders it (tiny-qwen2), else the text and EOS (tiny-llama)', async () => {
  const qwen = await LmTokenizer.load(fixture('tiny-qwen2'));
  const a = encodeChatExample(new PromptBuilder(qwen), qwen, 'Rate "BELL". ', '1.33');
  assert.deepEqual(a.answer, qwen.encode('1.33<|im_end|>', { addSpecialTokens: false }));
  assert.deepEqual(a.prompt, new PromptBuilder(qwen).ids('Rate "{Word}".', 'BELL'), 'the prompt rating uses');
  const llama = await LmTokenizer.load(fixture('tiny-llama'));
  const b = encodeChatExample(new PromptBuilder(llama, { lang: 'en' }), llama, 'Rate "BELL". ', '2.0');
  assert.deepEqual(b.answer, [...llama.encode('2.0', { addSpecialTokens: false }), llama.eosTokenId]);
  assert.deepEqual(b.prompt, llama.encode('Rate "BELL".\nAnswer: '));
});

test('a tiny model trained on decimal answers answers them; decimal and greedy reads give them back on TF.js and ONNX Runtime', async () => {
  await useBackend('wasm');
  const lm: LoadedModel = await loadModel(fixture('tiny-llama'));
  try {
    const src = join(tmp, 'auditory_prompt.txt');
    writeFileSync(src, 'How strongly is "{Word}" heard, 0 to 5? ');
    const templates = new Map([['auditory' as const, { dimension: 'auditory' as const, text: 'How strongly is "{Word}" heard, 0 to 5?', source: src }]]);
    const words = ['BELL', 'MOSS', 'DRUM', 'SILK'];
    const examples = paperRatingExamples({ words, dimensions: ['auditory'], values: [4.125, 0.5, 10 / 3, 1] }, templates);
    assert.deepEqual(examples.map((e) => e.messages[1].content), ['4.12', '0.5', '3.33', '1.0']);
    const want = [4.12, 0.5, 3.33, 1];
    const read = async (engine: Parameters<typeof rateWordsDecimal>[0], how: 'decimal' | 'greedy') =>
      (await rateWordsDecimal(engine, lm.tokenizer, { words, templates, lang: 'en', read: how, progress: false })).rows.map((r) => r.rating);
    const before = await read(lm.model, 'greedy');
    assert.ok(before.some((v, i) => Math.abs(v - want[i]) > 0.01), `the base model already answers ${before}`);

    const objective = new PaperTextObjective(lm.model, lm.tokenizer, examples, { lang: 'en' });
    const idx = Int32Array.from([0, 1, 2, 3]);
    const start = await objective.evaluate(idx, 4);
    const r = await trainLora({
      model: lm.model, modelName: 'tiny-llama', objective, out: join(tmp, 'run'), lora: { r: 8, alpha: 16, dropout: 0 },
      train: { epochs: 30, batchSize: 4, gradAccumSteps: 1, lr: 0.01, valFraction: 0, warmupRatio: 0, saveEvery: 0, keepLast: 1, logIntervalMs: 0 },
    });
    try {
      const end = await objective.evaluate(idx, 4);
      assert.ok(end.loss < start.loss / 10, `answer NLL ${start.loss} → ${end.loss}`);
      assert.equal(end.exact, 1);
      const greedy = await read(lm.model, 'greedy');
      assert.deepEqual(greedy.map((v) => Math.round(v * 100) / 100), want, 'the greedy answer is the trained text');
      const decimal = await read(lm.model, 'decimal');
      decimal.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 0.1, `${words[i]}: ${v} vs ${want[i]}`));
      // ONNX Runtime with the adapter merged reads the same.
      r.adapters.detach();
      const im = await inferenceModel(lm.model, { onnx: 'cpu', adapters: r.adapters });
      try {
        assert.deepEqual((await read(im.engine, 'greedy')).map((v) => Math.round(v * 100) / 100), want);
        (await read(im.engine, 'decimal')).forEach((v, i) => assert.ok(Math.abs(v - decimal[i]) < 1e-3, `onnx ${v} vs tfjs ${decimal[i]}`));
      } finally {
        await im.release();
      }
    } finally {
      r.adapters.dispose();
      objective.dispose();
    }
  } finally {
    lm.model.dispose();
  }
});

test('"targets": "paper" through runRecipe: the recipe trains the paper-text objective', async () => {
  await useBackend('wasm');
  const lm = await loadModel(fixture('tiny-qwen2'));
  try {
    const out = join(tmp, 'en_ft_tiny_paper');
    const r = await runRecipe('en_ft_tiny', { model: lm, out, dataDir: DATA, overrides: ['targets=paper', 'train.maxSteps=2', 'train.evalEvery=0'] });
    assert.equal(r.train.steps, 2);
    assert.equal(r.train.split.train + r.train.split.val, 48);
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
    assert.equal(run.config.task.kind, 'paper-text');
    assert.equal(run.config.task.examples, 48);
    assert.equal(run.config.task.chat, true);
  } finally {
    lm.model.dispose();
  }
});
