import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import Papa from 'papaparse';
import { SmftError } from '../util/errors.js';
import { log } from '../util/log.js';
import { RandomState } from '../util/mt19937.js';
import { Rng } from '../util/rng.js';
import { wordKey } from './columns.js';
import { OFFICIAL_STEM, type Dimension } from './dimensions.js';
import type { Norms } from './norms.js';
import { PAIRS_FILE, PAPER_FILES } from './sources.js';
import { loadPaired, type PairedRatings, type PairRow } from './translations.js';

export interface SideCounts {
  rows: number;
  uniqueEn: number;
  uniqueNl: number;
}

function sideCounts(p: PairedRatings): SideCounts {
  return {
    rows: p.rows.length,
    uniqueEn: new Set(p.rows.map((r) => wordKey(r.en))).size,
    uniqueNl: new Set(p.rows.map((r) => wordKey(r.nl))).size,
  };
}

/** Row indices of one scikit-learn train/test split, each side in the order sklearn returns it. */
export interface TrainTestIndices {
  train: Int32Array;
  test: Int32Array;
}

/**
 * scikit-learn's `train_test_split(range(n), test_size=testSize, random_state=seed)` (shuffle
 * on, no stratification): `perm = numpy.random.RandomState(seed).permutation(n)`, test =
 * `perm[:ceil(testSize·n)]`, train = the next `n − ceil(testSize·n)` entries. Bit-exact with
 * NumPy (src/util/mt19937.ts).
 */
export function trainTestSplit(n: number, testSize: number, seed: number): TrainTestIndices {
  if (!(testSize > 0 && testSize < 1)) throw new SmftError(`test size must be a fraction between 0 and 1 (got ${testSize})`);
  if (!Number.isInteger(n) || n < 1) throw new SmftError(`cannot split ${n} rows`);
  const nTest = Math.ceil(testSize * n);
  const nTrain = n - nTest;
  if (nTrain === 0) throw new SmftError(`with n_samples=${n} and test_size=${testSize}, the train set would be empty`);
  const perm = new RandomState(seed).permutation(n);
  return { test: perm.slice(0, nTest), train: perm.slice(nTest, nTest + nTrain) };
}

/**
 * How the paper's authors drew their split (sampling notebook, Minghua5/Sensorimotor-
 * Representation-in-LLMs `data/sampling.ipynb` at 2d10db0): the 7 861 English–Dutch pairs →
 * `train_test_split(test_size=0.5, random_state=42)`, keep the train half (3 930) →
 * `train_test_split(test_size=0.4, random_state=42)` → 2 358 training / 1 572 eval pairs.
 */
export const PAPER_SPLIT = {
  file: PAIRS_FILE,
  seed: 42,
  /** The two calls' test sizes; the first call's test half is discarded. */
  testSizes: [0.5, 0.4] as const,
  counts: { pairs: 7861, half: 3930, train: 2358, eval: 1572 },
} as const;

export interface PaperSplit {
  train: PairedRatings;
  eval: PairedRatings;
  /** 0-based data-row indices into the pairs file: train in sklearn's order, eval in the order of `eval` below. */
  indices: { train: number[]; eval: number[] };
  counts: { pairs: number; half: number; train: SideCounts; eval: SideCounts };
  /** The pairs file, and the paper's eval file when present (its pairs equal `eval` as a set; eval follows its order). */
  files: { pairs: string; evalFile?: string };
}

/**
 * The paper's own split, reproduced exactly (PAPER_SPLIT). Train: 2 358 pairs (2 358 distinct
 * English and Dutch words), in the order the notebook's second `train_test_split` returned them.
 * Eval: 1 572 pairs; when `paper/eval_en_1572_with_predictions.csv` is in the data directory
 * they are checked to equal its pairs as a set and put in its order (so ratings line up with
 * the paper's predictions), otherwise they keep sklearn's order. Leakage-checked.
 */
