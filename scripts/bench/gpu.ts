/**
 * GPU vs CPU benchmark of the evaluator's heavy parts (a benchmark, not a test).
 *
 *   node --import tsx scripts/bench/gpu.ts [--sizes 1572,10000,39707] [--metric cosine] [--d 11]
 *        [--bootstrap 200] [--cpu-iters 200] [--models 4] [--cpu-max 40000] [--threads T]
 *        [--paper FILE] [--json FILE]
 *
 *  1. Condensed RDM (pairwise distances) of n synthetic z-scored words: WebGPU kernel (f32,
 *     read back to the host) vs kernels/cpu (f64, one thread); max |Δ| between them.
 *  2. Bootstrap Spearman of 1572 words (human + --models models, the paper's shape): the GPU's
 *     spearman() vs the CPU evaluator's bootstrap (src/eval/bootstrap.ts, worker threads), on
 *     the same resamples, and max |Δρ|. The CPU runs at most --cpu-iters resamples; longer
 *     runs are extrapolated (marked ≈).
 *  3. --paper FILE (e.g. ../shared/data/paper/eval_en_1572_with_predictions.csv): the heavy part
 *     of the whole paper analysis on the real ratings — per subset (motor, sensory, all) the
 *     RDMs of humans + 4 models and the --bootstrap resamples — GPU vs CPU evaluator kernels.
 *
 * Runs anywhere: with no adapter it prints why and times the CPU alone; on a software adapter
 * (lavapipe) the GPU numbers measure the CPU emulation, not a GPU. The defaults shrink there
 * unless --sizes/--bootstrap are given. Set SMFT_WEBGPU_ALLOW_SOFTWARE=1 to bench lavapipe.
 */
import { performance } from 'node:perf_hooks';
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { condensedRdm } from '../../kernels/cpu/rdm.js';
import { prepareRdm } from '../../kernels/cpu/bootstrap.js';
import { bootstrapRsa } from '../../src/eval/bootstrap.js';
import { completeRows, submatrix } from '../../src/eval/complete.js';
import { zscoreColumns } from '../../src/eval/rdm.js';
import { HUMAN, modelsOf } from '../../src/eval/table.js';
import { loadPredictions } from '../../src/data/predictions.js';
import { subsetsFor, type Lang } from '../../src/data/dimensions.js';
import {
  GpuRsaBootstrap, pairwiseDistances, probeAdapter, releaseWebGpu, selfDistances, webGpuUnavailableReason, type GpuMetric,
} from '../../kernels/webgpu/index.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function lcg(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 16807) % 2147483647) / 2147483647;
}

/** n × d ratings on a 0–5 scale in quarter steps, z-scored per column (population SD). */
function synthetic(n: number, d: number, seed: number, base?: Float64Array, noise = 1): Float64Array {
  const r = lcg(seed);
  const X = new Float64Array(n * d);
  for (let k = 0; k < X.length; k++) {
    const v = base ? base[k] + (r() - 0.5) * noise : r() * 5;
    X[k] = Math.round(Math.min(5, Math.max(0, v)) * 4) / 4;
  }
  for (let j = 0; j < d; j++) {
    let s = 0, ss = 0;
    for (let i = 0; i < n; i++) s += X[i * d + j];
    const mu = s / n;
    for (let i = 0; i < n; i++) ss += (X[i * d + j] - mu) ** 2;
    const sd = Math.sqrt(ss / n) || 1;
    for (let i = 0; i < n; i++) X[i * d + j] = (X[i * d + j] - mu) / sd;
  }
  return X;
}

const gib = (b: number): string => `${(b / 2 ** 30).toFixed(2)} GiB`;
const ms = (t: number): string => (t < 1000 ? `${t.toFixed(1)} ms` : `${(t / 1000).toFixed(2)} s`);

/** Word counts of `iters` resamples of n words (iters × n). */
function drawCounts(n: number, iters: number, seed: number): Uint32Array {
  const r = lcg(seed);
  const c = new Uint32Array(iters * n);
  for (let b = 0; b < iters; b++) for (let k = 0; k < n; k++) c[b * n + Math.floor(r() * n)]++;
  return c;
}

/**
 * Bootstrap ρ of RDM 1.. against RDM 0 on the same resamples, GPU (when there is an adapter) and
 * CPU evaluator (at most cpuIters resamples, extrapolated to all).
 */
