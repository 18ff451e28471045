import { basename, extname } from 'node:path';
import { SmftError, at } from '../util/errors.js';
import { log } from '../util/log.js';
import { HUMAN, type RatingTable } from '../eval/table.js';
import { columnRole, wordKey } from './columns.js';
import { readCsv, readText, parseDecimal, parseNumber, type CsvTable } from './csv.js';
import { canonicalDimension, dimensionLang, dimensionsFor, EN_DIMENSIONS, NL_DIMENSIONS, type Dimension, type Lang } from './dimensions.js';
import type { Norms } from './norms.js';
import { batchFileStem, batchOutputModel, parseBatchCustomId } from './batch-ids.js';

/**
 * Ratings gathered from one or more prediction files before they become a RatingTable:
 * source → dimension → word key → rating.
 */
interface Collected {
  words: Map<string, string>;
  ratings: Map<string, Map<Dimension, Map<string, number>>>;
  origin: Map<string, string>;
  /** word key → where the word first occurs (file:line), for error messages. */
  firstSeen: Map<string, string>;
}

export interface LoadPredictionsOptions {
  /** Language; inferred from the dimensions of the model ratings when absent. */
  lang?: Lang;
  /** Human norms used when the files carry no human ratings. */
  norms?: Norms;
  /** Words of the evaluation set in order (row k of an OpenAI batch file is word k). */
  evalWords?: string[];
  /**
   * custom_id → word, read from OpenAI batch *input* files (their prompts name the word).
   * Without it, row k of an output file is taken to be word k of `evalWords` (logged).
   */
  batchWords?: Map<string, string>;
}

/** Error codes of loadPredictions that a caller can answer by supplying norms / eval words. */
export const NEEDS_NORMS = 'needs-norms';
export const NEEDS_EVAL_WORDS = 'needs-eval-words';

/**
 * Map custom_id → word from OpenAI batch input files: smft's own custom_ids name the word
 * (src/data/batch-ids.ts); otherwise each line's last user message holds the norming prompt,
 * whose word stands in quotes after "concept is:" (or, failing that, is the last quoted string).
 */
export function readBatchInputWords(files: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const file of files) {
    forEachJsonLine<{ custom_id?: string; body?: { messages?: Array<{ role: string; content: unknown }> } }>(file, (obj, k) => {
      const smft = parseBatchCustomId(obj.custom_id);
      if (smft) { out.set(obj.custom_id as string, smft.word); return; }
      const msgs = obj.body?.messages ?? [];
      const user = [...msgs].reverse().find((m) => m.role === 'user');
      const content = typeof user?.content === 'string' ? user.content : JSON.stringify(user?.content ?? '');
      const m = content.match(/concept is:\s*["“]([^"”]+)["”]/i) ?? [...content.matchAll(/["“]([^"”]+)["”]/g)].pop();
      if (!obj.custom_id || !m) throw new SmftError('cannot find custom_id and the quoted word in the request', at(file, k + 1));
      out.set(obj.custom_id, m[1].trim());
    });
  }
  return out;
}

function put(c: Collected, source: string, dim: Dimension, word: string, value: number, file: string, where: string): void {
  const key = wordKey(word);
  if (!c.words.has(key)) c.words.set(key, word.trim());
  if (!c.firstSeen.has(key)) c.firstSeen.set(key, where);
  let byDim = c.ratings.get(source);
  if (!byDim) c.ratings.set(source, (byDim = new Map()));
  let byWord = byDim.get(dim);
  if (!byWord) byDim.set(dim, (byWord = new Map()));
  const id = `${source}/${dim}/${key}`;
  const prev = c.origin.get(id);
  if (prev !== undefined) {
    const [prevFile, prevWhere] = prev.split('\u0000');
    if (prevFile === file) throw new SmftError(`duplicate rating of '${word}' on ${dim} by ${source} (first at ${prevWhere})`, where);
    const old = byWord.get(key)!;
    if (!Object.is(old, value)) throw new SmftError(`rating of '${word}' on ${dim} by ${source} differs from ${prevWhere} (${value} vs ${old})`, where);
  }
  byWord.set(key, value);
  c.origin.set(id, `${file}\u0000${where}`);
}

