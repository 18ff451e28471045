/**
 * One optimizer update of the LoRA trainer, whichever engine computes the gradients: the batch
 * is split into micro-batches of `batchSize`, each one's gradient of (its loss sum / batch size)
 * is accumulated, the sum clipped by global norm (clip.ts) and applied by AdamW (adamw.ts).
 * Non-finite loss or gradients are reported and nothing is applied. The loss and norm are read
 * asynchronously (a backend such as webgpu in Node cannot read synchronously).
 */
import * as tf from '@tensorflow/tfjs';
import { AdamW } from '../adamw.js';
import { clipByGlobalNorm } from '../clip.js';
import type { LoraAdapters } from './adapter.js';
import type { TrainObjective } from './objective.js';
import { TfjsEngine, type LoraEngine } from './engine.js';
import { LORA_TRAIN_DEFAULTS, type LoraTrainConfig } from './train-config.js';

export type StepperConfig = Pick<LoraTrainConfig, 'batchSize' | 'maxGradNorm' | 'beta1' | 'beta2' | 'eps' | 'weightDecay'> & Partial<Pick<LoraTrainConfig, 'gradientCheckpointing'>>;

export class LoraStepper {
  readonly optimizer: AdamW;
  readonly engine: LoraEngine;

  /** `engine` defaults to TF.js autodiff of `objective` (TfjsEngine). */
  constructor(readonly adapters: LoraAdapters, readonly objective: TrainObjective, readonly cfg: StepperConfig, engine?: LoraEngine) {
    this.optimizer = new AdamW(adapters.optimParams(), { beta1: cfg.beta1, beta2: cfg.beta2, eps: cfg.eps, weightDecay: cfg.weightDecay });
    this.engine = engine ?? new TfjsEngine(adapters, objective, cfg.gradientCheckpointing ?? LORA_TRAIN_DEFAULTS.gradientCheckpointing);
  }

  /** Update on `batch` with learning rate `lr`; `nextSeed` gives each micro-batch's dropout seed. */
  async step(batch: Int32Array, lr: number, nextSeed: () => number): Promise<{ loss: number; gradNorm: number }> {
    const { grads, loss: lossT } = await this.accumulate(batch, nextSeed);
    const { grads: clipped, norm } = clipByGlobalNorm(grads, this.cfg.maxGradNorm);
    grads.forEach((t) => t.dispose());
    let loss: number, gradNorm: number;
    try {
      loss = (await lossT.data())[0];
      gradNorm = (await norm.data())[0];
    } catch (e) {
      clipped.forEach((t) => t.dispose());
      throw e;
    } finally {
      lossT.dispose();
      norm.dispose();
    }
    if (Number.isFinite(loss) && Number.isFinite(gradNorm)) this.optimizer.apply(clipped, lr);
    clipped.forEach((t) => t.dispose());
    return { loss, gradNorm };
  }

  /** Σ over the micro-batches of their loss and gradients (each already divided by the batch size). */
  private async accumulate(batch: Int32Array, nextSeed: () => number): Promise<{ grads: tf.Tensor[]; loss: tf.Scalar }> {
    let acc: tf.Tensor[] | null = null;
    let lossAcc: tf.Scalar = tf.scalar(0);
    try {
      for (let s = 0; s < batch.length; s += this.cfg.batchSize) {
        const micro = batch.subarray(s, Math.min(batch.length, s + this.cfg.batchSize));
        const { loss, grads } = await this.engine.gradients(micro, batch.length, nextSeed());
        const next: tf.Tensor[] = tf.tidy(() => (acc ? grads.map((g, i) => tf.add(acc![i], g)) : grads.map((g) => tf.clone(g))));
        const lossNext = tf.tidy(() => tf.add(lossAcc, loss) as tf.Scalar);
        acc?.forEach((t) => t.dispose());
        grads.forEach((g) => g.dispose());
        loss.dispose();
        lossAcc.dispose();
        acc = next;
        lossAcc = lossNext;
      }
    } catch (e) {
      acc?.forEach((t) => t.dispose());
      lossAcc.dispose();
      throw e;
    }
    return { grads: acc!, loss: lossAcc };
  }

  /** Frees the optimizer state (an engine passed in stays the caller's). */
  dispose(): void {
    this.optimizer.dispose();
  }
}
