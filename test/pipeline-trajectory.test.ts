import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Papa from 'papaparse';
import { loadNorms } from '../src/data/norms.js';
import { initBackend } from '../src/lm/backend.js';
import { loadModel } from '../src/lm/load.js';
import { alignmentTrajectory } from '../src/pipeline/trajectory.js';
import { runRecipe } from '../src/train/lora/recipes.js';
import { testDataDir } from './helpers/data.js';
import { tempDir } from './helpers/tmp.js';

const ratings = (file: string): Map<string, number> =>
  new Map(Papa.parse<{ word: string; dimension: string; rating: string }>(readFileSync(file, 'utf8'), { header: true, skipEmptyLines: true }).data.map((r) => [`${r.word}|${r.dimension}`, Number(r.rating)]));

test('alignment trajectory: the base model and every saved checkpoint of a run are rated and scored, on TF.js and ONNX Runtime alike', async () => {
  await initBackend('wasm');
  const dataDir = testDataDir();
  const dir = tempDir('traj');
  const lm = await loadModel(resolve(import.meta.dirname, 'fixtures', 'models', 'tiny-qwen2'));
  const run = await runRecipe('en_ft_tiny', { model: lm, out: join(dir, 'run'), dataDir });
  const norms = await loadNorms(join(dataDir, 'paper', 'eval_en_1572_with_predictions.csv'), 'en');
  const words = norms.words.slice(0, 30).map((w) => w.toLowerCase());
  const points = await alignmentTrajectory(lm, run.runDir, norms, words, 'en', join(dir, 'traj'));
  assert.equal(points[0].step, 0);
  assert.ok(points.length >= 2, 'base + at least one checkpoint');
  for (let k = 1; k < points.length; k++) assert.ok(points[k].step > points[k - 1].step);
  for (const p of points) {
    assert.deepEqual(Object.keys(p.rsa), ['motor', 'sensory', 'all']);
    assert.ok(Object.values(p.rsa).every(Number.isFinite) && Number.isFinite(p.meanDimensionRho));
    assert.ok(existsSync(join(dir, 'traj', `step-${p.step}.csv`)));
  }
  // On ONNX Runtime (each checkpoint merged into copies of the kernels): the same ratings.
  const onnx = await alignmentTrajectory(lm, run.runDir, norms, words, 'en', join(dir, 'traj-onnx'), { onnx: 'cpu' });
  assert.deepEqual(onnx.map((p) => p.step), points.map((p) => p.step));
  for (const p of points) {
    const a = ratings(join(dir, 'traj', `step-${p.step}.csv`));
    const b = ratings(join(dir, 'traj-onnx', `step-${p.step}.csv`));
    assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
    for (const [k, v] of a) assert.ok(Math.abs(v - b.get(k)!) < 1e-4, `step ${p.step} ${k}: ${v} vs ${b.get(k)}`);
  }
  lm.model.dispose();
});
