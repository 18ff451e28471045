/**
 * The rating objective: the norming prompt of (word, dimension), as smft rates it (same
 * templates, same chat/answer-cue handling: src/lm/rate.ts PromptBuilder), and the model's
 * next-token distribution over "0"…"5" at the end of the prompt, trained toward the human
 * mean rating m ∈ [0, 5]. Losses:
 *
 *  - 'ce-interp' (default): cross-entropy against the two-point distribution on the digits
 *    around m, linear interpolation: q(⌊m⌋) = 1 − (m − ⌊m⌋), q(⌊m⌋ + 1) = m − ⌊m⌋. Its
 *    expected value is exactly m, so a perfect fit rates exactly the human mean.
 *  - 'ce-gaussian': cross-entropy against a discretised Gaussian on 0…5, q(k) ∝ exp(−(k − m)²/2σ²)
 *    (σ = `sigma`, default 0.5); smoother targets, expected value pulled toward 2.5 near the ends.
 *  - 'ce-rounded': plain cross-entropy on the digit round(m) (half up): the supervised
 *    fine-tuning target the paper's API fine-tuning used (a one-token answer).
 *  - 'mse': (Σ k·p(k) − m)², on the expected rating that `smft rate` reports.
 *
 * p is renormalised over the six digits (what rating reads), or, with normalize 'vocab' for the
 * cross-entropy losses, the full-vocabulary softmax (also pushes probability onto the digits;
 * costs a [hidden × vocab] matrix on the device).
 */
import type * as tf from '@tensorflow/tfjs';
import { SmftError } from '../../../util/errors.js';
import { sha256 } from '../../../util/hash.js';
import { softmax } from '../../../util/softmax.js';
import type { Dimension } from '../../../data/dimensions.js';
import type { CausalLM } from '../../../lm/model.js';
import type { LmTokenizer } from '../../../lm/tokenizer.js';
import type { PromptTemplate } from '../../../lm/prompts.js';
import { PromptBuilder, digitTokenIds, type PromptOptions } from '../../../lm/rate.js';
import { inBatches, lastTokenRows, pearson, type ObjectiveBatch, type RowScorer, type TrainObjective } from '../objective.js';
import { TfBatchLoss, hostRowLosses, tfRowScorer } from '../batch-loss.js';

export const RATING_LOSSES = ['ce-interp', 'ce-gaussian', 'ce-rounded', 'mse'] as const;
export type RatingLoss = (typeof RATING_LOSSES)[number];

export interface RatingExample {
  word: string;
  dimension: Dimension;
  /** Human mean rating, 0–5. */
  mean: number;
}

export interface RatingObjectiveOptions extends PromptOptions {
  /** One template per dimension used by the examples. */
  templates: Map<Dimension, PromptTemplate>;
  loss?: RatingLoss;
  /** σ of 'ce-gaussian' (default 0.5). */
  sigma?: number;
  /** Softmax over the six digits (default) or the whole vocabulary (cross-entropy losses only). */
  normalize?: 'digits' | 'vocab';
}

/** Target distribution over 0…5 for a mean rating (cross-entropy losses). */
export function ratingTarget(mean: number, loss: RatingLoss, sigma = 0.5): Float64Array {
  const q = new Float64Array(6);
  if (!(mean >= 0 && mean <= 5)) throw new SmftError(`rating ${mean} outside 0–5`);
  if (loss === 'ce-rounded') {
    q[Math.min(5, Math.floor(mean + 0.5))] = 1;
  } else if (loss === 'ce-gaussian') {
    let z = 0;
    for (let k = 0; k < 6; k++) { q[k] = Math.exp(-((k - mean) ** 2) / (2 * sigma * sigma)); z += q[k]; }
    for (let k = 0; k < 6; k++) q[k] /= z;
  } else {
    const lo = Math.min(4, Math.floor(mean));
    const w = mean - lo;
    q[lo] = 1 - w;
    q[lo + 1] = w;
  }
  return q;
}

const DIGIT_VALUES = [0, 1, 2, 3, 4, 5];

export class RatingObjective implements TrainObjective {
  readonly kind = 'rating';
  readonly loss: RatingLoss;
  readonly sigma: number;
  readonly normalize: 'digits' | 'vocab';
  private readonly ids: number[][];
  private readonly targets: Float32Array;
  private readonly means: Float32Array;
  private readonly digits: number[];
  private readonly tf: TfBatchLoss;
  private readonly pad: number;
  private readonly chat: boolean;

