/**
 * Worker thread for rateWordsParallel: loads the model on its own TF.js backend and rates
 * the jobs it is given, posting rows back as they are computed.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { log } from '../util/log.js';
import { SmftError } from '../util/errors.js';
import type { Dimension } from '../data/dimensions.js';
import { loadModel } from './load.js';
import { rateWords, type RateStats, type RatingRow } from './rate.js';
import type { PromptTemplate } from './prompts.js';
import type { WorkerJob } from './parallel.js';

export type WorkerMessage =
  | { type: 'rows'; rows: RatingRow[] }
  | { type: 'done'; stats: RateStats }
  | { type: 'error'; message: string; user: boolean };

const job = workerData as WorkerJob;
const post = (m: WorkerMessage): void => parentPort!.postMessage(m);
log.level = job.logLevel;

try {
  const lm = await loadModel(job.model, { backend: job.backend });
  const total: RateStats = { prompts: 0, forwardTokens: 0, fullTokens: 0, tokensSaved: 0, seconds: 0 };
  for (const { template, words } of job.jobs) {
    const templates = new Map<Dimension, PromptTemplate>([[template.dimension, template]]);
    const { stats } = await rateWords(lm.model, lm.tokenizer, {
      ...job.options,
      words,
      templates,
      progress: false,
      modelName: job.model,
      onRows: (rows) => post({ type: 'rows', rows }),
    });
    for (const k of Object.keys(total) as (keyof RateStats)[]) total[k] += stats[k];
  }
  lm.model.dispose();
  post({ type: 'done', stats: total });
} catch (e) {
  post({ type: 'error', message: (e as Error).message, user: e instanceof SmftError });
}
