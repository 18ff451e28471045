/**
 * The model to rate or embed with: a base model, optionally with a LoRA checkpoint, on TF.js
 * (adapter attached as hooks) or on ONNX Runtime (adapter merged into copies of the kernels;
 * the TF.js model is left as it was, so the same loaded model can train or be adapted again).
 */
import { log } from '../../util/log.js';
import type { CausalLM } from '../../lm/model.js';
import type { LmEngine } from '../../lm/engine.js';
import type { OnnxDevice } from '../../lm/runtime-choice.js';
import { OnnxCausalLM } from '../../lm/onnx/session.js';
import { applyCheckpoint } from './apply.js';
import { resolveCheckpointDir } from './checkpoint.js';
import { loadAdapter } from './peft.js';
import type { LoraAdapters } from './adapter.js';

export interface InferenceModel {
  engine: CausalLM | LmEngine;
  /** The adapter folder used, if any. */
  dir?: string;
  /** Detach the adapter / free the ONNX Runtime sessions. */
  release(): Promise<void>;
}

/**
 * `checkpoint`: an adapter, step or run folder to load; or `adapters`: LoRA adapters already in
 * memory (detached; release() detaches them again and leaves them to the caller).
 */
export async function inferenceModel(
  model: CausalLM, opts: { onnx: OnnxDevice | false; checkpoint?: string; adapters?: LoraAdapters; modelName?: string },
): Promise<InferenceModel> {
  const { adapters } = opts;
  if (!opts.onnx && adapters) {
    adapters.attach(model);
    return { engine: model, release: async () => adapters.detach() };
  }
  if (!opts.onnx) {
    const applied = opts.checkpoint ? await applyCheckpoint(model, opts.checkpoint, { modelName: opts.modelName }) : undefined;
    return { engine: model, dir: applied?.dir, release: async () => applied?.adapters?.dispose() };
  }
  let replace: Map<string, Float32Array> | undefined;
  let dir: string | undefined;
  if (adapters) {
    replace = adapters.mergedKernels(model);
  } else if (opts.checkpoint) {
    dir = resolveCheckpointDir(opts.checkpoint);
    const { adapters, files } = await loadAdapter(dir, model, { modelName: opts.modelName });
    try {
      replace = adapters.mergedKernels(model);
    } finally {
      adapters.dispose();
    }
    log.info({ checkpoint: dir, r: files.config.r, modules: replace.size }, 'LoRA checkpoint merged for ONNX Runtime');
  }
  const engine = await OnnxCausalLM.fromModel(model, { replace, device: opts.onnx });
  return { engine, dir, release: () => engine.dispose() };
}
