/**
 * Regression head training: frozen word features → the human mean ratings (11 Lancaster or 6
 * Dutch dimensions), MSE on (optionally standardised) targets, missing targets masked out.
 */
import * as tf from '@tensorflow/tfjs';
import { SmftError } from '../util/errors.js';
import { log } from '../util/log.js';
import { checkFeatureMatrix, columnStats, type FeatureMatrix } from '../features/matrix.js';
import { Head, type Activation, type HeadArch } from './head.js';
import { fit, OPTIM_DEFAULTS, seededSplit, type EpochMetrics, type FitResult, type OptimConfig } from './loop.js';
import { saveHeadCheckpoint, type HeadCheckpointConfig } from './checkpoint.js';

export interface RegressionData {
  /** Features of the training words (rows = words). */
  features: FeatureMatrix;
  /** Row-major words × dimensions, human means; NaN = missing (masked out of the loss). */
  targets: Float32Array;
  /** Canonical dimension ids, in column order. */
  dimensions: string[];
}

export interface RegressionConfig extends OptimConfig {
  /** Hidden units (0 = linear head). */
  hidden: number;
  activation: Activation;
  dropout: number;
  /** Train on z-scored targets (per dimension, training rows); predictions are mapped back. */
  standardizeTargets: boolean;
  /** z-score features with training-row statistics (stored in the head). */
  standardizeFeatures: boolean;
  /** Fraction of words held out for validation / early stopping (0 = none). */
  valFraction: number;
  /** Clamp predicted ratings to this range (the norms' scale). */
  ratingRange: [number, number];
}

export const REGRESSION_DEFAULTS: RegressionConfig = {
  ...OPTIM_DEFAULTS,
  hidden: 0, activation: 'gelu', dropout: 0, standardizeTargets: true, standardizeFeatures: true, valFraction: 0.1,
  ratingRange: [0, 5],
};

export interface TrainHeadOptions {
  /** Checkpoint folder: written atomically whenever validation improves and at the end. */
  out?: string;
  /** Extra provenance stored in head.json (data files, word counts, …). */
  provenance?: Record<string, unknown>;
  /** Progress label. */
  label?: string;
  logIntervalMs?: number;
  /** Minimum milliseconds between intermediate checkpoint writes (default 1000). */
  checkpointIntervalMs?: number;
}

export interface TrainedRegressionHead {
  head: Head;
  config: HeadCheckpointConfig;
  fit: FitResult;
  /** Rows used for training and validation (indices into the data). */
  split: { train: Int32Array; val: Int32Array };
}

/** Per-dimension Pearson r between predictions and targets (NaN targets skipped). */
export function pearsonPerDim(pred: Float32Array, target: Float32Array, n: number, k: number): number[] {
  const out: number[] = [];
  for (let j = 0; j < k; j++) {
    let sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0, c = 0;
    for (let i = 0; i < n; i++) {
      const y = target[i * k + j];
      if (Number.isNaN(y)) continue;
      const x = pred[i * k + j];
      sx += x; sy += y; sxx += x * x; syy += y * y; sxy += x * y; c++;
    }
    const cov = sxy - (sx * sy) / c;
    const den = Math.sqrt((sxx - (sx * sx) / c) * (syy - (sy * sy) / c));
    out.push(c > 2 && den > 0 ? cov / den : NaN);
  }
  return out;
}

function gatherRows(values: Float32Array, rows: Int32Array, width: number): Float32Array {
  const out = new Float32Array(rows.length * width);
  rows.forEach((r, i) => out.set(values.subarray(r * width, (r + 1) * width), i * width));
  return out;
}

