/**
 * The LoRA trainer: trains adapters on a CausalLM for a TrainObjective with the project's
 * AdamW (src/train/adamw.ts), warm-up + cosine/linear schedule (schedule.ts), clipping by
 * global norm (clip.ts), gradient accumulation, a seeded validation split by group (a word's
 * dimensions never straddle train and validation), periodic validation with early stopping,
 * NaN/Inf detection, progress lines (step, loss, tokens/s, ETA) and metrics.jsonl, and
 * atomic checkpoints from which a run resumes exactly.
 *
 * Exactness: every random choice comes from two Rngs (shuffle, dropout seeds) whose states are
 * checkpointed together with the epoch's data order and position, the optimizer moments and
 * step, and the early-stopping state. A run stopped after step k and resumed performs the same
 * float operations in the same order as an uninterrupted one, so on a deterministic backend
 * (cpu, wasm) it ends with bit-identical adapters and the same losses.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { assertReplaceable, markOutput } from '../util/marker.js';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { SmftError } from '../util/errors.js';
import { log } from '../util/log.js';
import { Rng } from '../util/rng.js';
import { writeFileAtomic } from '../util/atomic.js';
import { formatDuration } from '../util/duration.js';
import type { CausalLM } from '../lm/model.js';
import { AdamW, ADAMW_DEFAULTS, type AdamWState } from './adamw.js';
import { clipByGlobalNorm } from './clip.js';
import { learningRate, warmupFromRatio, type ScheduleConfig } from './schedule.js';
import type { OptimizerSettings } from './settings.js';
import { seededSplit, shuffleInPlace } from './loop.js';
import { resolveLoraConfig, type LoraConfig } from './lora/config.js';
import { LoraAdapters } from './lora/adapter.js';
import { baseInfoFromModel, type BaseModelInfo } from './lora/base.js';
import { readAdapterFiles } from './lora/peft.js';
import {
  BEST, LATEST, METRICS_FILE, hasRun, loadTrainingCheckpoint, pruneCheckpoints, readPointer, saveTrainingCheckpoint,
  type StepMetrics, type TrainerState,
} from './lora/checkpoint.js';
import type { TrainObjective } from './lora/objective.js';

export interface LoraTrainConfig extends OptimizerSettings {
  /** Passes over the training examples. */
  epochs: number;
  /**
   * Run exactly this many optimizer updates, over as many epochs as that takes; `epochs` is then
   * ignored (Hugging Face's max_steps). 0 = `epochs` decide.
   */
  maxSteps: number;
  /** Warm-up in updates; when set, instead of warmupRatio. */
  warmupSteps: number | null;
  /**
   * Gradient checkpointing: keep only each decoder layer's input during the forward pass and
   * recompute the layer in the backward pass (CausalLM ForwardOptions.checkpoint). The same
   * gradients for one more forward pass (on wasm ≈ 1.8× the time per layer), with the
   * activations of one layer held instead of all: a full-size 0.5B model fits the wasm
   * backend's 4 GiB only with it. The trained weights do not depend on it (bit for bit on cpu
   * and wasm), so a run may be resumed with the other setting.
   */
  gradientCheckpointing: boolean;
  /** Fraction of groups (words / items) held out for validation (0 = none). */
  valFraction: number;
  /** Validate every this many updates (0 = at the end of each epoch); always at the end. */
  evalEvery: number;
  evalBatchSize: number;
  /** Stop after this many validations without improvement (0 = never). */
  patience: number;
  minDelta: number;
  /** Checkpoint every this many updates (0 = only at improvements and the end). */
  saveEvery: number;
  /** Keep this many newest step folders (plus best and latest; 0 = keep all). */
  keepLast: number;
  seed: number;
  /** Minimum milliseconds between progress lines. */
  logIntervalMs: number;
}

