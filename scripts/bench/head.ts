/**
 * Benchmark: head training on cached features (the "fast path that trains in seconds").
 *
 *   node --import tsx scripts/bench/head.ts [--backend cpu,wasm] [--hidden 0,256] [--epochs 20]
 *        [--features glove|synthetic] [--data-dir DIR] [--cache-dir DIR] [--recipe]
 *
 * For each backend × head size: seconds per epoch and rows/s over a fixed number of epochs (no
 * early stopping), plus the one-off costs (GloVe cache load, feature lookup). With --recipe, the
 * full glove-head recipe (early stopping) is timed too. GloVe features are those of the paper's
 * English training words (needs the data directory); --features synthetic uses random 100-d
 * features for 4022 words and needs nothing. Results: a table on stderr, JSON lines on stdout.
 */
import * as tf from '@tensorflow/tfjs';
import { cpus } from 'node:os';
import { initBackend, type BackendName } from '../../src/lm/backend.js';
import { resolveDataDir } from '../../src/data/datadir.js';
import { Rng } from '../../src/util/rng.js';
import { loadGlove } from '../../src/features/glove.js';
import type { FeatureMatrix } from '../../src/features/matrix.js';
import { trainRegressionHead } from '../../src/train/regression.js';
import { GLOVE_HEAD_RECIPE } from '../../src/train/recipes.js';
import { paperWordSets } from '../../src/train/paper-data.js';
import { arg } from './common.js';

const flag = (name: string): boolean => process.argv.includes(`--${name}`);

const backends = arg('backend', 'cpu,wasm').split(',') as BackendName[];
const hiddens = arg('hidden', '0,256').split(',').map(Number);
const epochs = Number(arg('epochs', '20'));
const featureKind = arg('features', 'glove');

async function features(): Promise<{ data: { features: FeatureMatrix; targets: Float32Array; dimensions: string[] }; setup: Record<string, number> }> {
  if (featureKind === 'synthetic') {
    const rng = new Rng(1);
    const n = 4022, D = 100, K = 11;
    const values = Float32Array.from({ length: n * D }, () => rng.normal());
    const targets = Float32Array.from({ length: n * K }, () => 2.5 + rng.normal());
    return { data: { features: { words: Array.from({ length: n }, (_, i) => `w${i}`), dim: D, values, source: 'synthetic' }, targets, dimensions: Array.from({ length: K }, (_, j) => `d${j}`) }, setup: {} };
  }
  const t0 = performance.now();
  const glove = loadGlove({ cacheDir: process.argv.includes('--cache-dir') ? arg('cache-dir', '') : undefined });
  const tLoad = performance.now() - t0;
  const { train } = await paperWordSets(resolveDataDir(process.argv.includes('--data-dir') ? arg('data-dir', '') : undefined), 'en');
  const t1 = performance.now();
  const f = glove.features(train.words, 'English training words');
  const tFeat = performance.now() - t1;
  const K = train.dimensions.length;
  const row = new Map(train.words.map((w, i) => [w, i]));
  const targets = new Float32Array(f.matrix.words.length * K);
  f.matrix.words.forEach((w, i) => targets.set(train.values.subarray(row.get(w)! * K, (row.get(w)! + 1) * K), i * K));
  return { data: { features: f.matrix, targets, dimensions: [...train.dimensions] }, setup: { gloveLoadMs: Math.round(tLoad), featureLookupMs: Math.round(tFeat) } };
}

const { data, setup } = await features();
const rows: Record<string, unknown>[] = [];
const env = { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version, tfjs: tf.version.tfjs, words: data.features.words.length, dim: data.features.dim, ...setup };
process.stderr.write(`${JSON.stringify(env)}\n`);
for (const b of backends) {
  const backend = await initBackend(b);
  for (const hidden of hiddens) {
    const cfg = { ...GLOVE_HEAD_RECIPE, hidden, dropout: hidden > 0 ? GLOVE_HEAD_RECIPE.dropout : 0, epochs, patience: 0 };
    const r = await trainRegressionHead(data, cfg, { logIntervalMs: 1e9 });
    r.head.dispose();
    const h = r.fit.history;
    // Skip the first epoch (warm-up of kernels and JIT) for the steady-state rate.
    const steady = h.slice(1);
    const secPerEpoch = steady.length ? (h[h.length - 1].elapsedSec - h[0].elapsedSec) / steady.length : h[0].elapsedSec;
    const row = {
      backend, hidden, epochs, batch: cfg.batchSize, seconds: Number(r.fit.seconds.toFixed(2)), secPerEpoch: Number(secPerEpoch.toFixed(4)),
      rowsPerSec: Math.round(r.split.train.length / secPerEpoch), firstEpochSec: Number(h[0].elapsedSec.toFixed(3)), valMse: Number((h[h.length - 1].valMse ?? NaN).toFixed(4)),
    };
    rows.push(row);
    process.stdout.write(`${JSON.stringify(row)}\n`);
    if (flag('recipe')) {
      const t = performance.now();
      const full = await trainRegressionHead(data, { ...GLOVE_HEAD_RECIPE, hidden, dropout: cfg.dropout }, { logIntervalMs: 1e9 });
      full.head.dispose();
      const rec = { backend, hidden, recipe: true, seconds: Number(((performance.now() - t) / 1000).toFixed(2)), epochsRun: full.fit.history.length, bestEpoch: full.fit.bestEpoch, valMse: Number((full.config.metrics.valMse as number).toFixed(4)) };
      rows.push(rec);
      process.stdout.write(`${JSON.stringify(rec)}\n`);
    }
  }
}
process.stderr.write('\nbackend  hidden  sec/epoch  rows/s   total(s)\n');
for (const r of rows.filter((x) => !x.recipe)) {
  process.stderr.write(`${String(r.backend).padEnd(8)} ${String(r.hidden).padStart(6)}  ${String(r.secPerEpoch).padStart(9)}  ${String(r.rowsPerSec).padStart(6)}  ${String(r.seconds).padStart(8)}\n`);
}
