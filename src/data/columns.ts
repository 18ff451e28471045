import { canonicalDimension, EN_DIMENSIONS, NL_DIMENSIONS, type Dimension, type Lang } from './dimensions.js';

/** What a column of a wide ratings file holds. */
export type ColumnRole =
  | { kind: 'human'; lang: Lang; dim: Dimension }
  | { kind: 'model'; dim: Dimension; model: string }
  | { kind: 'other' };

const DIM_PREFIXES: Array<[string, Dimension]> = (() => {
  const names = new Map<string, Dimension>();
  for (const d of [...EN_DIMENSIONS, ...NL_DIMENSIONS]) names.set(d, d);
  for (const alias of ['foot', 'hand', 'leg', 'arm']) names.set(alias, canonicalDimension(alias)!);
  // Longest first so that foot_leg_x wins over foot_x.
  return [...names.entries()].sort((a, b) => b[0].length - a[0].length);
})();

/**
 * Classify a column name: human `<Dim>.mean` (Lancaster) or `<Dim>` (Dutch, e.g. Horen), model
 * `<dim>_<model>` (case-insensitive; foot/hand aliases; model id is the suffix in lower case).
 */
export function columnRole(name: string): ColumnRole {
  const lower = name.trim().toLowerCase();
  const mean = lower.match(/^(.+)\.mean$/);
  if (mean) {
    const dim = canonicalDimension(mean[1]);
    if (dim && (EN_DIMENSIONS as readonly string[]).includes(dim)) return { kind: 'human', lang: 'en', dim };
    return { kind: 'other' };
  }
  const exact = canonicalDimension(lower);
  if (exact && (NL_DIMENSIONS as readonly string[]).includes(exact)) return { kind: 'human', lang: 'nl', dim: exact };
  for (const [prefix, dim] of DIM_PREFIXES) {
    if (lower.startsWith(prefix + '_') && lower.length > prefix.length + 1) {
      const model = lower.slice(prefix.length + 1);
      if (/^[a-z0-9][a-z0-9_.-]*$/.test(model) && !model.includes('.')) return { kind: 'model', dim, model };
    }
  }
  return { kind: 'other' };
}

/** Case- and space-insensitive key for matching words across files. */
export function wordKey(word: string): string {
  return word.trim().toLowerCase();
}
