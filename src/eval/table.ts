import type { Dimension, Lang } from '../data/dimensions.js';

/**
 * Ratings of one word set by several sources on the same dimensions: 'human' (the norms) and
 * one entry per model. Values are row-major n_words × n_dims, NaN where missing.
 */
export interface RatingTable {
  lang: Lang;
  words: string[];
  dimensions: Dimension[];
  /** Source ids in order; 'human' first, then models (base, en_ft, nl_ft, qa_ft, …). */
  sources: string[];
  values: Map<string, Float64Array>;
}

export const HUMAN = 'human';

/** The models of a table (every source but 'human'). */
export function modelsOf(t: RatingTable): string[] {
  return t.sources.filter((s) => s !== HUMAN);
}

/** Column `dim` of `source` as a fresh array (NaN where missing). */
export function column(t: RatingTable, source: string, dim: Dimension): Float64Array {
  const v = t.values.get(source);
  const j = t.dimensions.indexOf(dim);
  if (!v || j < 0) throw new Error(`no column ${source}/${dim}`);
  const d = t.dimensions.length;
  const out = new Float64Array(t.words.length);
  for (let i = 0; i < out.length; i++) out[i] = v[i * d + j];
  return out;
}
