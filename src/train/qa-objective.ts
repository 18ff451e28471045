/**
 * The QA-style objective of the paper's QA_FT condition: a multiple-choice prompt (the paper's
 * `prompt_mcq_en.txt`: {index}, {question}, {options}) and cross-entropy over the next-token
 * logits of the option letters "A"…"D" (renormalised over the four letters), with accuracy =
 * argmax letter = correct_option. Options are rendered one per line as "A. <text>".
 *
 * The prompt goes through the same PromptBuilder as rating (chat template when the tokenizer
 * has one, else the text plus an answer cue), so the letter is the first token of the answer.
 */
import { readFileSync, existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { SmftError } from '../util/errors.js';
import { sha256 } from '../util/hash.js';
import type { CausalLM } from '../lm/model.js';
import type { LmTokenizer } from '../lm/tokenizer.js';
import { PromptBuilder, type PromptOptions } from '../lm/rate.js';
import { QA_LETTERS, type QaItem } from './qa.js';
import { OutputRows, inBatches, lastTokenHidden, padBatch, readAndDispose, type TrainObjective } from './lora/objective.js';
import { defaultPositions } from '../lm/forward-inputs.js';
import type { LmEngine } from '../lm/engine.js';
import { softmax } from '../util/softmax.js';

export { readQaItems, QA_LETTERS, type QaItem } from './qa.js';

/** The placeholders an MCQ template must contain. */
export const MCQ_PLACEHOLDERS = ['{question}', '{options}'] as const;

/** Read an MCQ template file (must contain {question} and {options}; {index} optional). */
export function readMcqTemplate(path: string): string {
  if (!existsSync(path)) throw new SmftError('MCQ prompt template not found', path);
  const text = readFileSync(path, 'utf8').replace(/^\uFEFF/, '').trimEnd();
  for (const p of MCQ_PLACEHOLDERS) if (!text.includes(p)) throw new SmftError(`MCQ template has no ${p} placeholder`, path);
  return text;
}

/** The user message for one item. */
export function renderMcq(template: string, item: QaItem): string {
  const options = QA_LETTERS.map((l) => `${l}. ${item.options[l]}`).join('\n');
  return template.replace(/\{index\}/g, String(item.index)).replace(/\{question\}/g, item.question).replace(/\{options\}/g, options);
}

/** Token ids of the four letters (each must be one token). */
export function letterTokenIds(tokenizer: LmTokenizer): number[] {
  return QA_LETTERS.map((l) => {
    const id = tokenizer.singleTokenId(l);
    if (id === undefined) throw new SmftError(`the tokenizer has no single token for "${l}"; cannot score multiple-choice answers`, tokenizer.dir);
    return id;
  });
}

export interface QaObjectiveOptions extends PromptOptions {
  /** MCQ template text (see readMcqTemplate). */
  template: string;
}

export class QaObjective implements TrainObjective {
  readonly kind = 'qa';
  private readonly ids: number[][];
  private readonly labels: Int32Array;
  private readonly letters: OutputRows;
  private readonly pad: number;
  private readonly chat: boolean;

  constructor(private readonly model: CausalLM, tokenizer: LmTokenizer, readonly items: readonly QaItem[], private readonly opts: QaObjectiveOptions) {
    if (items.length === 0) throw new SmftError('no QA items');
    const builder = new PromptBuilder(tokenizer, opts);
    this.chat = builder.chat;
    this.ids = items.map((it) => builder.encode(builder.text(renderMcq(opts.template, it))));
    this.labels = Int32Array.from(items, (it, i) => {
      const k = (QA_LETTERS as readonly string[]).indexOf(it.correct_option);
      if (k < 0) throw new SmftError(`QA item ${i} has correct_option ${JSON.stringify(it.correct_option)}`);
      return k;
    });
    this.pad = tokenizer.padTokenId < model.config.vocabSize ? tokenizer.padTokenId : 0;
    this.letters = new OutputRows(model, letterTokenIds(tokenizer));
  }

  get size(): number {
    return this.items.length;
  }

  group(i: number): string {
    return `item-${this.items[i].index}-${i}`;
  }

  tokens(i: number): number {
    return this.ids[i].length;
  }

  private logits(idx: Int32Array): tf.Tensor2D {
    return tf.tidy(() => this.letters.logits(lastTokenHidden(this.model, Array.from(idx, (i) => this.ids[i]), this.pad)));
  }

  private losses(idx: Int32Array): tf.Tensor1D {
    return tf.tidy(() => {
      const logp = tf.logSoftmax(this.logits(idx));
      const y = tf.oneHot(tf.tensor1d(Array.from(idx, (i) => this.labels[i]), 'int32'), 4);
      return tf.neg(tf.sum(tf.mul(y, logp), 1)) as tf.Tensor1D;
    });
  }

  lossSum(idx: Int32Array): tf.Scalar {
    return tf.tidy(() => tf.sum(this.losses(idx)) as tf.Scalar);
  }

  /**
   * Predicted letter index (0–3) and the four renormalised probabilities per item, from this
   * objective's TF.js model (adapters included), or from `engine` (e.g. OnnxCausalLM, with the
   * adapter merged): the same prompts, right-padded, read at each item's last token.
   */
  async predict(idx: Int32Array, batchSize = 8, engine?: LmEngine): Promise<{ choice: Int32Array; probs: Float32Array }> {
    const rows = await inBatches(idx, batchSize, async (chunk) => {
      if (engine) {
        const logits = await this.engineLogits(engine, chunk);
        return Array.from(chunk, (_, r) => Float32Array.from(softmax(logits.subarray(r * 4, r * 4 + 4))));
      }
      const d = await readAndDispose(tf.tidy(() => tf.softmax(this.logits(chunk))));
      return Array.from(chunk, (_, r) => Float32Array.from(d.subarray(r * 4, r * 4 + 4)));
    });
    const probs = new Float32Array(rows.length * 4);
    const choice = new Int32Array(rows.length);
    rows.forEach((p, r) => {
      probs.set(p, r * 4);
      let a = 0;
      for (let k = 1; k < 4; k++) if (p[k] > p[a]) a = k;
      choice[r] = a;
    });
    return { choice, probs };
  }

  private engineLogits(engine: LmEngine, chunk: Int32Array): Promise<Float32Array> {
    const { ids, mask, lengths } = padBatch(Array.from(chunk, (i) => this.ids[i]), this.pad);
    return engine.selectedLogits({
      ids, attentionMask: mask, positionIds: defaultPositions(mask, ids[0].length), logitsAt: lengths.map((l) => l - 1), tokenIds: [...this.letters.tokenIds],
    });
  }

  /** Mean cross-entropy and accuracy; on `engine` instead of the TF.js model when given. */
  async evaluate(idx: Int32Array, batchSize: number, engine?: LmEngine): Promise<{ loss: number } & Record<string, number>> {
    const { choice, probs } = await this.predict(idx, batchSize, engine);
    let loss = 0;
    let correct = 0;
    idx.forEach((i, r) => {
      loss -= Math.log(Math.max(1e-30, probs[r * 4 + this.labels[i]]));
      if (choice[r] === this.labels[i]) correct++;
    });
    const n = Math.max(1, idx.length);
    return { loss: loss / n, accuracy: correct / n };
  }

  describe(): Record<string, unknown> {
    return {
      kind: this.kind, chat: this.chat, items: this.items.length,
      dataSha256: sha256(JSON.stringify(this.items.map((it) => [it.index, it.question, it.options, it.correct_option]))),
      templateSha256: sha256(this.opts.template).slice(0, 16),
    };
  }

  dispose(): void {
    this.letters.dispose();
  }
}
