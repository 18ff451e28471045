/**
 * Learning-rate schedules, as multipliers of the base rate per optimizer step. The formulas are
 * those of Hugging Face transformers' get_cosine_schedule_with_warmup /
 * get_linear_schedule_with_warmup / get_constant_schedule_with_warmup, so runs compare with
 * PyTorch recipes step for step: `step` counts updates already applied (0 for the first update),
 * warm-up is linear from 0 (the first update of a warm-up uses lr 0, as there), then the decay
 * runs to `minLrRatio` × base at `totalSteps`.
 */
export type ScheduleKind = 'cosine' | 'linear' | 'constant';

export interface ScheduleConfig {
  kind: ScheduleKind;
  warmupSteps: number;
  totalSteps: number;
  /** Floor of the decay as a fraction of the base rate (0 = HF's behaviour). */
  minLrRatio?: number;
}

/** Multiplier in [0, 1] for the update with index `step` (0-based). */
export function lrMultiplier(step: number, s: ScheduleConfig): number {
  const warm = Math.max(0, Math.floor(s.warmupSteps));
  if (step < warm) return step / Math.max(1, warm);
  if (s.kind === 'constant') return 1;
  const minR = s.minLrRatio ?? 0;
  const progress = Math.min(1, (step - warm) / Math.max(1, s.totalSteps - warm));
  const decay = s.kind === 'cosine' ? 0.5 * (1 + Math.cos(Math.PI * progress)) : 1 - progress;
  return minR + (1 - minR) * Math.max(0, decay);
}

/** Learning rate for the update with index `step`. */
export function learningRate(step: number, baseLr: number, s: ScheduleConfig): number {
  return baseLr * lrMultiplier(step, s);
}

/** Warm-up steps from a ratio of the total (HF's warmup_ratio: ceil(ratio · total)). */
export function warmupFromRatio(ratio: number, totalSteps: number): number {
  return Math.ceil(Math.max(0, ratio) * totalSteps);
}
