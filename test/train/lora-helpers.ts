import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/util/rng.js';
import type { LoraAdapters } from '../../src/train/lora/index.js';

/** One short auditory rating template for LoRA tests. */
export const SOUND_TEMPLATES = new Map([['auditory' as const, { dimension: 'auditory' as const, text: 'Word: {Word}. Sound rating (0-5)?', source: 'test' }]]);

/** Give every B uniform random values in ±scale (B = 0 at init: the adapter would do nothing, and every A gradient would be zero). */
export function randomizeB(a: LoraAdapters, seed: number, scale = 0.2): void {
  const rng = new Rng(seed);
  for (const m of a.modules) {
    const d = new Float32Array(m.b.size);
    for (let i = 0; i < d.length; i++) d[i] = (rng.next() * 2 - 1) * scale;
    tf.tidy(() => m.b.assign(tf.tensor2d(d, m.b.shape as [number, number])));
  }
}
