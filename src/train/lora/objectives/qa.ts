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
import type * as tf from '@tensorflow/tfjs';
import { SmftError } from '../../../util/errors.js';
import { sha256 } from '../../../util/hash.js';
import { softmax } from '../../../util/softmax.js';
import type { CausalLM } from '../../../lm/model.js';
import type { LmTokenizer } from '../../../lm/tokenizer.js';
import { PromptBuilder, type PromptOptions } from '../../../lm/rate.js';
import { QA_LETTERS, type QaItem } from '../../qa.js';
import { inBatches, lastTokenRows, type ObjectiveBatch, type RowScorer, type TrainObjective } from '../objective.js';
import { TfBatchLoss, tfRowScorer } from '../batch-loss.js';

export { readQaItems, QA_LETTERS, type QaItem } from '../../qa.js';

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
  private readonly letters: number[];
  private readonly tf: TfBatchLoss;
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
    this.letters = letterTokenIds(tokenizer);
    for (const id of this.letters) if (id >= model.config.vocabSize) throw new SmftError(`token id ${id} outside the vocabulary`);
    this.tf = new TfBatchLoss(model);
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

  /** The prompts of `idx`, right-padded, read at their last token; cross-entropy on the correct letter. */
  batch(idx: Int32Array): ObjectiveBatch {
    const q = new Float32Array(idx.length * 4);
    idx.forEach((i, r) => { q[r * 4 + this.labels[i]] = 1; });
    return { ...lastTokenRows(Array.from(idx, (i) => this.ids[i]), this.pad, this.letters), loss: { kind: 'cross-entropy', targets: q, normalize: 'tokens' } };
  }

  lossSum(idx: Int32Array): tf.Scalar {
    return this.tf.lossSum(this.batch(idx));
  }

  /**
   * Predicted letter index (0–3) and the four renormalised probabilities per item, scored by
   * `scorer` (e.g. engineRowScorer of OnnxCausalLM with the adapter merged, or the ONNX
   * training engine), by default this objective's TF.js model (adapters included): the same
   * prompts, right-padded, read at each item's last token.
   */
  async predict(idx: Int32Array, batchSize = 8, scorer?: RowScorer): Promise<{ choice: Int32Array; probs: Float32Array }> {
    const s = scorer ?? tfRowScorer(this.model, this.tf);
    const rows = await inBatches(idx, batchSize, async (chunk) => {
      const { logits } = await s.scoreRows(lastTokenRows(Array.from(chunk, (i) => this.ids[i]), this.pad, this.letters));
      return Array.from(chunk, (_, r) => Float32Array.from(softmax(logits.subarray(r * 4, r * 4 + 4))));
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

  /** Mean cross-entropy and accuracy; rows scored by `scorer` when given (see predict). */
  async evaluate(idx: Int32Array, batchSize: number, scorer?: RowScorer): Promise<{ loss: number } & Record<string, number>> {
    const { choice, probs } = await this.predict(idx, batchSize, scorer);
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
    this.tf.dispose();
  }
}