export const LORA_TRAIN_DEFAULTS: LoraTrainConfig = {
  epochs: 1, maxSteps: 0, batchSize: 8, gradAccumSteps: 2, lr: 2e-4,
  weightDecay: 0, beta1: ADAMW_DEFAULTS.beta1, beta2: ADAMW_DEFAULTS.beta2, eps: ADAMW_DEFAULTS.eps,
  schedule: 'cosine', warmupRatio: 0.03, warmupSteps: null, minLrRatio: 0, maxGradNorm: 1, gradientCheckpointing: true,
  valFraction: 0.1, evalEvery: 0, evalBatchSize: 16, patience: 3, minDelta: 1e-4,
  saveEvery: 100, keepLast: 3, seed: 42, logIntervalMs: 5000,
};

/** Settings that do not change the trained weights (may differ on resume). */
const COSMETIC = new Set(['logIntervalMs', 'keepLast', 'saveEvery', 'gradientCheckpointing']);

export function resolveTrainConfig(partial: Partial<LoraTrainConfig> = {}, where = 'train'): LoraTrainConfig {
  const known = new Set(Object.keys(LORA_TRAIN_DEFAULTS));
  for (const k of Object.keys(partial)) if (!known.has(k)) throw new SmftError(`unknown training setting '${k}' (known: ${[...known].join(', ')})`, where);
  const c: LoraTrainConfig = { ...LORA_TRAIN_DEFAULTS, ...partial };
  const bad = (what: string): never => { throw new SmftError(`invalid training setting: ${what}`, where); };
  const int = (k: keyof LoraTrainConfig, min: number): void => {
    const v = c[k] as number;
    if (!(Number.isInteger(v) && v >= min)) bad(`${k}=${v} (need an integer ≥ ${min})`);
  };
  int('epochs', 1); int('maxSteps', 0); int('batchSize', 1); int('gradAccumSteps', 1); int('evalEvery', 0); int('evalBatchSize', 1);
  int('patience', 0); int('saveEvery', 0); int('keepLast', 0); int('logIntervalMs', 0);
  if (!Number.isInteger(c.seed)) bad(`seed=${c.seed} (need an integer)`);
  if (!(c.lr > 0 && Number.isFinite(c.lr))) bad(`lr=${c.lr}`);
  if (!(c.weightDecay >= 0)) bad(`weightDecay=${c.weightDecay}`);
  if (!(c.warmupRatio >= 0 && c.warmupRatio < 1)) bad(`warmupRatio=${c.warmupRatio}`);
  if (c.warmupSteps !== null && !(Number.isInteger(c.warmupSteps) && c.warmupSteps >= 0)) bad(`warmupSteps=${c.warmupSteps}`);
  if (!(c.minLrRatio >= 0 && c.minLrRatio <= 1)) bad(`minLrRatio=${c.minLrRatio}`);
  if (!(c.maxGradNorm >= 0)) bad(`maxGradNorm=${c.maxGradNorm}`);
  if (typeof c.gradientCheckpointing !== 'boolean') bad(`gradientCheckpointing=${String(c.gradientCheckpointing)} (true or false)`);
  if (!(c.valFraction >= 0 && c.valFraction < 1)) bad(`valFraction=${c.valFraction}`);
  if (!(c.minDelta >= 0)) bad(`minDelta=${c.minDelta}`);
  if (!['cosine', 'linear', 'constant'].includes(c.schedule)) bad(`schedule=${c.schedule} (cosine, linear or constant)`);
  return c;
}

/**
 * One optimizer update: the batch is split into micro-batches of `batchSize`, each one's
 * gradient of (its loss sum / batch size) is accumulated, the sum clipped by global norm and
 * applied by AdamW. Non-finite loss or gradients are reported and nothing is applied. With
 * `gradientCheckpointing` (default on) the model recomputes each decoder layer in the backward
 * pass instead of keeping its activations. The loss and norm are read asynchronously (a
 * backend such as webgpu in Node cannot read synchronously).
 */
export class LoraStepper {
  readonly optimizer: AdamW;
  private readonly vars: tf.Variable[];

