import { parentPort } from 'node:worker_threads';
import { runTask, type RsaTask } from './rsa-tasks.js';

/** Worker thread of a KernelPool: runs RSA tasks, reporting progress, results and errors by id. */
parentPort!.on('message', ({ id, task }: { id: number; task: RsaTask }) => {
  try {
    const result = runTask(task, true, (done) => parentPort!.postMessage({ id, progress: done }));
    const transfer = result instanceof Float64Array ? [result.buffer as ArrayBuffer] : [];
    parentPort!.postMessage({ id, result }, transfer);
  } catch (err) {
    parentPort!.postMessage({ id, error: err instanceof Error ? err.message : String(err) });
  }
});
