import { parentPort } from 'node:worker_threads';
import { BootstrapKernel, runIterations, type DuplicateConvention, type PreparedRdm } from './bootstrap.js';

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
  const out = runIterations(kernel, job.counts, job.convention, (k) => parentPort!.postMessage({ progress: k }));
  parentPort!.postMessage({ done: out }, [out.buffer as ArrayBuffer]);
});
