import { spearman } from '../../kernels/cpu/correlate.js';
import { averageRanks } from '../../kernels/cpu/ranks.js';
import { pairCount } from '../../kernels/cpu/rdm.js';
import type { Dimension } from '../data/dimensions.js';
import { bootstrapRsaGpu } from './bootstrap.js';
import { correlationP } from './correlation.js';
import { subsetRdm } from './rdm.js';
import type { RsaEntry } from './results.js';
import type { RsaOptions, SubsetRsa } from './rsa.js';
import { summarise } from './summary.js';
import { HUMAN, modelsOf, type RatingTable } from './table.js';

/**
 * subsetRsa with the bootstrap on the GPU (`--device webgpu`): RDMs and the point estimate on
 * the CPU, the resamples in kernels/webgpu. `opts.seed` is already the subset's seed.
 */
export async function gpuSubsetRsa(t: RatingTable, subset: string, rows: number[], dims: readonly Dimension[], opts: RsaOptions): Promise<SubsetRsa> {
  const n = rows.length, P = pairCount(n);
  const models = modelsOf(t);
  const raw = [HUMAN, ...models].map((source) => subsetRdm(t, source, rows, dims, opts.metric, opts.fill));
  const humanRanks = averageRanks(raw[0].rdm);
  const rsa: Record<string, RsaEntry> = {};
  models.forEach((m, q) => {
    const rho = spearman(raw[0].rdm, raw[q + 1].rdm, humanRanks);
    rsa[m] = { rho, p: correlationP(rho, P), n_words: n, n_pairs: P };
  });
  if (opts.bootstrap <= 0 && !opts.indices) return { rows, rsa };
  const dist = await bootstrapRsaGpu(raw, n, {
    iterations: opts.bootstrap, seed: opts.seed, indices: opts.indices, convention: opts.duplicates, threads: 1, label: subset,
  });
  const samples: Record<string, Float64Array> = {};
  models.forEach((m, q) => { samples[m] = dist[q]; });
  return { rows, rsa, samples, bootstrap: summarise(models, rsa, samples) };
}
