/**
 * An ObjectiveBatch's loss in TF.js (the reference the ONNX Runtime graphs are tested
 * against, and what the TF.js engine differentiates), the same rows scored for validation
 * (TF.js model or any LmEngine), and the per-row losses computed on the host from scores.
 *
 * The rows are selected with a one-hot product rather than a gather, so that the gradient uses
 * only ops every TF.js backend differentiates.
 */
import * as tf from '@tensorflow/tfjs';
import { SmftError } from '../../util/errors.js';
import type { CausalLM } from '../../lm/model.js';
import type { LmEngine } from '../../lm/engine.js';
import { defaultPositions } from '../../lm/forward-inputs.js';
import { softmax } from '../../util/softmax.js';
import type { BatchLoss, ObjectiveBatch, RowScorer, RowScores, RowsRequest } from './objective.js';

/** Output-embedding rows of `tokenIds` as a [hidden, n] kernel (logits = h · K), host layout. */
export function outputRowsKernel(model: CausalLM, tokenIds: readonly number[]): Float32Array {
  const { hiddenSize: h, vocabSize: v } = model.config;
  const table = model.outputEmbeddings;
  const n = tokenIds.length;
  const k = new Float32Array(h * n);
  tokenIds.forEach((id, c) => {
    if (!Number.isInteger(id) || id < 0 || id >= v) throw new SmftError(`token id ${id} outside the vocabulary`);
    for (let j = 0; j < h; j++) k[j * n + c] = table[id * h + j];
  });
  return k;
}

/** The final hidden states (after the last norm) of a RowsRequest, flattened to [B·T, hidden]. */
function finalStates(model: CausalLM, req: RowsRequest): tf.Tensor2D {
  const t = req.ids[0].length;
  const out = model.forward(req.ids, { attentionMask: req.mask, positionIds: defaultPositions(req.mask, t), logits: 'none', outputHiddenStates: true });
  const hs = out.hiddenStates!;
  const final = hs[hs.length - 1];
  for (const x of hs.slice(0, -1)) x.dispose();
  return tf.reshape(final, [req.ids.length * t, model.config.hiddenSize]) as tf.Tensor2D;
}

/** [R, B·T] one-hot rows. */
function rowSelector(rows: readonly number[], n: number): tf.Tensor2D {
  const s = new Float32Array(rows.length * n);
  rows.forEach((row, r) => {
    if (!Number.isInteger(row) || row < 0 || row >= n) throw new SmftError(`batch row ${row} outside the ${n} token positions`);
    s[r * n + row] = 1;
  });
  return tf.tensor2d(s, [rows.length, n]);
}

/**
 * An ObjectiveBatch's loss on a TF.js CausalLM (its attached adapters included), differentiable.
 * Keeps the transposed vocabulary table (for 'vocab' normalisation) once it was needed.
 */
export class TfBatchLoss {
  private vocab: tf.Tensor2D | null = null;

  constructor(private readonly model: CausalLM) {}

  /** log Σ exp of the logits over the whole vocabulary at hidden states `h` [R, hidden]: [R]. */
  logZ(h: tf.Tensor2D): tf.Tensor1D {
    if (!this.vocab) {
      const { vocabSize: v, hiddenSize: hs } = this.model.config;
      const table = this.model.outputEmbeddings;
      const k = new Float32Array(v * hs);
      for (let i = 0; i < v; i++) for (let j = 0; j < hs; j++) k[j * v + i] = table[i * hs + j];
      this.vocab = tf.keep(tf.tensor2d(k, [hs, v]));
    }
    return tf.logSumExp(tf.matMul(h, this.vocab), 1) as tf.Tensor1D;
  }

  /** Per-row losses [R] from hidden states at the rows. */
  rowLosses(h: tf.Tensor2D, batch: ObjectiveBatch): tf.Tensor1D {
    return tf.tidy(() => {
      const n = batch.tokenIds.length;
      const r = batch.rows.length;
      const logits = tf.matMul(h, tf.tensor2d(outputRowsKernel(this.model, batch.tokenIds), [this.model.config.hiddenSize, n]));
      const loss = batch.loss;
      if (loss.kind === 'expected-mse') {
        const e = tf.sum(tf.mul(tf.softmax(logits), tf.tensor1d(loss.values)), 1);
        return tf.square(tf.sub(e, tf.tensor1d(loss.targets))) as tf.Tensor1D;
      }
      const logp = loss.normalize === 'vocab' ? tf.sub(logits, tf.expandDims(this.logZ(h), 1)) : tf.logSoftmax(logits);
      return tf.neg(tf.sum(tf.mul(tf.tensor2d(loss.targets, [r, n]), logp), 1)) as tf.Tensor1D;
    });
  }

