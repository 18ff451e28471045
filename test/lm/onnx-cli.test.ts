import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Papa from 'papaparse';
import { fixture, useBackend } from './helpers.js';
import { runCli } from '../cli/helpers.js';
import { randomizeB } from '../train/lora-helpers.js';
import { loadModel } from '../../src/lm/load.js';
import { LoraAdapters, resolveLoraConfig, saveAdapter } from '../../src/train/lora/index.js';
import { baseInfoFromModel } from '../../src/train/lora/base.js';

let tmp: string;
let words: string;
before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'smft-onnx-cli-'));
  words = join(tmp, 'words.txt');
  writeFileSync(words, 'thunder\nvelvet\napple\nrun\n');
});
after(() => rmSync(tmp, { recursive: true, force: true }));

type Row = { word: string; dimension: string; rating: string };
const ratings = (file: string): Map<string, number> => {
  const rows = Papa.parse<Row>(readFileSync(file, 'utf8'), { header: true, skipEmptyLines: true }).data;
  return new Map(rows.map((r) => [`${r.word}|${r.dimension}`, Number(r.rating)]));
};
function maxDiff(a: Map<string, number>, b: Map<string, number>): number {
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  return Math.max(...[...a].map(([k, v]) => Math.abs(v - b.get(k)!)));
}

async function rate(out: string, ...args: string[]): Promise<Map<string, number>> {
  const r = await runCli(['rate', '--eval-set', words, '--lang', 'en', '-o', out, ...args], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.stderr);
  return ratings(out);
}

test('smft rate --backend onnx gives the ratings of the TF.js engine; auto picks ONNX Runtime on a CPU', async () => {
  const model = fixture('tiny-qwen2');
  const onnx = await rate(join(tmp, 'onnx.csv'), '--model', model, '--backend', 'onnx');
  const cpu = await rate(join(tmp, 'cpu.csv'), '--model', model, '--backend', 'cpu');
  assert.equal(onnx.size, 4 * 11);
  assert.ok(maxDiff(onnx, cpu) < 1e-4);
  const auto = await runCli(['rate', '--model', model, '--eval-set', words, '-o', join(tmp, 'auto.csv')], { env: { SMFT_LOG_LEVEL: 'info' }, timeoutMs: 120_000 });
  assert.equal(auto.code, 0, auto.stderr);
  assert.match(auto.stderr, /"runtime":"onnxruntime-cpu"/);
});

test('smft rate --checkpoint on ONNX Runtime (adapter merged) equals TF.js with the adapter attached', async () => {
  await useBackend('cpu');
  const lm = await loadModel(fixture('tiny-llama'), { tokenizer: false });
  const a = LoraAdapters.init(lm.model, resolveLoraConfig({ r: 4, alpha: 8, targetModules: ['q_proj', 'v_proj', 'down_proj'] }), 3);
  randomizeB(a, 4, 0.5);
  const adapter = join(tmp, 'adapter');
  await saveAdapter(adapter, a, await baseInfoFromModel(lm.model, 'tiny-llama'));
  a.dispose();
  lm.model.dispose();
  const model = fixture('tiny-llama');
  const onnx = await rate(join(tmp, 'ck-onnx.csv'), '--model', model, '--checkpoint', adapter, '--backend', 'onnx');
  const cpu = await rate(join(tmp, 'ck-cpu.csv'), '--model', model, '--checkpoint', adapter, '--backend', 'cpu');
  const base = await rate(join(tmp, 'base.csv'), '--model', model, '--backend', 'onnx');
  assert.ok(maxDiff(onnx, cpu) < 1e-4, 'merged on ONNX Runtime vs attached on TF.js');
  assert.ok(maxDiff(onnx, base) > 1e-3, 'the adapter changes the ratings');
});

test('smft rate --backend onnx with a corrupt model: one error line, no output file', async () => {
  const out = join(tmp, 'bad.csv');
  const r = await runCli(['rate', '--model', join(tmp, 'no-such-model'), '--eval-set', words, '--backend', 'onnx', '-o', out]);
  assert.notEqual(r.code, 0);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.equal(existsSync(out), false);
});
