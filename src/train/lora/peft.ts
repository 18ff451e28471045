/**
 * Adapter folders in PEFT's format: `adapter_config.json` + `adapter_model.safetensors` with
 * PEFT's tensor names (`base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight` [r, in],
 * `….lora_B.weight` [out, r]), F32. Python's `PeftModel.from_pretrained(base, dir)` loads them;
 * adapters saved by peft load here. smft adds, in the safetensors `__metadata__` (which peft
 * ignores), the identity of the base model, checked on load.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SmftError } from '../../util/errors.js';
import { log } from '../../util/log.js';
import { sha256 } from '../../util/hash.js';
import { isBareName } from '../../util/names.js';
import { writeDirAtomic } from '../../util/atomic.js';
import { readSafetensors, writeSafetensors, type F32Tensor } from '../../lm/safetensors.js';
import type { CausalLM } from '../../lm/model.js';
import { fromPeftConfig, toPeftConfig, type LoraConfig } from './config.js';
import { LoraAdapters } from './adapter.js';
import { baseInfoFromModel, checkBase, type BaseModelInfo } from './base.js';

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';
/** Written by smft training beside the adapter: step, data order, … and the files' sha256. */
export const TRAINER_STATE = 'trainer_state.json';
const META_BASE = 'smft_base_model';

/**
 * Write adapter_config.json + adapter_model.safetensors into an existing folder (not atomic by
 * itself), from host copies of the weights (`await adapters.toTensors()`).
 */
export function writeAdapterFiles(dir: string, config: LoraConfig, tensors: Record<string, F32Tensor>, base: BaseModelInfo): void {
  writeFileSync(join(dir, ADAPTER_CONFIG), JSON.stringify(toPeftConfig(config, base.source ?? base.name), null, 2) + '\n');
  writeSafetensors(join(dir, ADAPTER_WEIGHTS), tensors, { format: 'pt', [META_BASE]: JSON.stringify(base) });
}

/** Save an adapter folder atomically (a PEFT adapter, loadable by Python's peft). */
export async function saveAdapter(dir: string, adapters: LoraAdapters, base: BaseModelInfo): Promise<void> {
  const tensors = await adapters.toTensors();
  await writeDirAtomic(dir, (tmp) => writeAdapterFiles(tmp, adapters.config, tensors, base), { kind: 'adapter' });
}

/**
 * `sha256:<hex>` of an adapter folder's two files (config and weights): what a rating made with
 * the adapter records as its identity.
 */
export function adapterChecksum(dir: string): string {
  const parts = [ADAPTER_CONFIG, ADAPTER_WEIGHTS].map((f) => [f, sha256(readFileSync(join(dir, f)))]);
  return `sha256:${sha256(JSON.stringify(parts))}`;
}

/** Is `dir` an adapter folder? */
export function isAdapterDir(dir: string): boolean {
  return existsSync(join(dir, ADAPTER_CONFIG)) && existsSync(join(dir, ADAPTER_WEIGHTS));
}

export interface AdapterFiles {
  config: LoraConfig;
  /** PEFT-named tensors. */
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
  /** Base model identity recorded by smft (undefined for adapters from Python's peft). */
  base?: BaseModelInfo;
  /** base_model_name_or_path of adapter_config.json. */
  baseName: string | null;
}

/**
 * The sha256 checksums training recorded for the files of a checkpoint folder
 * (trainer_state.json `files`), checked: names must be bare file names of the folder, and the
 * adapter's two files must be listed. Undefined for a folder without trainer_state.json (an
 * adapter saved by Python's peft or by saveAdapter).
 */
export function recordedChecksums(dir: string): Record<string, string> | undefined {
  const p = join(dir, TRAINER_STATE);
  if (!existsSync(p)) return undefined;
  let state: unknown;
  try {
    state = JSON.parse(readFileSync(p, 'utf8'));
  } catch (e) {
    throw new SmftError(`corrupt checkpoint: ${TRAINER_STATE} is not valid JSON (${(e as Error).message.split('\n')[0]})`, p);
  }
  const files = (state as { files?: unknown } | null)?.files;
  if (!files || typeof files !== 'object' || Array.isArray(files)) throw new SmftError('corrupt checkpoint: file checksums missing', p);
  for (const [f, h] of Object.entries(files)) {
    if (!isBareName(f)) throw new SmftError(`corrupt checkpoint: file name ${JSON.stringify(f).slice(0, 60)} in "files" is not a plain file name`, p);
    if (typeof h !== 'string' || !/^[0-9a-f]{64}$/.test(h)) throw new SmftError(`corrupt checkpoint: checksum of ${f} is not a sha256`, p);
  }
  for (const f of [ADAPTER_CONFIG, ADAPTER_WEIGHTS]) if (!(f in files)) throw new SmftError(`corrupt checkpoint: no checksum recorded for ${f}`, p);
  return files as Record<string, string>;
}

