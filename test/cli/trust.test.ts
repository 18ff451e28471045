/**
 * Trust, through the command line as a user meets it: names from data stay data, ratings
 * record what made them and refuse a resume with anything else, checkpoints are verified,
 * numbers are checked (NaN forward passes, impossible configs, special and huge input files,
 * ratings off the scale, overflowing scales, empty model columns). Child processes on real files
 * in a temp folder; a local stand-in for the Hugging Face hub serves downloads.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli as run, ROOT, type CliResult } from './helpers.js';
import { testDataDir } from '../helpers/data.js';
import { repoFromFolder, startHubServer, type HubServer } from '../helpers/hub-server.js';
import { fixture, useBackend } from '../lm/helpers.js';
import { SOUND_TEMPLATES, markerTask } from '../train/lora-helpers.js';
import { readSafetensors, writeSafetensors, type F32Tensor } from '../../src/lm/safetensors.js';
import { saveEmbeddings } from '../../src/lm/embed.js';
import { loadModel } from '../../src/lm/load.js';
import { RatingObjective, trainLora } from '../../src/train/lora/index.js';
import { EN_DIMENSIONS } from '../../src/data/dimensions.js';
import { PAPER_FILES } from '../../src/data/sources.js';
import { Rng } from '../../src/util/rng.js';

/** CLI runs; a loaded 2-core machine can take many seconds per start. */
const runCli = (args: string[], opts: Parameters<typeof run>[1] = {}): Promise<CliResult> => run(args, { timeoutMs: 300_000, ...opts });

let tmp = '';
let hub: HubServer;
let checkpoint = '';
const cache = (): string => join(tmp, 'cache');
const env = (): Record<string, string> => ({ HF_ENDPOINT: hub.url, SMFT_CACHE_DIR: cache() });
const t = (...p: string[]): string => join(tmp, ...p);

/**
 * Start-up noise of TF.js and Dawn that is another piece of work's to silence (the TF.js
 * banner, Dawn's limit warnings); everything else on stderr counts.
 */
const NOISE = /^(=+|Hi, looks like you are running TensorFlow\.js in Node\.js.*|Warning: max\w+ artificially reduced .*|)$/;

/** The one-line error contract: exit ≠ 0, one stderr line `smft: error: …` matching `re`, nothing on stdout. */
function oneLine(r: CliResult, re: RegExp): void {
  const lines = r.stderr.trimEnd().split('\n').filter((l) => !NOISE.test(l.trim()));
  assert.notEqual(r.code, 0, `exit 0; stdout ${r.stdout}`);
  assert.equal(lines.length, 1, `stderr is not one line:\n${r.stderr}`);
  assert.match(lines[0], /^smft: error: /);
  assert.doesNotMatch(lines[0], /internal error/);
  assert.match(lines[0], re);
}

/** A copy of tiny-qwen2 with `edit` applied to its folder. */
function modelCopy(name: string, edit: (dir: string) => void): string {
  const dir = t(name);
  cpSync(fixture('tiny-qwen2'), dir, { recursive: true });
  edit(dir);
  return dir;
}

const editConfig = (dir: string, edit: (c: Record<string, unknown>) => void): void => {
  const c = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  edit(c);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(c, null, 2));
};

