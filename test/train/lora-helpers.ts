import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/util/rng.js';
import type { LoraAdapters, RatingExample } from '../../src/train/lora/index.js';

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

/**
 * A learnable, generalisable rating task: a "word" is a marker word followed by a random
 * letter string; the rating depends on the marker only (8 markers spread over 0.3–4.7). Held-out
 * words are new random strings, so a model must learn to read the marker, not memorise words.
 */
export function markerTask(n: number, seed: number): RatingExample[] {
  const MARK = ['bell', 'moss', 'drum', 'silk', 'horn', 'sand', 'wolf', 'salt'];
  const rng = new Rng(seed);
  const L = 'abcdefghijklmnopqrstuvwxyz';
  return Array.from({ length: n }, () => {
    const k = rng.int(MARK.length);
    let tail = '';
    for (let i = 3 + rng.int(4); i > 0; i--) tail += L[rng.int(26)];
    return { word: `${MARK[k]} ${tail}`, dimension: 'auditory' as const, mean: 0.3 + (4.4 * k) / (MARK.length - 1) };
  });
}
