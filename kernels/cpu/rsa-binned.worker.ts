import { parentPort } from 'node:worker_threads';
import type { Metric } from './rdm.js';
import { BinnedKernel, type BinnedSource } from './rsa-binned.js';

/** What a binned-RSA worker is sent first; then row blocks, then finish. */
export interface BinnedInit { sources: BinnedSource[]; n: number; d: number; metric: Metric; fill: number }

/**
 * Worker thread of the binned RSA: builds its kernel from {init}, accumulates joint counts
 * over the row blocks it is sent ({rows: [start, end)}), and returns them on {finish: true}.
 */
let kernel: BinnedKernel | undefined;
parentPort!.on('message', (msg: { init?: BinnedInit; rows?: [number, number]; finish?: boolean }) => {
  if (msg.init) {
    const { sources, n, d, metric, fill } = msg.init;
    kernel = new BinnedKernel(sources, n, d, metric, fill);
  } else if (msg.rows) {
    kernel!.countRows(msg.rows[0], msg.rows[1]);
    parentPort!.postMessage({ done: true });
  } else if (msg.finish) {
    const out = kernel!.sources.slice(1).map((_, q) => Uint32Array.from(kernel!.table(q)));
    kernel = undefined;
    parentPort!.postMessage({ joint: out }, out.map((t) => t.buffer as ArrayBuffer));
  }
});