async function compareBootstrap(
  rdms: Float64Array[], selfs: Float32Array[], n: number, counts: Uint32Array, gpuOk: boolean, cpuIters: number, threads: number,
  label = 'synthetic',
): Promise<Record<string, number>> {
  const iters = counts.length / n;
  const M = rdms.length - 1;
  const out: Record<string, number> = { n, iterations: iters, models: M };
  let gpuRho: Float64Array | undefined;
  if (gpuOk) {
    const t0 = performance.now();
    const g = await GpuRsaBootstrap.create(n, rdms, { selfDistances: selfs, convention: 'keep' });
    await g.spearmanFromCounts(counts.subarray(0, n), 1); // host sort, upload, shader compile
    const t1 = performance.now();
    gpuRho = await g.spearmanFromCounts(counts, iters);
    const t2 = performance.now();
    out.gpu_prepare_ms = t1 - t0;
    out.gpu_ms = t2 - t1;
    out.gpu_batch = g.spearmanBatchSize();
    g.destroy();
    console.log(`${label} gpu: prepare ${ms(t1 - t0)}, ${iters} resamples ${ms(t2 - t1)} (${ms((t2 - t1) / iters)} each, batch ${out.gpu_batch})`);
  }
  const ci = Math.max(1, Math.min(iters, cpuIters));
  const t0 = performance.now();
  const shared = threads > 1;
  const prepared = rdms.map((r, q) => prepareRdm(r, n, Float64Array.from(selfs[q]), undefined, shared));
  const t1 = performance.now();
  const dist = await bootstrapRsa(prepared[0], prepared.slice(1), {
    iterations: ci, seed: 0, indices: countsToIndices(counts, n, ci), convention: 'keep', threads, label,
  });
  const t2 = performance.now();
  out.cpu_prepare_ms = t1 - t0;
  out.cpu_ms_measured = t2 - t1;
  out.cpu_iterations_measured = ci;
  out.cpu_ms = ((t2 - t1) * iters) / ci;
  if (gpuRho) {
    let worst = 0;
    for (let b = 0; b < ci; b++) for (let q = 0; q < M; q++) worst = Math.max(worst, Math.abs(dist[q][b] - gpuRho[b * M + q]));
    out.max_abs_rho_diff = worst;
  }
  console.log(
    `${label} cpu (${threads} threads): prepare ${ms(t1 - t0)}, ${iters} resamples ${ci < iters ? '≈' : ''}${ms(out.cpu_ms)} (${ms((t2 - t1) / ci)} each)` +
      (gpuRho ? `; max|Δρ| gpu vs cpu ${out.max_abs_rho_diff.toExponential(1)}` : ''),
  );
  if (out.gpu_ms) console.log(`${label} speed-up (resamples): ${(out.cpu_ms / out.gpu_ms).toFixed(1)}×, (with preparation): ${((out.cpu_ms + out.cpu_prepare_ms) / (out.gpu_ms + out.gpu_prepare_ms)).toFixed(1)}×`);
  return out;
}

/** The first k resamples' counts as index lists (what src/eval's bootstrap accepts). */
function countsToIndices(counts: Uint32Array, n: number, k: number): number[][] {
  const out: number[][] = [];
  for (let b = 0; b < k; b++) {
    const idx: number[] = [];
    for (let p = 0; p < n; p++) for (let c = counts[b * n + p]; c > 0; c--) idx.push(p);
    out.push(idx);
  }
  return out;
}

/** RDMs + bootstrap of the paper's file per subset, GPU vs CPU evaluator kernels. */
async function paperAnalysis(file: string, metric: GpuMetric, iters: number, gpuOk: boolean, cpuIters: number, threads: number): Promise<unknown> {
  const t = loadPredictions([file]);
  const lang: Lang = /_nl_|dutch/i.test(file) ? 'nl' : 'en';
  const sources = [HUMAN, ...modelsOf(t)];
  console.log(`\n# paper file ${file}: ${sources.length - 1} models, ${iters} resamples per subset`);
  const out: Record<string, unknown> = {};
  let gpuTotal = 0, cpuTotal = 0;
  for (const [subset, dims] of Object.entries(subsetsFor(lang))) {
    const rows = completeRows(t, dims);
    const n = rows.length, d = dims.length;
    const Z = sources.map((s) => zscoreColumns(submatrix(t, s, rows, dims), n, d));
    const selfs = Z.map((X) => selfDistances(X, n, d, metric, 2.0));
    const r: Record<string, unknown> = { n, d };
    if (gpuOk) {
      const t0 = performance.now();
      for (const X of Z) await pairwiseDistances(X, n, d, metric, 2.0);
      r.gpu_rdm_ms = performance.now() - t0;
    }
    const t0 = performance.now();
    const rdms = Z.map((X) => condensedRdm(X, n, d, metric, 2.0));
    r.cpu_rdm_ms = performance.now() - t0;
    const b = await compareBootstrap(rdms, selfs, n, drawCounts(n, iters, 7), gpuOk, cpuIters, threads, subset);
    r.bootstrap = b;
    if (gpuOk) gpuTotal += (r.gpu_rdm_ms as number) + b.gpu_ms + b.gpu_prepare_ms;
    cpuTotal += (r.cpu_rdm_ms as number) + b.cpu_ms + b.cpu_prepare_ms;
    out[subset] = r;
  }
  console.log(`paper total (RDMs + bootstrap, 3 subsets): cpu ${ms(cpuTotal)}` + (gpuOk ? `, gpu ${ms(gpuTotal)}, ${(cpuTotal / gpuTotal).toFixed(1)}×` : ''));
  out.cpu_total_ms = cpuTotal;
  if (gpuOk) out.gpu_total_ms = gpuTotal;
  return out;
}