export async function paperSplit(dataDir: string): Promise<PaperSplit> {
  const pairsFile = join(dataDir, PAPER_SPLIT.file);
  if (!existsSync(pairsFile)) throw new SmftError(`the paper's split needs ${pairsFile} (the 7 861 English–Dutch pairs); it is not in the data directory (set --data-dir or SMFT_DATA_DIR)`);
  const all = await loadPaired(pairsFile);
  if (all.counts.rows !== PAPER_SPLIT.counts.pairs || all.rows.length !== all.counts.rows) {
    throw new SmftError(`the paper's split needs the ${PAPER_SPLIT.counts.pairs} complete, distinct pairs the authors split; this file has ${all.counts.rows} rows (${all.counts.incomplete} incomplete, ${all.counts.duplicates} repeated)`, pairsFile);
  }
  const [t1, t2] = PAPER_SPLIT.testSizes;
  const half = trainTestSplit(all.rows.length, t1, PAPER_SPLIT.seed).train;
  const second = trainTestSplit(half.length, t2, PAPER_SPLIT.seed);
  const trainIdx = Array.from(second.train, (i) => half[i]);
  let evalIdx = Array.from(second.test, (i) => half[i]);
  const evalPath = join(dataDir, PAPER_FILES.evalEn);
  const evalFile = existsSync(evalPath) ? evalPath : undefined;
  if (evalFile) evalIdx = inEvalFileOrder(all.rows, evalIdx, (await loadPaired(evalFile)).rows, pairsFile, evalFile);
  const side = (idx: number[], source: string): PairedRatings => ({ source, enDimensions: all.enDimensions, nlDimensions: all.nlDimensions, rows: idx.map((i) => all.rows[i]) });
  const train = side(trainIdx, `${pairsFile} (the paper's training pairs)`);
  const ev = side(evalIdx, `${pairsFile} (the paper's eval pairs)`);
  checkLeakage(train, ev);
  const counts = { pairs: all.rows.length, half: half.length, train: sideCounts(train), eval: sideCounts(ev) };
  log.info(counts, `paper split: train ${counts.train.rows} pairs, eval ${counts.eval.rows} pairs (scikit-learn train_test_split, random_state ${PAPER_SPLIT.seed}, twice)`);
  return { train, eval: ev, indices: { train: trainIdx, eval: evalIdx }, counts, files: { pairs: pairsFile, evalFile } };
}

const pairKey = (r: { en: string; nl: string }): string => `${wordKey(r.en)}\u0000${wordKey(r.nl)}`;

/** The eval indices reordered as the paper's eval file lists its pairs; an error unless the two sets are equal. */
function inEvalFileOrder(rows: readonly PairRow[], evalIdx: number[], fileRows: readonly PairRow[], pairsFile: string, evalFile: string): number[] {
  const byKey = new Map(evalIdx.map((i) => [pairKey(rows[i]), i]));
  const out: number[] = [];
  const notDrawn: string[] = [];
  for (const r of fileRows) {
    const i = byKey.get(pairKey(r));
    if (i === undefined) notDrawn.push(`${r.en} – ${r.nl}`);
    else out.push(i);
  }
  if (notDrawn.length || out.length !== evalIdx.length || new Set(out).size !== out.length) {
    throw new SmftError(`the split of ${basename(pairsFile)} does not give the paper's eval pairs: ${notDrawn.length} of the file's ${fileRows.length} pairs were not drawn (e.g. ${notDrawn.slice(0, 3).join(', ')}); is this the authors' 7 861-pair file?`, evalFile);
  }
  return out;
}

export interface PoolSplitCounts {
  /** The pool (rows are English–Dutch pairs). */
  pool: SideCounts;
  /** Pool rows left out because their English or Dutch word is in the eval set. */
  removed: {
    rows: number;
    /** Rows whose English word is in eval. */
    byEn: number;
    /** Rows whose Dutch word is in eval. */
    byNl: number;
    /** Distinct eval English / Dutch words that the pool also holds. */
    sharedEn: number;
    sharedNl: number;
  };
  train: SideCounts;
  eval: SideCounts;
}

export interface PoolSplit {
  train: PairedRatings;
  eval: PairedRatings;
  counts: PoolSplitCounts;
  files: { eval: string; trainPool: string };
}

/**
 * An alternative to the paper's split with more training pairs (`smft split --pool`). Eval:
 * exactly the 1572 pairs of `paper/eval_en_1572_with_predictions.csv`. Train: the rows of
 * `paper/train_pool_5436.csv` (a later re-run of the authors' sampling notebook without the
 * back-translation filter; NOT what the paper trained on) minus every row whose English OR
 * Dutch word is also in the eval set (case-insensitive): 4 668 pairs, 4 022 English words.
 */
