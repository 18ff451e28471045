import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng.js';
import { expectedTensors, type LmConfig } from './config.js';
import { CausalLM } from './model.js';
import { isKernel, HOST_TENSORS } from './weights.js';

/**
 * A model with seeded random weights (uniform, scaled by 1/sqrt(fan-in); norms at 1), built in
 * memory tensor by tensor. For benchmarks and tests; no file involved. Its config is marked
 * synthetic (`synthetic`, written as config.json `smft_synthetic` if it is ever saved), so
 * ratings made with it say so.
 */
export function randomModel(config: LmConfig, seed = 0): CausalLM {
  const cfg: LmConfig = { ...config, synthetic: config.synthetic ?? `random weights (smft randomModel, seed ${seed}): not a trained model` };
  const rng = new Rng(seed);
  const params = new Map<string, tf.Tensor>();
  const host: Record<string, Float32Array> = {};
  for (const [name, hfShape] of expectedTensors(cfg)) {
    const n = hfShape.reduce((a, d) => a * d, 1);
    const data = new Float32Array(n);
    if (name.endsWith('norm.weight')) {
      data.fill(1);
    } else {
      const scale = name.includes('embed') ? 1 : Math.sqrt(3 / hfShape[hfShape.length - 1]);
      // a cheap xorshift stream seeded from the Rng: fast enough for 10⁹ values
      let x = rng.nextU32() | 1;
      for (let i = 0; i < n; i++) {
        x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
        data[i] = ((x >>> 0) / 4294967296 * 2 - 1) * scale;
      }
    }
    if (HOST_TENSORS.has(name)) {
      host[name] = data;
      continue;
    }
    const shape = isKernel(name) ? [hfShape[1], hfShape[0]] : hfShape;
    params.set(name, tf.tensor(data, shape, 'float32'));
  }
  return new CausalLM(cfg, params, { embed: host['model.embed_tokens.weight'], lmHead: host['lm_head.weight'] });
}
