import { modelPairs } from './pairs.js';
import { mean, percentile } from './percentile.js';
import type { ModelDistribution, PairDiff, RsaEntry } from './results.js';

/** Per model: mean and 95% percentile interval; per pair: observed difference, CI and p. */
export function summarise(models: string[], rsa: Record<string, RsaEntry>, samples: Record<string, Float64Array>): Record<string, PairDiff | ModelDistribution> {
  const out: Record<string, PairDiff | ModelDistribution> = {};
  for (const { a, b, key } of modelPairs(models)) {
    const diffs = samples[a].map((v, i) => v - samples[b][i]);
    const observed = rsa[a].rho - rsa[b].rho;
    const m = mean(diffs);
    let extreme = 0;
    for (const d of diffs) if (Math.abs(d - m) >= Math.abs(observed)) extreme++;
    out[key] = { diff: observed, ci: [percentile(diffs, 2.5), percentile(diffs, 97.5)], p: extreme / diffs.length };
  }
  for (const m of models) out[m] = { mean: mean(samples[m]), ci: [percentile(samples[m], 2.5), percentile(samples[m], 97.5)] };
  return out;
}