/** Wide CSV: one row per word, human `<Dim>.mean` / `<Dim>` columns, model `<dim>_<model>` columns. */
function collectWide(t: CsvTable, c: Collected, lang: Lang | undefined): void {
  const wordCol = ['Word', 'word', 'WORD'].map((n) => t.col(n)).find((i) => i >= 0);
  if (wordCol === undefined) throw new SmftError(`no 'Word' column (columns: ${t.header.slice(0, 8).join(', ')}…)`, t.file);
  const roles = t.header.map(columnRole);
  const modelIds = new Set(roles.flatMap((r) => (r.kind === 'model' ? [r.model] : [])));
  const hasHuman = roles.some((r) => r.kind === 'human');
  roles.forEach((role, j) => { if (role.kind === 'other') checkMisspelt(t, j, modelIds, hasHuman); });
  const modelLangs = new Set(roles.flatMap((r) => (r.kind === 'model' ? [dimensionLang(r.dim)] : [])));
  if (modelLangs.size === 0) throw new SmftError("no model columns found (expected names like 'auditory_base' or 'Horen_nl_ft')", t.file);
  const fileLang = lang ?? (modelLangs.size === 1 ? [...modelLangs][0] : undefined);
  if (!fileLang) throw new SmftError('model columns mix English and Dutch dimensions; pass --lang en or --lang nl', t.file);
  const seen = new Map<string, number>();
  t.rows.forEach((row, r) => {
    const word = row[wordCol].trim();
    if (word === '') throw new SmftError('empty word', at(t.file, t.line(r), t.header[wordCol]));
    const key = wordKey(word);
    if (seen.has(key)) throw new SmftError(`word '${word}' appears twice (first at line ${seen.get(key)})`, at(t.file, t.line(r)));
    seen.set(key, t.line(r));
    roles.forEach((role, j) => {
      if (role.kind === 'other') return;
      if (role.kind === 'human' && role.lang !== fileLang) return;
      if (role.kind === 'model' && dimensionLang(role.dim) !== fileLang) return;
      const v = parseNumber(row[j], t, r, t.header[j]);
      put(c, role.kind === 'human' ? HUMAN : role.model, role.dim, word, v, t.file, at(t.file, t.line(r), t.header[j]));
    });
  });
}

/** Long CSV: `word,dimension,model,rating` (model `human` = human norms), extra columns ignored. */
function collectLong(t: CsvTable, c: Collected): void {
  const need = ['word', 'dimension', 'model', 'rating'];
  const cols = need.map((n) => t.header.findIndex((h) => h.toLowerCase() === n));
  const missing = need.filter((_, k) => cols[k] < 0);
  if (missing.length) throw new SmftError(`missing column(s) ${missing.join(', ')} (a long predictions file has word,dimension,model,rating)`, t.file);
  const [cw, cd, cm, cr] = cols;
  t.rows.forEach((row, r) => {
    const word = row[cw].trim();
    if (word === '') throw new SmftError('empty word', at(t.file, t.line(r), 'word'));
    const dim = canonicalDimension(row[cd]);
    if (!dim) throw new SmftError(`unknown dimension '${row[cd]}'`, at(t.file, t.line(r), 'dimension'));
    const model = row[cm].trim().toLowerCase();
    if (model === '') throw new SmftError('empty model id', at(t.file, t.line(r), 'model'));
    put(c, model, dim, word, parseNumber(row[cr], t, r, 'rating'), t.file, at(t.file, t.line(r)));
  });
}

/**
 * OpenAI batch-API output (one JSON object per line, `custom_id` ending in the 1-based row of
 * the evaluation set). The file name `<dim>_<model>_…` names dimension and model. Gives two
 * models: `<model>` (answer text parsed as a number) and `<model>_expected` (Σ k·p(k) over the
 * digit tokens 0–5 among the first token's top_logprobs, renormalised).
 */
