import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadPredictions } from '../../src/data/predictions.js';
import { evaluate } from '../../src/eval/evaluate.js';
import { readJson } from '../helpers/golden.js';

/**
 * `evaluate --device webgpu` gives the CPU kernels' bootstrap to f32 precision. In CI this runs
 * on Mesa's software Vulkan driver (lavapipe), which the install recipe provides.
 */
test('the WebGPU bootstrap agrees with the CPU bootstrap on a fixture', async () => {
  process.env.SMFT_WEBGPU_ALLOW_SOFTWARE = '1';
  const dir = join(import.meta.dirname, '..', 'fixtures', 'eval');
  const table = loadPredictions([join(dir, 'ties.csv')]);
  const indices = readJson<Record<string, number[][]>>(join(dir, 'ties.indices.json'));
  const cpu = await evaluate(table, { indices, threads: 1 });
  const gpu = await evaluate(table, { indices, threads: 1, device: 'webgpu' });
  for (const [subset, byModel] of Object.entries(cpu.samples)) {
    for (const [model, rho] of Object.entries(byModel)) {
      rho.forEach((v, it) => assert.ok(Math.abs(gpu.samples[subset][model][it] - v) < 1e-5, `${subset}/${model}/${it}: gpu ${gpu.samples[subset][model][it]} vs cpu ${v}`));
    }
  }
});
