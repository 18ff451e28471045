/**
 * The training loop shared by the heads: seeded shuffling, mini-batches with gradient
 * accumulation, clipping by global norm, AdamW with warm-up + decay, per-epoch validation with
 * early stopping and best-weights restore, a NaN/Inf guard, and periodic progress lines.
 *
 * Determinism: all randomness (shuffles, dropout seeds) comes from Rngs seeded by `seed`
 * (weight init is seeded by the head); on the CPU backend two runs with the same seed give
 * bit-identical weights.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng.js';
import { log } from '../util/log.js';
import { SmftError } from '../util/errors.js';
import { AdamW, type AdamWState } from './adamw.js';
import { clipByGlobalNorm } from './clip.js';
import { learningRate, warmupFromRatio } from './schedule.js';
import type { OptimizerSettings } from './settings.js';
import { decays, type Head } from './head.js';

export interface OptimConfig extends OptimizerSettings {
  /** Maximum number of passes over the training rows. */
  epochs: number;
  /** Stop after this many epochs without a validation improvement (0 = never stop early). */
  patience: number;
  /** An improvement must lower the validation loss by more than this. */
  minDelta: number;
  seed: number;
}

export const OPTIM_DEFAULTS: OptimConfig = {
  epochs: 200, batchSize: 64, gradAccumSteps: 1, lr: 3e-3, weightDecay: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8,
  schedule: 'cosine', warmupRatio: 0.05, minLrRatio: 0, maxGradNorm: 1, patience: 20, minDelta: 1e-4, seed: 42,
};

export interface EpochMetrics {
  epoch: number;
  /** Optimizer updates so far. */
  step: number;
  /** Learning rate of the last update. */
  lr: number;
  /** Mean training loss over the epoch (training mode, per loss term). */
  loss: number;
  /** Validation loss (eval mode); absent without a validation set. */
  valLoss?: number;
  /** Mean global gradient norm before clipping. */
  gradNorm: number;
  examplesPerSec: number;
  elapsedSec: number;
  /** Task-specific validation metrics (e.g. valMse, valR, valAccuracy). */
  [extra: string]: number | undefined;
}

export interface FitTask {
  head: Head;
  /** Number of training rows. */
  nTrain: number;
  /**
   * Sum of the per-term losses over training rows `idx` (a scalar), computed from `params`
   * (the head's trainable tensors in `head.names` order).
   */
  lossSum(params: tf.Tensor[], idx: Int32Array, training: boolean, seed: number): tf.Scalar;
  /** Number of loss terms for rows `idx` (rows, or non-missing targets). */
  terms(idx: Int32Array): number;
  /** Validation metrics with the current weights; `loss` drives early stopping. */
  validate?(): { loss: number } & Record<string, number>;
}

export interface FitHooks {
  /** After each epoch (after validation); `improved` when this epoch is the new best. */
  onEpoch?(m: EpochMetrics, improved: boolean, ctx: { best: EpochMetrics | undefined }): void | Promise<void>;
  /** Label in progress lines. */
  label?: string;
  /** Minimum milliseconds between progress lines (default 2000; the last epoch always logs). */
  logIntervalMs?: number;
}

export interface FitResult {
  history: EpochMetrics[];
  /** Epoch whose weights the head holds at the end (best validation epoch, or the last). */
  bestEpoch: number;
  best: EpochMetrics | undefined;
  steps: number;
  stoppedEarly: boolean;
  seconds: number;
  optimizer: AdamWState;
}

export function validateOptim(c: OptimConfig): void {
  const bad = (what: string): never => { throw new SmftError(`invalid training setting: ${what}`); };
  if (!(Number.isInteger(c.epochs) && c.epochs >= 1)) bad(`epochs=${c.epochs} (need an integer ≥ 1)`);
  if (!(Number.isInteger(c.batchSize) && c.batchSize >= 1)) bad(`batchSize=${c.batchSize}`);
  if (!(Number.isInteger(c.gradAccumSteps) && c.gradAccumSteps >= 1)) bad(`gradAccumSteps=${c.gradAccumSteps}`);
  if (!(c.lr > 0 && Number.isFinite(c.lr))) bad(`lr=${c.lr}`);
  if (!(c.warmupRatio >= 0 && c.warmupRatio < 1)) bad(`warmupRatio=${c.warmupRatio}`);
  if (!(c.minLrRatio >= 0 && c.minLrRatio <= 1)) bad(`minLrRatio=${c.minLrRatio}`);
  if (!(c.maxGradNorm >= 0)) bad(`maxGradNorm=${c.maxGradNorm}`);
  if (!(Number.isInteger(c.patience) && c.patience >= 0)) bad(`patience=${c.patience}`);
  if (!Number.isInteger(c.seed)) bad(`seed=${c.seed} (need an integer)`);
  if (!['cosine', 'linear', 'constant'].includes(c.schedule)) bad(`schedule=${c.schedule}`);
}

