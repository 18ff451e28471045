/**
 * Head-training recipes, the functions behind `smft train --recipe glove-head | glove-qa` and
 * `smft rate --head DIR`:
 *   trainNormsHead    regression head on the paper's training words of a language, from any
 *                     word features (GloVe, or an LLM's cached hidden states)
 *   trainGloveHead    the offline demo's head: GloVe 6B 100-d → 11 Lancaster dimensions
 *   trainGloveQaHead  QA head on mean GloVe vectors of the paper's multiple-choice items
 *   rateWithHead      ratings of a word list from a regression head checkpoint
 */
import { join } from 'node:path';
import { SmftError } from '../util/errors.js';
import { log } from '../util/log.js';
import { resolveDataDir } from '../data/datadir.js';
import { GLOVE_SOURCE, loadGlove, type GloveVectors } from '../features/glove.js';
import { selectRows, type FeatureMatrix } from '../features/matrix.js';
import type { Lang } from '../data/dimensions.js';
import { loadHeadCheckpoint, saveHeadCheckpoint, type HeadCheckpointConfig } from './checkpoint.js';
import { predictRatings, type HeadRatings } from './predict.js';
import { trainRegressionHead, type RegressionConfig } from './regression.js';
import { evaluateQa, gloveQaData, readQaItems, trainQaHead, type QaConfig, type QaEvaluation } from './qa.js';
import { PAPER_FILES, paperWordSets, type WordSplit } from './paper-data.js';

/**
 * Recipe settings for the GloVe regression head: one hidden layer (256, GELU, dropout 0.5) on
 * standardised features, z-scored targets, AdamW + warm-up/cosine, early stopping on a 10%
 * validation split. Chosen by validation MSE on the training words only (never on the eval
 * words) among linear / 128 / 256 / 512 hidden units. `{hidden: 0, dropout: 0}` gives the linear
 * head (about 3× faster; validation MSE 0.456 vs 0.404).
 */
export const GLOVE_HEAD_RECIPE: Partial<RegressionConfig> = {
  hidden: 256, activation: 'gelu', dropout: 0.5, epochs: 200, batchSize: 64, lr: 3e-3, weightDecay: 0.05, warmupRatio: 0.05,
  schedule: 'cosine', maxGradNorm: 1, patience: 20, valFraction: 0.1, seed: 42,
};

/** QA head on mean GloVe vectors: rank-32 bilinear, chosen by validation loss (rank 0/16/32/64). */
export const GLOVE_QA_RECIPE: Partial<QaConfig> = {
  rank: 32, dropout: 0.3, epochs: 100, batchSize: 32, lr: 1e-3, weightDecay: 0.05, patience: 15, valFraction: 0.15, seed: 42,
};

export interface GloveHeadOptions {
  /** Checkpoint folder to write (e.g. checkpoints/glove-head). */
  out: string;
  /** Data folder (default SMFT_DATA_DIR, else data/). */
  dataDir?: string;
  /** GloVe cache folder (default SMFT_CACHE_DIR, else ~/.cache/smft). */
  cacheDir?: string;
  /** Overrides of GLOVE_HEAD_RECIPE (seed, lr, hidden, …). */
  config?: Partial<RegressionConfig>;
  /** Already loaded vectors (saves the ~0.5 s load when the caller has them). */
  glove?: GloveVectors;
}


export interface NormsHeadOptions {
  /** Checkpoint folder to write. */
  out: string;
  /** Which norms: 'en' (11 Lancaster dimensions) or 'nl' (6 Dutch dimensions). */
  lang: Lang;
  /**
   * Features of the words: a FeatureMatrix (e.g. an LLM's hidden states from a feature file,
   * matched case-insensitively), or a lookup that returns features and unknown words.
   */
  features: FeatureMatrix | ((words: readonly string[]) => { matrix: FeatureMatrix; unknown: string[] });
  dataDir?: string;
  /** Training words: the paper's own split (default) or the pool alternative. */
  split?: WordSplit;
  /** Training settings (defaults: REGRESSION_DEFAULTS, or the caller's recipe). */
  config?: Partial<RegressionConfig>;
  label?: string;
  provenance?: Record<string, unknown>;
}

export interface NormsHeadResult {
  dir: string;
  config: HeadCheckpointConfig;
  /** Training words with features (the rows trained on, before the validation split). */
  trainingWords: number;
  /** Training words without features (left out, and logged). */
  unknown: string[];
  seconds: number;
}

/**
 * Train a regression head on the paper's training words of one language (the paper's own split,
 * or the pool alternative) from any word features: GloVe, or an LLM's cached hidden states (the head-only fast
 * path of the en_ft / nl_ft conditions).
 */
