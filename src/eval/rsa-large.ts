import type { Worker } from 'node:worker_threads';
import { binRanks, binnedSource, crossRows, DEFAULT_BINS, histogramRows, rowChunks, type BinnedJob, type BinnedSource } from '../../kernels/cpu/rsa-binned.js';
import { pairCount, type Metric } from '../../kernels/cpu/rdm.js';
import { startKernelWorker } from '../../kernels/cpu/pool.js';
import { Progress } from '../util/progress.js';

/**
 * RSA ρ of each model against the humans for large word sets, without storing RDMs (see
 * kernels/cpu/rsa-binned.ts). Z matrices are z-scored rows × dims; the first is the human one.
 */
export async function binnedRsa(
  Z: Float64Array[], n: number, d: number,
  opts: { metric: Metric; fill: number; bins?: number; threads: number },
): Promise<Float64Array> {
  const bins = opts.bins ?? DEFAULT_BINS;
  const P = pairCount(n);
  const sources: BinnedSource[] = Z.map((z) => shareSource(binnedSource(z, n, d, opts.metric, opts.fill)));
  const chunks = rowChunks(n, Math.max(1, opts.threads) * 16);
  const base = { sources, n, d, metric: opts.metric, fill: opts.fill, bins };
  const hist = sources.map(() => new Float64Array(bins));
  const progress = new Progress('binned RSA', chunks.length * 2, 'blocks');
  await runChunks(opts.threads, chunks, 1, base, undefined, (r: { hist: Float64Array[] }) => {
    r.hist.forEach((h, s) => { for (let b = 0; b < bins; b++) hist[s][b] += h[b]; });
    progress.tick();
  });
  const ranked = hist.map((h) => binRanks(h, P));
  const ranks = ranked.map((r) => { const a = new Float64Array(new SharedArrayBuffer(r.ranks.byteLength)); a.set(r.ranks); return a; });
  const cross = new Float64Array(sources.length - 1);
  await runChunks(opts.threads, chunks, 2, base, ranks, (r: { cross: Float64Array }) => {
    r.cross.forEach((v, q) => { cross[q] += v; });
    progress.tick();
  });
  return cross.map((xy, q) => xy / Math.sqrt(ranked[0].sumSq * ranked[q + 1].sumSq));
}

function shareSource(s: BinnedSource): BinnedSource {
  const rows = new Float64Array(new SharedArrayBuffer(s.rows.byteLength));
  rows.set(s.rows);
  return { ...s, rows };
}

async function runChunks<R>(
  threads: number, chunks: Array<[number, number]>, pass: 1 | 2,
  base: Omit<BinnedJob, 'rowStart' | 'rowEnd' | 'ranks'>, ranks: Float64Array[] | undefined, onResult: (r: R) => void,
): Promise<void> {
  if (threads <= 1) {
    for (const [rowStart, rowEnd] of chunks) {
      const job = { ...base, rowStart, rowEnd, ranks };
      onResult((pass === 1 ? { hist: histogramRows(job) } : { cross: crossRows(job) }) as R);
    }
    return;
  }
  let next = 0;
  const workers: Worker[] = [];
  try {
    await Promise.all(Array.from({ length: Math.min(threads, chunks.length) }, () => new Promise<void>((resolve, reject) => {
      const w = startKernelWorker('rsa-binned.worker');
      workers.push(w);
      const send = () => {
        if (next >= chunks.length) { resolve(); return; }
        const [rowStart, rowEnd] = chunks[next++];
        w.postMessage({ pass, job: { ...base, rowStart, rowEnd, ranks } });
      };
      w.on('message', (r: R) => { onResult(r); send(); });
      w.on('error', reject);
      send();
    })));
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
