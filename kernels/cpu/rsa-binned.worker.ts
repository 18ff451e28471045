import { parentPort } from 'node:worker_threads';
import { jointCountsRows, type BinnedJob } from './rsa-binned.js';

/**
 * Worker thread of the binned RSA: accumulates joint counts over the row blocks it is sent
 * ({job}), and returns them on {finish: true}.
 */
let joint: Uint32Array[] | undefined;
parentPort!.on('message', (msg: { job?: BinnedJob; finish?: boolean }) => {
  if (msg.job) {
    const B = msg.job.sources[0].edges.length + 1;
    joint ??= msg.job.sources.slice(1).map(() => new Uint32Array(B * B));
    jointCountsRows(msg.job, joint);
    parentPort!.postMessage({ done: true });
  } else if (msg.finish) {
    const out = joint ?? [];
    joint = undefined;
    parentPort!.postMessage({ joint: out }, out.map((t) => t.buffer as ArrayBuffer));
  }
});
