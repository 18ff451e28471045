/**
 * Training checkpoints of a LoRA run:
 *
 *   <run>/step-<k>/adapter_config.json        PEFT adapter (loadable by Python's peft as is)
 *                 adapter_model.safetensors
 *                 optimizer.safetensors       AdamW moments (<tensor>.exp_avg / .exp_avg_sq), step
 *                 trainer_state.json          step, epoch, data order and position, RNG states,
 *                                             early-stopping state, base model, run config,
 *                                             sha256 of the two weight files
 *                 metrics.jsonl               every step's metrics up to k
 *   <run>/latest                              "step-<k>": the newest complete checkpoint
 *   <run>/best                                "step-<k>": best validation loss (with validation)
 *
 * A step folder is written into a temp folder and renamed into place (writeDirAtomic), and the
 * pointers are replaced atomically after it, so a kill at any moment leaves `latest` naming a
 * complete checkpoint. Loading verifies everything and fails with one SmftError.
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, basename, resolve } from 'node:path';
import { SmftError } from '../../util/errors.js';
import { log } from '../../util/log.js';
import { sha256 } from '../../util/hash.js';
import { writeDirAtomic, writeFileAtomic } from '../../util/atomic.js';
import { readSafetensors, writeSafetensors, type F32Tensor } from '../../lm/safetensors.js';
import type { CausalLM } from '../../lm/model.js';
import type { AdamWState } from '../adamw.js';
import type { LoraAdapters } from './adapter.js';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, TRAINER_STATE, isAdapterDir, loadAdapter, recordedChecksums, verifyChecksums, writeAdapterFiles } from './peft.js';
import type { BaseModelInfo } from './base.js';

export { TRAINER_STATE };
export const OPTIMIZER_WEIGHTS = 'optimizer.safetensors';
export const METRICS_FILE = 'metrics.jsonl';
export const LATEST = 'latest';
export const BEST = 'best';
const STEP_RE = /^step-(\d+)$/;

/** One line of metrics.jsonl. */
export interface StepMetrics {
  step: number;
  epoch: number;
  /** Mean training loss of this step's examples. */
  loss: number;
  lr: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  examples: number;
  /** Prompt tokens of this step (without padding). */
  tokens: number;
  tokensPerSec: number;
  elapsedSec: number;
  /** Validation metrics when the step ran an evaluation (valLoss, and task metrics). */
  [extra: string]: number | undefined;
}

export interface TrainerState {
  format: 'smft-lora-train';
  version: 1;
  /** Optimizer updates done. */
  step: number;
  totalSteps: number;
  /** 0-based epoch of the next update, and updates already done in it. */
  epoch: number;
  stepInEpoch: number;
  /** The current epoch's order of training examples (indices into the objective). */
  order: number[];
  rng: { shuffle: number[]; dropout: number[] };
  best: { step: number; valLoss: number } | null;
  /** Evaluations since the best one (early stopping). */
  sinceBest: number;
  tokens: number;
  elapsedSec: number;
  /** Validation metrics of the base model (before the first update). */
  initialVal?: Record<string, number>;
  done: boolean;
  stoppedEarly: boolean;
  base: BaseModelInfo;
  /** The run's configuration (LoRA, training, task); a resume must match it. */
  config: Record<string, unknown>;
  /** sha256 of the weight files of this checkpoint. */
  files: Record<string, string>;
  createdAt: string;
}

export function stepDirName(step: number): string {
  return `step-${step}`;
}

