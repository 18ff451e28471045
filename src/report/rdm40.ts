/**
 * The RDM heatmaps' data: a deterministic choice of words, their RDMs per source, and the
 * order of Ward clustering of the human RDM.
 */
import { agnes } from 'ml-hclust';
import { condensedRdm, zscoreColumns, type Metric } from '../eval/rdm.js';
import { ratingColumn, type Ratings } from './load.js';

/** How many words the heatmaps show (as in the paper). */
export const HEATMAP_WORDS = 40;

/**
 * `k` words spread evenly over `words` sorted by code point: positions ⌊(i + ½)·n / k⌋. All
 * words when there are at most `k`. Deterministic, independent of the input order.
 */
export function evenlySpaced(words: readonly string[], k: number): string[] {
  const sorted = [...words].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (sorted.length <= k) return sorted;
  const n = sorted.length;
  return Array.from({ length: k }, (_, i) => sorted[Math.floor(((i + 0.5) * n) / k)]);
}

/** Full symmetric matrix of a condensed (SciPy pdist order) vector. */
export function squareForm(c: Float64Array, n: number): number[][] {
  const m = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  let o = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) { m[i][j] = m[j][i] = c[o++]; }
  return m;
}

interface HNode { isLeaf: boolean; index: number; height: number; size: number; children: HNode[] }

/**
 * Leaf order of Ward clustering (SciPy's `linkage(…, 'ward')`, i.e. ml-hclust 'ward2', the
 * Lance–Williams update on distances) of a condensed distance vector. Children are laid out as
 * SciPy's dendrogram does: the child with the smaller cluster id first, where leaves keep their
 * index and merged clusters are numbered n, n+1, … in merge order (by height; Ward merges
 * never invert).
 */
export function wardOrder(condensed: Float64Array, n: number): number[] {
  if (n <= 2) return Array.from({ length: n }, (_, i) => i);
  const root = agnes(squareForm(condensed, n), { method: 'ward2', isDistanceMatrix: true }) as unknown as HNode;
  const internal: HNode[] = [];
  const minLeaf = new Map<HNode, number>();
  const walk = (c: HNode): number => {
    if (c.isLeaf) return c.index;
    internal.push(c);
    const m = Math.min(...c.children.map(walk));
    minLeaf.set(c, m);
    return m;
  };
  walk(root);
  internal.sort((a, b) => a.height - b.height || a.size - b.size || minLeaf.get(a)! - minLeaf.get(b)!);
  const id = new Map<HNode, number>(internal.map((c, r) => [c, n + r]));
  const key = (c: HNode) => (c.isLeaf ? c.index : id.get(c)!);
  const order: number[] = [];
  const visit = (c: HNode): void => {
    if (c.isLeaf) { order.push(c.index); return; }
    [...c.children].sort((a, b) => key(a) - key(b)).forEach(visit);
  };
  visit(root);
  return order;
}

export interface HeatmapData {
  /** Words in Ward order of the human RDM. */
  words: string[];
  /** Source id → square distance matrix in `words` order. */
  matrices: Map<string, number[][]>;
  /** Rows complete for the subset across the sources, from which the 40 were drawn. */
  nComplete: number;
}

/**
 * RDMs of the chosen words for 'human' and each of `models`, on `dims`. Each source's matrix
 * is z-scored per column over all complete rows (as for the RSA), then the chosen rows' RDM is
 * taken. Returns undefined when fewer than 3 words are complete.
 */
export function heatmapData(r: Ratings, dims: readonly string[], models: readonly string[], metric: Metric, k = HEATMAP_WORDS): HeatmapData | undefined {
  const sources = ['human', ...models];
  const cols = sources.map((s) => dims.map((d) => ratingColumn(r, s, d)!));
  const complete: number[] = [];
  for (let i = 0; i < r.words.length; i++) {
    if (cols.every((cs) => cs.every((c) => Number.isFinite(c[i])))) complete.push(i);
  }
  if (complete.length < 3) return undefined;
  const chosen = new Set(evenlySpaced(complete.map((i) => r.words[i]), k));
  const chosenRows = complete.map((i, row) => (chosen.has(r.words[i]) ? row : -1)).filter((x) => x >= 0);
  const n = complete.length;
  const d = dims.length;
  const m = chosenRows.length;
  const rdms = sources.map((_, s) => {
    const X = new Float64Array(n * d);
    complete.forEach((wi, row) => { for (let k2 = 0; k2 < d; k2++) X[row * d + k2] = cols[s][k2][wi]; });
    const Z = zscoreColumns(X, n, d);
    const sub = new Float64Array(m * d);
    chosenRows.forEach((row, a) => { for (let k2 = 0; k2 < d; k2++) sub[a * d + k2] = Z[row * d + k2]; });
    return condensedRdm(sub, m, d, metric, 2.0);
  });
  const order = wardOrder(rdms[0], m);
  const words = order.map((a) => r.words[complete[chosenRows[a]]]);
  const matrices = new Map<string, number[][]>();
  sources.forEach((s, si) => {
    const sq = squareForm(rdms[si], m);
    matrices.set(s, order.map((a) => order.map((b) => sq[a][b])));
  });
  return { words, matrices, nComplete: n };
}