  constructor(
    private readonly model: CausalLM,
    tokenizer: LmTokenizer,
    readonly examples: readonly RatingExample[],
    private readonly opts: RatingObjectiveOptions,
  ) {
    this.loss = opts.loss ?? 'ce-interp';
    if (!(RATING_LOSSES as readonly string[]).includes(this.loss)) throw new SmftError(`unknown rating loss '${this.loss}' (known: ${RATING_LOSSES.join(', ')})`);
    this.sigma = opts.sigma ?? 0.5;
    if (!(this.sigma > 0)) throw new SmftError(`sigma must be > 0 (got ${this.sigma})`);
    this.normalize = opts.normalize ?? 'digits';
    if (this.normalize !== 'digits' && this.normalize !== 'vocab') throw new SmftError(`normalize must be 'digits' or 'vocab' (got ${String(this.normalize)})`);
    if (examples.length === 0) throw new SmftError('no rating examples to train on');
    const builder = new PromptBuilder(tokenizer, opts);
    this.chat = builder.chat;
    this.ids = examples.map((e, i) => {
      const t = opts.templates.get(e.dimension);
      if (!t) throw new SmftError(`no prompt template for dimension '${e.dimension}' (example ${i}: '${e.word}')`);
      if (typeof e.word !== 'string' || e.word.trim() === '') throw new SmftError(`rating example ${i} has an empty word`);
      if (!(typeof e.mean === 'number' && e.mean >= 0 && e.mean <= 5)) throw new SmftError(`rating example ${i} ('${e.word}', ${e.dimension}) has mean ${e.mean}, outside 0–5`);
      return builder.ids(t, e.word);
    });
    this.means = Float32Array.from(examples, (e) => e.mean);
    this.targets = new Float32Array(examples.length * 6);
    examples.forEach((e, i) => this.targets.set(ratingTarget(e.mean, this.loss, this.sigma), i * 6));
    this.pad = tokenizer.padTokenId < model.config.vocabSize ? tokenizer.padTokenId : 0;
    this.digits = digitTokenIds(tokenizer);
    for (const id of this.digits) if (id >= model.config.vocabSize) throw new SmftError(`token id ${id} outside the vocabulary`);
    this.tf = new TfBatchLoss(model);
  }

  get size(): number {
    return this.examples.length;
  }

  group(i: number): string {
    return this.examples[i].word.toLowerCase();
  }

  tokens(i: number): number {
    return this.ids[i].length;
  }

  /** The prompts of `idx`, right-padded, read at their last token; the loss against each example's target. */
  batch(idx: Int32Array): ObjectiveBatch {
    const rows = lastTokenRows(Array.from(idx, (i) => this.ids[i]), this.pad, this.digits);
    if (this.loss === 'mse') return { ...rows, loss: { kind: 'expected-mse', values: DIGIT_VALUES, targets: Float32Array.from(idx, (i) => this.means[i]) } };
    const q = new Float32Array(idx.length * 6);
    idx.forEach((i, r) => q.set(this.targets.subarray(i * 6, i * 6 + 6), r * 6));
    return { ...rows, logZ: this.normalize === 'vocab', loss: { kind: 'cross-entropy', targets: q, normalize: this.normalize === 'vocab' ? 'vocab' : 'tokens' } };
  }

  lossSum(idx: Int32Array): tf.Scalar {
    return this.tf.lossSum(this.batch(idx));
  }

  private scorer(scorer?: RowScorer): RowScorer {
    return scorer ?? tfRowScorer(this.model, this.tf);
  }

  /** Renormalised digit probabilities [n × 6] and expected ratings for examples `idx` (TF.js model unless `scorer`). */
  async predict(idx: Int32Array, batchSize = 16, scorer?: RowScorer): Promise<{ probs: Float32Array; ratings: Float32Array }> {
    const s = this.scorer(scorer);
    const rows = await inBatches(idx, batchSize, async (chunk) => {
      const { logits } = await s.scoreRows(lastTokenRows(Array.from(chunk, (i) => this.ids[i]), this.pad, this.digits));
      return Array.from(chunk, (_, r) => Float32Array.from(softmax(logits.subarray(r * 6, r * 6 + 6))));
    });
    const probs = new Float32Array(rows.length * 6);
    const ratings = new Float32Array(rows.length);
    rows.forEach((p, r) => {
      probs.set(p, r * 6);
      ratings[r] = p.reduce((a, x, k) => a + k * x, 0);
    });
    return { probs, ratings };
  }

  async evaluate(idx: Int32Array, batchSize: number, scorer?: RowScorer): Promise<{ loss: number } & Record<string, number>> {
    const s = this.scorer(scorer);
    const scored = await inBatches(idx, batchSize, async (chunk) => {
      const b = this.batch(chunk);
      const sc = await s.scoreRows(b);
      const losses = hostRowLosses(b.loss, sc, 6);
      return Array.from(chunk, (_, r) => {
        const p = softmax(sc.logits.subarray(r * 6, r * 6 + 6));
        return { loss: losses[r], rating: p.reduce((a, x, k) => a + k * x, 0) };
      });
    });
    const means = Array.from(idx, (i) => this.means[i]);
    const ratings = scored.map((x) => x.rating);
    let abs = 0, sq = 0;
    ratings.forEach((r, k) => { abs += Math.abs(r - means[k]); sq += (r - means[k]) ** 2; });
    const n = Math.max(1, idx.length);
    return { loss: scored.reduce((a, x) => a + x.loss, 0) / n, mae: abs / n, rmse: Math.sqrt(sq / n), r: pearson(ratings, means) };
  }

  describe(): Record<string, unknown> {
    const templates = Object.fromEntries([...this.opts.templates].map(([d, t]) => [d, sha256(t.text).slice(0, 16)]));
    return {
      kind: this.kind, loss: this.loss, sigma: this.loss === 'ce-gaussian' ? this.sigma : undefined, normalize: this.normalize,
      chat: this.chat, examples: this.examples.length,
      dataSha256: sha256(JSON.stringify(this.examples.map((e) => [e.word, e.dimension, e.mean]))),
      templates,
    };
  }

  dispose(): void {
    this.tf.dispose();
  }
}
