/**
 * The paper's word sets for head training, from the project's split (src/data/splits.ts
 * paperSplit: the train pool minus every pair whose English or Dutch word is in the eval set),
 * reduced to one row per distinct word of one language, with that language's human means.
 */
import { SmftError } from '../util/errors.js';
import { log } from '../util/log.js';
import { wordKey } from '../data/columns.js';
import type { Dimension, Lang } from '../data/dimensions.js';
import { paperSplit } from '../data/splits.js';
import type { PairedRatings } from '../data/translations.js';

export { PAPER_FILES } from '../data/sources.js';

export interface NormSet {
  lang: Lang;
  words: string[];
  dimensions: Dimension[];
  /** Row-major words × dimensions (NaN where missing). */
  values: Float32Array;
  file: string;
}

/** One row per distinct word (case-insensitive) of `lang`; a word repeated with other means is an error. */
export function distinctWords(p: PairedRatings, lang: Lang): NormSet {
  const dims: Dimension[] = lang === 'en' ? [...p.enDimensions] : [...p.nlDimensions];
  const seen = new Map<string, number[]>();
  const words: string[] = [];
  const values: number[] = [];
  for (const r of p.rows) {
    const w = lang === 'en' ? r.en : r.nl;
    const v = lang === 'en' ? r.enRatings : r.nlRatings;
    const k = wordKey(w);
    const prev = seen.get(k);
    if (prev) {
      if (prev.some((x, j) => !(Object.is(x, v[j]) || Math.abs(x - v[j]) < 1e-9))) {
        throw new SmftError(`'${w}' appears twice with different ${lang === 'en' ? 'Lancaster' : 'Dutch'} means`, r.where ?? p.source);
      }
      continue;
    }
    seen.set(k, v);
    words.push(w);
    values.push(...v);
  }
  return { lang, words, dimensions: dims, values: Float32Array.from(values), file: p.source };
}

/** Training and eval words of one language under the paper's split. */
export async function paperWordSets(dataDir: string, lang: Lang): Promise<{ train: NormSet; eval: NormSet; poolRowsRemoved: number }> {
  const split = await paperSplit(dataDir);
  const train = distinctWords(split.train, lang);
  const ev = distinctWords(split.eval, lang);
  log.info({ lang, trainPairs: split.train.rows.length, trainWords: train.words.length, evalWords: ev.words.length }, 'paper word sets for head training');
  return { train, eval: ev, poolRowsRemoved: split.counts.removed.rows };
}