  /** Σ_r weight_r · loss_r (scalar). */
  lossSum(batch: ObjectiveBatch): tf.Scalar {
    return tf.tidy(() => {
      const final = finalStates(this.model, batch);
      const h = tf.matMul(rowSelector(batch.rows, final.shape[0]), final) as tf.Tensor2D;
      const losses = this.rowLosses(h, batch);
      return tf.sum(batch.weights ? tf.mul(losses, tf.tensor1d(batch.weights)) : losses) as tf.Scalar;
    });
  }

  dispose(): void {
    this.vocab?.dispose();
    this.vocab = null;
  }
}

/** Rows scored by the TF.js model as it is (adapters attached or not). */
export function tfRowScorer(model: CausalLM, loss: TfBatchLoss): RowScorer {
  return {
    async scoreRows(req: RowsRequest): Promise<RowScores> {
      const [logits, logZ] = tf.tidy(() => {
        const final = finalStates(model, req);
        const h = tf.gather(final, tf.tensor1d(req.rows, 'int32')) as tf.Tensor2D;
        const k = tf.tensor2d(outputRowsKernel(model, req.tokenIds), [model.config.hiddenSize, req.tokenIds.length]);
        return [tf.matMul(h, k), req.logZ ? loss.logZ(h) : null];
      });
      try {
        return { logits: (await logits.data()) as Float32Array, ...(logZ ? { logZ: (await logZ.data()) as Float32Array } : {}) };
      } finally {
        logits.dispose();
        logZ?.dispose();
      }
    },
  };
}

/**
 * Rows scored by an LmEngine's selected logits (e.g. OnnxCausalLM with an adapter merged): one
 * prompt per row (a prompt read at several rows is repeated); with logZ, the whole vocabulary's
 * logits are read and reduced here.
 */
export function engineRowScorer(engine: Pick<LmEngine, 'selectedLogits' | 'config'>): RowScorer {
  return {
    async scoreRows(req: RowsRequest): Promise<RowScores> {
      const t = req.ids[0].length;
      const at = req.rows.map((row) => ({ b: Math.floor(row / t), p: row % t }));
      const ids = at.map((x) => req.ids[x.b]);
      const mask = at.map((x) => req.mask[x.b]);
      const n = req.tokenIds.length;
      const all = await engine.selectedLogits({
        ids, attentionMask: mask, positionIds: defaultPositions(mask, t), logitsAt: at.map((x) => x.p), tokenIds: req.logZ ? undefined : req.tokenIds,
      });
      if (!req.logZ) return { logits: all };
      const v = engine.config.vocabSize;
      const logits = new Float32Array(at.length * n);
      const logZ = new Float32Array(at.length);
      for (let r = 0; r < at.length; r++) {
        const row = all.subarray(r * v, (r + 1) * v);
        req.tokenIds.forEach((id, c) => { logits[r * n + c] = row[id]; });
        logZ[r] = logSumExp(row);
      }
      return { logits, logZ };
    },
  };
}

function logSumExp(x: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < x.length; i++) m = Math.max(m, x[i]);
  let s = 0;
  for (let i = 0; i < x.length; i++) s += Math.exp(x[i] - m);
  return m + Math.log(s);
}

/** Per-row losses (float64) of `loss` from scores of its rows (n scored tokens per row). */
export function hostRowLosses(loss: BatchLoss, scores: RowScores, n: number): Float64Array {
  const r = scores.logits.length / n;
  const out = new Float64Array(r);
  for (let i = 0; i < r; i++) {
    const l = scores.logits.subarray(i * n, (i + 1) * n);
    if (loss.kind === 'expected-mse') {
      const p = softmax(l);
      let e = 0;
      for (let k = 0; k < n; k++) e += loss.values[k] * p[k];
      out[i] = (e - loss.targets[i]) ** 2;
      continue;
    }
    let z: number;
    if (loss.normalize === 'vocab') {
      if (!scores.logZ) throw new Error('hostRowLosses: vocab normalisation needs logZ');
      z = scores.logZ[i];
    } else {
      z = logSumExp(l);
    }
    let s = 0;
    for (let k = 0; k < n; k++) {
      const q = loss.targets[i * n + k];
      if (q !== 0) s -= q * (l[k] - z);
    }
    out[i] = s;
  }
  return out;
}
