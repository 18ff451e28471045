import { condensedRdm, degenerateRows, type Metric } from './rdm.js';
import { bucketLayout, prepareRdm, type BucketLayout, type PreparedRdm } from './prepared.js';
import { BootstrapKernel, runIterations, type DuplicateConvention } from './bootstrap.js';

/**
 * The units of RSA work that a KernelPool hands to its threads (kernels/cpu/pool.ts):
 * - prepare: one source's z-scored rows → condensed RDM → sorted, prepared for resampling;
 * - layout: a model RDM's pairs bucketed by human sorted position;
 * - rho: Spearman ρ of every model against the humans for a block of resamples (count
 *   vectors; the all-ones vector gives the point estimate).
 */
export type RsaTask =
  | { kind: 'prepare'; Z: Float64Array; n: number; d: number; metric: Metric; fill: number; withPosition: boolean }
  | { kind: 'layout'; human: PreparedRdm; model: PreparedRdm }
  | { kind: 'rho'; key: string; human: PreparedRdm; models: PreparedRdm[]; layouts: BucketLayout[]; counts: Uint32Array; convention: DuplicateConvention };

export type TaskResult<T extends RsaTask> = T extends { kind: 'prepare' } ? PreparedRdm : T extends { kind: 'layout' } ? BucketLayout : Float64Array;

/** The last kernel of this thread: consecutive blocks of one RSA reuse its memory. */
let cached: { key: string; kernel: BootstrapKernel } | undefined;

/** Run one task on this thread; `shared` puts results in SharedArrayBuffers. */
export function runTask<T extends RsaTask>(task: T, shared: boolean, onProgress?: (done: number) => void): TaskResult<T> {
  switch (task.kind) {
    case 'prepare': {
      const { Z, n, d, metric, fill, withPosition } = task;
      const rdm = condensedRdm(Z, n, d, metric, fill);
      const self = Float64Array.from(degenerateRows(Z, n, d, metric), (g) => (g ? fill : 0));
      return prepareRdm(rdm, n, self, undefined, shared, withPosition) as TaskResult<T>;
    }
    case 'layout':
      return bucketLayout(task.human, task.model, shared) as TaskResult<T>;
    case 'rho': {
      if (cached?.key !== task.key) {
        cached = undefined; // let the old kernel's memory go before the new one is built
        cached = { key: task.key, kernel: new BootstrapKernel(task.human, task.models, task.layouts) };
      }
      return runIterations(cached.kernel, task.counts, task.convention, onProgress) as TaskResult<T>;
    }
  }
  throw new Error(`unknown RSA task ${(task as { kind: string }).kind}`);
}

/** Drop this thread's cached kernel. */
export function releaseKernel(): void {
  cached = undefined;
}
