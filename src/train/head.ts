/**
 * Small heads on frozen features, as plain TF.js variables (no Layers API: the optimizer,
 * serialisation and seeding stay explicit).
 *
 * Regression head: features x (D) → K ratings.
 *   x̃ = (x − μx) / σx                       (feature standardisation, fitted on training rows)
 *   linear:  ŷ = x̃ W + b
 *   hidden:  ŷ = drop(act(x̃ W1 + b1)) W2 + b2
 *   ratings = ŷ · σy + μy                     (target standardisation, identity when off)
 *
 * QA head: question q (D) and options o₁…o₄ (D) → 4 logits.
 *   s_k = (q̃ P) · (õ_k R) + u · õ_k + c_k     (low-rank bilinear, rank r; r = 0 → full q̃ W õ_k)
 * with c_k a learned per-position (A–D) bias.
 */
import * as tf from '@tensorflow/tfjs';
import { SmftError } from '../util/errors.js';

export type HeadKind = 'regression' | 'qa';
export type Activation = 'gelu' | 'relu' | 'tanh';

export interface HeadArch {
  kind: HeadKind;
  /** Feature size D. */
  inputDim: number;
  /** Regression: number of rating dimensions K. QA: number of options (4). */
  outputDim: number;
  /** Regression: hidden units (0 = linear). QA: bilinear rank (0 = full D × D). */
  hidden: number;
  activation: Activation;
  /** Dropout rate on the input of the last layer (regression) or on the features (QA). */
  dropout: number;
}

/** Saved arrays: trainable parameters and fixed buffers (standardisation statistics). */
export type WeightMap = Record<string, { shape: number[]; data: Float32Array }>;

/** Non-trainable buffers every head has. */
export const BUFFER_NAMES = ['in_mean', 'in_std', 'out_mean', 'out_std'] as const;

export function paramShapes(a: HeadArch): Record<string, number[]> {
  const D = a.inputDim;
  if (a.kind === 'regression') {
    return a.hidden > 0
      ? { w1: [D, a.hidden], b1: [a.hidden], w2: [a.hidden, a.outputDim], b2: [a.outputDim] }
      : { w: [D, a.outputDim], b: [a.outputDim] };
  }
  return a.hidden > 0
    ? { p: [D, a.hidden], r: [D, a.hidden], u: [D], c: [a.outputDim] }
    : { w: [D, D], u: [D], c: [a.outputDim] };
}

export function bufferShapes(a: HeadArch): Record<string, number[]> {
  const K = a.kind === 'regression' ? a.outputDim : 1;
  return { in_mean: [a.inputDim], in_std: [a.inputDim], out_mean: [K], out_std: [K] };
}

/** Matrices get weight decay; biases and the linear option term do not. */
export function decays(name: string): boolean {
  return ['w', 'w1', 'w2', 'p', 'r'].includes(name);
}

export function validateArch(a: HeadArch): void {
  const ok = (a.kind === 'regression' || a.kind === 'qa') && Number.isInteger(a.inputDim) && a.inputDim > 0
    && Number.isInteger(a.outputDim) && a.outputDim > 0 && Number.isInteger(a.hidden) && a.hidden >= 0
    && ['gelu', 'relu', 'tanh'].includes(a.activation) && a.dropout >= 0 && a.dropout < 1;
  if (!ok) throw new SmftError(`invalid head architecture ${JSON.stringify(a)}`);
}

function activate(x: tf.Tensor, a: Activation): tf.Tensor {
  if (a === 'relu') return tf.relu(x);
  if (a === 'tanh') return tf.tanh(x);
  // GELU, tanh approximation (as in GPT-2 / HF "gelu_new").
  const c = Math.sqrt(2 / Math.PI);
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(tf.add(x, tf.mul(tf.mul(tf.square(x), x), 0.044715)), c))));
}

export class Head {
  /** Trainable parameter names, in a fixed order (the order of `variables`). */
  readonly names: string[];
  readonly variables: tf.Variable[];
  readonly buffers: Record<string, Float32Array>;
  private readonly bufferTensors: Record<string, tf.Tensor>;

