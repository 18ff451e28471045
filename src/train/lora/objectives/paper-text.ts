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
 * An example's loss is the mean negative log-likelihood of its answer tokens.
 */
import * as tf from '@tensorflow/tfjs';
import { SmftError } from '../../../util/errors.js';
import { sha256 } from '../../../util/hash.js';
import type { CausalLM } from '../../../lm/model.js';
import type { LmTokenizer } from '../../../lm/tokenizer.js';
import { PromptBuilder, type PromptOptions } from '../../../lm/rate.js';
import type { PaperExample } from '../../paper-examples.js';
import { VocabNormaliser, inBatches, padBatch, readAndDispose, type TrainObjective } from '../objective.js';

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
  private readonly vocab: VocabNormaliser;
  private readonly table: Float32Array;
  private readonly pad: number;
  private readonly chat: boolean;

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
    this.vocab = new VocabNormaliser(model);
    this.table = model.outputEmbeddings;
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
   * Full-vocabulary log-probabilities of the answer tokens, teacher-forced: [B·K] log p and a
   * [B·K] mask (K = the longest answer). Positions are picked with a one-hot product (no gather:
   * its gradient is missing on some TF.js backends).
   */
  private answerLogProbs(idx: Int32Array): { logp: tf.Tensor1D; mask: Float32Array; k: number } {
    const rows = Array.from(idx, (i) => [...this.prompts[i], ...this.answers[i]]);
    const { ids, mask: attn } = padBatch(rows, this.pad);
    const b = idx.length, t = ids[0].length;
    const k = Math.max(...Array.from(idx, (i) => this.answers[i].length));
    const h = this.model.config.hiddenSize;
    // sel[r, j, pos] = 1 where position pos predicts answer token j of row r.
    const sel = new Float32Array(b * k * t);
    const mask = new Float32Array(b * k);
    const target = new Float32Array(b * k * h);
    idx.forEach((i, r) => {
      const p = this.prompts[i].length;
      this.answers[i].forEach((tok, j) => {
        sel[(r * k + j) * t + p - 1 + j] = 1;
        mask[r * k + j] = 1;
        target.set(this.table.subarray(tok * h, (tok + 1) * h), (r * k + j) * h);
      });
    });
    const logp = tf.tidy(() => {
      const out = this.model.forward(ids, { attentionMask: attn, logits: 'none', outputHiddenStates: true });
      const hs = out.hiddenStates!;
      const final = hs[hs.length - 1] as tf.Tensor3D; // [B, T, H]
      const at = tf.reshape(tf.matMul(tf.tensor3d(sel, [b, k, t]), final), [b * k, h]) as tf.Tensor2D;
      const logit = tf.sum(tf.mul(at, tf.tensor2d(target, [b * k, h])), 1);
      return tf.sub(logit, this.vocab.logZ(at)) as tf.Tensor1D;
    });
    return { logp, mask, k };
  }

  /** Per-example mean answer-token NLL [B]. */
  private losses(idx: Int32Array): tf.Tensor1D {
    return tf.tidy(() => {
      const { logp, mask, k } = this.answerLogProbs(idx);
      const counts = Float32Array.from(idx, (i) => this.answers[i].length);
      const nll = tf.neg(tf.mul(tf.reshape(logp, [idx.length, k]), tf.tensor2d(mask, [idx.length, k])));
      return tf.div(tf.sum(nll, 1), tf.tensor1d(counts)) as tf.Tensor1D;
    });
  }

  lossSum(idx: Int32Array): tf.Scalar {
    return tf.tidy(() => tf.sum(this.losses(idx)) as tf.Scalar);
  }

  /**
   * Mean loss, and the share of examples whose answer tokens all have p > 1/2 under teacher
   * forcing (`exact`: then greedy decoding reproduces the answer).
   */
  async evaluate(idx: Int32Array, batchSize: number): Promise<{ loss: number } & Record<string, number>> {
    const per = await inBatches(idx, batchSize, async (chunk) => {
      const { logp, mask, k } = this.answerLogProbs(chunk);
      const lp = await readAndDispose(logp);
      return Array.from(chunk, (i, r) => {
        let s = 0, sure = true;
        for (let j = 0; j < k; j++) {
          if (!mask[r * k + j]) continue;
          s -= lp[r * k + j];
          if (lp[r * k + j] <= Math.log(0.5)) sure = false;
        }
        return { loss: s / this.answers[i].length, exact: sure ? 1 : 0 };
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
    this.vocab.dispose();
  }
}
