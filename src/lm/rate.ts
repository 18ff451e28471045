import { SmftError } from '../util/errors.js';
import { log } from '../util/log.js';
import type { Dimension, Lang } from '../data/dimensions.js';
import type { CausalLM } from './model.js';
import { isEngine, tfEngine, type KvPrefix, type LmEngine } from './engine.js';
import type { LmTokenizer, ChatMessage } from './tokenizer.js';
import { fillTemplate, type PromptTemplate } from './prompts.js';
import { Progress } from '../util/progress.js';
import { softmax } from '../util/softmax.js';

/** One elicited rating: expected value over the renormalised probabilities of "0"…"5". */
export interface RatingRow {
  word: string;
  dimension: Dimension;
  /** Σ k·p(k). */
  rating: number;
  /** The most probable of 0…5. */
  argmax: number;
  p0: number; p1: number; p2: number; p3: number; p4: number; p5: number;
}

export interface PromptOptions {
  /** 'auto' (default): use the tokenizer's chat template when it has one. */
  chat?: 'auto' | 'always' | 'never';
  /** Optional system message for chat models (default: none, the template's own default). */
  systemPrompt?: string;
  /** Text after the prompt for models without a chat template (default "\nAnswer: " / "\nAntwoord: "). */
  answerPrefix?: string;
  lang?: Lang;
}

export interface RateOptions extends PromptOptions {
  words: string[];
  /** One template per dimension to rate (see loadTemplates). */
  templates: Map<Dimension, PromptTemplate>;
  /** Prompts per forward pass (default 16). */
  batchSize?: number;
  /** Shared-prefix KV caching (default true). */
  prefixCache?: boolean;
  /** Skip pairs already done (resume). */
  skip?: (word: string, dimension: Dimension) => boolean;
  /** Called with each batch's rows as soon as they are computed (e.g. PredictionsWriter.append). */
  onRows?: (rows: RatingRow[]) => void | Promise<void>;
  /** Progress bar / log lines (default true). */
  progress?: boolean;
  /** The model (folder or name) for error messages. */
  modelName?: string;
}

export interface RateStats {
  prompts: number;
  /** Real (unpadded) tokens run through the model. */
  forwardTokens: number;
  /** Tokens the uncached run would have needed. */
  fullTokens: number;
  tokensSaved: number;
  seconds: number;
}

/** The chat messages of a rating prompt: the optional system message, then the user message. */
export function ratingMessages(content: string, opts: PromptOptions = {}): ChatMessage[] {
  const messages: ChatMessage[] = [];
  if (opts.systemPrompt) messages.push({ role: 'system', content: opts.systemPrompt });
  messages.push({ role: 'user', content });
  return messages;
}

/** The raw-text rating prompt of models without a chat template: the user message and the answer cue. */
export function completionPrompt(content: string, opts: PromptOptions = {}): string {
  return content + (opts.answerPrefix ?? (opts.lang === 'nl' ? '\nAntwoord: ' : '\nAnswer: '));
}

/** Builds the token ids of rating prompts (chat template or raw text + answer cue). */
export class PromptBuilder {
  readonly chat: boolean;

  constructor(private readonly tokenizer: LmTokenizer, private readonly opts: PromptOptions = {}) {
    const mode = opts.chat ?? 'auto';
    if (mode === 'always' && !tokenizer.hasChatTemplate) throw new SmftError('chat prompts requested but the tokenizer has no chat template', tokenizer.dir);
    this.chat = mode === 'always' || (mode === 'auto' && tokenizer.hasChatTemplate);
  }

  /** The full prompt text for a user message. */
  text(content: string): string {
    return this.chat ? this.tokenizer.applyChatTemplate(ratingMessages(content, this.opts)) : completionPrompt(content, this.opts);
  }

  encode(text: string): number[] {
    // Chat templates already contain the special tokens (BOS included where the model uses one).
    return this.tokenizer.encode(text, { addSpecialTokens: !this.chat });
  }