  private constructor(readonly arch: HeadArch, values: WeightMap) {
    validateArch(arch);
    const shapes = paramShapes(arch);
    const bshapes = bufferShapes(arch);
    this.names = Object.keys(shapes);
    for (const [name, shape] of [...Object.entries(shapes), ...Object.entries(bshapes)]) {
      const w = values[name];
      if (!w) throw new SmftError(`head weights lack '${name}'`);
      const n = shape.reduce((x, y) => x * y, 1);
      if (!tf.util.arraysEqual(w.shape, shape) || w.data.length !== n) {
        throw new SmftError(`head weight '${name}' has shape [${w.shape}], expected [${shape}] for ${arch.kind} head ${arch.inputDim}→${arch.outputDim} (hidden ${arch.hidden})`);
      }
      for (let i = 0; i < w.data.length; i++) {
        if (!Number.isFinite(w.data[i])) throw new SmftError(`head weight '${name}' contains a non-finite value`);
      }
    }
    this.variables = this.names.map((n) => tf.variable(tf.tensor(values[n].data, shapes[n]), true));
    this.buffers = Object.fromEntries(Object.keys(bshapes).map((n) => [n, Float32Array.from(values[n].data)]));
    this.bufferTensors = Object.fromEntries(Object.keys(bshapes).map((n) => [n, tf.tensor(this.buffers[n], bshapes[n])]));
  }

  /**
   * A fresh head: matrices Glorot-uniform from `seed` (one derived seed per matrix), biases zero.
   * Buffers default to identity standardisation.
   */
  static init(arch: HeadArch, seed: number, buffers: Partial<Record<(typeof BUFFER_NAMES)[number], Float32Array>> = {}): Head {
    validateArch(arch);
    const values: WeightMap = {};
    let k = 0;
    for (const [name, shape] of Object.entries(paramShapes(arch))) {
      k++;
      if (shape.length === 2) {
        const init = tf.initializers.glorotUniform({ seed: (seed * 7919 + k * 104729) % 2147483647 });
        const t = init.apply(shape, 'float32') as tf.Tensor;
        values[name] = { shape, data: Float32Array.from(t.dataSync()) };
        t.dispose();
      } else {
        values[name] = { shape, data: new Float32Array(shape.reduce((x, y) => x * y, 1)) };
      }
    }
    for (const [name, shape] of Object.entries(bufferShapes(arch))) {
      const n = shape[0];
      const given = buffers[name as (typeof BUFFER_NAMES)[number]];
      values[name] = { shape, data: given ? Float32Array.from(given) : new Float32Array(n).fill(name.endsWith('std') ? 1 : 0) };
    }
    return new Head(arch, values);
  }

  /** A head from saved weights (shapes checked against the architecture). */
  static fromWeights(arch: HeadArch, weights: WeightMap): Head {
    return new Head(arch, weights);
  }

  /** Every array (parameters and buffers), copied. */
  weights(): WeightMap {
    const out: WeightMap = {};
    this.names.forEach((n, i) => { out[n] = { shape: this.variables[i].shape.slice(), data: Float32Array.from(this.variables[i].dataSync()) }; });
    for (const [n, v] of Object.entries(this.buffers)) out[n] = { shape: [v.length], data: Float32Array.from(v) };
    return out;
  }

  /** Parameter values only (for best-weights snapshots). */
  snapshot(): Float32Array[] {
    return this.variables.map((v) => Float32Array.from(v.dataSync()));
  }

  restore(snap: readonly Float32Array[]): void {
    tf.tidy(() => this.variables.forEach((v, i) => v.assign(tf.tensor(snap[i], v.shape))));
  }

  /** Standardised features (same standardisation for questions and options in QA). */
  private standardise(x: tf.Tensor): tf.Tensor {
    return tf.div(tf.sub(x, this.bufferTensors.in_mean), this.bufferTensors.in_std);
  }

