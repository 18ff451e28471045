/**
 * The LoRA trainer: trains adapters on a CausalLM for a TrainObjective with the project's
 * AdamW (src/train/adamw.ts), warm-up + cosine/linear schedule (schedule.ts), clipping by
 * global norm (clip.ts), gradient accumulation, a seeded validation split by group (a word's
 * dimensions never straddle train and validation), periodic validation with early stopping,
 * NaN/Inf detection, progress lines (step, loss, tokens/s, ETA) and metrics.jsonl, and
 * atomic checkpoints from which a run resumes exactly. The gradients come from an engine
 * (engine.ts: TF.js autodiff, or explicit backward graphs on ONNX Runtime).
 *
 * Read top to bottom: trainLora plans the run (settings, split, schedule), opens it (fresh, or
 * the latest checkpoint), then TrainingRun steps through the data — one update, its metrics,
 * validation and early stopping, progress, checkpoints — and picks the weights to return.
 *
 * Exactness: every random choice comes from two Rngs (shuffle, dropout seeds) whose states are
 * checkpointed together with the epoch's data order and position, the optimizer moments and
 * step, and the early-stopping state. A run stopped after step k and resumed performs the same
 * float operations in the same order as an uninterrupted one, so on a deterministic engine
 * (TF.js cpu and wasm, ONNX Runtime on the CPU) it ends with bit-identical adapters and the
 * same losses.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SmftError } from '../../util/errors.js';
import { log } from '../../util/log.js';
import { Rng } from '../../util/rng.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { formatDuration } from '../../util/duration.js';
import { assertReplaceable, markOutput } from '../../util/marker.js';
import type { CausalLM } from '../../lm/model.js';
import type { AdamWState } from '../adamw.js';
import { learningRate, warmupFromRatio, type ScheduleConfig } from '../schedule.js';
import { seededSplit, shuffleInPlace } from '../loop.js';
import { resolveLoraConfig, type LoraConfig } from './config.js';
import { LoraAdapters } from './adapter.js';
import { baseInfoFromModel, type BaseModelInfo } from './base.js';
import { readAdapterFiles } from './peft.js';
import {
  BEST, LATEST, METRICS_FILE, hasRun, loadTrainingCheckpoint, pruneCheckpoints, readPointer, saveTrainingCheckpoint,
  type StepMetrics, type TrainerState,
} from './checkpoint.js';
import type { TrainObjective } from './objective.js';
import { createLoraEngine, type EngineChoice, type LoraEngine, type TrainDevice } from './engine.js';
import { LoraStepper } from './stepper.js';
import { configChanges, resolveTrainConfig, type LoraTrainConfig } from './train-config.js';

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
  /** What computes the gradients (default 'auto': ONNX Runtime where it runs, see engine.ts). */
  engine?: EngineChoice;
  /** ONNX Runtime's execution provider for the 'onnx' engine (default 'cpu'). */
  device?: TrainDevice;
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
  /** The engine that computed the gradients (e.g. 'onnxruntime-cpu', 'tfjs-wasm'). */
  engine: string;
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

/** What a run is, fixed before it starts: settings, split, schedule and the config a resume must match. */
interface RunPlan {
  lora: LoraConfig;
  cfg: LoraTrainConfig;
  base: BaseModelInfo;
  split: { train: Int32Array; val: Int32Array };
  /** Examples per update. */
  eff: number;
  stepsPerEpoch: number;
  totalSteps: number;
  schedule: ScheduleConfig;
  runConfig: Record<string, unknown>;
}