  /** Token ids of the template filled with `word`. */
  ids(template: PromptTemplate | string, word: string): number[] {
    return this.encode(this.text(fillTemplate(template, word)));
  }

  /** Token ids of the rendered prompt up to (not including) the word. */
  prefixIds(template: PromptTemplate | string): number[] {
    const sentinel = '\u2063SMFTWORD\u2063';
    const full = this.text(fillTemplate(template, sentinel));
    return this.encode(full.slice(0, full.indexOf(sentinel)));
  }
}

/** Length of the longest common prefix of two id lists. */
export function commonPrefix(a: readonly number[], b: readonly number[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

/** Token ids of the digits "0"…"5" (each must be a single token). */
export function digitTokenIds(tokenizer: LmTokenizer): number[] {
  return [0, 1, 2, 3, 4, 5].map((d) => {
    const id = tokenizer.singleTokenId(String(d));
    if (id === undefined) throw new SmftError(`the tokenizer has no single token for "${d}"; cannot read ratings`, tokenizer.dir);
    return id;
  });
}

/**
 * A forward pass that yields NaN or ±Inf (NaN weights, a config with an impossible
 * rms_norm_eps or rope_theta, …) is an error naming the model: never a row of empty cells.
 */
export function checkFinite(values: ArrayLike<number>, model: string | undefined, words: () => string[], dimension?: string): void {
  for (let i = 0; i < values.length; i++) {
    if (Number.isFinite(values[i])) continue;
    const w = words();
    const at = w.length ? ` (first batch: ${w.slice(0, 3).map((x) => `'${x}'`).join(', ')}${dimension ? ` on ${dimension}` : ''})` : '';
    throw new SmftError(`the model's forward pass gives non-finite values (${values[i]})${at}: its weights or config.json are broken (NaN weights, rms_norm_eps, rope_theta?); no ratings written for them`, model);
  }
}

/** Renormalise six logits and summarise them. */
export function ratingFromLogits(word: string, dimension: Dimension, logits: ArrayLike<number>): RatingRow {
  const p = softmax(Array.from({ length: 6 }, (_, k) => logits[k]));
  let argmax = 0;
  for (let k = 1; k < 6; k++) if (p[k] > p[argmax]) argmax = k;
  const rating = p.reduce((a, x, k) => a + k * x, 0);
  return { word, dimension, rating, argmax, p0: p[0], p1: p[1], p2: p[2], p3: p[3], p4: p[4], p5: p[5] };
}

/** Reject empty words (one clear error naming the position) and drop duplicates. */
export function checkWords(words: string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  words.forEach((w, i) => {
    if (typeof w !== 'string' || w.trim() === '') throw new SmftError(`word list has an empty entry at position ${i + 1}`);
    if (seen.has(w)) return;
    seen.add(w);
    out.push(w);
  });
  if (out.length < words.length) log.warn({ duplicates: words.length - out.length }, 'duplicate words ignored');
  return out;
}

/**
 * Elicit ratings for words × dimensions. With prefix caching, each template's shared prefix
 * (the tokens before the word, split at a token boundary common to every prompt) runs once;
 * only the suffixes are batched, right-padded, with positions continuing after the prefix.
 * `model`: a TF.js CausalLM (adapters included) or another engine, e.g. OnnxCausalLM.
 */
export async function rateWords(lm: CausalLM | LmEngine, tokenizer: LmTokenizer, opts: RateOptions): Promise<{ rows: RatingRow[]; stats: RateStats }> {
  const model = isEngine(lm) ? lm : tfEngine(lm);
  const words = checkWords(opts.words);
  const batchSize = opts.batchSize ?? 16;
  const useCache = opts.prefixCache ?? true;
  const builder = new PromptBuilder(tokenizer, opts);
  const digits = digitTokenIds(tokenizer);
  const pad = tokenizer.padTokenId < model.config.vocabSize ? tokenizer.padTokenId : 0;
  const t0 = Date.now();

  const jobs: { template: PromptTemplate; words: string[] }[] = [];
  let total = 0;
  for (const template of opts.templates.values()) {
    const todo = opts.skip ? words.filter((w) => !opts.skip!(w, template.dimension)) : words;
    if (todo.length) jobs.push({ template, words: todo });
    total += todo.length;
  }
  const skipped = words.length * opts.templates.size - total;
  log.info({ words: words.length, dimensions: opts.templates.size, prompts: total, skipped, chat: builder.chat, prefixCache: useCache, batchSize }, 'rating');

  const stats: RateStats = { prompts: 0, forwardTokens: 0, fullTokens: 0, tokensSaved: 0, seconds: 0 };
  const rows: RatingRow[] = [];
  const progress = opts.progress === false ? null : new Progress('rate', total);
  try {
    for (const job of jobs) {
      const full = job.words.map((w) => builder.ids(job.template, w));
      for (const f of full) stats.fullTokens += f.length;
      let k = 0;
      if (useCache) {
        const pre = builder.prefixIds(job.template);
        k = Math.min(...full.map((f) => Math.min(commonPrefix(pre, f), f.length - 1)));
      }
      const prefix: KvPrefix | null = k > 0 ? await model.prefill(full[0].slice(0, k)) : null;
      if (k > 0) stats.forwardTokens += k;
      try {
        // Similar suffix lengths together: less padding.
        const order = full.map((_, i) => i).sort((a, b) => full[a].length - full[b].length);
        for (let s = 0; s < order.length; s += batchSize) {
          const idx = order.slice(s, s + batchSize);
          const suffixes = idx.map((i) => full[i].slice(k));
          const tmax = Math.max(...suffixes.map((x) => x.length));
          const logits = await model.selectedLogits({
            ids: suffixes.map((x) => [...x, ...new Array<number>(tmax - x.length).fill(pad)]),
            attentionMask: suffixes.map((x) => [...new Array<number>(k).fill(1), ...x.map(() => 1), ...new Array<number>(tmax - x.length).fill(0)]),
            positionIds: suffixes.map(() => Array.from({ length: tmax }, (_, j) => k + j)),
            logitsAt: suffixes.map((x) => x.length - 1),
            tokenIds: digits,
          }, prefix ?? undefined);
          checkFinite(logits, opts.modelName, () => idx.map((i) => job.words[i]), job.template.dimension);
          const batchRows = idx.map((i, r) => ratingFromLogits(job.words[i], job.template.dimension, logits.subarray(r * 6, r * 6 + 6)));
          for (const x of suffixes) stats.forwardTokens += x.length;
          stats.prompts += batchRows.length;
          rows.push(...batchRows);
          if (opts.onRows) await opts.onRows(batchRows);
          progress?.tick(batchRows.length);
          await new Promise((r) => setImmediate(r));
        }
      } finally {
        prefix?.dispose();
      }
      log.debug({ dimension: job.template.dimension, prefixTokens: k, prompts: full.length }, 'dimension rated');
    }
  } finally {
    progress?.stop();
  }
  stats.tokensSaved = stats.fullTokens - stats.forwardTokens;
  logRatingDone(stats, t0, { runtime: model.runtime });
  return { rows, stats };
}

/** Finish the stats of a rating run and log them (tokens saved by prefix caching, time). */
export function logRatingDone(stats: RateStats, t0: number, extra: Record<string, unknown> = {}): void {
  stats.seconds = (Date.now() - t0) / 1000;
  log.info({
    prompts: stats.prompts,
    forwardTokens: stats.forwardTokens,
    tokensSaved: stats.tokensSaved,
    savedPct: stats.fullTokens ? Number(((100 * stats.tokensSaved) / stats.fullTokens).toFixed(1)) : 0,
    seconds: Number(stats.seconds.toFixed(1)),
    ...extra,
  }, 'rating done');
}
