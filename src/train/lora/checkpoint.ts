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
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, isAdapterDir, loadAdapter, writeAdapterFiles } from './peft.js';
import type { BaseModelInfo } from './base.js';

export const TRAINER_STATE = 'trainer_state.json';
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
  if (s?.format !== 'smft-lora-train' || s.version !== 1) throw new SmftError(`not an smft LoRA training state (format ${JSON.stringify(s?.format)}, version ${s?.version})`, p);
  const ints = ['step', 'totalSteps', 'epoch', 'stepInEpoch', 'sinceBest'] as const;
  for (const k of ints) if (!Number.isInteger(s[k]) || s[k] < 0) throw new SmftError(`corrupt checkpoint: ${k}=${JSON.stringify(s[k])}`, p);
  if (!Array.isArray(s.order) || !s.rng || !Array.isArray(s.rng.shuffle) || s.rng.shuffle.length !== 4 || !Array.isArray(s.rng.dropout) || s.rng.dropout.length !== 4) {
    throw new SmftError('corrupt checkpoint: data order or RNG state missing', p);
  }
  if (!s.files || typeof s.files !== 'object') throw new SmftError('corrupt checkpoint: file checksums missing', p);
  return s;
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
export async function loadTrainingCheckpoint(dir: string, model: CausalLM, opts: { baseInfo: BaseModelInfo; expectRank: number }): Promise<LoadedTrainingCheckpoint> {
  const state = readTrainerState(dir);
  for (const [f, hash] of Object.entries(state.files)) {
    const p = join(dir, f);
    if (!existsSync(p)) throw new SmftError(`incomplete checkpoint: ${f} is missing`, dir);
    if (sha256(readFileSync(p)) !== hash) throw new SmftError(`corrupt checkpoint: ${f} does not match its checksum in ${TRAINER_STATE}`, dir);
  }
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
