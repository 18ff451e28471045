import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { SmftError } from '../util/errors.js';
import { log } from '../util/log.js';
import { initBackend, type BackendName } from './backend.js';
import { readConfig, expectedTensors, type LmConfig } from './config.js';
import { resolveModelDir, type ResolveOptions } from './hub.js';
import { CausalLM } from './model.js';
import { LmTokenizer } from './tokenizer.js';
import { loadParams, HOST_TENSORS } from './weights.js';

export interface LoadOptions extends ResolveOptions {
  /** Compute dtype; TF.js runs float32 only (bf16/f16 checkpoints are converted on load). */
  dtype?: 'float32';
  /** Initialise this TF.js backend first (default: keep the current one). */
  backend?: BackendName;
  /** Load the tokenizer too (default true). */
  tokenizer?: boolean;
}

export interface LoadedModel {
  model: CausalLM;
  /** Undefined only with `tokenizer: false`. */
  tokenizer: LmTokenizer;
  config: LmConfig;
  /** The model folder. */
  dir: string;
  /** A short name for output files: the hub id or the folder name. */
  name: string;
}

/** Parameters of the linear layers, norms and biases (what lives in the backend's memory). */
export function deviceParams(cfg: LmConfig): number {
  let n = 0;
  for (const [name, shape] of expectedTensors(cfg)) if (!HOST_TENSORS.has(name)) n += shape.reduce((a, d) => a * d, 1);
  return n;
}

/**
 * The wasm backend has one 4 GB heap, and XNNPACK keeps a packed copy of every matmul weight
 * next to the tensor: refuse models that cannot fit before reading gigabytes.
 */
export function checkFits(cfg: LmConfig, backend: string): void {
  if (backend !== 'wasm') return;
  const bytes = deviceParams(cfg) * 4 * 2;
  const limit = 3.6 * 2 ** 30;
  if (bytes > limit) {
    throw new SmftError(
      `model too large for the wasm backend: its ${(deviceParams(cfg) / 1e6).toFixed(0)}M layer parameters need ` +
      `${(bytes / 2 ** 30).toFixed(1)} GB in float32 (weights + XNNPACK packed copies) of wasm's 4 GB heap; ` +
      'use a smaller model or another backend (--backend cpu, webgpu or tensorflow)',
    );
  }
}

/** Load a Hugging Face causal LM folder (or hub id) into TF.js. */
export async function loadModel(pathOrHubId: string, opts: LoadOptions = {}): Promise<LoadedModel> {
  if (opts.dtype !== undefined && opts.dtype !== 'float32') {
    throw new SmftError(`dtype '${String(opts.dtype)}' is not supported: TF.js computes in float32 (checkpoints in bf16/f16 are converted)`);
  }
  if (opts.backend) await initBackend(opts.backend);
  const t0 = Date.now();
  const dir = await resolveModelDir(pathOrHubId, opts);
  const config = readConfig(dir);
  const tokenizer = opts.tokenizer === false ? (undefined as unknown as LmTokenizer) : await LmTokenizer.load(dir);
  checkFits(config, tf.getBackend());
  const { params, embed, lmHead } = loadParams(config, dir);
  const model = new CausalLM(config, params, { embed, lmHead });
  const nParams = [...params.values()].reduce((a, t) => a + t.size, 0) + embed.length + (lmHead?.length ?? 0);
  const name = existsSync(pathOrHubId) ? basename(dir) : pathOrHubId;
  log.info({ model: name, arch: config.architecture, params: nParams, backend: tf.getBackend(), ms: Date.now() - t0 }, 'model loaded');
  return { model, tokenizer, config, dir, name };
}
