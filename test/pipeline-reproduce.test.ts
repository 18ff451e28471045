import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadStudyConfig } from '../src/pipeline/config.js';
import { reproduce } from '../src/pipeline/reproduce.js';
import { testDataDir } from './helpers/data.js';
import { tempDir } from './helpers/tmp.js';
import { modelIdentity } from '../src/lm/identity.js';

const root = resolve(import.meta.dirname, '..');

test('reproduce: every stage runs once, writes evaluation and report, and a rerun is served from the cache', async () => {
  const dir = tempDir('study');
  const file = join(dir, 'study.json');
  writeFileSync(file, JSON.stringify({
    name: 'mini', model: 'test/fixtures/models/tiny-qwen2', backend: 'wasm', languages: ['en'],
    conditions: { en_ft: 'en_ft_tiny' }, rate: { evalSet: 'paper', batchSize: 32, limit: 40 },
    embed: true, glove: false, published: true, evaluate: { bootstrap: 4, seed: 1, metric: 'cosine' },
  }));
  const cfg = loadStudyConfig(file, root);
  const first = await reproduce(cfg, { runDir: join(dir, 'run'), dataDir: testDataDir() });
  assert.deepEqual(first.stages.map((s) => s.name), ['train-en_ft', 'rate-base-en', 'rate-en_ft-en', 'embed-base-en', 'evaluate-en']);
  assert.ok(first.stages.every((s) => !s.skipped));
  const r = first.results.en!;
  assert.equal(r.n_words, 40);
  assert.deepEqual(r.models, ['base', 'en_ft', 'gpt4o_base', 'gpt4o_en_ft', 'gpt4o_nl_ft', 'gpt4o_qa_ft']);
  // The published predictions keep their published quality on these words.
  assert.ok(r.rsa.all.gpt4o_en_ft.rho > r.rsa.all.gpt4o_base.rho);
  assert.ok(r.layers && r.layers.all.length > 0);
  assert.ok(existsSync(first.reports.en!) && /<img[^>]+data:image\/(png|svg)/.test(readFileSync(first.reports.en!, 'utf8')));
  // The report shows the layer curve of the hidden states and the training curves of the LoRA run.
  assert.ok(['layer_rsa', 'training_curves'].every((n) => readFileSync(first.reports.en!, 'utf8').includes(`data-name="${n}"`)));
  // The tiny model is synthetic: results.json says so for the models rated with it.
  const synthetic = JSON.parse(readFileSync(join(root, 'test/fixtures/models/tiny-qwen2/config.json'), 'utf8')).smft_synthetic;
  assert.deepEqual(r.model_info, { base: { kind: 'local', synthetic }, en_ft: { kind: 'local', synthetic } });
  // Stage keys hash the model's content, not its path: the same model in another folder is cached.
  const copy = join(dir, 'copy-of-tiny-qwen2');
  cpSync(join(root, 'test/fixtures/models/tiny-qwen2'), copy, { recursive: true });
  const again = await reproduce({ ...cfg, model: copy }, { runDir: join(dir, 'run'), dataDir: testDataDir() });
  assert.ok(again.stages.every((s) => s.skipped), 'second run must be fully cached');
  assert.deepEqual(again.results.en!.rsa, r.rsa);
  // …and other weights are another model.
  const w = join(copy, 'model.safetensors');
  const bytes = readFileSync(w);
  bytes[bytes.length - 1] ^= 0x01;
  writeFileSync(w, bytes);
  assert.notEqual(await modelIdentity(copy), await modelIdentity(join(root, 'test/fixtures/models/tiny-qwen2')));
});

test('a study config with an unknown field is a one-line error naming the file', () => {
  const dir = tempDir('study');
  const file = join(dir, 'bad.json');
  writeFileSync(file, JSON.stringify({ name: 'x', model: 'm', bootstrapp: 3 }));
  assert.throws(() => loadStudyConfig(file, root), (e: Error) => e.message.includes(file) && e.message.includes('bootstrapp') && !e.message.includes('\n'));
});
