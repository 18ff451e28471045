/**
 * One synthetic RSA run, for the benchmark (run in its own process so peak memory is its own):
 *   node --import tsx scripts/bench/rsa-synthetic.ts WORDS MODE [BINS]
 * MODE = exact | binned. Prints one JSON line: words, pairs, seconds, peak RSS, ρ per model.
 */
import { pairCount } from '../../kernels/cpu/rdm.js';
import { defaultThreads, KernelPool } from '../../kernels/cpu/pool.js';
import { exactRho } from '../../kernels/cpu/bootstrap-exact.js';
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
  // The evaluator's exact path without bootstrap: RDMs prepared on the pool's threads, then ρ
  // from their sorted orders.
  const pool = new KernelPool(defaultThreads());
  const [human, ...models] = await Promise.all(Z.map((z, s) => pool.run({ kind: 'prepare', Z: z, n, d, metric: 'cosine', fill: 2, withPosition: s === 0 })));
  await pool.close();
  rho = Array.from(exactRho(human, models, new Uint32Array(n).fill(1), 'keep'));
} else {
  rho = Array.from(await binnedRsa(Z, n, d, { metric: 'cosine', fill: 2, bins, threads: defaultThreads() }));
}
const seconds = (performance.now() - t0) / 1000;
console.log(JSON.stringify({ words: n, pairs: pairCount(n), mode, seconds, peak_rss_gib: process.resourceUsage().maxRSS / 1024 / 1024, rho }));
