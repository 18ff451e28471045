/**
 * Use a trained adapter with a loaded model: the function behind `smft rate --checkpoint PATH`
 * (and evaluating a series of checkpoints). After applyCheckpoint the model rates, embeds and
 * forwards as the fine-tuned model through the usual src/lm functions.
 */
import { SmftError } from '../../util/errors.js';
import { log } from '../../util/log.js';
import type { CausalLM } from '../../lm/model.js';
import type { LoraAdapters } from './adapter.js';
import { listCheckpoints, resolveCheckpointDir } from './checkpoint.js';
import { loadAdapter } from './peft.js';

export interface ApplyCheckpointOptions {
  /** Name of the base model, for messages. */
  modelName?: string;
  /**
   * 'attach' (default): adapters run as hooks, removable with detach()/dispose().
   * 'merge': baked into the model's kernels (rating at base speed; the model stays modified).
   */
  mode?: 'attach' | 'merge';
  /** Refuse adapters recorded for another base model (default true). */
  checkBase?: boolean;
}

export interface AppliedCheckpoint {
  /** The adapter folder used (a step folder of a run, or an adapter folder). */
  dir: string;
  /** Attached adapters (mode 'attach'); dispose() detaches them. Undefined after a merge. */
  adapters?: LoraAdapters;
}

/**
 * Load the adapter at `path` (adapter folder, step folder, or run folder: its best, else
 * latest, checkpoint), check it belongs to `model`, and attach or merge it.
 */
export async function applyCheckpoint(model: CausalLM, path: string, opts: ApplyCheckpointOptions = {}): Promise<AppliedCheckpoint> {
  const dir = resolveCheckpointDir(path);
  const { adapters, files } = await loadAdapter(dir, model, { modelName: opts.modelName, checkBase: opts.checkBase });
  log.info({ checkpoint: dir, r: files.config.r, alpha: files.config.alpha, modules: adapters.modules.length, mode: opts.mode ?? 'attach' }, 'LoRA checkpoint applied');
  if (opts.mode === 'merge') {
    adapters.mergeInto(model);
    adapters.dispose();
    return { dir };
  }
  adapters.attach(model);
  return { dir, adapters };
}

/** The step folders of a run, oldest first, for an alignment trajectory (RSA per step). */
export function runCheckpoints(runDir: string): { step: number; dir: string }[] {
  const list = listCheckpoints(runDir);
  if (!list.length) throw new SmftError('no step-* checkpoints in this folder', runDir);
  return list;
}
