/**
 * The LoRA trainer's settings (optimizer, schedule, batching, validation, checkpoints), their
 * defaults and validation, and which of them a resumed run may change.
 */
import { SmftError } from '../../util/errors.js';
import { ADAMW_DEFAULTS } from '../adamw.js';
import type { OptimizerSettings } from '../settings.js';

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
   * recompute the layer in the backward pass (TF.js: CausalLM ForwardOptions.checkpoint; ONNX
   * Runtime: the layer's backward graph recomputes its forward). The same gradients for one
   * more forward pass, with the activations of one layer held instead of all. 'auto'
   * (default): on for TF.js (a full-size 0.5B model fits the wasm backend's 4 GiB only with
   * it), and for ONNX Runtime only when the activations of all layers would take more than a
   * quarter of the machine's memory. The trained weights do not depend on it, so a run may be
   * resumed with another setting.
   */
  gradientCheckpointing: boolean | 'auto';
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
  schedule: 'cosine', warmupRatio: 0.03, warmupSteps: null, minLrRatio: 0, maxGradNorm: 1, gradientCheckpointing: 'auto',
  valFraction: 0.1, evalEvery: 0, evalBatchSize: 16, patience: 3, minDelta: 1e-4,
  saveEvery: 100, keepLast: 3, seed: 42, logIntervalMs: 5000,
};

/** Settings that do not change the trained weights (may differ on resume). */
export const COSMETIC = new Set(['logIntervalMs', 'keepLast', 'saveEvery', 'gradientCheckpointing']);

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
  if (typeof c.gradientCheckpointing !== 'boolean' && c.gradientCheckpointing !== 'auto') bad(`gradientCheckpointing=${String(c.gradientCheckpointing)} (true, false or "auto")`);
  if (!(c.valFraction >= 0 && c.valFraction < 1)) bad(`valFraction=${c.valFraction}`);
  if (!(c.minDelta >= 0)) bad(`minDelta=${c.minDelta}`);
  if (!['cosine', 'linear', 'constant'].includes(c.schedule)) bad(`schedule=${c.schedule} (cosine, linear or constant)`);
  return c;
}

/** The settings that differ between two run configs, ignoring cosmetic ones ("path: a → b"). */
export function configChanges(a: unknown, b: unknown, path = ''): string[] {
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) => (COSMETIC.has(k) ? [] : configChanges((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k)));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [`${path}: ${JSON.stringify(a)} → ${JSON.stringify(b)}`];
}
