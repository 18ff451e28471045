/**
 * AdamW (Loshchilov & Hutter, decoupled weight decay) on TF.js variables, written with tf ops so
 * it runs on any backend, and with exactly PyTorch's update (torch.optim.AdamW):
 *
 *   p ← p · (1 − lr·λ)                       (only for parameters with decay)
 *   m ← β1·m + (1 − β1)·g
 *   v ← β2·v + (1 − β2)·g²
 *   p ← p − (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + ε)
 *
 * Shared by the head trainer and the LoRA trainer. State (step, m, v) can be exported and
 * restored exactly, for checkpoints and resume.
 */
import * as tf from '@tensorflow/tfjs';
import { SmftError } from '../util/errors.js';

export interface AdamWConfig {
  beta1: number;
  beta2: number;
  eps: number;
  /** Decoupled weight decay λ (PyTorch's default is 0.01). */
  weightDecay: number;
}

export const ADAMW_DEFAULTS: AdamWConfig = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };

export interface OptimParam {
  name: string;
  variable: tf.Variable;
  /** Apply weight decay to this parameter (weights yes; biases, norms usually no). */
  decay: boolean;
}

export interface AdamWState {
  step: number;
  /** First and second moments per parameter name, float32, the parameter's shape. */
  m: Record<string, Float32Array>;
  v: Record<string, Float32Array>;
}

export class AdamW {
  readonly config: AdamWConfig;
  /** Number of updates applied so far. */
  step = 0;
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];

  constructor(readonly params: OptimParam[], config: Partial<AdamWConfig> = {}) {
    this.config = { ...ADAMW_DEFAULTS, ...config };
    const { beta1, beta2, eps, weightDecay } = this.config;
    if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) throw new SmftError(`AdamW betas must be in [0, 1): ${beta1}, ${beta2}`);
    if (!(eps > 0) || !(weightDecay >= 0)) throw new SmftError(`AdamW needs eps > 0 and weight decay ≥ 0 (got ${eps}, ${weightDecay})`);
    this.m = params.map((p) => tf.variable(tf.zerosLike(p.variable), false));
    this.v = params.map((p) => tf.variable(tf.zerosLike(p.variable), false));
  }

  /**
   * Apply one update with learning rate `lr`; `grads[i]` belongs to `params[i]` (same shape).
   * The gradients are not disposed.
   */
  apply(grads: readonly tf.Tensor[], lr: number): void {
    if (grads.length !== this.params.length) throw new Error(`AdamW.apply: ${grads.length} gradients for ${this.params.length} parameters`);
    this.step += 1;
    const { beta1, beta2, eps, weightDecay } = this.config;
    const bc1 = 1 - beta1 ** this.step;
    const bc2Sqrt = Math.sqrt(1 - beta2 ** this.step);
    const stepSize = lr / bc1;
    tf.tidy(() => {
      this.params.forEach((p, i) => {
        const g = grads[i];
        if (!tf.util.arraysEqual(g.shape, p.variable.shape)) {
          throw new Error(`AdamW.apply: gradient of ${p.name} has shape [${g.shape}], parameter [${p.variable.shape}]`);
        }
        const m = tf.add(tf.mul(this.m[i], beta1), tf.mul(g, 1 - beta1));
        const v = tf.add(tf.mul(this.v[i], beta2), tf.mul(tf.square(g), 1 - beta2));
        const base = p.decay && weightDecay > 0 ? tf.mul(p.variable, 1 - lr * weightDecay) : p.variable;
        const denom = tf.add(tf.div(tf.sqrt(v), bc2Sqrt), eps);
        p.variable.assign(tf.sub(base, tf.mul(tf.div(m, denom), stepSize)));
        this.m[i].assign(m);
        this.v[i].assign(v);
      });
    });
  }

  /**
   * Host copies of the state. Read asynchronously (a backend such as webgpu in Node cannot read
   * synchronously); the step is taken before the reads, so call it between updates.
   */
  async getState(): Promise<AdamWState> {
    const step = this.step;
    const [ms, vs] = await Promise.all([readAll(this.m), readAll(this.v)]);
    const m: Record<string, Float32Array> = {};
    const v: Record<string, Float32Array> = {};
    this.params.forEach((p, i) => {
      m[p.name] = ms[i];
      v[p.name] = vs[i];
    });
    return { step, m, v };
  }

  setState(s: AdamWState): void {
    this.params.forEach((p, i) => {
      const m = s.m[p.name];
      const v = s.v[p.name];
      const n = p.variable.size;
      if (!m || !v || m.length !== n || v.length !== n) throw new SmftError(`optimizer state does not match parameter ${p.name} (${n} values)`);
      tf.tidy(() => {
        this.m[i].assign(tf.tensor(m, p.variable.shape));
        this.v[i].assign(tf.tensor(v, p.variable.shape));
      });
    });
    this.step = s.step;
  }

  dispose(): void {
    for (const t of [...this.m, ...this.v]) t.dispose();
  }
}

/**
 * Host copies (float32) of tensors, read asynchronously and all at once. Copied: on the cpu
 * backend `data()` returns the tensor's own backing array.
 */
export async function readAll(ts: readonly tf.Tensor[]): Promise<Float32Array[]> {
  const data = await Promise.all(ts.map((t) => t.data<'float32'>()));
  return data.map((d) => Float32Array.from(d));
}