async function planRun(opts: TrainLoraOptions): Promise<RunPlan> {
  const lora = resolveLoraConfig(opts.lora ?? {});
  const cfg = resolveTrainConfig(opts.train ?? {});
  const base: BaseModelInfo = { ...(await baseInfoFromModel(opts.model, opts.modelName)), ...(opts.modelSource ? { source: opts.modelSource } : {}) };
  const split = splitByGroup(opts.objective, cfg.valFraction, cfg.seed);
  if (split.train.length === 0) throw new SmftError('no training examples left after the validation split');
  const eff = cfg.batchSize * cfg.gradAccumSteps;
  const stepsPerEpoch = Math.ceil(split.train.length / eff);
  // maxSteps > 0 runs exactly that many updates, over as many epochs as it takes (Hugging Face's max_steps).
  const totalSteps = cfg.maxSteps > 0 ? cfg.maxSteps : cfg.epochs * stepsPerEpoch;
  const schedule: ScheduleConfig = {
    kind: cfg.schedule, totalSteps, minLrRatio: cfg.minLrRatio,
    warmupSteps: cfg.warmupSteps ?? warmupFromRatio(cfg.warmupRatio, totalSteps),
  };
  const runConfig: Record<string, unknown> = {
    lora, train: cfg, task: opts.objective.describe(), split: { train: split.train.length, val: split.val.length },
    base: { configSha256: base.configSha256, weightsFingerprint: base.weightsFingerprint }, info: opts.runInfo ?? {},
  };
  return { lora, cfg, base, split, eff, stepsPerEpoch, totalSteps, schedule, runConfig };
}

type RunState = Omit<TrainerState, 'files' | 'createdAt' | 'format' | 'version'>;

interface OpenedRun {
  adapters: LoraAdapters;
  state: RunState;
  history: StepMetrics[];
  optimizer?: AdamWState;
  /** The checkpoint resumed from. */
  latest?: string;
}

/** Fresh adapters and state, or (resume) the latest checkpoint's, which must match the plan. */
async function openRun(opts: TrainLoraOptions, plan: RunPlan, runDir: string): Promise<OpenedRun> {
  const { cfg, lora, base, runConfig } = plan;
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
    const ck = await loadTrainingCheckpoint(latest, opts.model, { baseInfo: base, expectRank: lora.r, run: { totalSteps: plan.totalSteps, stepsPerEpoch: plan.stepsPerEpoch, train: plan.split.train } });
    const diff = configChanges(ck.state.config, JSON.parse(JSON.stringify(runConfig)));
    if (diff.length) {
      ck.adapters.dispose();
      throw new SmftError(`cannot resume: the run was started with other settings (${diff.slice(0, 4).join('; ')}${diff.length > 4 ? '; …' : ''})`, latest);
    }
    return { adapters: ck.adapters, state: ck.state, history: ck.metrics.filter((m) => m.step <= ck.state.step), optimizer: ck.optimizer, latest };
  }
  const state: RunState = {
    step: 0, totalSteps: plan.totalSteps, epoch: 0, stepInEpoch: 0, order: [],
    rng: { shuffle: new Rng(cfg.seed).state(), dropout: new Rng((cfg.seed ^ 0x9e3779b9) >>> 0).state() },
    best: null, sinceBest: 0, tokens: 0, elapsedSec: 0, done: false, stoppedEarly: false, base, config: JSON.parse(JSON.stringify(runConfig)),
  };
  return { adapters: LoraAdapters.init(opts.model, lora, cfg.seed), state, history: [] };
}

/** Train LoRA adapters (see the module comment). */
export async function trainLora(opts: TrainLoraOptions): Promise<TrainLoraResult> {
  const plan = await planRun(opts);
  const runDir = resolve(opts.out);
  const label = opts.label ?? 'lora';
  const opened = await openRun(opts, plan, runDir);
  const { adapters } = opened;
  if (opened.latest) log.info({ label, runDir, step: opened.state.step, totalSteps: plan.totalSteps }, `${label}: resuming at step ${opened.state.step}/${plan.totalSteps}`);
  let engine: LoraEngine | undefined;
  let stepper: LoraStepper | undefined;
  let ok = false;
  try {
    adapters.attach(opts.model, { frozenGradHooks: true });
    engine = await createLoraEngine({ choice: opts.engine ?? 'auto', device: opts.device ?? 'cpu', model: opts.model, adapters, objective: opts.objective, cfg: plan.cfg, label });
    stepper = new LoraStepper(adapters, opts.objective, plan.cfg, engine);
    if (opened.optimizer) stepper.optimizer.setState(opened.optimizer);
    const run = new TrainingRun(opts, plan, runDir, label, opened, stepper, engine);
    await run.begin();
    await run.loop();
    const result = await run.finish();
    ok = true;
    return result;
  } finally {
    stepper?.dispose();
    await engine?.dispose();
    if (!ok) adapters.dispose();
  }
}

