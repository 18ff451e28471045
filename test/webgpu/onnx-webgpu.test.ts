/**
 * ONNX Runtime's WebGPU execution provider running smft's decoder graph (weights as external
 * data, uploaded once): the NumPy golden logits and hidden states, the prefix-cached rating
 * workload, and ratings equal to the CPU engine's. In CI the adapter is lavapipe (software).
 */
import './env.js';
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Papa from 'papaparse';
import { runCli } from '../cli/helpers.js';
import { PREFIX_CASE, assertGolden, fixture, readGolden, relErr, useBackend } from '../lm/helpers.js';
import { loadModel, type LoadedModel } from '../../src/lm/load.js';
import { OnnxCausalLM } from '../../src/lm/onnx/session.js';
import { loadTemplates } from '../../src/lm/prompts.js';
import { rateWords } from '../../src/lm/rate.js';

const TOL = 1e-4;

for (const name of ['tiny-llama', 'tiny-qwen2']) {
  describe(`ONNX Runtime on WebGPU, ${name}`, () => {
    let lm: LoadedModel;
    let gpu: OnnxCausalLM;
    let cpu: OnnxCausalLM;
    before(async () => {
      await useBackend('cpu');
      lm = await loadModel(fixture(name));
      gpu = await OnnxCausalLM.fromModel(lm.model, { device: 'webgpu' });
      cpu = await OnnxCausalLM.fromModel(lm.model);
    });
    after(async () => {
      await gpu.dispose();
      await cpu.dispose();
      lm.model.dispose();
    });

    for (const c of readGolden(name).cases) {
      test(`${c.name}: logits and hidden states match the NumPy reference`, async () => {
        assert.equal(gpu.runtime, 'onnxruntime-webgpu');
        const out = await gpu.forward(c.input_ids, { attentionMask: c.attention_mask, outputHiddenStates: true });
        assertGolden(c, lm.config.vocabSize, out.logits!, out.hiddenStates!, TOL);
      });
    }

    test('prefix cache on the GPU engine: the same digit logits as the CPU engine', async () => {
      const preG = await gpu.prefill(PREFIX_CASE.prefix);
      const preC = await cpu.prefill(PREFIX_CASE.prefix);
      const g = await gpu.selectedLogits(PREFIX_CASE, preG);
      const c = await cpu.selectedLogits(PREFIX_CASE, preC);
      assert.equal(g.length, PREFIX_CASE.suffixes.length * 6);
      assert.ok(relErr(g, c) < TOL, `${g} vs ${c}`);
    });

    test('ratings of every English dimension equal the CPU engine; dispose removes the weights folder', async () => {
      const words = ['thunder', 'velvet', 'één', 'x'];
      const templates = loadTemplates(undefined, 'en');
      const a = await rateWords(gpu, lm.tokenizer, { words, templates, batchSize: 3, progress: false });
      const b = await rateWords(cpu, lm.tokenizer, { words, templates, batchSize: 4, progress: false });
      assert.equal(a.rows.length, words.length * 11);
      const key = (r: { word: string; dimension: string }): string => `${r.word}|${r.dimension}`;
      const ref = new Map(b.rows.map((r) => [key(r), r.rating]));
      for (const r of a.rows) assert.ok(Math.abs(r.rating - ref.get(key(r))!) < TOL, key(r));
      const dir = (gpu as unknown as { dir: string }).dir;
      assert.ok(existsSync(dir));
      await gpu.dispose();
      assert.ok(!existsSync(dir));
      gpu = await OnnxCausalLM.fromModel(lm.model, { device: 'webgpu' });
    });
  });
}

test('smft rate --backend onnx-webgpu writes the ratings of --backend onnx', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'smft-onnx-webgpu-'));
  try {
    const words = join(tmp, 'words.txt');
    writeFileSync(words, 'thunder\nvelvet\n');
    const run = async (backend: string): Promise<Map<string, number>> => {
      const out = join(tmp, `${backend}.csv`);
      const r = await runCli(['rate', '--model', fixture('tiny-qwen2'), '--eval-set', words, '--backend', backend, '-o', out], { timeoutMs: 120_000 });
      assert.equal(r.code, 0, r.stderr);
      const rows = Papa.parse<{ word: string; dimension: string; rating: string }>(readFileSync(out, 'utf8'), { header: true, skipEmptyLines: true }).data;
      return new Map(rows.map((x) => [`${x.word}|${x.dimension}`, Number(x.rating)]));
    };
    const g = await run('onnx-webgpu');
    const c = await run('onnx');
    assert.equal(g.size, 22);
    for (const [k, v] of c) assert.ok(Math.abs(v - g.get(k)!) < TOL, k);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
