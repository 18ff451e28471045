import * as tf from '@tensorflow/tfjs';
import { SmftError } from '../util/errors.js';
import { log } from '../util/log.js';
import { expectedTensors, type LmConfig } from './config.js';
import { WeightSource } from './safetensors.js';

/** Tensors some checkpoints carry that the computation does not use. */
const IGNORABLE = [/\.rotary_emb\.inv_freq$/];

/** Names of weights stored transposed ([in, out]) in TF.js. */
export function isKernel(name: string): boolean {
  return name.endsWith('_proj.weight');
}

/** The [vocab, hidden] matrices kept in host memory instead of the backend. */
export const HOST_TENSORS = new Set(['model.embed_tokens.weight', 'lm_head.weight']);

export interface LoadedParams {
  params: Map<string, tf.Tensor>;
  embed: Float32Array;
  lmHead?: Float32Array;
}

/**
 * Read a model folder's safetensors into TF.js float32 tensors, one tensor at a time (the file
 * bytes of a tensor are released before the next is read; never two float32 copies of all
 * weights). Names, shapes and dtypes are checked against the config first.
 */
export function loadParams(cfg: LmConfig, dir: string): LoadedParams {
  const ws = WeightSource.open(dir);
  const params = new Map<string, tf.Tensor>();
  try {
    const expected = expectedTensors(cfg);
    const present = new Set(ws.names());
    for (const name of present) {
      if (expected.has(name)) continue;
      if (IGNORABLE.some((r) => r.test(name))) continue;
      if (name === 'lm_head.weight' && cfg.tieWordEmbeddings) {
        log.warn({ dir }, 'config.json has tie_word_embeddings: true; ignoring lm_head.weight in the checkpoint (using the embeddings)');
        continue;
      }
      throw new SmftError(`unexpected tensor '${name}' in the weights (not part of a ${cfg.architecture} with this config)`, dir);
    }
    for (const [name, shape] of expected) {
      const info = ws.info(name);
      if (!info) {
        if (name === 'lm_head.weight') throw new SmftError("lm_head.weight is missing but config.json has tie_word_embeddings: false (tie mismatch)", dir);
        throw new SmftError(`tensor '${name}' is missing from the weights`, dir);
      }
      if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i])) {
        throw new SmftError(`tensor '${name}' has shape [${info.shape.join(', ')}] but config.json implies [${shape.join(', ')}]`, info.file);
      }
    }
    const counts: Record<string, number> = {};
    const host: Partial<Record<string, Float32Array>> = {};
    for (const name of expected.keys()) {
      const info = ws.info(name)!;
      counts[info.dtype] = (counts[info.dtype] ?? 0) + 1;
      const { shape, data } = ws.read(name);
      if (HOST_TENSORS.has(name)) {
        host[name] = data;
        continue;
      }
      let t: tf.Tensor = tf.tensor(data, shape, 'float32');
      if (isKernel(name)) {
        const tt = tf.transpose(t);
        t.dispose();
        t = tt;
      }
      params.set(name, t);
    }
    log.debug({ dir, tensors: params.size, dtypes: counts }, 'weights loaded');
    return { params, embed: host['model.embed_tokens.weight']!, lmHead: host['lm_head.weight'] };
  } catch (e) {
    for (const t of params.values()) t.dispose();
    throw e;
  } finally {
    ws.close();
  }
}