/** The loop's mutable state: the RNGs, the epoch's order, history, and the checkpoints written. */
class TrainingRun {
  private readonly state: RunState;
  private readonly history: StepMetrics[];
  private readonly shuffleRng = new Rng(0);
  private readonly dropRng = new Rng(0);
  private order: Int32Array;
  private initialVal?: Record<string, number>;
  private lastSaved: number;
  private interrupted = false;
  private readonly t0 = performance.now();
  private readonly stepAtStart: number;
  private tokensHere = 0;
  private window = { since: performance.now(), loss: 0, steps: 0, tokens: 0 };

  constructor(
    private readonly opts: TrainLoraOptions,
    private readonly plan: RunPlan,
    private readonly runDir: string,
    private readonly label: string,
    private readonly opened: OpenedRun,
    private readonly stepper: LoraStepper,
    private readonly engine: LoraEngine,
  ) {
    this.state = opened.state;
    this.history = opened.history;
    this.shuffleRng.setState(this.state.rng.shuffle);
    this.dropRng.setState(this.state.rng.dropout);
    this.order = Int32Array.from(this.state.order);
    this.initialVal = this.state.initialVal;
    this.lastSaved = opened.latest ? this.state.step : -1;
    this.stepAtStart = this.state.step;
  }

  private get hasVal(): boolean {
    return this.plan.split.val.length > 0;
  }

  private validate(): Promise<{ loss: number } & Record<string, number>> {
    this.opened.adapters.training = false;
    return this.opts.objective.evaluate(this.plan.split.val, this.plan.cfg.evalBatchSize, this.engine.scorer);
  }

  /** Run-level files (run.json once; metrics.jsonl mirrors the checkpoint on resume), the base model's validation. */
  async begin(): Promise<void> {
    const { plan, label, runDir } = this;
    if (!this.opened.latest) {
      mkdirSync(runDir, { recursive: true });
      markOutput(runDir, 'lora-run');
      writeFileAtomic(join(runDir, 'run.json'), JSON.stringify({ format: 'smft-lora-run', version: 1, base: plan.base, config: plan.runConfig, createdAt: new Date().toISOString() }, null, 2) + '\n');
    }
    writeFileAtomic(join(runDir, METRICS_FILE), this.history.map((m) => JSON.stringify(m)).join('\n') + (this.history.length ? '\n' : ''));
    if (this.hasVal && !this.opened.latest) {
      this.initialVal = await this.validate();
      log.info({ label, ...roundAll(this.initialVal) }, `${label}: validation before training: loss ${fmt(this.initialVal.loss)}`);
    }
    const { lora, cfg, schedule } = plan;
    log.info({
      label, examples: this.opts.objective.size, train: plan.split.train.length, val: plan.split.val.length, loraParams: this.opened.adapters.numParams,
      modules: this.opened.adapters.modules.length, r: lora.r, alpha: lora.alpha, stepsPerEpoch: plan.stepsPerEpoch, totalSteps: plan.totalSteps,
      effectiveBatch: plan.eff, warmupSteps: schedule.warmupSteps, engine: this.engine.name, gradientCheckpointing: cfg.gradientCheckpointing,
    }, `${label}: training ${this.opened.adapters.numParams} LoRA parameters for ${plan.totalSteps} steps on ${this.engine.name}`);
  }

  /** The next update's examples (a new shuffled order at each epoch's start). */
  private nextBatch(): Int32Array {
    const { split, eff } = this.plan;
    if (this.state.stepInEpoch === 0) {
      this.order = Int32Array.from(split.train);
      shuffleInPlace(this.order, this.shuffleRng);
    }
    const s = this.state.stepInEpoch;
    return this.order.subarray(s * eff, Math.min(split.train.length, (s + 1) * eff));
  }

  async loop(): Promise<void> {
    const { state, plan } = this;
    while (!state.done && state.step < plan.totalSteps) {
      const improved = await this.update();
      const stopHere = !state.done && ((this.opts.stopAfterStep !== undefined && state.step >= this.opts.stopAfterStep) || this.opts.signal?.aborted === true);
      if (state.done || improved || stopHere || (plan.cfg.saveEvery > 0 && state.step % plan.cfg.saveEvery === 0)) await this.save(improved);
      if (stopHere) {
        this.interrupted = true;
        log.info({ label: this.label, step: state.step, checkpoint: join(this.runDir, `step-${state.step}`) }, `${this.label}: stopped after step ${state.step}; resume to continue`);
        break;
      }
      await new Promise((r) => setImmediate(r));
    }
    if (state.done && this.lastSaved !== state.step) await this.save(false);
  }

