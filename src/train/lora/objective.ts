/**
 * What the LoRA trainer optimises: a TrainObjective gives, for a set of example indices, the
 * summed loss as a differentiable function of the adapters attached to the model, and
 * validation metrics. Helpers here read the next-token logits of a few candidate tokens
 * ("0"…"5", "A"…"D") at the last prompt token, using only ops whose gradients every TF.js
 * backend implements (no gather: the last position is selected with a one-hot product).
 */
import * as tf from '@tensorflow/tfjs';
import { SmftError } from '../../util/errors.js';
import type { CausalLM } from '../../lm/model.js';

export interface TrainObjective {
  /** 'rating', 'qa', … (recorded in checkpoints). */
  readonly kind: string;
  /** Number of examples. */
  readonly size: number;
  /** Examples of one group go to the same side of the validation split (e.g. one word's dimensions). */
  group(i: number): string;
  /** Prompt tokens of example i (progress: tokens/s). */
  tokens(i: number): number;
  /** Sum of the per-example losses over `idx` (scalar), differentiable w.r.t. the attached adapters. */
  lossSum(idx: Int32Array): tf.Scalar;
  /**
   * Metrics over `idx` without dropout; `loss` is the mean loss (drives early stopping).
   * Asynchronous: tensors are read with `await t.data()` (webgpu in Node has no synchronous reads).
   */
  evaluate(idx: Int32Array, batchSize: number): Promise<{ loss: number } & Record<string, number>>;
  /** Description of the task for the run config (a resume must see the same). */
  describe(): Record<string, unknown>;
}

/** Right-pad token id rows to one length; mask 1 for real tokens. */
export function padBatch(rows: readonly number[][], pad: number): { ids: number[][]; mask: number[][]; lengths: number[] } {
  if (rows.length === 0) throw new SmftError('empty batch');
  const t = Math.max(...rows.map((r) => r.length));
  return {
    ids: rows.map((r) => [...r, ...new Array<number>(t - r.length).fill(pad)]),
    mask: rows.map((r) => [...r.map(() => 1), ...new Array<number>(t - r.length).fill(0)]),
    lengths: rows.map((r) => r.length),
  };
}

/**
 * Final hidden state (after the last norm) at each row's last real token: [B, hidden].
 * Right padding: real tokens never attend to the padding after them.
 */
export function lastTokenHidden(model: CausalLM, rows: readonly number[][], pad: number): tf.Tensor2D {
  const { ids, mask, lengths } = padBatch(rows, pad);
  const t = ids[0].length;
  return tf.tidy(() => {
    const out = model.forward(ids, { attentionMask: mask, logits: 'none', outputHiddenStates: true });
    const hs = out.hiddenStates!;
    const final = hs[hs.length - 1];
    const sel = new Float32Array(rows.length * t);
    lengths.forEach((l, i) => { sel[i * t + l - 1] = 1; });
    return tf.sum(tf.mul(final, tf.tensor3d(sel, [rows.length, t, 1])), 1) as tf.Tensor2D;
  });
}

/** Output-embedding rows of some tokens as a [hidden, n] tensor: logits = h · W. */
export class OutputRows {
  readonly weight: tf.Tensor2D;
  constructor(model: CausalLM, readonly tokenIds: readonly number[]) {
    const h = model.config.hiddenSize;
    const table = model.outputEmbeddings;
    const w = new Float32Array(h * tokenIds.length);
    tokenIds.forEach((id, c) => {
      if (!Number.isInteger(id) || id < 0 || id >= model.config.vocabSize) throw new SmftError(`token id ${id} outside the vocabulary`);
      for (let k = 0; k < h; k++) w[k * tokenIds.length + c] = table[id * h + k];
    });
    this.weight = tf.keep(tf.tensor2d(w, [h, tokenIds.length]));
  }

  logits(hidden: tf.Tensor2D): tf.Tensor2D {
    return tf.matMul(hidden, this.weight);
  }

  dispose(): void {
    this.weight.dispose();
  }
}

/** log-sum-exp over the whole vocabulary at the selected hidden states ([B]), for full-softmax losses. */
export class VocabNormaliser {
  private readonly all: tf.Tensor2D;
  constructor(model: CausalLM) {
    const { vocabSize: v, hiddenSize: h } = model.config;
    const table = model.outputEmbeddings;
    const k = new Float32Array(v * h);
    for (let i = 0; i < v; i++) for (let j = 0; j < h; j++) k[j * v + i] = table[i * h + j];
    this.all = tf.keep(tf.tensor2d(k, [h, v]));
  }

  logZ(hidden: tf.Tensor2D): tf.Tensor1D {
    return tf.logSumExp(tf.matMul(hidden, this.all), 1) as tf.Tensor1D;
  }

  dispose(): void {
    this.all.dispose();
  }
}

/** Pearson correlation (NaN when either side is constant). */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let sa = 0, sb = 0;
  for (let i = 0; i < n; i++) { sa += a[i]; sb += b[i]; }
  const ma = sa / n, mb = sb / n;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) {
    const x = a[i] - ma, y = b[i] - mb;
    sab += x * y; saa += x * x; sbb += y * y;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : NaN;
}

/** Run `fn` over `idx` in chunks of `batchSize`, one chunk after the other, and concatenate the host results. */
export async function inBatches<T>(idx: Int32Array, batchSize: number, fn: (chunk: Int32Array) => Promise<T[]>): Promise<T[]> {
  const out: T[] = [];
  for (let s = 0; s < idx.length; s += batchSize) out.push(...(await fn(idx.subarray(s, Math.min(idx.length, s + batchSize)))));
  return out;
}

/** Read a tensor asynchronously and dispose it (also when the read fails). */
export async function readAndDispose(t: tf.Tensor): Promise<Float32Array> {
  try {
    return (await t.data()) as Float32Array;
  } finally {
    t.dispose();
  }
}