async function main(): Promise<void> {
  const metric = (arg('metric') ?? 'cosine') as GpuMetric;
  const d = Number(arg('d') ?? 11);
  const models = Number(arg('models') ?? 4);
  const cpuMax = Number(arg('cpu-max') ?? 40000);
  const threads = Number(arg('threads') ?? Math.min(16, availableParallelism()));
  const paper = arg('paper');
  const adapter = await probeAdapter();
  const software = adapter?.software ?? false;
  const sizes = (arg('sizes') ?? (adapter && !software ? '1572,10000,39707' : '1572,10000')).split(',').map(Number);
  const iters = Number(arg('bootstrap') ?? (adapter && !software ? 200 : 10));
  const cpuIters = Math.min(iters, Number(arg('cpu-iters') ?? 200));
  const results: Record<string, unknown> = { metric, d, sizes, bootstrap: iters, models, threads };

  if (adapter) {
    console.log(`adapter: ${adapter.description || adapter.device} (vendor ${adapter.vendor}, ${adapter.architecture}${software ? ', SOFTWARE: GPU times below are CPU emulation' : ''})`);
    console.log(`  maxBufferSize ${gib(adapter.limits.maxBufferSize)}, maxStorageBufferBindingSize ${gib(adapter.limits.maxStorageBufferBindingSize)}`);
    results.adapter = adapter;
  } else {
    console.log(`no adapter: ${webGpuUnavailableReason()} — CPU timings only`);
    results.adapter = null;
    results.noAdapterReason = webGpuUnavailableReason();
  }

  console.log(`\n# pairwise distances (${metric}, d = ${d})`);
  const rdmRows: unknown[] = [];
  for (const n of sizes) {
    const X = synthetic(n, d, 1000 + n);
    const pairs = (n * (n - 1)) / 2;
    const row: Record<string, unknown> = { n, pairs };
    let gpu: Float32Array | undefined;
    if (adapter) {
      await pairwiseDistances(X.subarray(0, 64 * d), 64, d, metric, 2.0); // compile + warm up
      const t0 = performance.now();
      gpu = await pairwiseDistances(X, n, d, metric, 2.0);
      row.gpu_ms = performance.now() - t0;
    }
    if (n <= cpuMax) {
      const t0 = performance.now();
      const cpu = condensedRdm(X, n, d, metric, 2.0);
      row.cpu_ms = performance.now() - t0;
      if (gpu) {
        let worst = 0;
        for (let k = 0; k < pairs; k++) worst = Math.max(worst, Math.abs(gpu[k] - cpu[k]));
        row.max_abs_diff = worst;
      }
    }
    row.rss = process.memoryUsage().rss;
    rdmRows.push(row);
    console.log(
      `n = ${String(n).padStart(6)}  pairs ${String(pairs).padStart(10)}  ` +
        `gpu ${row.gpu_ms !== undefined ? ms(row.gpu_ms as number) : '—'}  cpu(1 thread) ${row.cpu_ms !== undefined ? ms(row.cpu_ms as number) : 'skipped'}` +
        (row.gpu_ms && row.cpu_ms ? `  speed-up ${((row.cpu_ms as number) / (row.gpu_ms as number)).toFixed(1)}×` : '') +
        (row.max_abs_diff !== undefined ? `  max|Δ| ${(row.max_abs_diff as number).toExponential(1)}` : '') +
        `  rss ${gib(row.rss as number)}`,
    );
    gpu = undefined;
  }
  results.rdm = rdmRows;

  const n = 1572;
  console.log(`\n# bootstrap Spearman, n = ${n}, human + ${models} models, ${iters} resamples, convention keep`);
  const H = synthetic(n, d, 7);
  const Ms = Array.from({ length: models }, (_, q) => (q % 2 === 0 ? synthetic(n, d, 200 + q, H, 2) : synthetic(n, d, 100 + q)));
  const all = [H, ...Ms];
  const rdms = all.map((X) => condensedRdm(X, n, d, metric, 2.0));
  const selfs = all.map((X) => selfDistances(X, n, d, metric, 2.0));
  results.bootstrap = await compareBootstrap(rdms, selfs, n, drawCounts(n, iters, 99), adapter !== null, cpuIters, threads);
  if (paper) results.paper = await paperAnalysis(paper, metric, iters, adapter !== null, cpuIters, threads);
  results.peak_rss = process.resourceUsage().maxRSS * 1024;
  console.log(`\npeak RSS ${gib(results.peak_rss as number)}`);
  const out = arg('json');
  if (out) writeFileSync(out, JSON.stringify(results, null, 1));
  await releaseWebGpu();
}

await main();