export async function trainNormsHead(opts: NormsHeadOptions): Promise<NormsHeadResult> {
  const dataDir = resolveDataDir(opts.dataDir);
  const t0 = performance.now();
  const { train: set, split } = await paperWordSets(dataDir, opts.lang, opts.split);
  let feats: { matrix: FeatureMatrix; unknown: string[] };
  if (typeof opts.features === 'function') {
    feats = opts.features(set.words);
  } else {
    const sel = selectRows(opts.features, set.words);
    if (sel.missing.length) {
      log.warn({ missing: sel.missing.length, of: set.words.length, examples: sel.missing.slice(0, 10) }, `the features lack ${sel.missing.length} of ${set.words.length} training words; they are left out`);
    }
    feats = { matrix: sel.matrix, unknown: sel.missing };
  }
  if (feats.matrix.words.length < 2) throw new SmftError(`only ${feats.matrix.words.length} training words have features (source '${feats.matrix.source}')`);
  const K = set.dimensions.length;
  const rowOf = new Map(set.words.map((w, i) => [w, i]));
  const targets = new Float32Array(feats.matrix.words.length * K);
  feats.matrix.words.forEach((w, i) => {
    const r = rowOf.get(w);
    if (r === undefined) throw new Error(`feature row '${w}' is not a training word`);
    targets.set(set.values.subarray(r * K, (r + 1) * K), i * K);
  });
  const { head, config } = await trainRegressionHead(
    { features: feats.matrix, targets, dimensions: [...set.dimensions] },
    opts.config ?? {},
    {
      out: opts.out,
      label: opts.label ?? `${opts.lang} head`,
      provenance: {
        lang: opts.lang, dataDir, evalSet: opts.lang === 'en' ? PAPER_FILES.evalEn : PAPER_FILES.evalNl,
        split, trainingWords: set.words.length,
        featureWords: feats.matrix.words.length, unknownWords: feats.unknown.length, unknownExamples: feats.unknown.slice(0, 20),
        ...opts.provenance,
      },
    },
  );
  head.dispose();
  return { dir: opts.out, config, trainingWords: feats.matrix.words.length, unknown: feats.unknown, seconds: (performance.now() - t0) / 1000 };
}

export type GloveHeadResult = NormsHeadResult;

/** `smft train --recipe glove-head`: train the GloVe regression head on the English training words. */
export async function trainGloveHead(opts: GloveHeadOptions): Promise<GloveHeadResult> {
  const glove = opts.glove ?? loadGlove({ cacheDir: opts.cacheDir });
  return trainNormsHead({
    out: opts.out,
    lang: 'en',
    dataDir: opts.dataDir,
    features: (words) => glove.features(words, 'English training words'),
    config: { ...GLOVE_HEAD_RECIPE, ...opts.config },
    label: 'glove-head',
    provenance: { recipe: 'glove-head', glove: glove.cachePath },
  });
}

export interface RateOptions {
  /** Head checkpoint folder. */
  head: string;
  /** Words to rate (any case). */
  words: readonly string[];
  /** Features for the words; default: GloVe when the head was trained on GloVe. */
  features?: FeatureMatrix;
  cacheDir?: string;
  glove?: GloveVectors;
  /** Clamp to the rating range (default true). */
  clamp?: boolean;
}

/** `smft rate --head DIR`: ratings per word × dimension from a regression head checkpoint. */
export async function rateWithHead(opts: RateOptions): Promise<HeadRatings & { config: HeadCheckpointConfig }> {
  const { head, config } = loadHeadCheckpoint(opts.head, { kind: 'regression', featureDim: opts.features?.dim });
  try {
    let features = opts.features;
    if (!features) {
      if (config.featureSource !== GLOVE_SOURCE) {
        throw new SmftError(`this head was trained on '${config.featureSource}' features; give the feature file for the words (--features)`, opts.head);
      }
      const glove = opts.glove ?? loadGlove({ cacheDir: opts.cacheDir });
      features = glove.features(opts.words, 'words to rate').matrix;
    }
    const r = predictRatings(head, config, features, { words: opts.words, clamp: opts.clamp });
    log.info({ head: opts.head, words: r.words.length, missing: r.missing.length }, 'rated words with head');
    return { ...r, config };
  } finally {
    head.dispose();
  }
}

export interface GloveQaResult { dir: string; config: HeadCheckpointConfig; test: QaEvaluation; seconds: number }

export type GloveQaOptions = Omit<GloveHeadOptions, 'config'> & { config?: Partial<QaConfig> };

/** `smft train --recipe glove-qa`: QA head on mean GloVe vectors; accuracy on the test items (chance 25%). */
export async function trainGloveQaHead(opts: GloveQaOptions): Promise<GloveQaResult> {
  const dataDir = resolveDataDir(opts.dataDir);
  const t0 = performance.now();
  const glove = opts.glove ?? loadGlove({ cacheDir: opts.cacheDir });
  const train = gloveQaData(glove, readQaItems(join(dataDir, PAPER_FILES.qaTrain)), 'QA train items');
  const test = gloveQaData(glove, readQaItems(join(dataDir, PAPER_FILES.qaTest)), 'QA test items');
  const { head, config, fit } = await trainQaHead(train, { ...GLOVE_QA_RECIPE, ...opts.config }, {
    out: opts.out, label: 'glove-qa', provenance: { recipe: 'glove-qa', dataDir, train: PAPER_FILES.qaTrain, test: PAPER_FILES.qaTest },
  });
  try {
    const ev = evaluateQa(head, test);
    log.info({ accuracy: Number(ev.accuracy.toFixed(4)), n: ev.n, chance: 0.25 }, 'QA head test accuracy');
    const final = { ...config, metrics: { ...config.metrics, testAccuracy: ev.accuracy, testItems: ev.n, testLoss: ev.loss } };
    await saveHeadCheckpoint(opts.out, head, final, fit.history);
    return { dir: opts.out, config: final, test: ev, seconds: (performance.now() - t0) / 1000 };
  } finally {
    head.dispose();
  }
}
