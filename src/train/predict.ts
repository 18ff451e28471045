/**
 * Apply a trained regression head to word features: ratings per word × dimension, in the
 * norms' units, NaN rows for words without features.
 */
import type { Dimension } from '../data/dimensions.js';
import { SmftError } from '../util/errors.js';
import { log } from '../util/log.js';
import { selectRows, type FeatureMatrix } from '../features/matrix.js';
import type { Head } from './head.js';
import { HEAD_CONFIG, HEAD_WEIGHTS, type HeadCheckpointConfig } from './checkpoint.js';
import type { RatingIdentity } from '../lm/predictions.js';
import { smftVersion } from '../eval/provenance.js';
import { sha256 } from '../util/hash.js';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

export interface HeadRatings {
  /** Words in the order asked (or the features' order). */
  words: string[];
  /** Dimension ids, in column order. */
  dimensions: string[];
  /** Row-major words × dimensions; NaN rows for `missing` words. */
  values: Float64Array;
  /** Words that had no features. */
  missing: string[];
  /** The features' source. */
  source: string;
}

/**
 * Head ratings as rows of the long predictions file (`smft rate` output): a head gives the
 * rating only, so argmax and the digit probabilities are left empty.
 */
export function headRatingRows(r: HeadRatings): Array<{ word: string; dimension: Dimension; rating: number; argmax: number; p0: number; p1: number; p2: number; p3: number; p4: number; p5: number }> {
  const K = r.dimensions.length;
  return r.words.flatMap((word, i) => r.dimensions.map((d, j) => ({
    word, dimension: d as Dimension, rating: r.values[i * K + j], argmax: NaN, p0: NaN, p1: NaN, p2: NaN, p3: NaN, p4: NaN, p5: NaN,
  })));
}

/** What produced a head's ratings: the head checkpoint's files, its features and smft. */
export function headRatingIdentity(dir: string, config: HeadCheckpointConfig): RatingIdentity {
  const parts = [HEAD_CONFIG, HEAD_WEIGHTS].map((f) => [f, sha256(readFileSync(join(dir, f)))]);
  return { kind: 'head', model: basename(dir), head: `sha256:${sha256(JSON.stringify(parts))}`, features: config.featureSource, smft: smftVersion() };
}

export interface PredictOptions {
  /** Words to rate, matched case-insensitively to the feature rows (default: every row). */
  words?: readonly string[];
  /** Clamp to the rating range the head was trained for (default true). */
  clamp?: boolean;
  /** Accept features from a source other than the one the head was trained on (default false). */
  anySource?: boolean;
}

export function predictRatings(head: Head, config: HeadCheckpointConfig, features: FeatureMatrix, opts: PredictOptions = {}): HeadRatings {
  if (head.arch.kind !== 'regression') throw new SmftError('this head is a QA head; rating needs a regression head');
  if (features.dim !== head.arch.inputDim) {
    throw new SmftError(`the head takes ${head.arch.inputDim}-d features (${config.featureSource}); '${features.source}' features are ${features.dim}-d`);
  }
  if (!opts.anySource && features.source !== config.featureSource) {
    throw new SmftError(`the head was trained on '${config.featureSource}' features, these are '${features.source}'`);
  }
  const words = opts.words ? [...opts.words] : [...features.words];
  const { matrix, missing } = opts.words ? selectRows(features, opts.words) : { matrix: features, missing: [] as string[] };
  if (missing.length) log.warn({ missing: missing.length, of: words.length, examples: missing.slice(0, 10) }, `no features for ${missing.length} of ${words.length} words; their ratings are NaN`);
  const K = head.arch.outputDim;
  const pred = head.predictRatings(matrix.values, matrix.words.length);
  const range = (config.hyper.ratingRange as [number, number] | undefined) ?? undefined;
  const clamp = opts.clamp !== false && range !== undefined;
  const values = new Float64Array(words.length * K).fill(NaN);
  const rowOf = new Map<string, number>();
  matrix.words.forEach((w, i) => rowOf.set(w, i));
  words.forEach((w, i) => {
    const r = rowOf.get(w);
    if (r === undefined) return;
    for (let j = 0; j < K; j++) {
      let v = pred[r * K + j];
      if (clamp) v = Math.min(range![1], Math.max(range![0], v));
      values[i * K + j] = v;
    }
  });
  return { words, dimensions: [...config.dimensions], values, missing, source: features.source };
}