function collectJsonl(file: string, c: Collected, evalWords: string[] | undefined, batchWords: Map<string, string> | undefined): void {
  if (smftBatchLang(file)) return collectSmftJsonl(file, c, batchWords);
  const stem = batchFileStem(file);
  const role = columnRole(stem);
  if (role.kind !== 'model') throw new SmftError(`cannot tell dimension and model from the file name (expected '<dimension>_<model>_….jsonl', e.g. 'auditory_base_test_results.jsonl')`, file);
  if (!evalWords && !batchWords) throw new SmftError('an OpenAI batch file needs its batch input file (--batch-input) or the evaluation word list (--eval-set) to map rows to words', file, NEEDS_EVAL_WORDS);
  if (!batchWords) log.warn({ file }, `${basename(file)}: no --batch-input given; assuming row k is word k of the evaluation set`);
  let unparsed = 0;
  forEachJsonLine(file, (obj, k) => {
    const id = String(obj.custom_id ?? '');
    let word: string;
    if (batchWords) {
      const w = batchWords.get(id);
      if (w === undefined) throw new SmftError(`custom_id '${id}' is not in the batch input file(s)`, at(file, k + 1));
      word = w;
    } else {
      const m = id.match(/(\d+)$/);
      if (!m) throw new SmftError(`custom_id '${id}' does not end in a row number`, at(file, k + 1));
      const row = Number(m[1]) - 1;
      if (row < 0 || row >= evalWords!.length) throw new SmftError(`custom_id row ${row + 1} is outside the evaluation set of ${evalWords!.length} words`, at(file, k + 1));
      word = evalWords![row];
    }
    if (!putBatchAnswer(c, obj, role.model, role.dim, word, file, k)) unparsed++;
  });
  if (unparsed) log.warn({ file, unparsed }, `${unparsed} answer(s) in ${basename(file)} are not numbers; treated as missing`);
}

/**
 * A batch output whose custom_ids are smft's (`smft:<dimension>:<word>`, from smft export):
 * word and dimension from each id, the model from the file name (batchOutputModel). With
 * `batchWords` (the request files), every id must be one of the requests.
 */
function collectSmftJsonl(file: string, c: Collected, batchWords: Map<string, string> | undefined): void {
  const model = batchOutputModel(file);
  let unparsed = 0;
  forEachJsonLine(file, (obj, k) => {
    const id = parseBatchCustomId(obj.custom_id);
    if (!id) throw new SmftError(`custom_id '${String(obj.custom_id ?? '')}' is not one of smft's (smft:<dimension>:<word>) like the file's first line`, at(file, k + 1));
    if (batchWords && !batchWords.has(String(obj.custom_id))) throw new SmftError(`custom_id '${String(obj.custom_id)}' is not in the batch input file(s)`, at(file, k + 1));
    if (!putBatchAnswer(c, obj, model, id.dimension, id.word, file, k)) unparsed++;
  });
  if (unparsed) log.warn({ file, unparsed }, `${unparsed} answer(s) in ${basename(file)} are not numbers; treated as missing`);
}

/** Each non-empty line of a JSONL file, parsed (k: 0-based line index); a syntax error names file and line. */
function forEachJsonLine<T = BatchLine>(file: string, fn: (obj: T, k: number) => void): void {
  readText(file).split(/\r?\n/).forEach((text, k) => {
    if (text.trim() === '') return;
    let obj: T;
    try { obj = JSON.parse(text) as T; } catch (e) {
      throw new SmftError(`not valid JSON (${(e as Error).message})`, at(file, k + 1));
    }
    fn(obj, k);
  });
}

/** Put one batch answer as `<model>` (the answer text as a number) and `<model>_expected`; false when the text is not a number. */
function putBatchAnswer(c: Collected, obj: BatchLine, model: string, dim: Dimension, word: string, file: string, k: number): boolean {
  const choice = obj.response?.body?.choices?.[0];
  if (!choice) throw new SmftError(`no response.body.choices[0] (failed request?${obj.error ? ` ${JSON.stringify(obj.error).slice(0, 120)}` : ''})`, at(file, k + 1));
  const answer = parseDecimal(String(choice.message?.content ?? ''));
  put(c, model, dim, word, Number.isFinite(answer) ? answer : NaN, file, at(file, k + 1));
  put(c, `${model}_expected`, dim, word, expectedRating(choice.logprobs?.content?.[0]?.top_logprobs ?? []), file, at(file, k + 1));
  return Number.isFinite(answer);
}

/** The language of a batch file whose first request has an smft custom_id; undefined for any other file. */
export function smftBatchLang(file: string): Lang | undefined {
  if (extname(file).toLowerCase() !== '.jsonl') return undefined;
  const first = readText(file).split(/\r?\n/).find((l) => l.trim() !== '');
  if (!first) return undefined;
  try {
    const id = parseBatchCustomId((JSON.parse(first) as { custom_id?: unknown }).custom_id);
    return id ? dimensionLang(id.dimension) : undefined;
  } catch {
    return undefined;
  }
}

