/**
 * QA head: multiple-choice items (question + options A–D, as in the paper's qa_train_840.json /
 * qa_test_560.json) scored from frozen features of the question and of each option, trained
 * with cross-entropy over the four option logits.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { SmftError } from '../util/errors.js';
import { log } from '../util/log.js';
import { columnStats } from '../features/matrix.js';
import type { GloveVectors } from '../features/glove.js';
import { Head, type HeadArch } from './head.js';
import { fit, OPTIM_DEFAULTS, seededSplit, type EpochMetrics, type FitResult, type OptimConfig } from './loop.js';
import { saveHeadCheckpoint, type HeadCheckpointConfig } from './checkpoint.js';
import type { TrainHeadOptions } from './regression.js';

export const QA_LETTERS = ['A', 'B', 'C', 'D'] as const;

export interface QaItem {
  index: number;
  question: string;
  options: Record<string, string>;
  correct_option: string;
}

/** Read and check a QA file (a JSON array of items). */
export function readQaItems(path: string): QaItem[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new SmftError(`cannot read QA items (${(e as Error).message})`, path);
  }
  if (!Array.isArray(raw)) throw new SmftError('QA file must be a JSON array of items', path);
  return raw.map((it, i) => {
    const x = it as QaItem;
    const where = `${path} (item ${i})`;
    if (typeof x?.question !== 'string' || typeof x.options !== 'object' || x.options === null) throw new SmftError('item needs "question" and "options"', where);
    for (const l of QA_LETTERS) if (typeof x.options[l] !== 'string') throw new SmftError(`item lacks option ${l}`, where);
    if (!(QA_LETTERS as readonly string[]).includes(x.correct_option)) throw new SmftError(`correct_option ${JSON.stringify(x.correct_option)} is not one of A–D`, where);
    return { index: typeof x.index === 'number' ? x.index : i, question: x.question, options: x.options, correct_option: x.correct_option };
  });
}

export interface QaData {
  ids: number[];
  dim: number;
  /** N × D question features. */
  question: Float32Array;
  /** N × 4 × D option features (A, B, C, D). */
  options: Float32Array;
  /** Correct option per item, 0–3. */
  labels: Int32Array;
  source: string;
}

/** QA features from GloVe: the mean word vector of the question and of each option. */
export function gloveQaData(glove: GloveVectors, items: readonly QaItem[], what = 'QA items'): QaData {
  const D = glove.dim;
  const N = items.length;
  const question = new Float32Array(N * D);
  const options = new Float32Array(N * 4 * D);
  const labels = new Int32Array(N);
  let emptyTexts = 0; let tokens = 0; let known = 0;
  const empty: string[] = [];
  items.forEach((it, i) => {
    const q = glove.text(it.question);
    question.set(q.vector, i * D);
    tokens += q.tokens; known += q.known;
    if (q.known === 0) { emptyTexts++; empty.push(it.question); }
    QA_LETTERS.forEach((l, k) => {
      const o = glove.text(it.options[l]);
      options.set(o.vector, (i * 4 + k) * D);
      tokens += o.tokens; known += o.known;
      if (o.known === 0) { emptyTexts++; empty.push(it.options[l]); }
    });
    labels[i] = QA_LETTERS.indexOf(it.correct_option as (typeof QA_LETTERS)[number]);
  });
  log.info({ what, items: N, tokenCoverage: Number((known / Math.max(1, tokens)).toFixed(4)) }, `${what}: GloVe features`);
  if (emptyTexts) log.warn({ what, texts: emptyTexts, examples: empty.slice(0, 5) }, `${emptyTexts} texts in ${what} have no known word; their features are zero`);
  return { ids: items.map((x) => x.index), dim: D, question, options, labels, source: glove.source };
}

export interface QaConfig extends OptimConfig {
  /** Rank of the bilinear question–option term (0 = full D × D). */
  rank: number;
  dropout: number;
  valFraction: number;
  standardizeFeatures: boolean;
}

export const QA_DEFAULTS: QaConfig = {
  ...OPTIM_DEFAULTS,
  epochs: 100, batchSize: 32, lr: 1e-3, weightDecay: 0.05, patience: 15,
  rank: 16, dropout: 0.1, valFraction: 0.15, standardizeFeatures: true,
};

export interface QaEvaluation { n: number; correct: number; accuracy: number; loss: number; predictions: string[] }