  /** One optimizer update with its metrics line, validation and progress; returns whether validation improved. */
  private async update(): Promise<boolean> {
    const { state, plan } = this;
    const batch = this.nextBatch();
    const ts = performance.now();
    const lr = learningRate(state.step, plan.cfg.lr, plan.schedule);
    const { loss, gradNorm } = await this.stepper.step(batch, lr, () => this.dropRng.int(2147483647));
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
      const good = readPointer(this.runDir, LATEST);
      throw new SmftError(`training diverged at step ${state.step + 1}: loss is ${loss}, gradient norm ${gradNorm}; nothing was applied. `
        + `${good ? `The last good checkpoint (${good}) is unchanged` : 'No checkpoint was written yet'}; lower the learning rate (lr=${plan.cfg.lr}) or check the data`);
    }
    let tokens = 0;
    for (const i of batch) tokens += this.opts.objective.tokens(i);
    const epochOfStep = state.epoch + 1;
    state.step++;
    state.stepInEpoch++;
    let epochEnd = false;
    if (state.stepInEpoch >= plan.stepsPerEpoch) {
      state.epoch++;
      state.stepInEpoch = 0;
      epochEnd = true;
    }
    state.tokens += tokens;
    this.tokensHere += tokens;
    const m: StepMetrics = {
      step: state.step, epoch: epochOfStep, loss, lr, gradNorm, examples: batch.length, tokens,
      tokensPerSec: tokens / Math.max(1e-9, (performance.now() - ts) / 1000), elapsedSec: state.elapsedSec + (performance.now() - this.t0) / 1000,
    };
    const last = state.step >= plan.totalSteps;
    const { evalEvery } = plan.cfg;
    const improved = this.hasVal && ((evalEvery > 0 && state.step % evalEvery === 0) || (evalEvery === 0 && epochEnd) || last) ? await this.validateStep(m) : false;
    if (last || state.stoppedEarly) state.done = true;
    state.elapsedSec = m.elapsedSec;
    this.history.push(m);
    appendFileSync(join(this.runDir, METRICS_FILE), JSON.stringify(m) + '\n');
    this.progress(loss, tokens, lr, gradNorm, epochOfStep);
    return improved;
  }

  /** Validation after an update: metrics into `m`, best step and early stopping; whether it improved. */
  private async validateStep(m: StepMetrics): Promise<boolean> {
    const { state, label } = this;
    const { minDelta, patience } = this.plan.cfg;
    const val = await this.validate();
    for (const [k, v] of Object.entries(val)) m[k === 'loss' ? 'valLoss' : `val${k[0].toUpperCase()}${k.slice(1)}`] = v;
    if (!Number.isFinite(val.loss)) {
      throw new SmftError(`training diverged: validation loss is ${val.loss} at step ${state.step}; the last good checkpoint is unchanged; lower the learning rate`);
    }
    const improved = state.best === null || val.loss < state.best.valLoss - minDelta;
    if (improved) {
      state.best = { step: state.step, valLoss: val.loss };
      state.sinceBest = 0;
    } else {
      state.sinceBest++;
    }
    log.info({ label, step: state.step, ...roundAll(val), best: state.best?.step }, `${label}: step ${state.step} validation loss ${fmt(val.loss)}${improved ? ' (best)' : ''}`);
    if (patience > 0 && state.sinceBest >= patience) {
      state.stoppedEarly = true;
      log.info({ label, step: state.step, bestStep: state.best?.step }, `${label}: early stop (no improvement in ${patience} validations)`);
    }
    return improved;
  }

  /** A progress line every logIntervalMs (and at the end): mean loss, tokens/s, ETA. */
  private progress(loss: number, tokens: number, lr: number, gradNorm: number, epoch: number): void {
    const { state, plan, label } = this;
    const w = this.window;
    w.loss += loss; w.steps++; w.tokens += tokens;
    const now = performance.now();
    if (now - w.since < plan.cfg.logIntervalMs && !state.done) return;
    const rate = w.tokens / Math.max(1e-9, (now - w.since) / 1000);
    const perStep = (now - this.t0) / 1000 / Math.max(1, state.step - this.stepAtStart);
    const eta = perStep * (plan.totalSteps - state.step);
    log.info({
      label, step: state.step, totalSteps: plan.totalSteps, epoch, loss: fmt(w.loss / w.steps), lr: fmt(lr, 3), gradNorm: fmt(gradNorm, 3),
      tokensPerSec: Math.round(rate), etaSec: Math.round(eta),
    }, `${label}: step ${state.step}/${plan.totalSteps} loss ${fmt(w.loss / w.steps)} ${Math.round(rate)} tok/s ETA ${formatDuration(eta)}`);
    this.window = { since: now, loss: 0, steps: 0, tokens: 0 };
  }

  /** Checkpoint the current step (and point `best` at it when it improved); prune old step folders. */
  private async save(best: boolean): Promise<void> {
    const { state, runDir } = this;
    state.rng = { shuffle: this.shuffleRng.state(), dropout: this.dropRng.state() };
    state.order = Array.from(this.order);
    state.initialVal = this.initialVal;
    await saveTrainingCheckpoint(runDir, state, this.opened.adapters, await this.stepper.optimizer.getState(), this.history, { best });
    this.lastSaved = state.step;
    const keep = new Set<string>();
    for (const p of [LATEST, BEST] as const) {
      const d = readPointer(runDir, p);
      if (d) keep.add(resolve(d));
    }
    pruneCheckpoints(runDir, this.plan.cfg.keepLast, keep);
  }

  /** The weights to return (the best validation step's when validating, else the last) and summary.json. */
  async finish(): Promise<TrainLoraResult> {
    const { state, runDir, plan, label, history } = this;
    const { adapters } = this.opened;
    let finalDir = readPointer(runDir, LATEST)!;
    let finalVal: Record<string, number> | undefined;
    if (!this.interrupted && this.hasVal && state.best) {
      const bestDir = readPointer(runDir, BEST);
      if (bestDir && state.best.step !== state.step) adapters.assign(readAdapterFiles(bestDir).tensors);
      if (bestDir) finalDir = bestDir;
      const bestLine = history.find((h) => h.step === state.best!.step);
      if (bestLine) finalVal = Object.fromEntries(Object.entries(bestLine).filter(([k]) => k.startsWith('val')).map(([k, v]) => [k, v as number]));
    }
    const seconds = (performance.now() - this.t0) / 1000;
    const result: TrainLoraResult = {
      runDir, adapters, steps: state.step, totalSteps: plan.totalSteps, bestStep: state.best?.step ?? null, bestValLoss: state.best?.valLoss ?? null,
      initialVal: this.initialVal, finalVal, stoppedEarly: state.stoppedEarly, interrupted: this.interrupted, finalDir, history, seconds,
      tokensPerSec: this.tokensHere / Math.max(1e-9, seconds), split: { train: plan.split.train.length, val: plan.split.val.length }, base: plan.base,
      engine: this.engine.name,
    };
    if (!this.interrupted) {
      writeFileAtomic(join(runDir, 'summary.json'), JSON.stringify({
        steps: result.steps, totalSteps: plan.totalSteps, bestStep: result.bestStep, bestValLoss: result.bestValLoss, initialVal: this.initialVal, finalVal,
        stoppedEarly: result.stoppedEarly, finalDir, seconds: Number(seconds.toFixed(2)), tokensPerSec: Math.round(result.tokensPerSec), engine: result.engine,
      }, null, 2) + '\n');
      log.info({ label, steps: state.step, bestStep: result.bestStep, bestValLoss: fmt(result.bestValLoss ?? undefined), seconds: Number(seconds.toFixed(1)) }, `${label}: training done`);
    }
    return result;
  }
}

const fmt = (x: number | undefined, d = 4): number | undefined => (x === undefined || !Number.isFinite(x) ? x : Number(x.toPrecision(d)));

function roundAll(o: Record<string, number>): Record<string, number | undefined> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, fmt(v)]));
}