interface BatchLine {
  custom_id?: string;
  error?: unknown;
  response?: { body?: { choices?: Array<{ message?: { content?: string }; logprobs?: { content?: Array<{ top_logprobs?: Array<{ token: string; logprob: number }> }> } }> } };
}

/** A token and its log-probability, as OpenAI-style `top_logprobs` list them. */
export interface TokenLogprob { token: string; logprob: number }

/**
 * Probabilities of the rating digits 0–5 among `top` (token text trimmed, so " 3" counts as 3),
 * renormalised over the digits present: p[k] (0 for a digit not listed; all NaN when none is)
 * and how many of the six were present.
 */
export function digitProbabilities(top: readonly TokenLogprob[]): { p: number[]; present: number } {
  const raw = [0, 0, 0, 0, 0, 0];
  const seen = new Set<number>();
  for (const { token, logprob } of top) {
    const t = token.trim();
    if (/^[0-5]$/.test(t)) { raw[Number(t)] += Math.exp(logprob); seen.add(Number(t)); }
  }
  const z = raw.reduce((a, x) => a + x, 0);
  return { p: raw.map((x) => (z > 0 ? x / z : NaN)), present: z > 0 ? seen.size : 0 };
}

/** Σ k·p(k) over the digit tokens 0–5 present, probabilities renormalised over them (the paper's rating). */
export function expectedRating(top: readonly TokenLogprob[]): number {
  const { p, present } = digitProbabilities(top);
  return present ? p.reduce((a, x, k) => a + k * x, 0) : NaN;
}

/** Dimension names and aliases a column may start with (lower case). */
const DIM_NAMES = [...EN_DIMENSIONS, ...NL_DIMENSIONS, 'foot', 'hand'];

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * A column that is neither human nor model but whose name is a near miss of a dimension
 * (`auditroy_base` beside `visual_base`, `Vissual.mean` beside other `.mean` columns) would
 * otherwise be ignored silently: make it an error. Only columns that look like the file's
 * other rating columns are checked (same model suffix, or `.mean` when there are human
 * columns; anything when the file has no model column at all), so unrelated extra columns pass.
 */
function checkMisspelt(t: CsvTable, j: number, modelIds: Set<string>, hasHuman: boolean): void {
  const name = t.header[j].trim();
  const lower = name.toLowerCase();
  const m = lower.match(/^([a-z]+)(?:(\.mean)|_([a-z0-9][a-z0-9_-]*))$/);
  if (!m || m[1].length < 4) return;
  const looksLikeRating = modelIds.size === 0 || (m[2] ? hasHuman : modelIds.has(m[3]));
  if (!looksLikeRating) return;
  const stem = m[1];
  let best = '', bestD = Infinity;
  for (const d of DIM_NAMES) {
    const e = editDistance(stem, d);
    if (e < bestD) { bestD = e; best = d; }
  }
  if (bestD > 0 && bestD <= (stem.length >= 6 ? 2 : 1)) {
    throw new SmftError(`'${name.slice(0, stem.length)}' is not a dimension (did you mean '${best}'?)`, at(t.file, 1, name));
  }
}


/**
 * Read prediction files in any of the three forms (wide CSV, long CSV, OpenAI batch JSONL) and
 * merge them by word into one RatingTable with the humans first. Human ratings come from the
 * files when present, otherwise from `opts.norms` (every word must be in the norms).
 */
