/**
 * Ratings from a model that answers with a decimal number ("1.33"), as models fine-tuned on the
 * paper's targets do (`"targets": "paper"`; OpenAI's fine-tuned GPT-4o-mini in the paper).
 * The next digit token alone (what `smft rate` reads by default, Σ k·p(k)) loses the decimals,
 * so for each prompt:
 *
 *  1. p(d) for the first digit d ∈ 0…5: the next-token distribution at the end of the prompt,
 *     renormalised over the six digit tokens (exactly what digit rating reads);
 *  2. for each d, a short greedy continuation conditioned on d (full vocabulary, at most
 *     `maxNewTokens` tokens, stopping at the first token that does not extend a number), read
 *     as the number v(d) ("1" + ".33" → 1.33; "2" + end-of-turn → 2), clamped to 0–5;
 *  3. `decimal`: rating = Σ_d p(d)·v(d), the expected answer when the decimals follow the
 *     digit greedily (equal to Σ k·p(k) for a model that answers whole numbers);
 *     `greedy`: rating = v(argmax_d p(d)), the parsed temperature-0 answer as the paper read it
 *     (assuming the most likely first token is a digit).
 *
 * Cost per prompt: one prefill of the prompt (no shared-prefix cache across words) and at most
 * `maxNewTokens` further passes over 7 short rows (the six branches, the digit row once).
 */
import { SmftError } from '../util/errors.js';
import { Progress } from '../util/progress.js';
import { softmax } from '../util/softmax.js';
import type { Dimension } from '../data/dimensions.js';
import { isEngine, tfEngine, type KvPrefix, type LmEngine } from './engine.js';
import type { CausalLM } from './model.js';
import type { LmTokenizer } from './tokenizer.js';
import type { PromptTemplate } from './prompts.js';
import { PromptBuilder, checkWords, digitTokenIds, logRatingDone, type RateOptions, type RateStats, type RatingRow } from './rate.js';

/** How a rating is read from the model: the next digit token (default), or a decimal answer. */
export const RATING_READS = ['digits', 'decimal', 'greedy'] as const;
export type RatingRead = (typeof RATING_READS)[number];

export interface DecimalRateOptions extends RateOptions {
  read: 'decimal' | 'greedy';
  /** Tokens generated after the first digit (default 4: ".", "3", "3", end on per-digit tokenizers). */
  maxNewTokens?: number;
}

const NUMBER_PREFIX = /^\d+(\.\d*)?$/;

/** The number an answer text starts with ("1.33<|im_end|>" → 1.33, "2." → 2), or undefined. */
export function parseRatingText(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)/.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** Σ_d p(d)·v(d) and v(argmax p) from the six first-digit probabilities and branch values. */
export function decimalRating(p: ArrayLike<number>, values: ArrayLike<number>): { expected: number; greedy: number; argmax: number } {
  if (p.length !== 6 || values.length !== 6) throw new SmftError('decimal rating needs six probabilities and six branch values');
  let expected = 0, argmax = 0;
  for (let d = 0; d < 6; d++) {
    expected += p[d] * values[d];
    if (p[d] > p[argmax]) argmax = d;
  }
  return { expected, greedy: values[argmax], argmax };
}

