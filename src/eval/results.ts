/** The shape of results.json written by `smft evaluate` (see README for field meanings). */
export interface RsaEntry { rho: number; p: number; n_words: number; n_pairs: number }
export interface PairDiff { diff: number; ci: [number, number]; p: number }
export interface ModelDistribution { mean: number; ci: [number, number] }
export interface DimEntry { rho: number; p: number; n: number }
export interface SteigerEntry { z: number; p: number }
export interface WordwiseEntry { mean_distance: number; mean_similarity: number; n_words: number }
export interface TTestEntry { t: number; p: number; df: number }

export interface Provenance {
  smft_version: string;
  created: string;
  command: string;
  seed: number;
  node: string;
  data_files: Array<{ path: string; sha256: string }>;
  predictions: Array<{ path: string; sha256: string }>;
  [extra: string]: unknown;
}

export interface EvaluationResults {
  lang: 'en' | 'nl';
  n_words: number;
  metric: string;
  fill: number;
  duplicates: 'keep' | 'exclude';
  models: string[];
  rsa: Record<string, Record<string, RsaEntry>>;
  bootstrap?: Record<string, Record<string, PairDiff | ModelDistribution>>;
  bootstrap_iterations?: number;
  dimensions: Record<string, Record<string, DimEntry>>;
  steiger: Record<string, Record<string, SteigerEntry>>;
  wordwise: Record<string, Record<string, WordwiseEntry>>;
  wordwise_ttest: Record<string, Record<string, TTestEntry>>;
  wordwise_intermodel: Record<string, Record<string, number>>;
  dropped?: Record<string, number>;
  /** Models left out because a dimension has no rating at all (model → reason). */
  excluded_models?: Record<string, string>;
  /**
   * What produced each model's ratings, from the `<csv>.meta.json` sidecars smft rate writes:
   * its kind ('local', 'head', 'api', …) and `synthetic` (a description) when its weights are
   * synthetic (config.json `smft_synthetic`: random test models, the demo model).
   */
  model_info?: Record<string, { kind: string; synthetic?: string }>;
  /** Layer-wise RSA of hidden states (smft evaluate --representations). */
  layers?: Record<string, Array<{ layer: number; pooling: string; rho: number }>>;
  timings?: Record<string, number>;
  provenance?: Provenance;
}
