import type { Worker } from 'node:worker_threads';
import { BinnedKernel, binnedSource, DEFAULT_BINS, rhoFromJoint, rowChunks, type BinnedSource } from '../../kernels/cpu/rsa-binned.js';
import type { BinnedInit } from '../../kernels/cpu/rsa-binned.worker.js';
import type { Metric } from '../../kernels/cpu/rdm.js';
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
  const B = opts.bins ?? DEFAULT_BINS;
  const sources = Z.map((z) => shareSource(binnedSource(z, n, d, opts.metric, opts.fill, B)));
  const init: BinnedInit = { sources, n, d, metric: opts.metric, fill: opts.fill };
  const chunks = rowChunks(n, Math.max(1, opts.threads) * 32);
  const joint = sources.slice(1).map(() => new Float64Array(B * B));
  const progress = new Progress('binned RSA (row blocks)', chunks.length);
  if (opts.threads <= 1) {
    const kernel = new BinnedKernel(sources, n, d, opts.metric, opts.fill);
    for (const [rowStart, rowEnd] of chunks) { kernel.countRows(rowStart, rowEnd); progress.tick(); }
    joint.forEach((t, q) => t.set(kernel.table(q)));
  } else {
    await inWorkers(Math.min(opts.threads, chunks.length), chunks, init, joint, () => progress.tick());
  }
  return Float64Array.from(joint, (t) => rhoFromJoint(t, B));
}

function shareSource(s: BinnedSource): BinnedSource {
  const rows = new Float64Array(new SharedArrayBuffer(s.rows.byteLength));
  rows.set(s.rows);
  return { ...s, rows };
}

async function inWorkers(
  threads: number, chunks: Array<[number, number]>, init: BinnedInit, joint: Float64Array[], onChunk: () => void,
): Promise<void> {
  let next = 0;
  const workers: Worker[] = [];
  try {
    await Promise.all(Array.from({ length: threads }, () => new Promise<void>((resolve, reject) => {
      const w = startKernelWorker('rsa-binned.worker');
      workers.push(w);
      const send = () => {
        if (next < chunks.length) w.postMessage({ rows: chunks[next++] });
        else w.postMessage({ finish: true });
      };
      w.on('message', (r: { done?: boolean; joint?: Uint32Array[] }) => {
        if (r.done) { onChunk(); send(); return; }
        r.joint?.forEach((t: Uint32Array, q: number) => { for (let k = 0; k < t.length; k++) joint[q][k] += t[k]; });
        resolve();
      });
      w.on('error', reject);
      w.postMessage({ init });
      send();
    })));
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