/** One prompt: p(d) over the digits and the greedy value v(d) of each branch. */
export async function readDecimal(engine: LmEngine, tokenizer: LmTokenizer, ids: readonly number[], opts: { maxNewTokens?: number } = {}): Promise<{ p: number[]; values: number[]; texts: string[]; forwardTokens: number }> {
  if (ids.length === 0) throw new SmftError('empty prompt');
  const maxNew = opts.maxNewTokens ?? 4;
  const v = engine.config.vocabSize;
  const digits = digitTokenIds(tokenizer);
  const pad = tokenizer.padTokenId < v ? tokenizer.padTokenId : 0;
  const k = ids.length - 1;
  const last = ids[k];
  const prefix: KvPrefix | null = k > 0 ? await engine.prefill(ids.slice(0, k)) : null;
  let forwardTokens = k;
  const gen: number[][] = digits.map(() => []);
  const open = digits.map(() => true);
  let p: number[] = [];
  try {
    for (let step = 0; step < maxNew && open.some(Boolean); step++) {
      const branches = digits.map((_, d) => d).filter((d) => open[d]);
      const rows = branches.map((d) => [last, digits[d], ...gen[d]]);
      if (step === 0) rows.push([last]);
      const t = Math.max(...rows.map((r) => r.length));
      const logits = await engine.selectedLogits({
        ids: rows.map((r) => [...r, ...new Array<number>(t - r.length).fill(pad)]),
        attentionMask: rows.map((r) => [...new Array<number>(k).fill(1), ...r.map(() => 1), ...new Array<number>(t - r.length).fill(0)]),
        positionIds: rows.map(() => Array.from({ length: t }, (_, j) => k + j)),
        logitsAt: rows.map((r) => r.length - 1),
      }, prefix ?? undefined);
      for (const r of rows) forwardTokens += r.length;
      if (logits.length !== rows.length * v) throw new SmftError(`expected full-vocabulary logits (${rows.length} × ${v}), got ${logits.length} values`);
      if (step === 0) {
        const row = logits.subarray(branches.length * v, (branches.length + 1) * v);
        p = Array.from(softmax(digits.map((id) => row[id])));
      }
      branches.forEach((d, r) => {
        const row = logits.subarray(r * v, (r + 1) * v);
        let best = 0;
        for (let j = 1; j < v; j++) if (row[j] > row[best]) best = j;
        const text = String(d) + tokenizer.decode([...gen[d], best]);
        if (NUMBER_PREFIX.test(text)) gen[d].push(best);
        else open[d] = false;
      });
    }
  } finally {
    prefix?.dispose();
  }
  const texts = gen.map((g, d) => String(d) + (g.length ? tokenizer.decode(g) : ''));
  const values = texts.map((s) => Math.min(5, Math.max(0, parseRatingText(s)!)));
  return { p, values, texts, forwardTokens };
}

/**
 * Ratings of words × dimensions read as decimal answers (see the module comment). Same inputs,
 * resume and row callback as rateWords; `argmax` and p0…p5 are the first digit's.
 */
export async function rateWordsDecimal(lm: CausalLM | LmEngine, tokenizer: LmTokenizer, opts: DecimalRateOptions): Promise<{ rows: RatingRow[]; stats: RateStats }> {
  if (opts.read !== 'decimal' && opts.read !== 'greedy') throw new SmftError(`unknown decimal read '${String(opts.read)}' (decimal or greedy)`);
  const engine = isEngine(lm) ? lm : tfEngine(lm);
  const words = checkWords(opts.words);
  const builder = new PromptBuilder(tokenizer, opts);
  const t0 = Date.now();
  const jobs: { template: PromptTemplate; word: string }[] = [];
  for (const template of opts.templates.values()) {
    for (const w of words) if (!opts.skip?.(w, template.dimension)) jobs.push({ template, word: w });
  }
  const stats: RateStats = { prompts: 0, forwardTokens: 0, fullTokens: 0, tokensSaved: 0, seconds: 0 };
  const rows: RatingRow[] = [];
  const progress = opts.progress === false ? null : new Progress(`rate (${opts.read})`, jobs.length);
  try {
    for (const job of jobs) {
      const ids = builder.ids(job.template, job.word);
      const r = await readDecimal(engine, tokenizer, ids, opts);
      const { expected, greedy, argmax } = decimalRating(r.p, r.values);
      const row = ratingRow(job.word, job.template.dimension, opts.read === 'greedy' ? greedy : expected, argmax, r.p);
      stats.prompts++;
      stats.forwardTokens += r.forwardTokens;
      stats.fullTokens += ids.length;
      rows.push(row);
      if (opts.onRows) await opts.onRows([row]);
      progress?.tick(1);
    }
  } finally {
    progress?.stop();
  }
  logRatingDone(stats, t0, { runtime: engine.runtime, read: opts.read });
  return { rows, stats };
}

function ratingRow(word: string, dimension: Dimension, rating: number, argmax: number, p: number[]): RatingRow {
  return { word, dimension, rating, argmax, p0: p[0], p1: p[1], p2: p[2], p3: p[3], p4: p[4], p5: p[5] };
}