/** Fisher–Yates shuffle in place with the project's Rng. */
export function shuffleInPlace(a: Int32Array, rng: Rng): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = a[i]; a[i] = a[j]; a[j] = t;
  }
}

/** Seeded split of 0..n-1 into train and validation rows (validation = round(fraction · n)). */
export function seededSplit(n: number, fraction: number, seed: number): { train: Int32Array; val: Int32Array } {
  const order = Int32Array.from({ length: n }, (_, i) => i);
  shuffleInPlace(order, new Rng(seed ^ 0x2545f491));
  const nVal = fraction > 0 ? Math.min(n - 1, Math.max(1, Math.round(fraction * n))) : 0;
  const val = order.slice(0, nVal).sort();
  const train = order.slice(nVal).sort();
  return { train, val };
}

function fmt(x: number | undefined, d = 4): number | undefined {
  return x === undefined ? undefined : Number(x.toPrecision(d));
}

/** Train `task.head` in place. */
export async function fit(task: FitTask, cfg: OptimConfig, hooks: FitHooks = {}): Promise<FitResult> {
  validateOptim(cfg);
  const head = task.head;
  const n = task.nTrain;
  if (n < 1) throw new SmftError('no training rows');
  // Separate streams for shuffling and dropout, so gradient accumulation (which draws one
  // dropout seed per micro-batch) sees the same row order as one big batch.
  const rng = new Rng(cfg.seed);
  const dropRng = new Rng((cfg.seed ^ 0x9e3779b9) >>> 0);
  const effective = cfg.batchSize * cfg.gradAccumSteps;
  const stepsPerEpoch = Math.ceil(n / effective);
  const totalSteps = cfg.epochs * stepsPerEpoch;
  const schedule = { kind: cfg.schedule, warmupSteps: warmupFromRatio(cfg.warmupRatio, totalSteps), totalSteps, minLrRatio: cfg.minLrRatio };
  const opt = new AdamW(head.names.map((name, i) => ({ name, variable: head.variables[i], decay: decays(name) })), cfg);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const history: EpochMetrics[] = [];
  let best: EpochMetrics | undefined;
  let bestSnap: Float32Array[] | undefined;
  let sinceBest = 0;
  let stoppedEarly = false;
  let step = 0;
  let lastLr = 0;
  const t0 = performance.now();
  let lastLog = -Infinity;
  const logEvery = hooks.logIntervalMs ?? 2000;
  const label = hooks.label ?? 'head';
  log.info({ label, rows: n, epochs: cfg.epochs, stepsPerEpoch, effectiveBatch: effective, totalSteps, warmupSteps: schedule.warmupSteps, backend: tf.getBackend() }, 'training started');

  try {
    for (let epoch = 1; epoch <= cfg.epochs; epoch++) {
      const te = performance.now();
      shuffleInPlace(order, rng);
      let lossAcc: tf.Scalar = tf.scalar(0);
      let normAcc: tf.Scalar = tf.scalar(0);
      let termsTotal = 0;
      let updates = 0;
      for (let s = 0; s < stepsPerEpoch; s++) {
        const batch = order.subarray(s * effective, Math.min(n, (s + 1) * effective));
        const terms = task.terms(batch);
        if (terms === 0) continue;
        let acc: tf.Tensor[] | undefined;
        for (let m = 0; m < batch.length; m += cfg.batchSize) {
          const micro = batch.subarray(m, Math.min(batch.length, m + cfg.batchSize));
          const seed = dropRng.int(2147483647);
          const { value, grads } = tf.valueAndGrads((...ps: tf.Tensor[]) => tf.div(task.lossSum(ps, micro, true, seed), terms) as tf.Scalar)(head.variables);
          const next = tf.tidy(() => (acc ? grads.map((g, i) => tf.add(acc![i], g)) : grads.map((g) => tf.clone(g))));
          const lossNext = tf.tidy(() => tf.add(lossAcc, tf.mul(value, terms)) as tf.Scalar);
          acc?.forEach((t) => t.dispose());
          grads.forEach((g) => g.dispose());
          value.dispose();
          lossAcc.dispose();
          acc = next;
          lossAcc = lossNext;
        }
        termsTotal += terms;
        const { grads: clipped, norm } = clipByGlobalNorm(acc!, cfg.maxGradNorm);
        lastLr = learningRate(step, cfg.lr, schedule);
        opt.apply(clipped, lastLr);
        step++;
        updates++;
        const normNext = tf.tidy(() => tf.add(normAcc, norm) as tf.Scalar);
        normAcc.dispose();
        normAcc = normNext;
        [...acc!, ...clipped, norm].forEach((t) => t.dispose());
      }
      // Asynchronous reads (webgpu in Node cannot read synchronously); the only reads of an epoch.
      let loss: number, gradNorm: number;
      try {
        loss = (await lossAcc.data())[0] / Math.max(1, termsTotal);
        gradNorm = (await normAcc.data())[0] / Math.max(1, updates);
      } finally {
        lossAcc.dispose();
        normAcc.dispose();
      }
      if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
        throw new SmftError(`training diverged: loss is ${loss} in epoch ${epoch} (updates ${step - updates + 1}–${step}); `
          + 'lower the learning rate or check the features for NaN/Inf; the last good checkpoint (if any) is unchanged');
      }
      const val = task.validate?.();
      if (val && !Number.isFinite(val.loss)) {
        throw new SmftError(`training diverged: validation loss is ${val.loss} after epoch ${epoch}; the last good checkpoint (if any) is unchanged`);
      }
      const now = performance.now();
      const m: EpochMetrics = {
        epoch, step, lr: lastLr, loss, gradNorm,
        examplesPerSec: n / Math.max(1e-9, (now - te) / 1000),
        elapsedSec: (now - t0) / 1000,
      };
      if (val) {
        const { loss: vl, ...extra } = val;
        m.valLoss = vl;
        Object.assign(m, extra);
      }
      history.push(m);
      const improved = val ? best === undefined || (m.valLoss as number) < (best.valLoss as number) - cfg.minDelta : true;
      if (improved) {
        best = m;
        bestSnap = val ? head.snapshot() : undefined;
        sinceBest = 0;
      } else {
        sinceBest++;
      }
      await hooks.onEpoch?.(m, improved, { best });
      const last = epoch === cfg.epochs || (val !== undefined && cfg.patience > 0 && sinceBest >= cfg.patience);
      if (now - lastLog >= logEvery || last) {
        lastLog = now;
        const eta = (m.elapsedSec / epoch) * (cfg.epochs - epoch);
        log.info({
          label, epoch, epochs: cfg.epochs, step, lr: fmt(lastLr, 3), loss: fmt(loss), valLoss: fmt(m.valLoss),
          bestEpoch: best?.epoch, examplesPerSec: Math.round(m.examplesPerSec), etaSec: Number(eta.toFixed(1)),
        }, `${label}: epoch ${epoch}/${cfg.epochs} loss ${fmt(loss)}${m.valLoss !== undefined ? ` val ${fmt(m.valLoss)}` : ''}`);
      }
      if (val !== undefined && cfg.patience > 0 && sinceBest >= cfg.patience) {
        stoppedEarly = true;
        log.info({ label, epoch, bestEpoch: best?.epoch, bestValLoss: fmt(best?.valLoss) }, `${label}: early stop (no improvement for ${cfg.patience} epochs)`);
        break;
      }
    }
    if (bestSnap) head.restore(bestSnap);
    const seconds = (performance.now() - t0) / 1000;
    const bestEpoch = best?.epoch ?? history.length;
    log.info({ label, epochs: history.length, steps: step, bestEpoch, bestValLoss: fmt(best?.valLoss), seconds: Number(seconds.toFixed(2)) }, `${label}: training done`);
    return { history, bestEpoch, best, steps: step, stoppedEarly, seconds, optimizer: await opt.getState() };
  } finally {
    opt.dispose();
  }
}
