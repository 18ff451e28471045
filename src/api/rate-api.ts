/**
 * Ratings through an OpenAI-compatible server: the same norming prompts as in-process rating
 * (src/lm/rate.ts builds them), one request per word × dimension with temperature 0,
 * `max_tokens: 1` and the first token's top logprobs; the rating is Σ k·p(k) over the digits
 * 0–5 among them, renormalised (the paper's way). With the digits' token ids known, an equal
 * `logit_bias` on the six brings all of them into the top logprobs without changing their
 * ratios, so the rating equals the in-process one; without, answers whose top logprobs lack
 * some or all digits are counted and logged (a rating with no digit at all is left empty).
 */
import type { Dimension } from '../data/dimensions.js';
import { log } from '../util/log.js';
import { Progress } from '../util/progress.js';
import { SmftError } from '../util/errors.js';
import { fillTemplate, type PromptTemplate } from '../lm/prompts.js';
import { checkWords, completionPrompt, ratingMessages, type PromptOptions, type RateOptions, type RatingRow } from '../lm/rate.js';
import type { ApiClient } from './client.js';
import { digitLogitBias } from './digits.js';
import { firstTokenLogprobs, ratingFromLogprobs, type ApiRoute } from './logprobs.js';

/** What rateWords takes (words, templates, skip, onRows, progress; chat is the server's), plus the API's own. */
export interface ApiRateOptions extends Omit<PromptOptions, 'chat'>, Pick<RateOptions, 'words' | 'templates' | 'skip' | 'onRows' | 'progress'> {
  client: ApiClient;
  /** The `model` of each request. */
  model: string;
  /** 'chat' (/chat/completions, the server applies the chat template) or 'completions' (raw prompt + answer cue, base models). */
  route?: ApiRoute;
  /** Requests in flight at once (default 4); rows reach `onRows` in the order they finish. */
  concurrency?: number;
  /** Top logprobs asked for (default 20, OpenAI's maximum). */
  topLogprobs?: number;
  /** Token ids of "0"…"5": an equal logit_bias on them when given. */
  digitIds?: readonly number[] | null;
}

export interface ApiRateStats {
  prompts: number;
  /** Answers whose top logprobs held none of the digits 0–5 (rating left empty). */
  lackedDigits: number;
  /** Answers with some but not all six digits (renormalised over those present). */
  partialDigits: number;
  /** Retries of failed requests (429, 5xx, timeouts, connection errors). */
  retries: number;
  seconds: number;
}

/** The request body of one rating prompt. */
export function ratingRequest(content: string, opts: Pick<ApiRateOptions, 'model' | 'route' | 'topLogprobs' | 'digitIds' | 'systemPrompt' | 'answerPrefix' | 'lang'>): Record<string, unknown> {
  const top = opts.topLogprobs ?? 20;
  const bias = opts.digitIds ? { logit_bias: digitLogitBias(opts.digitIds) } : {};
  if ((opts.route ?? 'chat') === 'chat') {
    return { model: opts.model, messages: ratingMessages(content, opts), temperature: 0, max_tokens: 1, logprobs: true, top_logprobs: top, ...bias };
  }
  return { model: opts.model, prompt: completionPrompt(content, opts), temperature: 0, max_tokens: 1, logprobs: top, ...bias };
}

/**
 * Rate words × dimensions through the API, `concurrency` requests at a time. A request that
 * still fails after the client's retries stops the run: requests in flight finish (their rows
 * reach `onRows`), then the error is thrown with how many ratings were written, so the same
 * call with `skip` resumes.
 */
export async function rateWordsApi(opts: ApiRateOptions): Promise<{ rows: RatingRow[]; stats: ApiRateStats }> {
  const words = checkWords(opts.words);
  const route = opts.route ?? 'chat';
  const path = route === 'chat' ? '/chat/completions' : '/completions';
  const jobs: { word: string; template: PromptTemplate }[] = [];
  for (const template of opts.templates.values()) {
    for (const word of words) if (!opts.skip?.(word, template.dimension)) jobs.push({ word, template });
  }
  const skipped = words.length * opts.templates.size - jobs.length;
  const concurrency = Math.max(1, Math.floor(opts.concurrency ?? 4));
  log.info({ api: opts.client.baseUrl, model: opts.model, route, words: words.length, dimensions: opts.templates.size, prompts: jobs.length, skipped, concurrency, logitBias: !!opts.digitIds }, 'rating through the API');

  const t0 = Date.now();
  const retries0 = opts.client.retryCount;
  const stats: ApiRateStats = { prompts: 0, lackedDigits: 0, partialDigits: 0, retries: 0, seconds: 0 };
  const rows: RatingRow[] = [];
  const progress = opts.progress === false ? null : new Progress('rate', jobs.length);
  let next = 0;
  let failure: unknown = null;
  const worker = async (): Promise<void> => {
    while (failure === null && next < jobs.length) {
      const { word, template } = jobs[next++];
      try {
        const body = await opts.client.post<unknown>(path, ratingRequest(fillTemplate(template, word), { ...opts, route }));
        const { top } = firstTokenLogprobs(body, route, `${opts.client.baseUrl}${path}`);
        const { row, present } = ratingFromLogprobs(word, template.dimension, top);
        if (present === 0) stats.lackedDigits++;
        else if (present < 6) stats.partialDigits++;
        stats.prompts++;
        rows.push(row);
        if (opts.onRows) await opts.onRows([row]);
        progress?.tick();
      } catch (e) {
        failure ??= e;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, worker));
  } finally {
    progress?.stop();
  }
  stats.retries = opts.client.retryCount - retries0;
  stats.seconds = (Date.now() - t0) / 1000;
  if (failure !== null) {
    const e = failure as Error;
    const done = `${stats.prompts} of ${jobs.length} ratings written; run the same command again to resume`;
    if (e instanceof SmftError) throw new SmftError(`${e.message.slice(e.where ? e.where.length + 2 : 0)}; ${done}`, e.where, e.code);
    throw e;
  }
  return { rows, stats };
}

/** Log the end of an API rating run: retries and answers that lacked digits. */
export function logApiRatingDone(stats: ApiRateStats, logitBias: boolean): void {
  log.info({ prompts: stats.prompts, retries: stats.retries, seconds: Number(stats.seconds.toFixed(1)), per_s: Number((stats.prompts / Math.max(stats.seconds, 1e-3)).toFixed(2)) }, `rated ${stats.prompts} prompts through the API; ${stats.retries} retries`);
  if (stats.lackedDigits || stats.partialDigits) {
    log.warn({ lackedDigits: stats.lackedDigits, partialDigits: stats.partialDigits, prompts: stats.prompts, logitBias },
      `${stats.lackedDigits} of ${stats.prompts} answers lacked every digit 0–5 among the top logprobs (rating left empty); ` +
      `${stats.partialDigits} had only some (renormalised over those present)` +
      (logitBias ? '' : '; the digits\' token ids were unknown, so no logit_bias was sent (--digit-token-ids)'));
  }
}
