import { spearman } from '../../kernels/cpu/correlate.js';
import { averageRanks } from '../../kernels/cpu/ranks.js';
import { condensedRdm, pairCount, type Metric } from '../../kernels/cpu/rdm.js';
import { subsetsFor, type Dimension, type Lang } from '../data/dimensions.js';
import { wordKey } from '../data/columns.js';
import type { Norms } from '../data/norms.js';
import { SmftError } from '../util/errors.js';
import { log } from '../util/log.js';
import { Progress } from '../util/progress.js';
import { zscoreColumns } from './rdm.js';

/** Hidden states of a word list: layers × words × hidden, one array per pooling. */
export interface Representations {
  words: string[];
  layers: number;
  hidden: number;
  pooled: Record<string, Float32Array>;
  model?: string;
}

export interface LayerRsa { layer: number; pooling: string; rho: number }

/**
 * The layer-wise alignment curve: for each subset of dimensions, RSA between the human RDM
 * (z-scored ratings, as in the rating analysis) and the RDM of each layer's hidden states
 * (each hidden unit z-scored over words, then `metric` distances), for every pooling.
 * Words missing from the norms are an error; words lacking a rating on a subset are left out
 * of that subset (logged).
 */
export function layerwiseRsa(rep: Representations, norms: Norms, lang: Lang, opts: { metric?: Metric; fill?: number } = {}): Record<string, LayerRsa[]> {
  const metric = opts.metric ?? 'cosine';
  const fill = opts.fill ?? 2;
  const rows = rep.words.map((w) => norms.index.get(wordKey(w)));
  const unknown = rep.words.filter((_, i) => rows[i] === undefined);
  if (unknown.length) throw new SmftError(`${unknown.length} of ${rep.words.length} represented word(s) are not in the norms ${norms.file} (e.g. ${unknown.slice(0, 5).join(', ')})`);
  const out: Record<string, LayerRsa[]> = {};
  const D = norms.dimensions.length;
  for (const [subset, dims] of Object.entries(subsetsFor(lang))) {
    const cols = (dims as readonly Dimension[]).map((d) => norms.dimensions.indexOf(d));
    const keep = rows.map((r, i) => ({ r: r!, i })).filter(({ r }) => cols.every((j) => !Number.isNaN(norms.values[r * D + j])));
    if (keep.length < rep.words.length) log.info({ subset, dropped: rep.words.length - keep.length }, `${subset}: words without a human rating left out`);
    const n = keep.length;
    if (n < 3) continue;
    const H = new Float64Array(n * cols.length);
    keep.forEach(({ r }, k) => cols.forEach((j, c) => { H[k * cols.length + c] = norms.values[r * D + j]; }));
    const human = condensedRdm(zscoreColumns(H, n, cols.length), n, cols.length, metric, fill);
    const humanRanks = averageRanks(human);
    const progress = new Progress(`layer-wise RSA ${subset}`, rep.layers * Object.keys(rep.pooled).length);
    out[subset] = [];
    for (const [pooling, data] of Object.entries(rep.pooled)) {
      for (let layer = 0; layer < rep.layers; layer++) {
        const X = new Float64Array(n * rep.hidden);
        keep.forEach(({ i }, k) => {
          const off = (layer * rep.words.length + i) * rep.hidden;
          for (let h = 0; h < rep.hidden; h++) X[k * rep.hidden + h] = data[off + h];
        });
        const rdm = condensedRdm(zscoreColumns(X, n, rep.hidden), n, rep.hidden, metric, fill);
        out[subset].push({ layer, pooling, rho: spearman(human, rdm, humanRanks) });
        progress.tick();
      }
    }
    log.debug({ subset, pairs: pairCount(n) }, 'layer-wise RSA done');
  }
  return out;
}