/** Write `<run>/step-<k>/` atomically, then point `latest` (and `best` when asked) at it. */
export async function saveTrainingCheckpoint(
  runDir: string,
  state: Omit<TrainerState, 'files' | 'createdAt' | 'format' | 'version'>,
  adapters: LoraAdapters,
  optimizer: AdamWState,
  metrics: readonly StepMetrics[],
  opts: { best?: boolean } = {},
): Promise<string> {
  const name = stepDirName(state.step);
  const dir = join(runDir, name);
  // Host copies first (asynchronous reads: webgpu in Node has no synchronous ones); the files are then written from them.
  const weights = await adapters.toTensors();
  await writeDirAtomic(dir, (tmp) => {
    writeAdapterFiles(tmp, adapters.config, weights, state.base);
    const shapes = new Map(adapters.optimParams().map((p) => [p.name, [...p.variable.shape]]));
    const tensors: Record<string, F32Tensor> = {};
    for (const [k, shape] of shapes) {
      const m = optimizer.m[k];
      const v = optimizer.v[k];
      if (!m || !v) throw new Error(`optimizer state lacks ${k}`);
      tensors[`${k}.exp_avg`] = { shape, data: m };
      tensors[`${k}.exp_avg_sq`] = { shape, data: v };
    }
    writeSafetensors(join(tmp, OPTIMIZER_WEIGHTS), tensors, { format: 'smft-adamw', step: String(optimizer.step) });
    writeFileSync(join(tmp, METRICS_FILE), metrics.map((m) => JSON.stringify(m)).join('\n') + (metrics.length ? '\n' : ''));
    const files: Record<string, string> = {};
    for (const f of [ADAPTER_WEIGHTS, OPTIMIZER_WEIGHTS, ADAPTER_CONFIG]) files[f] = sha256(readFileSync(join(tmp, f)));
    const full: TrainerState = { format: 'smft-lora-train', version: 1, ...state, files, createdAt: new Date().toISOString() };
    writeFileSync(join(tmp, TRAINER_STATE), JSON.stringify(full) + '\n');
  }, { kind: 'checkpoint-step' });
  writeFileAtomic(join(runDir, LATEST), name + '\n');
  if (opts.best) writeFileAtomic(join(runDir, BEST), name + '\n');
  return dir;
}

/** The folder a pointer file (`latest` / `best`) names, if it exists. */
export function readPointer(runDir: string, pointer: typeof LATEST | typeof BEST): string | undefined {
  const p = join(runDir, pointer);
  if (!existsSync(p)) return undefined;
  const name = readFileSync(p, 'utf8').trim();
  if (!STEP_RE.test(name)) throw new SmftError(`corrupt checkpoint pointer: '${pointer}' contains ${JSON.stringify(name.slice(0, 40))}`, p);
  const dir = join(runDir, name);
  if (!existsSync(dir)) throw new SmftError(`checkpoint pointer '${pointer}' names ${name}, which does not exist`, runDir);
  return dir;
}

/** Step folders of a run, oldest first. */
export function listCheckpoints(runDir: string): { step: number; dir: string }[] {
  if (!existsSync(runDir)) return [];
  return readdirSync(runDir)
    .map((n) => ({ n, m: STEP_RE.exec(n) }))
    .filter((x) => x.m && statSync(join(runDir, x.n)).isDirectory())
    .map((x) => ({ step: Number(x.m![1]), dir: join(runDir, x.n) }))
    .sort((a, b) => a.step - b.step);
}

/** Does `runDir` hold anything of a run (checkpoints or metrics)? */
export function hasRun(runDir: string): boolean {
  return existsSync(join(runDir, LATEST)) || listCheckpoints(runDir).length > 0;
}

/** Delete step folders beyond the newest `keepLast`, never those in `keep` (best, latest). */
export function pruneCheckpoints(runDir: string, keepLast: number, keep: ReadonlySet<string>): void {
  if (!(keepLast > 0)) return;
  const all = listCheckpoints(runDir);
  const drop = all.slice(0, Math.max(0, all.length - keepLast)).filter((c) => !keep.has(resolve(c.dir)));
  for (const c of drop) rmSync(c.dir, { recursive: true, force: true });
  // Temp folders of interrupted writes.
  for (const n of readdirSync(runDir)) if (/^\.step-\d+\.tmp-/.test(n)) rmSync(join(runDir, n), { recursive: true, force: true });
}

/**
 * The adapter folder to use for a path given by the user: an adapter folder itself, or a run
 * folder (its `best` checkpoint when it has one, else `latest`, else its newest step).
 */