  /**
   * Regression outputs in standardised target space, [B, K]. `params` are the trainable
   * tensors in `names` order (the variables themselves, or stand-ins for gradient tracing).
   */
  regress(params: readonly tf.Tensor[], x: tf.Tensor2D, training = false, seed = 0): tf.Tensor2D {
    const a = this.arch;
    let h = this.standardise(x);
    if (a.hidden > 0) {
      const [w1, b1, w2, b2] = params;
      h = activate(tf.add(tf.matMul(h as tf.Tensor2D, w1 as tf.Tensor2D), b1), a.activation);
      if (training && a.dropout > 0) h = tf.dropout(h, a.dropout, undefined, seed);
      return tf.add(tf.matMul(h as tf.Tensor2D, w2 as tf.Tensor2D), b2) as tf.Tensor2D;
    }
    const [w, b] = params;
    if (training && a.dropout > 0) h = tf.dropout(h, a.dropout, undefined, seed);
    return tf.add(tf.matMul(h as tf.Tensor2D, w as tf.Tensor2D), b) as tf.Tensor2D;
  }

  /** QA logits [B, nOptions] from questions [B, D] and options [B, nOptions, D]. */
  score(params: readonly tf.Tensor[], q: tf.Tensor2D, o: tf.Tensor3D, training = false, seed = 0): tf.Tensor2D {
    const a = this.arch;
    const [B, K, D] = o.shape;
    let qs = this.standardise(q);
    let os = this.standardise(o);
    if (training && a.dropout > 0) {
      qs = tf.dropout(qs, a.dropout, undefined, seed);
      os = tf.dropout(os, a.dropout, undefined, seed + 1);
    }
    const flat = tf.reshape(os, [B * K, D]) as tf.Tensor2D;
    let bil: tf.Tensor;
    let u: tf.Tensor; let c: tf.Tensor;
    if (a.hidden > 0) {
      const [p, r] = params;
      [u, c] = [params[2], params[3]];
      const qp = tf.matMul(qs as tf.Tensor2D, p as tf.Tensor2D); // [B, r]
      const op = tf.reshape(tf.matMul(flat, r as tf.Tensor2D), [B, K, a.hidden]);
      bil = tf.sum(tf.mul(op, tf.expandDims(qp, 1)), -1);
    } else {
      const [w] = params;
      [u, c] = [params[1], params[2]];
      const qw = tf.matMul(qs as tf.Tensor2D, w as tf.Tensor2D); // [B, D]
      bil = tf.sum(tf.mul(os, tf.expandDims(qw, 1)), -1);
    }
    const lin = tf.reshape(tf.matMul(flat, tf.reshape(u, [D, 1]) as tf.Tensor2D), [B, K]);
    return tf.add(tf.add(bil, lin), c) as tf.Tensor2D;
  }

  /** Regression predictions in rating units for raw features (row-major B × K). */
  predictRatings(values: Float32Array, n: number, batch = 1024): Float32Array {
    if (this.arch.kind !== 'regression') throw new SmftError('predictRatings needs a regression head');
    const D = this.arch.inputDim;
    const K = this.arch.outputDim;
    if (values.length !== n * D) throw new SmftError(`features have ${values.length / Math.max(1, n)} columns, the head expects ${D}`);
    const out = new Float32Array(n * K);
    for (let s = 0; s < n; s += batch) {
      const e = Math.min(n, s + batch);
      const y = tf.tidy(() => {
        const x = tf.tensor2d(values.subarray(s * D, e * D), [e - s, D]);
        const z = this.regress(this.variables, x, false);
        return tf.add(tf.mul(z, this.bufferTensors.out_std), this.bufferTensors.out_mean);
      });
      out.set(y.dataSync(), s * K);
      y.dispose();
    }
    return out;
  }

  dispose(): void {
    for (const v of this.variables) v.dispose();
    for (const t of Object.values(this.bufferTensors)) t.dispose();
  }
}
