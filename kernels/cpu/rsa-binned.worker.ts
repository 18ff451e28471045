import { parentPort } from 'node:worker_threads';
import { crossRows, histogramRows, type BinnedJob } from './rsa-binned.js';

/** Worker thread: one pass of the binned RSA over a block of rows. */
parentPort!.on('message', (msg: { pass: 1 | 2; job: BinnedJob }) => {
  if (msg.pass === 1) {
    const hist = histogramRows(msg.job);
    parentPort!.postMessage({ hist }, hist.map((h) => h.buffer as ArrayBuffer));
  } else {
    parentPort!.postMessage({ cross: crossRows(msg.job) });
  }
});
