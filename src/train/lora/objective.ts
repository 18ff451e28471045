/**
 * What the LoRA trainer optimises. A TrainObjective turns example indices into an
 * ObjectiveBatch: token rows, the positions of the final hidden states the loss reads, the
 * output-embedding rows scored there ("0"…"5", "A"…"D", answer tokens) and the loss on those
 * logits. The same batch is what every engine computes: TF.js differentiates `batchLossSum`
 * (batch-loss.ts), the ONNX Runtime engine runs it as a graph (onnx/), and validation scores
 * it through a RowScorer (either engine's forward pass). An objective that cannot say its loss
 * as a batch implements only `lossSum` and trains on TF.js.
 */
import type * as tf from '@tensorflow/tfjs';
import { SmftError } from '../../util/errors.js';

/**
 * The loss at each read row r (summed over rows with `weights`):
 *  - 'cross-entropy': −Σ_k q[r,k] · log p[r,k], with p the softmax over the n scored tokens
 *    ('tokens') or over the whole vocabulary ('vocab');
 *  - 'expected-mse': (Σ_k values[k] · p[r,k] − targets[r])², p the softmax over the n tokens.
 */
export type BatchLoss =
  | { kind: 'cross-entropy'; /** [R × n] target distribution per row. */ targets: Float32Array; normalize: 'tokens' | 'vocab' }
  | { kind: 'expected-mse'; /** Value of each scored token (e.g. the digit). */ values: number[]; /** [R] target expectation. */ targets: Float32Array };

/** The rows a loss reads: token ids, padding and which final hidden states to score against which tokens. */
export interface RowsRequest {
  /** [B][T] token ids, padded (left or right). */
  ids: number[][];
  /** [B][T]: 1 for real tokens, 0 for padding. */
  mask: number[][];
  /** R rows of the flattened [B·T] final hidden states (row = b·T + t). */
  rows: number[];
  /** The n token ids whose logits are scored at each row. */
  tokenIds: number[];
  /** Also return log Σ exp over the whole vocabulary at each row. */
  logZ?: boolean;
}

export interface ObjectiveBatch extends RowsRequest {
  loss: BatchLoss;
  /** Weight of each row's loss in the sum (default 1). */
  weights?: Float32Array;
}

/** Logits [R × n] at the rows of a RowsRequest (and log Z [R] when asked). */
export interface RowScores {
  logits: Float32Array;
  logZ?: Float32Array;
}

/** A forward pass that scores rows: TF.js (adapters attached), ONNX Runtime, … */
export interface RowScorer {
  scoreRows(req: RowsRequest): Promise<RowScores>;
}

export interface TrainObjective {
  /** 'rating', 'qa', … (recorded in checkpoints). */
  readonly kind: string;
  /** Number of examples. */
  readonly size: number;
  /** Examples of one group go to the same side of the validation split (e.g. one word's dimensions). */
  group(i: number): string;
  /** Prompt tokens of example i (progress: tokens/s). */
  tokens(i: number): number;
  /** Sum of the per-example losses over `idx` (scalar), differentiable w.r.t. the attached adapters (TF.js engine). */
  lossSum(idx: Int32Array): tf.Scalar;
  /**
   * The loss over `idx` as data (see ObjectiveBatch): what the ONNX Runtime engine trains.
   * Objectives without it train on the TF.js engine.
   */
  batch?(idx: Int32Array): ObjectiveBatch;
  /**
   * Metrics over `idx` without dropout; `loss` is the mean loss (drives early stopping). Rows
   * are scored by `scorer` (the training engine's forward pass), by default the TF.js model
   * with its adapters. Asynchronous (webgpu in Node has no synchronous reads).
   */
  evaluate(idx: Int32Array, batchSize: number, scorer?: RowScorer): Promise<{ loss: number } & Record<string, number>>;
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

/** Right-padded prompts read at each one's last token: the rows of the rating and QA objectives. */
export function lastTokenRows(prompts: readonly number[][], pad: number, tokenIds: readonly number[]): RowsRequest {
  const { ids, mask, lengths } = padBatch(prompts, pad);
  const t = ids[0].length;
  return { ids, mask, rows: lengths.map((l, i) => i * t + l - 1), tokenIds: [...tokenIds] };
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