/** Logits, accuracy and mean cross-entropy of a QA head on items. */
export function evaluateQa(head: Head, data: QaData, rows?: Int32Array): QaEvaluation {
  const idx = rows ?? Int32Array.from({ length: data.labels.length }, (_, i) => i);
  const D = data.dim;
  if (D !== head.arch.inputDim) throw new SmftError(`QA head takes ${head.arch.inputDim}-d features, the data has ${D}-d`);
  const [logitsT, lossT] = tf.tidy(() => {
    const r = tf.tensor1d(idx, 'int32');
    const q = tf.gather(tf.tensor2d(data.question, [data.labels.length, D]), r) as tf.Tensor2D;
    const o = tf.gather(tf.tensor3d(data.options, [data.labels.length, 4, D]), r) as tf.Tensor3D;
    const logits = head.score(head.variables, q, o, false);
    const y = tf.oneHot(tf.gather(tf.tensor1d(data.labels, 'int32'), r), 4);
    return [logits, tf.losses.softmaxCrossEntropy(y, logits)];
  });
  const logits = logitsT.dataSync();
  const loss = lossT.dataSync()[0];
  logitsT.dispose(); lossT.dispose();
  let correct = 0;
  const predictions: string[] = [];
  idx.forEach((row, i) => {
    let arg = 0;
    for (let k = 1; k < 4; k++) if (logits[i * 4 + k] > logits[i * 4 + arg]) arg = k;
    predictions.push(QA_LETTERS[arg]);
    if (arg === data.labels[row]) correct++;
  });
  return { n: idx.length, correct, accuracy: correct / Math.max(1, idx.length), loss, predictions };
}

export interface TrainedQaHead { head: Head; config: HeadCheckpointConfig; fit: FitResult; split: { train: Int32Array; val: Int32Array } }

/** Train a QA head (optionally checkpointed to `opts.out`). */
export async function trainQaHead(data: QaData, config: Partial<QaConfig> = {}, opts: TrainHeadOptions = {}): Promise<TrainedQaHead> {
  const cfg: QaConfig = { ...QA_DEFAULTS, ...config };
  const N = data.labels.length;
  const D = data.dim;
  if (N < 2) throw new SmftError(`need at least 2 QA items, got ${N}`);
  if (data.question.length !== N * D || data.options.length !== N * 4 * D) throw new SmftError('QA features do not match the number of items');
  for (const a of [data.question, data.options]) for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) throw new SmftError('QA features contain NaN/Inf');
  const split = seededSplit(N, cfg.valFraction, cfg.seed);
  // Feature statistics over the training items' questions and options together.
  const rowsTr = new Float32Array(split.train.length * 5 * D);
  split.train.forEach((r, i) => {
    rowsTr.set(data.question.subarray(r * D, (r + 1) * D), i * 5 * D);
    rowsTr.set(data.options.subarray(r * 4 * D, (r + 1) * 4 * D), (i * 5 + 1) * D);
  });
  const st = cfg.standardizeFeatures ? columnStats(rowsTr, split.train.length * 5, D) : { mean: new Float32Array(D), std: new Float32Array(D).fill(1) };
  const arch: HeadArch = { kind: 'qa', inputDim: D, outputDim: 4, hidden: cfg.rank, activation: 'gelu', dropout: cfg.dropout };
  const head = Head.init(arch, cfg.seed, { in_mean: st.mean, in_std: st.std });
  const Q = tf.tensor2d(data.question, [N, D]);
  const O = tf.tensor3d(data.options, [N, 4, D]);
  const Y = tf.oneHot(tf.tensor1d(data.labels, 'int32'), 4);
  const trainRows = split.train;

  const makeConfig = (m: EpochMetrics | undefined, r?: FitResult): HeadCheckpointConfig => ({
    format: 'smft-head', version: 1, kind: 'qa', arch, featureSource: data.source, featureDim: D, dimensions: [...QA_LETTERS],
    hyper: { ...cfg }, seed: cfg.seed, step: m?.step ?? 0, epoch: m?.epoch ?? 0, trainRows: split.train.length, valRows: split.val.length,
    metrics: { ...(m ?? {}), ...(r ? { epochsRun: r.history.length, stoppedEarly: r.stoppedEarly, seconds: r.seconds } : {}) },
    provenance: opts.provenance ?? {}, createdAt: new Date().toISOString(),
  });
  const history: EpochMetrics[] = [];
  let lastSave = -Infinity;
  try {
    const result = await fit({
      head,
      nTrain: trainRows.length,
      terms: (idx) => idx.length,
      lossSum: (params, idx, training, seed) => tf.tidy(() => {
        const r = tf.tensor1d(Int32Array.from(idx, (i) => trainRows[i]), 'int32');
        const logits = head.score(params, tf.gather(Q, r) as tf.Tensor2D, tf.gather(O, r) as tf.Tensor3D, training, seed);
        return tf.losses.softmaxCrossEntropy(tf.gather(Y, r), logits, undefined, undefined, tf.Reduction.SUM) as tf.Scalar;
      }),
      validate: split.val.length ? () => {
        const e = evaluateQa(head, data, split.val);
        return { loss: e.loss, valAccuracy: e.accuracy };
      } : undefined,
    }, cfg, {
      label: opts.label ?? 'QA head',
      logIntervalMs: opts.logIntervalMs,
      onEpoch: async (m, improved) => {
        history.push(m);
        if (!opts.out || !improved) return;
        const now = performance.now();
        if (now - lastSave < (opts.checkpointIntervalMs ?? 1000)) return;
        lastSave = now;
        await saveHeadCheckpoint(opts.out, head, makeConfig(m), history);
      },
    });
    const config = makeConfig(result.best, result);
    if (opts.out) await saveHeadCheckpoint(opts.out, head, config, result.history);
    return { head, config, fit: result, split };
  } catch (e) {
    head.dispose();
    throw e;
  } finally {
    Q.dispose(); O.dispose(); Y.dispose();
  }
}
