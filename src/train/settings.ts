import type { ScheduleKind } from './schedule.js';

/** Optimizer and schedule settings shared by head training (loop.ts) and LoRA training (trainer.ts). */
export interface OptimizerSettings {
  /** Rows (examples) per forward/backward pass. */
  batchSize: number;
  /** Micro-batches per optimizer update (effective batch = batchSize × gradAccumSteps). */
  gradAccumSteps: number;
  /** Peak learning rate (AdamW). */
  lr: number;
  /** Decoupled weight decay (AdamW). */
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  schedule: ScheduleKind;
  /** Warm-up as a fraction of all updates (HF's warmup_ratio). */
  warmupRatio: number;
  /** Floor of the decay, as a fraction of lr. */
  minLrRatio: number;
  /** Clip gradients to this global L2 norm (0 = off). */
  maxGradNorm: number;
}