/** Human and model ratings of the first n eval words as a long CSV (models: name → rating of word i on dim k). */
function longCsv(file: string, n: number, models: Record<string, (i: number, k: number, base: number) => string>): void {
  const words = readFileSync(join(testDataDir(), PAPER_FILES.evalEn), 'utf8').split('\n').slice(1, n + 1).map((l) => l.split(',')[0].toLowerCase());
  const rng = new Rng(9);
  const rows = ['word,dimension,model,rating'];
  words.forEach((w, i) => EN_DIMENSIONS.forEach((d, k) => {
    const base = Math.round(rng.next() * 500) / 100;
    for (const [m, f] of Object.entries(models)) rows.push(`${w},${d},${m},${f(i, k, base)}`);
  }));
  writeFileSync(file, rows.join('\n') + '\n');
}

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'smft-trust-'));
  mkdirSync(cache());
  hub = await startHubServer([repoFromFolder('org/tiny', fixture('tiny-qwen2'))]);
  // A LoRA checkpoint of tiny-qwen2 (two steps on the cpu backend).
  await useBackend('cpu');
  const lm = await loadModel(fixture('tiny-qwen2'));
  const obj = new RatingObjective(lm.model, lm.tokenizer, markerTask(8, 2), { templates: SOUND_TEMPLATES });
  try {
    const r = await trainLora({
      model: lm.model, modelName: 'tiny-qwen2', modelSource: fixture('tiny-qwen2'), objective: obj, out: t('run'),
      lora: { r: 2, alpha: 4, dropout: 0, targetModules: ['q_proj', 'v_proj'] }, train: { maxSteps: 2, batchSize: 4, gradAccumSteps: 1, valFraction: 0, saveEvery: 1 },
    });
    r.adapters.dispose();
    checkpoint = r.finalDir;
  } finally {
    obj.dispose();
    lm.model.dispose();
  }
});
after(async () => {
  await hub?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('ratings: hub download, provenance sidecar, refused resumes, results.json model_info', () => {
  test('rate a hub model (HF_ENDPOINT), evaluate it (model_info.synthetic), then a resume with other prompts is refused', async () => {
    const out = t('ratings.csv');
    const r = await runCli(['rate', '--model', 'org/tiny', '--model-id', 'tiny', '--limit', '8', '--backend', 'onnx', '-o', out], { env: env() });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(join(cache(), 'org', 'tiny', 'model.safetensors')));
    const meta = JSON.parse(readFileSync(`${out}.meta.json`, 'utf8'));
    const id = meta.models.tiny.identity;
    assert.equal(id.kind, 'local');
    assert.equal(id.model, 'org/tiny');
    assert.match(id.weights, /^sha256:[0-9a-f]{64}$/);
    assert.equal(id.adapter, null);
    assert.equal(id.lang, 'en');
    assert.match(id.synthetic, /tiny Qwen2-style test model with random weights/);
    const before = readFileSync(out);

    const ev = await runCli(['evaluate', '-p', out, '-o', t('ev'), '--bootstrap', '2'], { env: env() });
    assert.equal(ev.code, 0, ev.stderr);
    const res = JSON.parse(readFileSync(t('ev', 'results.json'), 'utf8'));
    assert.deepEqual(res.model_info, { tiny: { kind: 'local', synthetic: id.synthetic } });

    // Same file, same model id, other templates (the paper's prompts): refused, nothing touched.
    const again = await runCli(['rate', '--model', 'org/tiny', '--model-id', 'tiny', '--limit', '8', '--backend', 'onnx', '--prompts', join(testDataDir(), 'paper', 'prompts'), '-o', out], { env: env() });
    oneLine(again, /ratings\.csv: the 88 rating\(s\) of model 'tiny' here were made with another templates: "sha256:[0-9a-f]+…[0-9a-f]+" → .*rate into another file or choose another --model-id/);
    assert.ok(readFileSync(out).equals(before));
  });

  test('a forward pass that gives NaN is an error naming the model, with no ratings file left', async () => {
    const dir = modelCopy('nan-model', (d) => {
      const f = readSafetensors(join(d, 'model.safetensors'));
      const tensors: Record<string, F32Tensor> = Object.fromEntries(f.tensors);
      tensors['model.norm.weight'].data.fill(NaN);
      writeSafetensors(join(d, 'model.safetensors'), tensors, f.metadata);
    });
    const out = t('nan.csv');
    const r = await runCli(['rate', '--model', dir, '--limit', '3', '--backend', 'onnx', '-o', out]);
    oneLine(r, /nan-model: the model's forward pass gives non-finite values \(NaN\) \(first batch: .*\): its weights or config\.json are broken/);
    assert.equal(existsSync(out), false);
    assert.equal(existsSync(`${out}.meta.json`), false);
  });

  test('a config claiming 10⁹ layers is one line, before anything is allocated', async () => {
    const dir = modelCopy('huge-layers', (d) => editConfig(d, (c) => { c.num_hidden_layers = 1e9; }));
    const r = await runCli(['rate', '--model', dir, '--limit', '3', '--backend', 'onnx', '-o', t('huge.csv')]);
    oneLine(r, /huge-layers\/config\.json: num_hidden_layers = 1000000000 is out of range \(at most 1024\)/);
  });
});

describe('checkpoints from data', () => {
  test('a tampered checkpoint is refused by rate and merge; a base model name that is not a hub id or an absolute folder is refused', async () => {
    const bad = t('tampered');
    cpSync(checkpoint, bad, { recursive: true });
    const w = join(bad, 'adapter_model.safetensors');
    const bytes = readFileSync(w);
    bytes[bytes.length - 9] ^= 0x10;
    writeFileSync(w, bytes);
    const [rate, merge] = await Promise.all([
      runCli(['rate', '--checkpoint', bad, '--limit', '3', '--backend', 'onnx', '-o', t('tampered.csv')]),
      runCli(['merge', '--model', fixture('tiny-qwen2'), '--checkpoint', bad, '-o', t('merged-bad')]),
    ]);
    for (const r of [rate, merge]) oneLine(r, /tampered: corrupt checkpoint: adapter_model\.safetensors does not match its checksum in trainer_state\.json/);
    assert.equal(existsSync(t('merged-bad')), false);

    // A bare PEFT adapter (no recorded checksums) whose base model name would leave the hub cache.
    for (const [name, base] of [['escape', 'a/..']]) {
      const dir = t(name);
      cpSync(checkpoint, dir, { recursive: true });
      rmSync(join(dir, 'trainer_state.json'));
      const cfg = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8'));
      writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify({ ...cfg, base_model_name_or_path: base }));
      const r = await runCli(['rate', '--checkpoint', dir, '--limit', '3', '-o', t(`${name}.csv`)], { env: env() });
      oneLine(r, new RegExp(`${name}: adapter_config\\.json base_model_name_or_path "${base.replace(/\./g, '\\.')}" is neither a Hugging Face hub id nor an absolute folder; pass --model`));
    }
    assert.deepEqual(readdirSync(cache()).filter((f) => f !== 'org'), []);
  });

  test('merge copies only what a model folder needs', async () => {
    const base = modelCopy('base-with-stale', (d) => { writeFileSync(join(d, 'results.json'), '{}'); writeFileSync(join(d, 'LICENSE'), 'MIT'); });
    const r = await runCli(['merge', '--model', base, '--checkpoint', checkpoint, '-o', t('merged')]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(t('merged')).sort(), ['.smft-output.json', 'LICENSE', 'config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    assert.match(JSON.parse(readFileSync(t('merged', 'config.json'), 'utf8')).smft_synthetic, /random weights/);
  });
});

describe('evaluate: inputs and numbers', { concurrency: 2 }, () => {
  test('special input files: one line, nothing read (FIFOs and huge files: test/util/input.test.ts)', async () => {
    oneLine(await runCli(['evaluate', '-p', '/dev/zero', '-o', t('o1')]), /^smft: error: \/dev\/zero: is a device: smft reads text files from regular files only$/);
  });

  test('ratings off the scale are a warning with a count; × 1e200 gives the ρ of the sane scale; an empty model is left out', async () => {
    longCsv(t('scales.csv'), 40, {
      base: (_i, _k, b) => String(b),
      big: (_i, _k, b) => String(b * 1e200),
      seven: (i, k, b) => String(i === 0 && k < 2 ? 7 : b),
      empty: (_i, k, b) => (k === 0 ? '' : String(b)),
    });
    const r = await runCli(['evaluate', '-p', t('scales.csv'), '-o', t('o5'), '--bootstrap', '0'], { env: { SMFT_LOG_LEVEL: 'warn' } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /440 rating\(s\) of big lie outside the 0–5 scale/);
    assert.match(r.stderr, /2 rating\(s\) of seven lie outside the 0–5 scale \(e\.g\. 7 for /);
    assert.match(r.stderr, /model empty has no ratings on auditory \(empty or NaN column\): left out of the evaluation/);
    const res = JSON.parse(readFileSync(t('o5', 'results.json'), 'utf8'));
    assert.deepEqual(res.models, ['base', 'big', 'seven']);
    assert.deepEqual(res.excluded_models, { empty: 'no ratings on auditory' });
    for (const s of ['motor', 'sensory', 'all']) {
      assert.equal(res.rsa[s].base.n_words, 40);
      assert.ok(Math.abs(res.rsa[s].big.rho - res.rsa[s].base.rho) < 1e-12, `${s}: ${res.rsa[s].big.rho} vs ${res.rsa[s].base.rho}`);
    }
  });

  test('--representations alone prints the best finite layer', async () => {
    const words = readFileSync(join(testDataDir(), PAPER_FILES.evalEn), 'utf8').split('\n').slice(1, 31).map((l) => l.split(',')[0].toLowerCase());
    const rng = new Rng(4);
    const layers = 3, hidden = 6, n = words.length;
    const data = () => Float32Array.from({ length: layers * n * hidden }, () => rng.next());
    saveEmbeddings(t('hidden.safetensors'), { words, layers, hidden, last: data(), mean: data(), prompt: 'x' }, 'synthetic');
    const r = await runCli(['evaluate', '--representations', t('hidden.safetensors'), '-o', t('o6')]);
    assert.equal(r.code, 0, r.stderr);
    const csv = readFileSync(t('o6', 'layers.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
    for (const subset of ['motor', 'sensory', 'all']) {
      const rows = csv.filter((c) => c[0] === subset);
      assert.ok(rows.length > 0 && rows.every((c) => Number.isFinite(Number(c.at(-1)))), subset);
      const best = rows.reduce((a, b) => (Number(b.at(-1)) > Number(a.at(-1)) ? b : a));
      // layers.csv: subset, pooling, layer, rho
      assert.match(r.stdout, new RegExp(`${subset}: best layer ${best[2]} \\(${best[1]}\\) ρ = ${Number(best[3]).toFixed(3).replace('.', '\\.')}`));
    }
    assert.doesNotMatch(r.stdout, /-1|NaN/);
  });

  test('report: a subset name from the results that would leave the report folder is refused', async () => {
    const ev = t('ev-crafted');
    longCsv(t('crafted.csv'), 20, { base: (_i, _k, b) => String(b), other: (_i, _k, b) => String(5 - b) });
    const e = await runCli(['evaluate', '-p', t('crafted.csv'), '-o', ev, '--bootstrap', '3']);
    assert.equal(e.code, 0, e.stderr);
    const f = join(ev, 'bootstrap.csv');
    writeFileSync(f, readFileSync(f, 'utf8').replace(/^all,/gm, '../../../../escaped,'));
    const word = readFileSync(t('crafted.csv'), 'utf8').split('\n')[1].split(',')[0];
    const r = await runCli(['report', ev, '--word', word]);
    oneLine(r, /ev-crafted: figure file name \(from the subset names in the results\) "bootstrap_density_\.\.\/\.\.\/\.\.\/\.\.\/escaped\.svg" contains a path separator/);
    assert.equal(existsSync(join(ROOT, '..', 'escaped.svg')), false);
  });
});