export async function poolSplit(dataDir: string): Promise<PoolSplit> {
  const evalFile = join(dataDir, PAPER_FILES.evalEn);
  const poolFile = join(dataDir, PAPER_FILES.trainPool);
  for (const f of [evalFile, poolFile]) {
    if (!existsSync(f)) throw new SmftError(`the pool split needs ${f}; it is not in the data directory (set --data-dir or SMFT_DATA_DIR)`);
  }
  const ev = await loadPaired(evalFile);
  if (ev.counts.incomplete || ev.counts.duplicates) {
    throw new SmftError(`the paper's eval set should have 1572 complete, distinct pairs; ${ev.counts.incomplete} incomplete and ${ev.counts.duplicates} repeated rows found`, evalFile);
  }
  const pool = await loadPaired(poolFile);
  const evEn = new Set(ev.rows.map((r) => wordKey(r.en)));
  const evNl = new Set(ev.rows.map((r) => wordKey(r.nl)));
  let byEn = 0, byNl = 0;
  const trainRows: PairRow[] = [];
  for (const r of pool.rows) {
    const e = evEn.has(wordKey(r.en)), n = evNl.has(wordKey(r.nl));
    if (e) byEn++;
    if (n) byNl++;
    if (!e && !n) trainRows.push(r);
  }
  const train: PairedRatings = { source: poolFile, enDimensions: pool.enDimensions, nlDimensions: pool.nlDimensions, rows: trainRows };
  const evalSet: PairedRatings = { source: evalFile, enDimensions: ev.enDimensions, nlDimensions: ev.nlDimensions, rows: ev.rows };
  checkLeakage(train, evalSet);
  const poolEn = new Set(pool.rows.map((r) => wordKey(r.en)));
  const poolNl = new Set(pool.rows.map((r) => wordKey(r.nl)));
  const counts: PoolSplitCounts = {
    pool: { ...sideCounts(pool), rows: pool.counts.rows },
    removed: {
      rows: pool.rows.length - trainRows.length, byEn, byNl,
      sharedEn: [...evEn].filter((w) => poolEn.has(w)).length,
      sharedNl: [...evNl].filter((w) => poolNl.has(w)).length,
    },
    train: sideCounts(train),
    eval: sideCounts(evalSet),
  };
  log.info(counts, `pool split: train ${counts.train.rows} pairs (${counts.train.uniqueEn} English words), eval ${counts.eval.rows}; ${counts.removed.rows} pool rows removed for sharing a word with eval`);
  return { train, eval: evalSet, counts, files: { eval: evalFile, trainPool: poolFile } };
}

export interface CustomSplitOptions {
  /** Fraction of the words (or pairs) that go to eval, in (0, 1). Default 0.2. */
  evalFraction?: number;
  /** Exact number of words (pairs) for eval; overrides evalFraction. */
  evalCount?: number;
  /** Seed of the shuffle (src/util/rng.ts Rng). */
  seed: number;
}

function evalTarget(n: number, opts: CustomSplitOptions): number {
  if (opts.evalCount !== undefined && opts.evalFraction !== undefined) throw new SmftError('give either an eval count or an eval fraction, not both');
  if (!Number.isInteger(opts.seed)) throw new SmftError(`seed must be an integer (got ${opts.seed})`);
  let k: number;
  if (opts.evalCount !== undefined) {
    if (!Number.isInteger(opts.evalCount) || opts.evalCount < 1 || opts.evalCount >= n) throw new SmftError(`eval count must be an integer from 1 to ${n - 1} for ${n} words (got ${opts.evalCount})`);
    k = opts.evalCount;
  } else {
    const f = opts.evalFraction ?? 0.2;
    if (!(f > 0 && f < 1)) throw new SmftError(`eval fraction must be between 0 and 1 (got ${f})`);
    k = Math.round(f * n);
    if (k < 1 || k >= n) throw new SmftError(`eval fraction ${f} of ${n} words leaves an empty train or eval set`);
  }
  return k;
}