/** Train a regression head; with `opts.out`, checkpoints are written as training goes. */
export async function trainRegressionHead(data: RegressionData, config: Partial<RegressionConfig> = {}, opts: TrainHeadOptions = {}): Promise<TrainedRegressionHead> {
  const cfg: RegressionConfig = { ...REGRESSION_DEFAULTS, ...config };
  const { features, targets, dimensions } = data;
  checkFeatureMatrix(features, { finite: true });
  const N = features.words.length;
  const D = features.dim;
  const K = dimensions.length;
  if (K < 1) throw new SmftError('regression head needs at least one dimension');
  if (targets.length !== N * K) throw new SmftError(`targets have ${targets.length} values for ${N} words × ${K} dimensions`);
  for (let i = 0; i < targets.length; i++) {
    if (!Number.isNaN(targets[i]) && !Number.isFinite(targets[i])) throw new SmftError(`target for '${features.words[Math.floor(i / K)]}' is not finite`);
  }
  if (N < 2) throw new SmftError(`need at least 2 training words, got ${N}`);
  if (!(cfg.valFraction >= 0 && cfg.valFraction < 1)) throw new SmftError(`valFraction must be in [0, 1), got ${cfg.valFraction}`);

  const split = seededSplit(N, cfg.valFraction, cfg.seed);
  const trX = gatherRows(features.values, split.train, D);
  const trY = gatherRows(targets, split.train, K);
  const xs = cfg.standardizeFeatures ? columnStats(trX, split.train.length, D) : { mean: new Float32Array(D), std: new Float32Array(D).fill(1) };
  const ys = cfg.standardizeTargets ? columnStats(trY, split.train.length, K) : { mean: new Float32Array(K), std: new Float32Array(K).fill(1) };
  const arch: HeadArch = { kind: 'regression', inputDim: D, outputDim: K, hidden: cfg.hidden, activation: cfg.activation, dropout: cfg.dropout };
  const head = Head.init(arch, cfg.seed, { in_mean: xs.mean, in_std: xs.std, out_mean: ys.mean, out_std: ys.std });

  // Standardised targets with a mask for missing values.
  const zY = new Float32Array(N * K);
  const mask = new Float32Array(N * K);
  for (let i = 0; i < N; i++) for (let j = 0; j < K; j++) {
    const y = targets[i * K + j];
    if (!Number.isNaN(y)) { zY[i * K + j] = (y - ys.mean[j]) / ys.std[j]; mask[i * K + j] = 1; }
  }
  const X = tf.tensor2d(features.values, [N, D]);
  const Y = tf.tensor2d(zY, [N, K]);
  const M = tf.tensor2d(mask, [N, K]);
  const valY = gatherRows(targets, split.val, K);
  const valMaskCount = split.val.length ? gatherRows(mask, split.val, K).reduce((a, b) => a + b, 0) : 0;

  const lossSumRows = (params: readonly tf.Tensor[], rows: tf.Tensor1D, training: boolean, seed: number): tf.Scalar => {
    const x = tf.gather(X, rows) as tf.Tensor2D;
    const d = tf.sub(head.regress(params, x, training, seed), tf.gather(Y, rows));
    return tf.sum(tf.mul(tf.square(d), tf.gather(M, rows))) as tf.Scalar;
  };

  const trainRows = split.train;
  const valRowsT = split.val.length ? tf.tensor1d(split.val, 'int32') : undefined;
  const validate = valRowsT ? (): { loss: number } & Record<string, number> => {
    const [lossT, predT] = tf.tidy(() => {
      const l = lossSumRows(head.variables, valRowsT, false, 0);
      const z = head.regress(head.variables, tf.gather(X, valRowsT) as tf.Tensor2D, false);
      return [l, tf.add(tf.mul(z, tf.tensor1d(ys.std)), tf.tensor1d(ys.mean))];
    });
    const loss = lossT.dataSync()[0] / Math.max(1, valMaskCount);
    const pred = predT.dataSync() as Float32Array;
    lossT.dispose(); predT.dispose();
    let se = 0;
    for (let i = 0; i < valY.length; i++) if (!Number.isNaN(valY[i])) { const d = pred[i] - valY[i]; se += d * d; }
    const rs = pearsonPerDim(pred, valY, split.val.length, K).filter((r) => !Number.isNaN(r));
    return { loss, valMse: se / Math.max(1, valMaskCount), valR: rs.reduce((a, b) => a + b, 0) / Math.max(1, rs.length) };
  } : undefined;

  const termsOf = (idx: Int32Array): number => {
    let c = 0;
    for (const r of idx) { const row = trainRows[r]; for (let j = 0; j < K; j++) c += mask[row * K + j]; }
    return c;
  };

  const hyper = { ...cfg };
  const makeConfig = (m: EpochMetrics | undefined, r?: FitResult): HeadCheckpointConfig => ({
    format: 'smft-head',
    version: 1,
    kind: 'regression',
    arch,
    featureSource: features.source,
    featureDim: D,
    dimensions: [...dimensions],
    hyper,
    seed: cfg.seed,
    step: m?.step ?? 0,
    epoch: m?.epoch ?? 0,
    trainRows: split.train.length,
    valRows: split.val.length,
    metrics: { ...(m ?? {}), ...(r ? { epochsRun: r.history.length, stoppedEarly: r.stoppedEarly, seconds: r.seconds } : {}) },
    provenance: opts.provenance ?? {},
    createdAt: new Date().toISOString(),
  });

  let lastSave = -Infinity;
  const saveEvery = opts.checkpointIntervalMs ?? 1000;
  const history: EpochMetrics[] = [];
  try {
    const result = await fit({
      head,
      nTrain: trainRows.length,
      terms: termsOf,
      lossSum: (params, idx, training, seed) => tf.tidy(() => {
        const rows = tf.tensor1d(Int32Array.from(idx, (i) => trainRows[i]), 'int32');
        return lossSumRows(params, rows, training, seed);
      }),
      validate,
    }, cfg, {
      label: opts.label ?? 'regression head',
      logIntervalMs: opts.logIntervalMs,
      onEpoch: async (m, improved) => {
        history.push(m);
        if (!opts.out || !improved) return;
        const now = performance.now();
        if (now - lastSave < saveEvery) return;
        lastSave = now;
        // The head holds this epoch's weights, which are the best so far.
        await saveHeadCheckpoint(opts.out, head, makeConfig(m), history);
      },
    });
    const config = makeConfig(result.best, result);
    if (opts.out) {
      await saveHeadCheckpoint(opts.out, head, config, result.history);
      log.info({ out: opts.out, bestEpoch: result.bestEpoch }, 'head checkpoint written');
    }
    return { head, config, fit: result, split };
  } catch (e) {
    head.dispose();
    throw e;
  } finally {
    X.dispose(); Y.dispose(); M.dispose(); valRowsT?.dispose();
  }
}