  constructor(
    readonly adapters: LoraAdapters,
    readonly objective: TrainObjective,
    readonly cfg: Pick<LoraTrainConfig, 'batchSize' | 'maxGradNorm' | 'beta1' | 'beta2' | 'eps' | 'weightDecay'> & Partial<Pick<LoraTrainConfig, 'gradientCheckpointing'>>,
  ) {
    this.optimizer = new AdamW(adapters.optimParams(), { beta1: cfg.beta1, beta2: cfg.beta2, eps: cfg.eps, weightDecay: cfg.weightDecay });
    this.vars = adapters.variables();
  }

  /** Update on `batch` with learning rate `lr`; `nextSeed` gives each micro-batch's dropout seed. */
  async step(batch: Int32Array, lr: number, nextSeed: () => number): Promise<{ loss: number; gradNorm: number }> {
    const terms = batch.length;
    let acc: tf.Tensor[] | null = null;
    let lossAcc: tf.Scalar = tf.scalar(0);
    const model = this.adapters.model;
    const checkpointBefore = model?.gradientCheckpointing;
    if (model) model.gradientCheckpointing = this.cfg.gradientCheckpointing ?? LORA_TRAIN_DEFAULTS.gradientCheckpointing;
    this.adapters.training = true;
    try {
      for (let s = 0; s < batch.length; s += this.cfg.batchSize) {
        const micro = batch.subarray(s, Math.min(batch.length, s + this.cfg.batchSize));
        this.adapters.dropoutSeed = nextSeed();
        const { value, grads } = tf.variableGrads(() => tf.div(this.objective.lossSum(micro), terms) as tf.Scalar, this.vars);
        const list = this.vars.map((v) => grads[v.name] ?? tf.zerosLike(v));
        const next: tf.Tensor[] = tf.tidy(() => (acc ? list.map((g, i) => tf.add(acc![i], g)) : list.map((g) => tf.clone(g))));
        const lossNext = tf.tidy(() => tf.add(lossAcc, value) as tf.Scalar);
        acc?.forEach((t) => t.dispose());
        list.forEach((g) => g.dispose());
        value.dispose();
        lossAcc.dispose();
        acc = next;
        lossAcc = lossNext;
      }
    } catch (e) {
      acc?.forEach((t) => t.dispose());
      lossAcc.dispose();
      throw e;
    } finally {
      this.adapters.training = false;
      if (model) model.gradientCheckpointing = checkpointBefore!;
    }
    const { grads: clipped, norm } = clipByGlobalNorm(acc!, this.cfg.maxGradNorm);
    acc!.forEach((t) => t.dispose());
    let loss: number, gradNorm: number;
    try {
      loss = (await lossAcc.data())[0];
      gradNorm = (await norm.data())[0];
    } catch (e) {
      clipped.forEach((t) => t.dispose());
      throw e;
    } finally {
      lossAcc.dispose();
      norm.dispose();
    }
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
      clipped.forEach((t) => t.dispose());
      return { loss, gradNorm };
    }
    this.optimizer.apply(clipped, lr);
    clipped.forEach((t) => t.dispose());
    return { loss, gradNorm };
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}

export interface TrainLoraOptions {
  model: CausalLM;
  /** Base model name for checkpoints and messages (hub id or folder name). */
  modelName: string;
  /** Hub id or absolute folder of the base model, recorded as adapter_config.json base_model_name_or_path (default modelName). */
  modelSource?: string;
  objective: TrainObjective;
  lora?: Partial<LoraConfig>;
  train?: Partial<LoraTrainConfig>;
  /** Run folder (checkpoints/<run>). */
  out: string;
  /** Continue from `<out>/latest` (exactly). Without it, a folder that already holds a run is refused. */
  resume?: boolean;
  /** Extra description stored with the run (e.g. the recipe); must match on resume. */
  runInfo?: Record<string, unknown>;
  /** Checkpoint and return after this update (as if interrupted; resume continues). */
  stopAfterStep?: number;
  /** Abort: checkpoint after the current update and return. */
  signal?: AbortSignal;
  /** Label in progress lines. */
  label?: string;
}

