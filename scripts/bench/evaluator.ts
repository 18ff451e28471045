/**
 * `npm run bench`: the evaluator against the NumPy/SciPy reference, in the same run.
 *
 *   node --import tsx scripts/bench/evaluator.ts [--iterations 20] [--long 10000] [--skip-reference]
 *        [--words 10000,39707] [--data-dir DIR]
 *
 * 1. The whole English paper analysis (RSA × 3 subsets × 4 models, bootstrap × 6 pairs ×
 *    3 subsets, dimension statistics), as whole processes, smft vs the reference at equal
 *    iterations; then smft at 200 and at --long iterations.
 * 2. RSA of synthetic word sets (human + 4 models, 11 dimensions): time and peak memory,
 *    exact vs binned ranks where both fit.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { resolveDataDir } from '../../src/data/datadir.js';

const args = process.argv.slice(2);
const flag = (name: string, dflt?: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const iterations = Number(flag('iterations', '20'));
const long = Number(flag('long', '10000'));
const words = (flag('words', '10000,39707') ?? '').split(',').filter(Boolean).map(Number);
const dataDir = resolveDataDir(flag('data-dir'));
const paper = join(dataDir, 'paper', 'eval_en_1572_with_predictions.csv');
const root = resolve(import.meta.dirname, '..', '..');
const env = { ...process.env, SMFT_LOG_LEVEL: 'warn' };

function timed(cmd: string, argv: string[]): { seconds: number; peakGiB: number; stdout: string } {
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', cmd, ...argv], { cwd: root, env, encoding: 'utf8', maxBuffer: 1 << 26 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed:\n${r.stderr}`);
  const kb = Number(r.stderr.trim().split('\n').pop());
  return { seconds, peakGiB: kb / 1024 / 1024, stdout: r.stdout };
}

const out = mkdtempSync(join(tmpdir(), 'smft-bench-'));
const smft = (iters: number) => timed(process.execPath, [join(root, 'bin', 'smft.js'), 'evaluate', '-p', paper, '--bootstrap', String(iters), '--seed', '1', '-o', join(out, `smft-${iters}`)]);
const line = (label: string, s: number, extra = '') => console.log(`  ${label.padEnd(34)}${s.toFixed(1).padStart(8)} s ${extra}`);

console.log(`Whole English paper analysis (1572 words, 4 models, 3 subsets), whole processes, ${process.env.SMFT_THREADS ?? 'all'} threads`);
const mine = smft(iterations);
line(`smft, ${iterations} iterations`, mine.seconds, `(peak ${mine.peakGiB.toFixed(2)} GiB)`);
if (!args.includes('--skip-reference')) {
  const ref = timed('python3', [join(root, 'scripts', 'reference', 'smft_reference.py'), '--paper-wide', paper, '--lang', 'en', '--bootstrap', String(iterations), '--seed', '1', '--out', join(out, 'ref.json')]);
  line(`NumPy/SciPy reference, ${iterations} iterations`, ref.seconds);
  console.log(`  ratio: smft is ${(ref.seconds / mine.seconds).toFixed(1)}× faster`);
}
for (const iters of [200, long].filter((x) => x > 0)) {
  const r = smft(iters);
  line(`smft, ${iters} iterations`, r.seconds, `(peak ${r.peakGiB.toFixed(2)} GiB)${iters === 200 ? '  target < 10 s' : ''}`);
}

console.log('\nRSA of synthetic word sets (human + 4 models, 11 dimensions, cosine)');
for (const n of words) {
  const modes = n <= 12000 ? ['exact', 'binned'] : ['binned'];
  const res: Record<string, { seconds: number; rho: number[] }> = {};
  for (const mode of modes) {
    const r = timed(process.execPath, ['--import', 'tsx', join(root, 'scripts', 'bench', 'rsa-synthetic.ts'), String(n), mode]);
    const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as { seconds: number; pairs: number; rho: number[] };
    res[mode] = j;
    line(`${n} words (${(j.pairs / 1e6).toFixed(0)} M pairs), ${mode}`, r.seconds, `(peak ${r.peakGiB.toFixed(2)} GiB)${n > 30000 ? '  target < 60 s, < 8 GiB' : ''}`);
  }
  if (res.exact && res.binned) console.log(`  max |ρ exact − ρ binned| = ${Math.max(...res.exact.rho.map((x, q) => Math.abs(x - res.binned.rho[q]))).toExponential(2)}`);
}
rmSync(out, { recursive: true, force: true });
