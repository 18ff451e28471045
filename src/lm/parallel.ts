import { Worker } from 'node:worker_threads';
import { SmftError } from '../util/errors.js';
import { log } from '../util/log.js';
import type { Dimension } from '../data/dimensions.js';
import type { BackendName } from './backend.js';
import type { PromptTemplate } from './prompts.js';
import { checkWords, logRatingDone, type RateOptions, type RateStats, type RatingRow } from './rate.js';
import { Progress } from '../util/progress.js';
import type { WorkerMessage } from './rate-worker.js';

/** What one worker is asked to do (structured-clone safe). */
export interface WorkerJob {
  model: string;
  backend: BackendName;
  logLevel: string;
  options: Pick<RateOptions, 'batchSize' | 'prefixCache' | 'chat' | 'systemPrompt' | 'answerPrefix' | 'lang'>;
  jobs: { template: PromptTemplate; words: string[] }[];
}

export interface ParallelRateOptions extends Omit<RateOptions, 'progress'> {
  /** Model folder or hub id; each worker loads its own copy. */
  model: string;
  backend?: BackendName;
  /** Worker threads (each a single-threaded TF.js backend with its own weights). */
  workers: number;
  progress?: boolean;
}

/**
 * rateWords split over worker threads: TF.js wasm runs one thread per backend, so on a
 * multi-core CPU each worker rates a share of the words of every dimension (its own prefix
 * caches, its own copy of the weights — memory × workers). Rows reach `onRows` in the main
 * thread, in no particular order.
 */
export async function rateWordsParallel(opts: ParallelRateOptions): Promise<{ rows: RatingRow[]; stats: RateStats }> {
  const words = checkWords(opts.words);
  const n = Math.max(1, Math.floor(opts.workers));
  const shares: WorkerJob['jobs'][] = Array.from({ length: n }, () => []);
  let total = 0;
  for (const template of opts.templates.values()) {
    const todo = opts.skip ? words.filter((w) => !opts.skip!(w, template.dimension as Dimension)) : words;
    total += todo.length;
    const per = Math.ceil(todo.length / n);
    for (let i = 0; i < n; i++) {
      const part = todo.slice(i * per, (i + 1) * per);
      if (part.length) shares[i].push({ template, words: part });
    }
  }
  const { batchSize, prefixCache, chat, systemPrompt, answerPrefix, lang } = opts;
  const options = { batchSize, prefixCache, chat, systemPrompt, answerPrefix, lang };
  log.info({ workers: n, prompts: total, backend: opts.backend ?? 'wasm' }, 'rating in worker threads');
  const progress = opts.progress === false ? null : new Progress('rate', total);
  const rows: RatingRow[] = [];
  const stats: RateStats = { prompts: 0, forwardTokens: 0, fullTokens: 0, tokensSaved: 0, seconds: 0 };
  const t0 = Date.now();
  let sink: Promise<void> = Promise.resolve();
  const here = import.meta.url;
  const workerUrl = new URL(here.endsWith('.ts') ? './rate-worker.ts' : './rate-worker.js', here);
  const workers: Worker[] = [];
  try {
    await Promise.all(shares.filter((s) => s.length).map((jobs) => new Promise<void>((resolve, reject) => {
      const data: WorkerJob = { model: opts.model, backend: opts.backend ?? 'wasm', logLevel: log.level === 'info' ? 'warn' : log.level, options, jobs };
      // From the TypeScript sources (tsx), the worker registers the tsx loader before importing.
      const w = workerUrl.pathname.endsWith('.ts')
        ? new Worker(`import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(workerUrl.href)}); });`, { eval: true, workerData: data })
        : new Worker(workerUrl, { workerData: data });
      workers.push(w);
      let finished = false;
      w.on('message', (m: WorkerMessage) => {
        if (m.type === 'rows') {
          rows.push(...m.rows);
          progress?.tick(m.rows.length);
          if (opts.onRows) sink = sink.then(() => opts.onRows!(m.rows));
        } else if (m.type === 'done') {
          finished = true;
          for (const k of Object.keys(stats) as (keyof RateStats)[]) if (k !== 'seconds') stats[k] += m.stats[k];
          resolve();
        } else {
          finished = true;
          reject(m.user ? new SmftError(m.message) : new Error(m.message));
        }
      });
      w.on('error', (e) => { finished = true; reject(e); });
      w.on('exit', (code) => { if (!finished) reject(new Error(`rating worker exited with code ${code}`)); });
    })));
    await sink;
  } finally {
    progress?.stop();
    await Promise.all(workers.map((w) => w.terminate()));
  }
  logRatingDone(stats, t0, { workers: n });
  return { rows, stats };
}