export interface TrainLoraResult {
  runDir: string;
  /** Attached to the model, holding the final weights (the best validation step's when validating). */
  adapters: LoraAdapters;
  steps: number;
  totalSteps: number;
  bestStep: number | null;
  bestValLoss: number | null;
  /** Validation metrics of the base model (step 0) and of the returned weights. */
  initialVal?: Record<string, number>;
  finalVal?: Record<string, number>;
  stoppedEarly: boolean;
  /** Stopped by stopAfterStep / signal before the end. */
  interrupted: boolean;
  /** The checkpoint folder holding the returned weights. */
  finalDir: string;
  history: StepMetrics[];
  seconds: number;
  /** Training tokens per second over this process's updates. */
  tokensPerSec: number;
  split: { train: number; val: number };
  base: BaseModelInfo;
}

/** Train/validation split of example indices by group (seeded). */
export function splitByGroup(objective: Pick<TrainObjective, 'size' | 'group'>, valFraction: number, seed: number): { train: Int32Array; val: Int32Array } {
  const groups = new Map<string, number[]>();
  for (let i = 0; i < objective.size; i++) {
    const g = objective.group(i);
    let list = groups.get(g);
    if (!list) groups.set(g, (list = []));
    list.push(i);
  }
  const keys = [...groups.keys()];
  if (valFraction > 0 && keys.length < 2) throw new SmftError(`a validation split needs at least 2 groups (words/items); got ${keys.length}`);
  const s = seededSplit(keys.length, valFraction, seed);
  const take = (g: Int32Array): Int32Array => Int32Array.from(Array.from(g).flatMap((k) => groups.get(keys[k])!).sort((a, b) => a - b));
  return { train: take(s.train), val: take(s.val) };
}

const fmt = (x: number | undefined, d = 4): number | undefined => (x === undefined || !Number.isFinite(x) ? x : Number(x.toPrecision(d)));

function diffConfig(a: unknown, b: unknown, path = ''): string[] {
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) => (COSMETIC.has(k) ? [] : diffConfig((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k)));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [`${path}: ${JSON.stringify(a)} → ${JSON.stringify(b)}`];
}

