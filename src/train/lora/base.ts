/**
 * Identity of the base model an adapter belongs to: a hash of the architecture (config) and a
 * fingerprint of a few weights (the first values of the token embeddings, of layer 0's q_proj
 * and of the last layer's down_proj, float32). Two models with the same shapes but different
 * weights (another fine-tune, another seed) get different fingerprints. Computed the same way
 * from a loaded CausalLM and from a model folder's safetensors.
 */
import * as tf from '@tensorflow/tfjs';
import { SmftError } from '../../util/errors.js';
import { sha256 } from '../../util/hash.js';
import type { LmConfig } from '../../lm/config.js';
import type { CausalLM } from '../../lm/model.js';

export interface BaseModelInfo {
  /** Hub id or folder name, as given when loading. */
  name: string;
  /** Where to load it from (hub id or absolute folder): adapter_config.json base_model_name_or_path. */
  source?: string;
  architecture: string;
  /** sha256 of the architecture fields of config.json that shape the computation. */
  configSha256: string;
  /** sha256 over a few weight rows. */
  weightsFingerprint: string;
}

const FP_VALUES = 1024;

export function configHash(cfg: LmConfig): string {
  const keyed = {
    modelType: cfg.modelType, vocabSize: cfg.vocabSize, hiddenSize: cfg.hiddenSize, intermediateSize: cfg.intermediateSize,
    numLayers: cfg.numLayers, numHeads: cfg.numHeads, numKvHeads: cfg.numKvHeads, headDim: cfg.headDim,
    rmsNormEps: cfg.rmsNormEps, ropeTheta: cfg.ropeTheta, ropeScaling: cfg.ropeScaling, tieWordEmbeddings: cfg.tieWordEmbeddings,
    qkvBias: cfg.qkvBias, oBias: cfg.oBias, mlpBias: cfg.mlpBias,
  };
  return sha256(JSON.stringify(keyed));
}

function fingerprintNames(cfg: LmConfig): string[] {
  return ['model.layers.0.self_attn.q_proj.weight', `model.layers.${cfg.numLayers - 1}.mlp.down_proj.weight`];
}

function digest(cfg: LmConfig, parts: Float32Array[]): string {
  const bytes: Uint8Array[] = [Buffer.from(configHash(cfg))];
  for (const p of parts) bytes.push(new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
  return sha256(Buffer.concat(bytes));
}

/** The weight columns of the fingerprint ([≤ FP_VALUES, 1] slices of kernels), as new tensors. */
function fingerprintColumns(model: CausalLM): tf.Tensor[] {
  return fingerprintNames(model.config).map((n) => {
    // HF row 0 of W [out, in] is column 0 of the kernel [in, out].
    const k = model.params.get(n);
    if (!k) throw new Error(`missing parameter ${n}`);
    return tf.tidy(() => tf.slice(k, [0, 0], [Math.min(k.shape[0], FP_VALUES), 1]));
  });
}

function infoFrom(model: CausalLM, name: string, cols: ArrayLike<number>[]): BaseModelInfo {
  const cfg = model.config;
  const parts = [model.embedTokens.slice(0, FP_VALUES), ...cols.map((c) => Float32Array.from(c))];
  return { name, architecture: cfg.architecture, configSha256: configHash(cfg), weightsFingerprint: digest(cfg, parts) };
}

/**
 * Identity of a loaded model. The weights are read asynchronously (a backend such as webgpu in
 * Node cannot read synchronously).
 */
export async function baseInfoFromModel(model: CausalLM, name: string): Promise<BaseModelInfo> {
  const cols = fingerprintColumns(model);
  try {
    return infoFrom(model, name, await Promise.all(cols.map((c) => c.data<'float32'>())));
  } finally {
    tf.dispose(cols);
  }
}

/** Identity from HF-layout tensors (`read` returns [out, in] row-major data), e.g. a WeightSource. */
export function baseInfoFromTensors(cfg: LmConfig, name: string, read: (tensor: string) => Float32Array): BaseModelInfo {
  const parts = [read('model.embed_tokens.weight').slice(0, FP_VALUES)];
  for (const n of fingerprintNames(cfg)) {
    const inF = n.includes('down_proj') ? cfg.intermediateSize : cfg.hiddenSize;
    parts.push(read(n).slice(0, Math.min(inF, FP_VALUES)));
  }
  return { name, architecture: cfg.architecture, configSha256: configHash(cfg), weightsFingerprint: digest(cfg, parts) };
}

/**
 * Refuse an adapter made for another base model. `saved` may be partial (adapters from Python's
 * peft carry no fingerprint; then only shapes are checked, by the caller).
 */
export function checkBase(saved: Partial<BaseModelInfo> | undefined, actual: BaseModelInfo, where: string): void {
  if (!saved) return;
  const savedName = saved.name ?? '?';
  if (saved.configSha256 && saved.configSha256 !== actual.configSha256) {
    throw new SmftError(`adapter was trained on another base model: '${savedName}' (${saved.architecture ?? '?'}), `
      + `but the model given is '${actual.name}' (${actual.architecture}) with a different architecture/config`, where);
  }
  if (saved.weightsFingerprint && saved.weightsFingerprint !== actual.weightsFingerprint) {
    throw new SmftError(`adapter was trained on another base model: '${savedName}' has the same architecture as '${actual.name}' but different weights`, where);
  }
}