/** Fisher–Yates permutation of 0..n-1 driven by Rng(seed). */
function permutation(n: number, seed: number): number[] {
  const rng = new Rng(seed);
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

/** The norms restricted to `rows` (indices into norms.words), in the given order. */
export function subsetNorms(norms: Norms, rows: readonly number[], file = norms.file): Norms {
  const d = norms.dimensions.length;
  const values = new Float64Array(rows.length * d);
  const words: string[] = [];
  const index = new Map<string, number>();
  rows.forEach((i, k) => {
    words.push(norms.words[i]);
    index.set(wordKey(norms.words[i]), k);
    values.set(norms.values.subarray(i * d, (i + 1) * d), k * d);
  });
  return { lang: norms.lang, file, words, dimensions: [...norms.dimensions], values, index };
}

export interface CustomSplit {
  train: Norms;
  eval: Norms;
  seed: number;
  counts: { words: number; train: number; eval: number };
}

/**
 * A seeded random split of any norms file: `evalCount` words (or round(evalFraction · n),
 * default 20 %) go to eval, the rest to train. Deterministic for a seed and a file (the word
 * order of the file matters); both sides keep the file's order.
 */
export function customSplit(norms: Norms, opts: CustomSplitOptions): CustomSplit {
  const n = norms.words.length;
  if (n < 2) throw new SmftError(`cannot split ${n} word(s)`, norms.file);
  const k = evalTarget(n, opts);
  const perm = permutation(n, opts.seed);
  const isEval = new Uint8Array(n);
  for (let i = 0; i < k; i++) isEval[perm[i]] = 1;
  const evalRows: number[] = [], trainRows: number[] = [];
  for (let i = 0; i < n; i++) (isEval[i] ? evalRows : trainRows).push(i);
  const split = { train: subsetNorms(norms, trainRows), eval: subsetNorms(norms, evalRows), seed: opts.seed, counts: { words: n, train: trainRows.length, eval: evalRows.length } };
  checkLeakage(split.train, split.eval);
  return split;
}

export interface CustomPairSplit {
  train: PairedRatings;
  eval: PairedRatings;
  seed: number;
  counts: { rows: number; groups: number; train: SideCounts; eval: SideCounts };
}

/**
 * A seeded split of English–Dutch pair rows that cannot leak: rows linked by a shared English
 * or Dutch word (several translations of one word) form a group, and whole groups go to one
 * side. Groups are shuffled with Rng(seed) and added to eval while they fit under the target
 * (evalCount, or round(evalFraction · rows)); the eval side may fall a few rows short of the
 * target when only large groups are left.
 */
export function customPairSplit(p: PairedRatings, opts: CustomSplitOptions): CustomPairSplit {
  const n = p.rows.length;
  if (n < 2) throw new SmftError(`cannot split ${n} pair(s)`, p.source);
  const k = evalTarget(n, opts);
  // Union–find over rows through their English and Dutch words.
  const parent = Array.from({ length: n }, (_, i) => i);
  const find = (i: number): number => { while (parent[i] !== i) { parent[i] = parent[parent[i]]; i = parent[i]; } return i; };
  const byWord = new Map<string, number>();
  p.rows.forEach((r, i) => {
    for (const w of [`en:${wordKey(r.en)}`, `nl:${wordKey(r.nl)}`]) {
      const j = byWord.get(w);
      if (j === undefined) byWord.set(w, i);
      else parent[find(i)] = find(j);
    }
  });
  const groups = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const g = find(i);
    let list = groups.get(g);
    if (!list) groups.set(g, (list = []));
    list.push(i);
  }
  const ordered = [...groups.values()]; // ordered by first row: deterministic
  const perm = permutation(ordered.length, opts.seed);
  const isEval = new Uint8Array(n);
  let taken = 0;
  for (const gi of perm) {
    if (taken >= k) break;
    const g = ordered[gi];
    if (taken + g.length > k) continue;
    for (const i of g) isEval[i] = 1;
    taken += g.length;
  }
  if (taken === 0) throw new SmftError(`cannot put any pair group into an eval set of ${k}: the pairs form groups larger than that`, p.source);
  const side = (flag: number): PairedRatings => ({ source: p.source, enDimensions: p.enDimensions, nlDimensions: p.nlDimensions, rows: p.rows.filter((_, i) => isEval[i] === flag) });
  const train = side(0), evalSet = side(1);
  checkLeakage(train, evalSet);
  if (taken < k) log.info({ target: k, eval: taken }, `eval set has ${taken} pairs, ${k - taken} short of the target (groups of pairs sharing a word are kept whole)`);
  return { train, eval: evalSet, seed: opts.seed, counts: { rows: n, groups: ordered.length, train: sideCounts(train), eval: sideCounts(evalSet) } };
}