/** Train LoRA adapters (see the module comment). */
export async function trainLora(opts: TrainLoraOptions): Promise<TrainLoraResult> {
  const lora = resolveLoraConfig(opts.lora ?? {});
  const cfg = resolveTrainConfig(opts.train ?? {});
  const { model, objective } = opts;
  const runDir = resolve(opts.out);
  const label = opts.label ?? 'lora';
  const base: BaseModelInfo = { ...(await baseInfoFromModel(model, opts.modelName)), ...(opts.modelSource ? { source: opts.modelSource } : {}) };
  const split = splitByGroup(objective, cfg.valFraction, cfg.seed);
  const nTrain = split.train.length;
  if (nTrain === 0) throw new SmftError('no training examples left after the validation split');
  const eff = cfg.batchSize * cfg.gradAccumSteps;
  const stepsPerEpoch = Math.ceil(nTrain / eff);
  // maxSteps > 0 runs exactly that many updates, over as many epochs as it takes (Hugging Face's max_steps).
  const totalSteps = cfg.maxSteps > 0 ? cfg.maxSteps : cfg.epochs * stepsPerEpoch;
  const schedule: ScheduleConfig = {
    kind: cfg.schedule, totalSteps, minLrRatio: cfg.minLrRatio,
    warmupSteps: cfg.warmupSteps ?? warmupFromRatio(cfg.warmupRatio, totalSteps),
  };
  const runConfig: Record<string, unknown> = {
    lora, train: cfg, task: objective.describe(), split: { train: nTrain, val: split.val.length },
    base: { configSha256: base.configSha256, weightsFingerprint: base.weightsFingerprint }, info: opts.runInfo ?? {},
  };

  // Fresh or resumed state.
  let adapters: LoraAdapters;
  let state: Omit<TrainerState, 'files' | 'createdAt' | 'format' | 'version'>;
  let history: StepMetrics[] = [];
  let optState: AdamWState | undefined;
  // Only a LoRA run of smft (or nothing, or an empty folder) is ever written into.
  assertReplaceable(runDir, 'lora-run');
  if (hasRun(runDir) && !opts.resume) {
    throw new SmftError('this run folder already holds checkpoints; resume it (--resume) or choose another output folder', runDir);
  }
  const latest = opts.resume ? readPointer(runDir, LATEST) : undefined;
  if (opts.resume && !latest) {
    if (hasRun(runDir)) throw new SmftError(`cannot resume: no '${LATEST}' pointer (the run never completed a checkpoint?)`, runDir);
    log.info({ runDir }, 'nothing to resume; starting a new run');
  }
  if (latest) {
    const ck = await loadTrainingCheckpoint(latest, model, { baseInfo: base, expectRank: lora.r, run: { totalSteps, stepsPerEpoch, train: split.train } });
    const diff = diffConfig(ck.state.config, JSON.parse(JSON.stringify(runConfig)));
    if (diff.length) {
      ck.adapters.dispose();
      throw new SmftError(`cannot resume: the run was started with other settings (${diff.slice(0, 4).join('; ')}${diff.length > 4 ? '; …' : ''})`, latest);
    }
    adapters = ck.adapters;
    state = ck.state;
    history = ck.metrics.filter((m) => m.step <= ck.state.step);
    optState = ck.optimizer;
    log.info({ label, runDir, step: state.step, totalSteps }, `${label}: resuming at step ${state.step}/${totalSteps}`);
  } else {
    adapters = LoraAdapters.init(model, lora, cfg.seed);
    state = {
      step: 0, totalSteps, epoch: 0, stepInEpoch: 0, order: [], rng: { shuffle: new Rng(cfg.seed).state(), dropout: new Rng((cfg.seed ^ 0x9e3779b9) >>> 0).state() },
      best: null, sinceBest: 0, tokens: 0, elapsedSec: 0, done: false, stoppedEarly: false, base, config: JSON.parse(JSON.stringify(runConfig)),
    };
  }

  adapters.attach(model, { frozenGradHooks: true });
  const stepper = new LoraStepper(adapters, objective, cfg);
  let ok = false;
  try {
    if (optState) stepper.optimizer.setState(optState);
    const shuffleRng = new Rng(0);
    shuffleRng.setState(state.rng.shuffle);
    const dropRng = new Rng(0);
    dropRng.setState(state.rng.dropout);
    // Run-level files: run.json once; metrics.jsonl mirrors the checkpoint on resume.
    if (!latest) {
      mkdirSync(runDir, { recursive: true });
      markOutput(runDir, 'lora-run');
      writeFileAtomic(join(runDir, 'run.json'), JSON.stringify({ format: 'smft-lora-run', version: 1, base, config: runConfig, createdAt: new Date().toISOString() }, null, 2) + '\n');
    }
    writeFileAtomic(join(runDir, METRICS_FILE), history.map((m) => JSON.stringify(m)).join('\n') + (history.length ? '\n' : ''));

    const hasVal = split.val.length > 0;
    const validate = (): Promise<Record<string, number>> => {
      adapters.training = false;
      return objective.evaluate(split.val, cfg.evalBatchSize);
    };
    let initialVal = state.initialVal;
    if (hasVal && !latest) {
      initialVal = await validate();
      log.info({ label, ...roundAll(initialVal) }, `${label}: validation before training: loss ${fmt(initialVal.loss)}`);
    }
    log.info({
      label, examples: objective.size, train: nTrain, val: split.val.length, loraParams: adapters.numParams, modules: adapters.modules.length,
      r: lora.r, alpha: lora.alpha, stepsPerEpoch, totalSteps, effectiveBatch: eff, warmupSteps: schedule.warmupSteps, backend: tf.getBackend(),
    }, `${label}: training ${adapters.numParams} LoRA parameters for ${totalSteps} steps`);

    const t0 = performance.now();
    const stepAtStart = state.step;
    let tokensHere = 0;
    let lastLog = performance.now();
    let logLoss = 0, logSteps = 0, logTokens = 0;
    let order = Int32Array.from(state.order);
    let interrupted = false;
    let lastSaved = latest ? state.step : -1;

    const save = async (best: boolean): Promise<void> => {
      state.rng = { shuffle: shuffleRng.state(), dropout: dropRng.state() };
      state.order = Array.from(order);
      state.initialVal = initialVal;
      await saveTrainingCheckpoint(runDir, state, adapters, await stepper.optimizer.getState(), history, { best });
      lastSaved = state.step;
      const keep = new Set<string>();
      for (const p of [LATEST, BEST] as const) {
        const d = readPointer(runDir, p);
        if (d) keep.add(resolve(d));
      }
      pruneCheckpoints(runDir, cfg.keepLast, keep);
    };

    while (!state.done && state.step < totalSteps) {
      if (state.stepInEpoch === 0) {
        order = Int32Array.from(split.train);
        shuffleInPlace(order, shuffleRng);
      }
      const s = state.stepInEpoch;
      const batch = order.subarray(s * eff, Math.min(nTrain, (s + 1) * eff));
      const ts = performance.now();
      const lr = learningRate(state.step, cfg.lr, schedule);
      const { loss, gradNorm } = await stepper.step(batch, lr, () => dropRng.int(2147483647));
      if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
        const good = readPointer(runDir, LATEST);
        throw new SmftError(`training diverged at step ${state.step + 1}: loss is ${loss}, gradient norm ${gradNorm}; nothing was applied. `
          + `${good ? `The last good checkpoint (${good}) is unchanged` : 'No checkpoint was written yet'}; lower the learning rate (lr=${cfg.lr}) or check the data`);
      }
      let tokens = 0;
      for (const i of batch) tokens += objective.tokens(i);
      const epochOfStep = state.epoch + 1;
      state.step++;
      state.stepInEpoch++;
      let epochEnd = false;
      if (state.stepInEpoch >= stepsPerEpoch) {
        state.epoch++;
        state.stepInEpoch = 0;
        epochEnd = true;
      }
      const secs = (performance.now() - ts) / 1000;
      state.tokens += tokens;
      tokensHere += tokens;
      const m: StepMetrics = {
        step: state.step, epoch: epochOfStep, loss, lr, gradNorm, examples: batch.length, tokens,
        tokensPerSec: tokens / Math.max(1e-9, secs), elapsedSec: state.elapsedSec + (performance.now() - t0) / 1000,
      };
      const last = state.step >= totalSteps;
      let improved = false;
      if (hasVal && ((cfg.evalEvery > 0 && state.step % cfg.evalEvery === 0) || (cfg.evalEvery === 0 && epochEnd) || last)) {
        const val = await validate();
        for (const [k, v] of Object.entries(val)) m[k === 'loss' ? 'valLoss' : `val${k[0].toUpperCase()}${k.slice(1)}`] = v;
        if (!Number.isFinite(val.loss)) {
          throw new SmftError(`training diverged: validation loss is ${val.loss} at step ${state.step}; the last good checkpoint is unchanged; lower the learning rate`);
        }
        improved = state.best === null || val.loss < state.best.valLoss - cfg.minDelta;
        if (improved) {
          state.best = { step: state.step, valLoss: val.loss };
          state.sinceBest = 0;
        } else {
          state.sinceBest++;
        }
        log.info({ label, step: state.step, ...roundAll(val), best: state.best?.step }, `${label}: step ${state.step} validation loss ${fmt(val.loss)}${improved ? ' (best)' : ''}`);
        if (cfg.patience > 0 && state.sinceBest >= cfg.patience) {
          state.stoppedEarly = true;
          log.info({ label, step: state.step, bestStep: state.best?.step }, `${label}: early stop (no improvement in ${cfg.patience} validations)`);
        }
      }
      if (last || state.stoppedEarly) state.done = true;
      state.elapsedSec = m.elapsedSec;
      history.push(m);
      appendFileSync(join(runDir, METRICS_FILE), JSON.stringify(m) + '\n');

      logLoss += loss; logSteps++; logTokens += tokens;
      const now = performance.now();
      if (now - lastLog >= cfg.logIntervalMs || state.done) {
        const rate = logTokens / Math.max(1e-9, (now - lastLog) / 1000);
        const perStep = (now - t0) / 1000 / Math.max(1, state.step - stepAtStart);
        const eta = perStep * (totalSteps - state.step);
        log.info({
          label, step: state.step, totalSteps, epoch: epochOfStep, loss: fmt(logLoss / logSteps), lr: fmt(lr, 3), gradNorm: fmt(gradNorm, 3),
          tokensPerSec: Math.round(rate), etaSec: Math.round(eta),
        }, `${label}: step ${state.step}/${totalSteps} loss ${fmt(logLoss / logSteps)} ${Math.round(rate)} tok/s ETA ${formatDuration(eta)}`);
        lastLog = now; logLoss = 0; logSteps = 0; logTokens = 0;
      }

      const stopHere = (opts.stopAfterStep !== undefined && state.step >= opts.stopAfterStep && !state.done) || (opts.signal?.aborted === true && !state.done);
      if (state.done || improved || stopHere || (cfg.saveEvery > 0 && state.step % cfg.saveEvery === 0)) await save(improved);
      if (stopHere) {
        interrupted = true;
        log.info({ label, step: state.step, checkpoint: join(runDir, `step-${state.step}`) }, `${label}: stopped after step ${state.step}; resume to continue`);
        break;
      }
      await new Promise((r) => setImmediate(r));
    }
    if (state.done && lastSaved !== state.step) await save(false);

    // The weights to return: the best validation step's (when validating), else the last.
    let finalDir = readPointer(runDir, LATEST)!;
    let finalVal: Record<string, number> | undefined;
    if (!interrupted && hasVal && state.best) {
      const bestDir = readPointer(runDir, BEST);
      if (bestDir && state.best.step !== state.step) {
        adapters.assign(readAdapterFiles(bestDir).tensors);
        finalDir = bestDir;
      } else if (bestDir) {
        finalDir = bestDir;
      }
      const bestLine = history.find((h) => h.step === state.best!.step);
      if (bestLine) finalVal = Object.fromEntries(Object.entries(bestLine).filter(([k]) => k.startsWith('val')).map(([k, v]) => [k, v as number]));
    }
    const seconds = (performance.now() - t0) / 1000;
    const result: TrainLoraResult = {
      runDir, adapters, steps: state.step, totalSteps, bestStep: state.best?.step ?? null, bestValLoss: state.best?.valLoss ?? null,
      initialVal, finalVal, stoppedEarly: state.stoppedEarly, interrupted, finalDir, history, seconds,
      tokensPerSec: tokensHere / Math.max(1e-9, seconds), split: { train: nTrain, val: split.val.length }, base,
    };
    if (!interrupted) {
      writeFileAtomic(join(runDir, 'summary.json'), JSON.stringify({
        steps: result.steps, totalSteps, bestStep: result.bestStep, bestValLoss: result.bestValLoss, initialVal, finalVal,
        stoppedEarly: result.stoppedEarly, finalDir, seconds: Number(seconds.toFixed(2)), tokensPerSec: Math.round(result.tokensPerSec),
      }, null, 2) + '\n');
      log.info({ label, steps: state.step, bestStep: result.bestStep, bestValLoss: fmt(result.bestValLoss ?? undefined), seconds: Number(seconds.toFixed(1)) }, `${label}: training done`);
    }
    ok = true;
    return result;
  } finally {
    stepper.dispose();
    if (!ok) adapters.dispose();
  }
}

function roundAll(o: Record<string, number>): Record<string, number | undefined> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, fmt(v)]));
}

