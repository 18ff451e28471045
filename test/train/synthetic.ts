/** Synthetic learnable tasks for the head tests. */
import { Rng } from '../../src/util/rng.js';
import type { FeatureMatrix } from '../../src/features/matrix.js';

export interface SyntheticRegression {
  features: FeatureMatrix;
  targets: Float32Array;
  dimensions: string[];
  /** Held-out rows of the same task (not given to the trainer). */
  test: { features: FeatureMatrix; targets: Float32Array };
}

/** Targets = a noisy linear function of the features, on a 0–5-like scale. */
export function linearTask(opts: { n: number; nTest: number; dim: number; k: number; noise: number; seed: number }): SyntheticRegression {
  const rng = new Rng(opts.seed);
  const W = Array.from({ length: opts.dim * opts.k }, () => rng.normal() / Math.sqrt(opts.dim));
  const make = (n: number, tag: string): { features: FeatureMatrix; targets: Float32Array } => {
    const x = new Float32Array(n * opts.dim);
    for (let i = 0; i < x.length; i++) x[i] = rng.normal() * 0.5 + 0.1;
    const y = new Float32Array(n * opts.k);
    for (let i = 0; i < n; i++) for (let j = 0; j < opts.k; j++) {
      let s = 2.5;
      for (let d = 0; d < opts.dim; d++) s += 2 * x[i * opts.dim + d] * W[d * opts.k + j];
      y[i * opts.k + j] = s + opts.noise * rng.normal();
    }
    return { features: { words: Array.from({ length: n }, (_, i) => `${tag}${i}`), dim: opts.dim, values: x, source: 'synthetic' }, targets: y };
  };
  const train = make(opts.n, 'w');
  const test = make(opts.nTest, 't');
  return { ...train, dimensions: Array.from({ length: opts.k }, (_, j) => `d${j}`), test };
}

/** Mean over columns of the Pearson correlation between predictions and targets. */
export function meanColumnR(pred: ArrayLike<number>, target: ArrayLike<number>, n: number, k: number): number {
  let total = 0;
  for (let j = 0; j < k; j++) {
    let sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
    for (let i = 0; i < n; i++) {
      const x = pred[i * k + j], y = target[i * k + j];
      sx += x; sy += y; sxx += x * x; syy += y * y; sxy += x * y;
    }
    const cov = sxy - (sx * sy) / n;
    total += cov / Math.sqrt((sxx - (sx * sx) / n) * (syy - (sy * sy) / n));
  }
  return total / k;
}