/** Verify the listed files of a checkpoint folder against the checksums training recorded. */
export function verifyChecksums(dir: string, files: Record<string, string>, names: Iterable<string> = Object.keys(files)): void {
  for (const f of names) {
    const p = join(dir, f);
    if (!existsSync(p)) throw new SmftError(`incomplete checkpoint: ${f} is missing`, dir);
    if (sha256(readFileSync(p)) !== files[f]) throw new SmftError(`corrupt checkpoint: ${f} does not match its checksum in ${TRAINER_STATE}`, dir);
  }
}

/**
 * Read and validate an adapter folder's files (no model needed). A checkpoint written by smft
 * training is verified against the checksums it recorded before anything is read.
 */
export function readAdapterFiles(dir: string): AdapterFiles {
  if (!existsSync(dir)) throw new SmftError('no such adapter folder', dir);
  const cfgPath = join(dir, ADAPTER_CONFIG);
  const wPath = join(dir, ADAPTER_WEIGHTS);
  if (!existsSync(cfgPath)) throw new SmftError(`not a LoRA adapter folder (no ${ADAPTER_CONFIG})`, dir);
  if (!existsSync(wPath)) {
    const bin = existsSync(join(dir, 'adapter_model.bin'));
    throw new SmftError(bin ? 'adapter_model.bin (pickle) is not supported; save the adapter with safe_serialization=True' : `incomplete adapter folder (no ${ADAPTER_WEIGHTS})`, dir);
  }
  const recorded = recordedChecksums(dir);
  if (recorded) verifyChecksums(dir, recorded, [ADAPTER_CONFIG, ADAPTER_WEIGHTS]);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(cfgPath, 'utf8'));
  } catch (e) {
    throw new SmftError(`corrupt adapter config: not valid JSON (${(e as Error).message.split('\n')[0]})`, cfgPath);
  }
  const config = fromPeftConfig(json, cfgPath);
  let f: ReturnType<typeof readSafetensors>;
  try {
    f = readSafetensors(wPath);
  } catch (e) {
    if (e instanceof SmftError) throw new SmftError(`corrupt adapter weights: ${e.message}`);
    throw e;
  }
  let base: BaseModelInfo | undefined;
  const meta = f.metadata[META_BASE];
  if (meta !== undefined) {
    try {
      base = JSON.parse(meta) as BaseModelInfo;
    } catch {
      throw new SmftError(`corrupt adapter weights: metadata '${META_BASE}' is not JSON`, wPath);
    }
  }
  const baseName = (json as { base_model_name_or_path?: unknown }).base_model_name_or_path;
  return { config, tensors: f.tensors, base, baseName: typeof baseName === 'string' ? baseName : null };
}

export interface LoadAdapterOptions {
  /** Name of the model for messages and for the identity check (default: the recorded one). */
  modelName?: string;
  /** Refuse adapters recorded for another base model (default true). */
  checkBase?: boolean;
  /** Require this rank (e.g. when resuming a run configured with it). */
  expectRank?: number;
  /** Precomputed identity of `model` (saves recomputing it). */
  baseInfo?: BaseModelInfo;
}

/**
 * Load an adapter folder for `model` (not attached yet). Checks: PEFT config, tensors present
 * with the shapes the model needs, no NaN/Inf, the base model identity (when smft recorded it)
 * and the rank when `expectRank` is given; any mismatch is one SmftError.
 */
export async function loadAdapter(dir: string, model: CausalLM, opts: LoadAdapterOptions = {}): Promise<{ adapters: LoraAdapters; files: AdapterFiles }> {
  const files = readAdapterFiles(dir);
  if (opts.expectRank !== undefined && files.config.r !== opts.expectRank) {
    throw new SmftError(`adapter has rank r=${files.config.r}, the run is configured with r=${opts.expectRank}`, dir);
  }
  if (opts.checkBase !== false) {
    const actual = opts.baseInfo ?? (await baseInfoFromModel(model, opts.modelName ?? files.base?.name ?? 'model'));
    if (files.base) checkBase(files.base, actual, dir);
    else log.warn({ dir, base: files.baseName }, 'adapter carries no base-model fingerprint (made outside smft?); only tensor shapes are checked');
  }
  const adapters = LoraAdapters.fromTensors(model, files.config, files.tensors, join(dir, ADAPTER_WEIGHTS));
  return { adapters, files };
}