/** Anything with English and/or Dutch words: norms of one language, pair rows, or plain word lists. */
export type SplitSide = Norms | PairedRatings | { en?: Iterable<string>; nl?: Iterable<string> };

function wordsOf(s: SplitSide): { en: Map<string, string>; nl: Map<string, string> } {
  const en = new Map<string, string>(), nl = new Map<string, string>();
  const add = (m: Map<string, string>, w: string) => { const k = wordKey(w); if (!m.has(k)) m.set(k, w); };
  if ('rows' in s) {
    for (const r of s.rows) { add(en, r.en); add(nl, r.nl); }
  } else if ('lang' in s && 'words' in s) {
    for (const w of s.words) add(s.lang === 'en' ? en : nl, w);
  } else {
    for (const w of s.en ?? []) add(en, w);
    for (const w of s.nl ?? []) add(nl, w);
  }
  return { en, nl };
}

export interface LeakageReport {
  /** Words of each language checked on each side. */
  train: { en: number; nl: number };
  eval: { en: number; nl: number };
}

/**
 * Throw a SmftError naming the overlap (count and examples) when any English or Dutch word of
 * `evalSide` is also in `train` (case-insensitive, surrounding spaces ignored).
 */
export function checkLeakage(train: SplitSide, evalSide: SplitSide): LeakageReport {
  const t = wordsOf(train), e = wordsOf(evalSide);
  const overlap = (a: Map<string, string>, b: Map<string, string>) => [...b.keys()].filter((k) => a.has(k)).map((k) => b.get(k)!);
  const en = overlap(t.en, e.en), nl = overlap(t.nl, e.nl);
  if (en.length || nl.length) {
    const part = (w: string[], lang: string) => `${w.length} ${lang} word(s) (e.g. ${w.slice(0, 5).map((x) => `'${x}'`).join(', ')})`;
    const parts = [en.length ? part(en, 'English') : '', nl.length ? part(nl, 'Dutch') : ''].filter(Boolean);
    throw new SmftError(`leakage between train and eval: ${parts.join(' and ')} are in both`);
  }
  return { train: { en: t.en.size, nl: t.nl.size }, eval: { en: e.en.size, nl: e.nl.size } };
}

const fmt = (v: number): string => (Number.isFinite(v) ? String(v) : '');

/**
 * CSV text of pair rows: `Word`, the 11 Lancaster `<Dim>.mean`, `Woord`, the 6 Dutch columns.
 * Readable back by loadNorms (either language) and loadPaired.
 */
export function pairedToCsv(p: PairedRatings): string {
  const fields = ['Word', ...p.enDimensions.map((d) => `${OFFICIAL_STEM[d]}.mean`), 'Woord', ...p.nlDimensions.map((d) => OFFICIAL_STEM[d])];
  const data = p.rows.map((r) => [r.en, ...r.enRatings.map(fmt), r.nl, ...r.nlRatings.map(fmt)]);
  return Papa.unparse({ fields, data }, { newline: '\n' }) + '\n';
}

/** CSV text of norms: `Word` + `<Dim>.mean` (English) or `Woord` + `<Dim>` (Dutch). */
export function normsToCsv(n: Norms): string {
  const stem = (d: Dimension) => (n.lang === 'en' ? `${OFFICIAL_STEM[d]}.mean` : OFFICIAL_STEM[d]);
  const fields = [n.lang === 'en' ? 'Word' : 'Woord', ...n.dimensions.map(stem)];
  const d = n.dimensions.length;
  const data = n.words.map((w, i) => [w, ...Array.from(n.values.subarray(i * d, (i + 1) * d), fmt)]);
  return Papa.unparse({ fields, data }, { newline: '\n' }) + '\n';
}