export function resolveCheckpointDir(path: string): string {
  if (!existsSync(path)) throw new SmftError('no such checkpoint or run folder', path);
  if (isAdapterDir(path)) return path;
  const dir = readPointer(path, BEST) ?? readPointer(path, LATEST) ?? listCheckpoints(path).at(-1)?.dir;
  if (!dir) throw new SmftError(`not a LoRA checkpoint or run folder (no ${ADAPTER_CONFIG}, no ${LATEST} pointer, no step-* folders)`, path);
  if (!isAdapterDir(dir)) throw new SmftError(`incomplete checkpoint (no ${ADAPTER_CONFIG} / ${ADAPTER_WEIGHTS})`, dir);
  return dir;
}

export function readTrainerState(dir: string): TrainerState {
  const p = join(dir, TRAINER_STATE);
  if (!existsSync(p)) throw new SmftError(`not a training checkpoint (no ${TRAINER_STATE}); a bare adapter cannot be resumed`, dir);
  let s: TrainerState;
  try {
    s = JSON.parse(readFileSync(p, 'utf8')) as TrainerState;
  } catch (e) {
    throw new SmftError(`corrupt checkpoint: ${TRAINER_STATE} is not valid JSON (${(e as Error).message.split('\n')[0]})`, p);
  }
  if (typeof s !== 'object' || s === null || Array.isArray(s)) throw new SmftError(`corrupt checkpoint: ${TRAINER_STATE} is not a JSON object`, p);
  if (s.format !== 'smft-lora-train' || s.version !== 1) throw new SmftError(`not an smft LoRA training state (format ${JSON.stringify(s.format)}, version ${s.version})`, p);
  const bad = (what: string): never => { throw new SmftError(`corrupt checkpoint: ${what}`, p); };
  const show = (v: unknown): string => JSON.stringify(v)?.slice(0, 40) ?? String(v);
  const ints = ['step', 'totalSteps', 'epoch', 'stepInEpoch', 'sinceBest', 'tokens'] as const;
  for (const k of ints) if (!Number.isSafeInteger(s[k]) || s[k] < 0) bad(`${k}=${show(s[k])}`);
  if (s.totalSteps < 1) bad(`totalSteps=${s.totalSteps}`);
  if (s.step > s.totalSteps) bad(`step ${s.step} is past the end of the run (totalSteps ${s.totalSteps})`);
  if (typeof s.elapsedSec !== 'number' || !(s.elapsedSec >= 0) || !Number.isFinite(s.elapsedSec)) bad(`elapsedSec=${show(s.elapsedSec)}`);
  for (const k of ['done', 'stoppedEarly'] as const) if (typeof s[k] !== 'boolean') bad(`${k}=${show(s[k])}`);
  if (!Array.isArray(s.order) || !s.order.every((i) => Number.isSafeInteger(i) && i >= 0)) bad('data order is not a list of example indices');
  const u32 = (a: unknown): boolean => Array.isArray(a) && a.length === 4 && a.every((x) => Number.isInteger(x) && x >= 0 && x <= 0xffffffff);
  if (!s.rng || typeof s.rng !== 'object' || !u32(s.rng.shuffle) || !u32(s.rng.dropout)) bad('data order or RNG state missing');
  if (s.best !== null && (typeof s.best !== 'object' || !Number.isSafeInteger(s.best.step) || s.best.step < 1 || s.best.step > s.step || typeof s.best.valLoss !== 'number' || !Number.isFinite(s.best.valLoss))) {
    bad(`best=${show(s.best)}`);
  }
  if (s.initialVal !== undefined && (typeof s.initialVal !== 'object' || s.initialVal === null || !Object.values(s.initialVal).every((v) => typeof v === 'number'))) bad('initialVal is not a set of numbers');
  if (!s.config || typeof s.config !== 'object' || Array.isArray(s.config)) bad('run configuration missing');
  if (!s.base || typeof s.base !== 'object' || typeof s.base.configSha256 !== 'string' || typeof s.base.weightsFingerprint !== 'string') bad('base model identity missing');
  recordedChecksums(dir);
  return s;
}

/** What a resumed run expects of its checkpoint (from the run's data and settings). */
export interface RunShape {
  totalSteps: number;
  stepsPerEpoch: number;
  /** Indices of the training examples (the order must be a permutation of them mid-epoch). */
  train: ArrayLike<number>;
}

