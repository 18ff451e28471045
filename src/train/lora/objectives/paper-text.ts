/**
 * The paper's supervised fine-tuning objective (`"targets": "paper"` recipes): next-token
 * cross-entropy over the whole vocabulary at the answer's token positions, teacher-forced, for
 * chat examples built by src/train/paper-examples.ts (rating answers "1.33", "2.0"; QA answers
 * "A"…"D") — what OpenAI's chat fine-tuning and TRL's SFT optimise on the assistant turn.
 *
 * The prompt is the user message as `smft rate` renders it (PromptBuilder: the tokenizer's chat
 * template, else the text plus an answer cue; the template's trailing whitespace removed, as
 * rating's templates are), so training and rating see the same tokens. The answer tokens are the
 * assistant turn as the chat template renders it after that prompt (the answer text and the
 * end-of-turn marker, e.g. "1.33<|im_end|>"); without a chat template, the answer text and EOS.
 * An example's loss is the mean negative log-likelihood of its answer tokens. As a batch
 * (ObjectiveBatch) it is one read row per answer token, weighted 1/answer length, with a
 * cross-entropy normalised over the whole vocabulary: both engines train it, validation scores
 * it through either engine's forward pass.
 */
import type * as tf from '@tensorflow/tfjs';
import { SmftError } from '../../../util/errors.js';
import { sha256 } from '../../../util/hash.js';
import type { CausalLM } from '../../../lm/model.js';
import type { LmTokenizer } from '../../../lm/tokenizer.js';
import { PromptBuilder, type PromptOptions } from '../../../lm/rate.js';
import type { PaperExample } from '../../paper-examples.js';
import { inBatches, padBatch, type ObjectiveBatch, type RowScorer, type TrainObjective } from '../objective.js';
import { TfBatchLoss, hostRowLosses, tfRowScorer } from '../batch-loss.js';

/** Prompt and answer token ids of one chat example, as training and generation see them. */
export function encodeChatExample(builder: PromptBuilder, tokenizer: LmTokenizer, user: string, answer: string): { prompt: number[]; answer: number[] } {
  const content = user.trimEnd();
  const promptText = builder.text(content);
  let answerText: string;
  if (builder.chat) {
    const full = tokenizer.applyChatTemplate([{ role: 'user', content }, { role: 'assistant', content: answer }], { addGenerationPrompt: false });
    if (!full.startsWith(promptText)) throw new SmftError("the chat template renders the assistant turn so that it does not extend the prompt; cannot train on answer tokens", tokenizer.dir);
    answerText = full.slice(promptText.length).replace(/\s+$/, '');
  } else {
    answerText = answer;
  }
  const ids = tokenizer.encode(answerText, { addSpecialTokens: false });
  if (!builder.chat && tokenizer.eosTokenId !== undefined) ids.push(tokenizer.eosTokenId);
  if (ids.length === 0) throw new SmftError(`the answer '${answer}' has no tokens`);
  return { prompt: builder.encode(promptText), answer: ids };
}

export class PaperTextObjective implements TrainObjective {
  readonly kind = 'paper-text';
  private readonly prompts: number[][];
  private readonly answers: number[][];
  private readonly pad: number;
  private readonly chat: boolean;
  private readonly tf: TfBatchLoss;

  constructor(private readonly model: CausalLM, tokenizer: LmTokenizer, readonly examples: readonly PaperExample[], private readonly opts: PromptOptions = {}) {
    if (examples.length === 0) throw new SmftError('no fine-tuning examples');
    const builder = new PromptBuilder(tokenizer, opts);
    this.chat = builder.chat;
    this.prompts = [];
    this.answers = [];
    for (const e of examples) {
      const x = encodeChatExample(builder, tokenizer, e.messages[0].content, e.messages[1].content);
      for (const id of x.answer) if (id >= model.config.vocabSize) throw new SmftError(`answer token ${id} is outside the model's vocabulary (${model.config.vocabSize})`, tokenizer.dir);
      this.prompts.push(x.prompt);
      this.answers.push(x.answer);
    }
    this.pad = tokenizer.padTokenId < model.config.vocabSize ? tokenizer.padTokenId : 0;
    this.tf = new TfBatchLoss(model);
  }

  get size(): number {
    return this.examples.length;
  }

  group(i: number): string {
    return this.examples[i].group;
  }

  tokens(i: number): number {
    return this.prompts[i].length + this.answers[i].length;
  }

  /**
   * Prompt + answer, right-padded; one read row per answer token (the position that predicts
   * it: teacher forcing), scored against the batch's distinct answer tokens with a one-hot
   * target, normalised over the whole vocabulary, weighted 1/answer length.
   */
  batch(idx: Int32Array): ObjectiveBatch {
    const { ids, mask } = padBatch(Array.from(idx, (i) => [...this.prompts[i], ...this.answers[i]]), this.pad);
    const t = ids[0].length;
    const tokenIds = [...new Set(Array.from(idx, (i) => this.answers[i]).flat())];
    const column = new Map(tokenIds.map((id, c) => [id, c]));
    const rows: number[] = [];
    const weights: number[] = [];
    const hot: number[] = [];
    idx.forEach((i, b) => {
      const p = this.prompts[i].length;
      this.answers[i].forEach((tok, j) => {
        rows.push(b * t + p - 1 + j);
        weights.push(1 / this.answers[i].length);
        hot.push(column.get(tok)!);
      });
    });
    const n = tokenIds.length;
    const targets = new Float32Array(rows.length * n);
    hot.forEach((c, r) => { targets[r * n + c] = 1; });
    return { ids, mask, rows, tokenIds, loss: { kind: 'cross-entropy', targets, normalize: 'vocab' }, weights: Float32Array.from(weights) };
  }

  lossSum(idx: Int32Array): tf.Scalar {
    return this.tf.lossSum(this.batch(idx));
  }

  /**
   * Mean loss, and the share of examples whose answer tokens all have p > 1/2 under teacher
   * forcing (`exact`: then greedy decoding reproduces the answer).
   */
  async evaluate(idx: Int32Array, batchSize: number, scorer?: RowScorer): Promise<{ loss: number } & Record<string, number>> {
    const s = scorer ?? tfRowScorer(this.model, this.tf);
    const per = await inBatches(idx, batchSize, async (chunk) => {
      const b = this.batch(chunk);
      const nll = hostRowLosses(b.loss, await s.scoreRows({ ...b, logZ: true }), b.tokenIds.length);
      let r = 0;
      return Array.from(chunk, (i) => {
        let sum = 0, sure = true;
        for (let j = 0; j < this.answers[i].length; j++, r++) {
          sum += nll[r];
          if (nll[r] >= Math.log(2)) sure = false;
        }
        return { loss: sum / this.answers[i].length, exact: sure ? 1 : 0 };
      });
    });
    const n = Math.max(1, per.length);
    return { loss: per.reduce((a, x) => a + x.loss, 0) / n, exact: per.reduce((a, x) => a + x.exact, 0) / n };
  }

  describe(): Record<string, unknown> {
    return {
      kind: this.kind, chat: this.chat, examples: this.examples.length,
      dataSha256: sha256(JSON.stringify(this.examples.map((e) => [e.messages[0].content, e.messages[1].content]))),
      systemPrompt: this.opts.systemPrompt ? sha256(this.opts.systemPrompt).slice(0, 16) : undefined,
    };
  }

  dispose(): void {
    this.tf.dispose();
  }
}