export function loadPredictions(files: string[], opts: LoadPredictionsOptions = {}): RatingTable {
  if (files.length === 0) throw new SmftError('no predictions file given');
  const c: Collected = { words: new Map(), ratings: new Map(), origin: new Map(), firstSeen: new Map() };
  for (const file of files) {
    if (extname(file).toLowerCase() === '.jsonl') { collectJsonl(file, c, opts.evalWords, opts.batchWords); continue; }
    const t = readCsv(file);
    const lower = t.header.map((h) => h.toLowerCase());
    const longish = ['dimension', 'model', 'rating'].filter((n) => lower.includes(n)).length >= 2 && !t.header.some((h) => columnRole(h).kind === 'model');
    if (['word', 'dimension', 'model', 'rating'].every((n) => lower.includes(n)) || longish) collectLong(t, c);
    else collectWide(t, c, opts.lang);
  }
  const models = [...c.ratings.keys()].filter((s) => s !== HUMAN);
  if (models.length === 0) throw new SmftError(`no model ratings in ${files.join(', ')}`);
  const modelDims = new Set(models.flatMap((m) => [...c.ratings.get(m)!.keys()]));
  const langs = new Set([...modelDims].map(dimensionLang));
  const lang = opts.lang ?? (langs.size === 1 ? [...langs][0] : undefined);
  if (!lang) throw new SmftError('predictions mix English and Dutch dimensions; pass --lang en or --lang nl');
  // Dimensions every model rated, in canonical order.
  const dims = dimensionsFor(lang).filter((d) => models.every((m) => c.ratings.get(m)!.has(d)));
  if (dims.length === 0) throw new SmftError(`no ${lang === 'en' ? 'English' : 'Dutch'} dimension is rated by every model (${models.join(', ')})`);
  const partial = dimensionsFor(lang).filter((d) => !dims.includes(d) && models.some((m) => c.ratings.get(m)!.has(d)));
  if (partial.length) log.warn({ dimensions: partial }, `dimension(s) ${partial.join(', ')} rated by only some models: left out`);

  const keys = [...c.words.keys()];
  const words = keys.map((k) => c.words.get(k)!);
  const human = c.ratings.get(HUMAN);
  const humanHasAll = human && dims.every((d) => human.has(d));
  if (!humanHasAll) {
    if (!opts.norms) throw new SmftError('the predictions carry no human ratings; give the norms (--norms FILE) or include a human column/rows', undefined, NEEDS_NORMS);
    const unknown = keys.filter((k) => !opts.norms!.index.has(k));
    if (unknown.length) {
      const where = c.firstSeen.get(unknown[0])!.replace(/ \(column .*\)$/, '');
      throw new SmftError(`word '${c.words.get(unknown[0])}' is not in the norms ${opts.norms.file}; ${unknown.length} of ${keys.length} predicted word(s) are not (e.g. ${unknown.slice(0, 5).map((k) => c.words.get(k)).join(', ')})`, where);
    }
    for (const d of dims) {
      const j = opts.norms.dimensions.indexOf(d);
      for (const k of keys) put(c, HUMAN, d, c.words.get(k)!, opts.norms.values[opts.norms.index.get(k)! * opts.norms.dimensions.length + j], opts.norms.file, opts.norms.file);
    }
  }
  const sources = [HUMAN, ...models];
  const values = new Map<string, Float64Array>();
  for (const s of sources) {
    const v = new Float64Array(keys.length * dims.length).fill(NaN);
    const byDim = c.ratings.get(s)!;
    dims.forEach((d, j) => {
      const byWord = byDim.get(d);
      if (!byWord) return;
      keys.forEach((k, i) => { const x = byWord.get(k); if (x !== undefined) v[i * dims.length + j] = x; });
    });
    values.set(s, v);
  }
  warnOutsideScale(sources, values, words, dims);
  return { lang, words, dimensions: dims, sources, values };
}

/** The rating scale of both norms (Lancaster and the Dutch norms rate 0–5). */
export const RATING_SCALE = [0, 5] as const;

/**
 * Ratings outside the 0–5 scale are kept (RSA z-scores every column, so a model answering on
 * another scale is still comparable) but never silently: one warning per source with the count.
 */
function warnOutsideScale(sources: string[], values: Map<string, Float64Array>, words: string[], dims: Dimension[]): void {
  const [lo, hi] = RATING_SCALE;
  for (const s of sources) {
    const v = values.get(s)!;
    let n = 0, first = -1;
    for (let k = 0; k < v.length; k++) if (v[k] < lo || v[k] > hi) { n++; if (first < 0) first = k; }
    if (!n) continue;
    const word = words[Math.floor(first / dims.length)], dim = dims[first % dims.length];
    log.warn({ source: s, outside: n, of: v.length, example: { word, dimension: dim, rating: v[first] } },
      `${n} rating(s) of ${s} lie outside the ${lo}–${hi} scale (e.g. ${v[first]} for '${word}' on ${dim}); kept as they are: RSA and dimension-wise ρ do not depend on the scale, word-wise distances do`);
  }
}