/** Refuse a trainer_state that does not fit the run being resumed (one SmftError naming the field). */
export function checkStateFitsRun(s: TrainerState, run: RunShape, dir: string): void {
  const p = join(dir, TRAINER_STATE);
  const bad = (what: string): never => { throw new SmftError(`checkpoint does not fit this run: ${what}`, p); };
  if (s.totalSteps !== run.totalSteps) bad(`it was saved for ${s.totalSteps} steps, the run has ${run.totalSteps}`);
  if (s.step > run.totalSteps) bad(`step ${s.step} is past the end of the run (${run.totalSteps} steps)`);
  if (s.stepInEpoch >= run.stepsPerEpoch) bad(`stepInEpoch ${s.stepInEpoch} is not below the ${run.stepsPerEpoch} steps of an epoch`);
  const train = new Set(Array.from(run.train));
  if (s.stepInEpoch > 0) {
    if (s.order.length !== train.size) bad(`the data order lists ${s.order.length} examples, the run trains on ${train.size}`);
    const seen = new Set<number>();
    for (const i of s.order) {
      if (!train.has(i)) bad(`the data order has example index ${i}, which is not a training example of this run`);
      if (seen.has(i)) bad(`the data order lists example ${i} twice`);
      seen.add(i);
    }
  } else if (s.order.some((i) => !train.has(i))) {
    bad('the data order has indices outside the training examples of this run');
  }
}

export interface LoadedTrainingCheckpoint {
  dir: string;
  state: TrainerState;
  adapters: LoraAdapters;
  optimizer: AdamWState;
  metrics: StepMetrics[];
}

/**
 * Load a step folder to resume: checksums of the weight files, PEFT adapter (base model
 * identity and rank), optimizer moments. One SmftError for anything wrong.
 */
export async function loadTrainingCheckpoint(dir: string, model: CausalLM, opts: { baseInfo: BaseModelInfo; expectRank: number; run?: RunShape }): Promise<LoadedTrainingCheckpoint> {
  const state = readTrainerState(dir);
  if (opts.run) checkStateFitsRun(state, opts.run, dir);
  const files = recordedChecksums(dir)!;
  if (!(OPTIMIZER_WEIGHTS in files)) throw new SmftError(`corrupt checkpoint: no checksum recorded for ${OPTIMIZER_WEIGHTS}`, join(dir, TRAINER_STATE));
  verifyChecksums(dir, files);
  const { adapters } = await loadAdapter(dir, model, { baseInfo: opts.baseInfo, expectRank: opts.expectRank });
  try {
    let opt: ReturnType<typeof readSafetensors>;
    try {
      opt = readSafetensors(join(dir, OPTIMIZER_WEIGHTS));
    } catch (e) {
      throw new SmftError(`corrupt checkpoint: ${(e as Error).message}`, dir);
    }
    const m: Record<string, Float32Array> = {};
    const v: Record<string, Float32Array> = {};
    for (const p of adapters.optimParams()) {
      const a = opt.tensors.get(`${p.name}.exp_avg`);
      const b = opt.tensors.get(`${p.name}.exp_avg_sq`);
      if (!a || !b || a.data.length !== p.variable.size || b.data.length !== p.variable.size) {
        throw new SmftError(`corrupt checkpoint: optimizer state for ${p.name} is missing or has the wrong size`, dir);
      }
      m[p.name] = a.data;
      v[p.name] = b.data;
    }
    const step = Number(opt.metadata.step);
    if (!Number.isInteger(step) || step < 0) throw new SmftError('corrupt checkpoint: optimizer step missing', dir);
    let metrics: StepMetrics[] = [];
    const mp = join(dir, METRICS_FILE);
    if (existsSync(mp)) {
      try {
        metrics = readFileSync(mp, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as StepMetrics);
      } catch (e) {
        throw new SmftError(`corrupt checkpoint: ${METRICS_FILE} (${(e as Error).message})`, dir);
      }
    }
    log.info({ checkpoint: basename(dir), step: state.step, epoch: state.epoch }, 'checkpoint loaded');
    return { dir, state, adapters, optimizer: { step, m, v }, metrics };
  } catch (e) {
    adapters.dispose();
    throw e;
  }
}
