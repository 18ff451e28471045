/**
 * The paper's word sets for training, from the paper's own split (src/data/splits.ts
 * paperSplit: 2 358 training / 1 572 eval pairs drawn as the authors did), reduced to one row
 * per distinct word of one language, with that language's human means. `poolSplit` (the later
 * re-run's pool minus every pair sharing a word with eval) is the alternative with more words.
 */
import { SmftError } from '../util/errors.js';
import { log } from '../util/log.js';
import { wordKey } from '../data/columns.js';
import type { Dimension, Lang } from '../data/dimensions.js';
import { paperSplit, poolSplit } from '../data/splits.js';
import type { PairedRatings } from '../data/translations.js';

export { PAPER_FILES } from '../data/sources.js';

export interface NormSet {
  lang: Lang;
  words: string[];
  dimensions: Dimension[];
  /** Row-major words × dimensions (NaN where missing), the file's values (float64: the paper's answer texts round them). */
  values: Float64Array;
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
  return { lang, words, dimensions: dims, values: Float64Array.from(values), file: p.source };
}

/** Which split the training words come from: the paper's own (default) or the pool alternative. */
export type WordSplit = 'paper' | 'pool';

export const WORD_SPLIT_DESCRIPTION: Record<WordSplit, string> = {
  paper: "paperSplit: the paper's own 2358 training / 1572 eval pairs (scikit-learn train_test_split, random_state 42, twice, on the 7861-pair file)",
  pool: 'poolSplit: paper/train_pool_5436.csv minus every pair sharing an English or Dutch word with the 1572 eval pairs',
};

/** Training and eval words of one language under the paper's split (or the pool alternative). */
export async function paperWordSets(dataDir: string, lang: Lang, split: WordSplit = 'paper'): Promise<{ train: NormSet; eval: NormSet; split: string }> {
  const s = split === 'pool' ? await poolSplit(dataDir) : await paperSplit(dataDir);
  const train = distinctWords(s.train, lang);
  const ev = distinctWords(s.eval, lang);
  log.info({ lang, split, trainPairs: s.train.rows.length, trainWords: train.words.length, evalWords: ev.words.length }, 'training and eval words');
  return { train, eval: ev, split: WORD_SPLIT_DESCRIPTION[split] };
}
