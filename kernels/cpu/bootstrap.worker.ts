import { parentPort } from 'node:worker_threads';
import { BootstrapKernel, type DuplicateConvention, type PreparedRdm } from './bootstrap.js';

/** Worker thread: runs the bootstrap kernel over the count vectors it is sent. */
export interface BootstrapJob {
  human: PreparedRdm;
  models: PreparedRdm[];
  /** Concatenated count vectors, one of length n per iteration. */
  counts: Uint32Array;
  convention: DuplicateConvention;
}

parentPort!.on('message', (job: BootstrapJob) => {
  const kernel = new BootstrapKernel(job.human, job.models);
  const n = job.human.n;
  const iters = job.counts.length / n;
  const out = new Float64Array(iters * job.models.length);
  for (let it = 0; it < iters; it++) {
    const rho = kernel.rho(job.counts.subarray(it * n, (it + 1) * n), job.convention);
    out.set(rho, it * job.models.length);
    parentPort!.postMessage({ progress: 1 });
  }
  parentPort!.postMessage({ done: out }, [out.buffer]);
});
