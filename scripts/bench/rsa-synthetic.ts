/**
 * One synthetic RSA run, for the benchmark (run in its own process so peak memory is its own):
 *   node --import tsx scripts/bench/rsa-synthetic.ts WORDS MODE [BINS]
 * MODE = exact | binned. Prints one JSON line: words, pairs, seconds, peak RSS, ρ per model.
 */
import { condensedRdm, pairCount } from '../../kernels/cpu/rdm.js';
import { averageRanks } from '../../kernels/cpu/ranks.js';
import { centredPearson } from '../../kernels/cpu/correlate.js';
import { defaultThreads } from '../../kernels/cpu/pool.js';
import { zscoreColumns } from '../../src/eval/rdm.js';
import { binnedRsa } from '../../src/eval/rsa-large.js';
import { Rng } from '../../src/util/rng.js';

const n = Number(process.argv[2] ?? 10000);
const mode = process.argv[3] ?? 'binned';
const bins = process.argv[4] ? Number(process.argv[4]) : undefined;
const d = 11;
const rng = new Rng(7);
// Humans: a latent profile per word; four "models" = the profile plus noise of growing size.
const base = Float64Array.from({ length: n * d }, () => rng.next() * 5);
const Z = [0, 0.5, 1, 2, 4].map((noise) => zscoreColumns(base.map((v) => v + noise * rng.normal()), n, d));

const t0 = performance.now();
let rho: number[];
if (mode === 'exact') {
  const human = condensedRdm(Z[0], n, d, 'cosine', 2);
  const rh = averageRanks(human);
  const m = (pairCount(n) + 1) / 2;
  rho = Z.slice(1).map((z) => centredPearson(rh, averageRanks(condensedRdm(z, n, d, 'cosine', 2)), m, m));
} else {
  rho = Array.from(await binnedRsa(Z, n, d, { metric: 'cosine', fill: 2, bins, threads: defaultThreads() }));
}
const seconds = (performance.now() - t0) / 1000;
console.log(JSON.stringify({ words: n, pairs: pairCount(n), mode, seconds, peak_rss_gib: process.resourceUsage().maxRSS / 1024 / 1024, rho }));
