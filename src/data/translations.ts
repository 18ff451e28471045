import { basename } from 'node:path';
import { SmftError, at } from '../util/errors.js';
import { log } from '../util/log.js';
import { columnRole, wordKey } from './columns.js';
import { parseNumber, type CsvTable } from './csv.js';
import { EN_DIMENSIONS, NL_DIMENSIONS, type EnDimension, type NlDimension } from './dimensions.js';
import { readTable, type Norms } from './norms.js';

/** One English–Dutch translation pair. */
export interface TranslationPair {
  en: string;
  nl: string;
  /** 1-based line of the pair in its file. */
  line: number;
  /** The DeepL table's `Include?` flag (back-translation gives the Dutch word again); absent in pairs files. */
  included?: boolean;
  /** The DeepL table's back-translation into Dutch. */
  back?: string;
}

/** A translation table read from a file. */
export interface Translations {
  file: string;
  /** `deepl`: the paper's Original_word/Deepl_translation_English table; `pairs`: Word + Woord rows. */
  format: 'deepl' | 'pairs';
  pairs: TranslationPair[];
  counts: {
    /** Data rows in the file. */
    rows: number;
    /** Pairs returned. */
    pairs: number;
    /** Rows repeating an earlier (English, Dutch) pair, merged. */
    duplicates: number;
    /** Rows with an empty English or Dutch word, left out. */
    empty: number;
    /** Rows left out because `Include?` is 0 (only with `includedOnly`). */
    excluded: number;
  };
}

export interface LoadTranslationsOptions {
  /** Keep only the DeepL rows whose `Include?` flag is 1 (round-trip consistent). Default false. */
  includedOnly?: boolean;
}

const DEEPL_NL = ['original_word'];
const DEEPL_EN = ['deepl_translation_english'];
const PAIR_EN = ['word', 'english', 'en'];
const PAIR_NL = ['woord', 'dutch', 'nl', 'word_nl'];

function findCol(t: CsvTable, names: string[]): number {
  const lower = t.header.map((h) => h.toLowerCase());
  for (const n of names) {
    const i = lower.indexOf(n);
    if (i >= 0) return i;
  }
  return -1;
}

function parseFlag(cell: string, t: CsvTable, r: number, column: string): boolean | undefined {
  const s = cell.trim().toLowerCase();
  if (s === '') return undefined;
  if (s === '1' || s === 'true' || s === 'yes' || s === 'y') return true;
  if (s === '0' || s === 'false' || s === 'no' || s === 'n') return false;
  throw new SmftError(`'${cell}' is not a 0/1 flag`, at(t.file, t.line(r), column));
}

/**
 * English–Dutch pairs from a table: (a) the paper's DeepL table (`Original_word` = Dutch,
 * `Deepl_translation_English`, optional `Back_translation`, `Include?`), or (b) any file with
 * one pair per row (`Word` + `Woord`, e.g. the Lancaster × Dutch pairs file and the paper's
 * pools; also `English`/`Dutch`). Repeated pairs are merged and rows with an empty word are
 * left out, both counted in `counts` and logged.
 */
export function translationsFromTable(t: CsvTable, opts: LoadTranslationsOptions = {}): Translations {
  let format: Translations['format'];
  let enCol = findCol(t, DEEPL_EN);
  let nlCol = findCol(t, DEEPL_NL);
  if (enCol >= 0 && nlCol >= 0) {
    format = 'deepl';
  } else {
    format = 'pairs';
    enCol = findCol(t, PAIR_EN);
    nlCol = findCol(t, PAIR_NL);
    if (enCol < 0 || nlCol < 0) {
      throw new SmftError(`not a translation table: expected columns Original_word + Deepl_translation_English, or Word + Woord (columns: ${t.header.slice(0, 8).join(', ')}${t.header.length > 8 ? ', …' : ''})`, t.file);
    }
  }
  const includeCol = format === 'deepl' ? findCol(t, ['include?', 'include']) : -1;
  const backCol = format === 'deepl' ? findCol(t, ['back_translation']) : -1;
  if (opts.includedOnly && includeCol < 0) throw new SmftError("only included pairs were asked for, but the table has no 'Include?' column", t.file);

  const pairs: TranslationPair[] = [];
  const seen = new Set<string>();
  let duplicates = 0, empty = 0, excluded = 0;
  t.rows.forEach((row, r) => {
    const en = row[enCol].trim();
    const nl = row[nlCol].trim();
    if (en === '' || nl === '') { empty++; return; }
    const included = includeCol >= 0 ? parseFlag(row[includeCol], t, r, t.header[includeCol]) : undefined;
    if (opts.includedOnly && included !== true) { excluded++; return; }
    const key = `${wordKey(en)}\u0000${wordKey(nl)}`;
    if (seen.has(key)) { duplicates++; return; }
    seen.add(key);
    const pair: TranslationPair = { en, nl, line: t.line(r) };
    if (included !== undefined) pair.included = included;
    if (backCol >= 0 && row[backCol].trim() !== '') pair.back = row[backCol].trim();
    pairs.push(pair);
  });
  const counts = { rows: t.rows.length, pairs: pairs.length, duplicates, empty, excluded };
  if (duplicates || empty || excluded) log.info({ file: t.file, ...counts }, `${basename(t.file)}: ${pairs.length} translation pairs (${duplicates} repeated, ${empty} with an empty word, ${excluded} not included)`);
  return { file: t.file, format, pairs, counts };
}

/** Read a translation table (CSV, TSV or XLSX); see translationsFromTable. */
export async function loadTranslations(file: string, opts: LoadTranslationsOptions = {}): Promise<Translations> {
  return translationsFromTable(await readTable(file), opts);
}

/** One English–Dutch pair with both rating vectors. */
export interface PairRow {
  en: string;
  nl: string;
  /** Ratings on `enDimensions`. */
  enRatings: number[];
  /** Ratings on `nlDimensions`. */
  nlRatings: number[];
  /** Where the row came from (file:line), when known. */
  where?: string;
}

/** Rows of English–Dutch pairs with Lancaster (11) and Dutch (6) ratings. */
export interface PairedRatings {
  /** The file the rows came from, or a description. */
  source: string;
  enDimensions: EnDimension[];
  nlDimensions: NlDimension[];
  rows: PairRow[];
}

export interface PairedCounts {
  /** Data rows read. */
  rows: number;
  /** Rows kept. */
  kept: number;
  /** Rows with a missing rating, left out. */
  incomplete: number;
  /** Rows repeating an earlier pair with the same ratings, merged. */
  duplicates: number;
}

/**
 * Rows of English–Dutch pairs with both ratings from one table: the Lancaster × Dutch pairs
 * file and the paper's pools / eval files (`Word` + Lancaster `<Dim>.mean` columns, `Woord` +
 * Dutch `Horen` … columns). An English word may occur in several rows (several translations).
 * Rows with a missing rating are left out with a logged count; a repeated pair with identical
 * ratings is merged, with different ratings it is an error.
 */
export function pairedFromTable(t: CsvTable): PairedRatings & { counts: PairedCounts } {
  const enCols = new Map<EnDimension, number>();
  const nlCols = new Map<NlDimension, number>();
  t.header.forEach((h, i) => {
    const role = columnRole(h);
    if (role.kind !== 'human') return;
    if (role.lang === 'en' && !enCols.has(role.dim as EnDimension)) enCols.set(role.dim as EnDimension, i);
    if (role.lang === 'nl' && !nlCols.has(role.dim as NlDimension)) nlCols.set(role.dim as NlDimension, i);
  });
  const enMissing = EN_DIMENSIONS.filter((d) => !enCols.has(d));
  const nlMissing = NL_DIMENSIONS.filter((d) => !nlCols.has(d));
  if (enMissing.length || nlMissing.length) {
    throw new SmftError(`not an English–Dutch pairs table: missing rating column(s) for ${[...enMissing, ...nlMissing].join(', ')} (expected Lancaster 'Auditory.mean' … and Dutch 'Horen' … columns)`, t.file);
  }
  const enWordCol = t.col('Word') >= 0 ? t.col('Word') : findCol(t, ['word']);
  const nlWordCol = t.col('Woord') >= 0 ? t.col('Woord') : findCol(t, ['woord']);
  if (enWordCol < 0 || nlWordCol < 0) throw new SmftError(`not an English–Dutch pairs table: needs a 'Word' and a 'Woord' column`, t.file);

  const rows: PairRow[] = [];
  const first = new Map<string, number>();
  let incomplete = 0, duplicates = 0;
  const parse = (row: string[], r: number, col: number): number => {
    const v = parseNumber(row[col], t, r, t.header[col]);
    if (!Number.isNaN(v) && (v < 0 || v > 5)) throw new SmftError(`rating ${v} outside 0–5`, at(t.file, t.line(r), t.header[col]));
    return v;
  };
  t.rows.forEach((row, r) => {
    const en = row[enWordCol].trim();
    const nl = row[nlWordCol].trim();
    if (en === '') throw new SmftError('empty word', at(t.file, t.line(r), t.header[enWordCol]));
    if (nl === '') throw new SmftError('empty word', at(t.file, t.line(r), t.header[nlWordCol]));
    const enRatings = EN_DIMENSIONS.map((d) => parse(row, r, enCols.get(d)!));
    const nlRatings = NL_DIMENSIONS.map((d) => parse(row, r, nlCols.get(d)!));
    if ([...enRatings, ...nlRatings].some(Number.isNaN)) { incomplete++; return; }
    const key = `${wordKey(en)}\u0000${wordKey(nl)}`;
    const prev = first.get(key);
    if (prev !== undefined) {
      const p = rows[prev];
      const same = p.enRatings.every((x, k) => Math.abs(x - enRatings[k]) < 1e-9) && p.nlRatings.every((x, k) => Math.abs(x - nlRatings[k]) < 1e-9);
      if (!same) throw new SmftError(`pair '${en}' – '${nl}' appears twice with different ratings (first at ${p.where})`, at(t.file, t.line(r)));
      duplicates++;
      return;
    }
    first.set(key, rows.length);
    rows.push({ en, nl, enRatings, nlRatings, where: at(t.file, t.line(r)) });
  });
  const counts: PairedCounts = { rows: t.rows.length, kept: rows.length, incomplete, duplicates };
  if (incomplete) log.info({ file: t.file, incomplete }, `${basename(t.file)}: ${incomplete} pair(s) with a missing rating left out`);
  if (duplicates) log.info({ file: t.file, duplicates }, `${basename(t.file)}: ${duplicates} repeated pair(s) merged`);
  return { source: t.file, enDimensions: [...EN_DIMENSIONS], nlDimensions: [...NL_DIMENSIONS], rows, counts };
}

/** Read a pairs-with-ratings table (CSV, TSV or XLSX); see pairedFromTable. */
export async function loadPaired(file: string): Promise<PairedRatings & { counts: PairedCounts }> {
  return pairedFromTable(await readTable(file));
}

/** Does this table hold English–Dutch pairs with both ratings (Word + Lancaster, Woord + Dutch)? */
export function isPairedTable(t: CsvTable): boolean {
  const roles = t.header.map(columnRole);
  const has = (lang: 'en' | 'nl') => roles.some((r) => r.kind === 'human' && r.lang === lang);
  return has('en') && has('nl') && findCol(t, ['word']) >= 0 && findCol(t, ['woord']) >= 0;
}

export interface JoinCounts {
  /** Translation pairs given. */
  pairs: number;
  /** Pairs whose both words are in the norms with complete ratings. */
  joined: number;
  /** Pairs whose English word is not in the English norms (Dutch word present). */
  missingEn: number;
  /** Pairs whose Dutch word is not in the Dutch norms (English word present). */
  missingNl: number;
  /** Pairs with neither word in the norms. */
  missingBoth: number;
  /** Pairs with both words present but a missing rating on some dimension, left out. */
  incomplete: number;
  /** Joined pairs repeating an earlier (English, Dutch) pair, merged. */
  duplicates: number;
  /** Distinct English / Dutch words among the joined rows. */
  uniqueEn: number;
  uniqueNl: number;
}

export interface JoinResult extends PairedRatings {
  counts: JoinCounts;
  /** Distinct words of the pairs that the norms lack, in first-seen order. */
  missing: { en: string[]; nl: string[] };
}

/**
 * Join English and Dutch norms through translation pairs: one row per pair whose English word
 * is in `en` and Dutch word in `nl` (case-insensitive), with both rating vectors. Pairs with a
 * word missing from either side or a missing rating are not silently lost: they are counted in
 * `counts`, listed in `missing`, and logged.
 */
export function joinNorms(en: Norms, nl: Norms, pairs: TranslationPair[] | Translations): JoinResult {
  if (en.lang !== 'en') throw new SmftError(`joinNorms: the first norms must be English (got ${en.lang})`, en.file);
  if (nl.lang !== 'nl') throw new SmftError(`joinNorms: the second norms must be Dutch (got ${nl.lang})`, nl.file);
  const list = Array.isArray(pairs) ? pairs : pairs.pairs;
  const source = Array.isArray(pairs) ? 'translation pairs' : pairs.file;
  const enIdx = EN_DIMENSIONS.map((d) => en.dimensions.indexOf(d));
  const nlIdx = NL_DIMENSIONS.map((d) => nl.dimensions.indexOf(d));
  if (enIdx.some((j) => j < 0)) throw new SmftError('English norms lack some of the 11 Lancaster dimensions', en.file);
  if (nlIdx.some((j) => j < 0)) throw new SmftError('Dutch norms lack some of the 6 Dutch dimensions', nl.file);
  const rows: PairRow[] = [];
  const missEn = new Set<string>(), missNl = new Set<string>();
  const missingEnWords: string[] = [], missingNlWords: string[] = [];
  const seen = new Set<string>();
  const c: JoinCounts = { pairs: list.length, joined: 0, missingEn: 0, missingNl: 0, missingBoth: 0, incomplete: 0, duplicates: 0, uniqueEn: 0, uniqueNl: 0 };
  for (const p of list) {
    const ek = wordKey(p.en), nk = wordKey(p.nl);
    const ei = en.index.get(ek), ni = nl.index.get(nk);
    if (ei === undefined && !missEn.has(ek)) { missEn.add(ek); missingEnWords.push(p.en); }
    if (ni === undefined && !missNl.has(nk)) { missNl.add(nk); missingNlWords.push(p.nl); }
    if (ei === undefined && ni === undefined) { c.missingBoth++; continue; }
    if (ei === undefined) { c.missingEn++; continue; }
    if (ni === undefined) { c.missingNl++; continue; }
    const enRatings = enIdx.map((j) => en.values[ei * en.dimensions.length + j]);
    const nlRatings = nlIdx.map((j) => nl.values[ni * nl.dimensions.length + j]);
    if ([...enRatings, ...nlRatings].some(Number.isNaN)) { c.incomplete++; continue; }
    const key = `${ek}\u0000${nk}`;
    if (seen.has(key)) { c.duplicates++; continue; }
    seen.add(key);
    rows.push({ en: en.words[ei], nl: nl.words[ni], enRatings, nlRatings, where: Array.isArray(pairs) ? undefined : at(pairs.file, p.line) });
  }
  c.joined = rows.length;
  c.uniqueEn = new Set(rows.map((r) => wordKey(r.en))).size;
  c.uniqueNl = new Set(rows.map((r) => wordKey(r.nl))).size;
  const eg = (w: string[]) => w.slice(0, 5).map((x) => `'${x}'`).join(', ');
  const lost = c.missingEn + c.missingNl + c.missingBoth + c.incomplete;
  const msg = `joined ${c.joined} of ${c.pairs} translation pairs (${c.uniqueEn} English, ${c.uniqueNl} Dutch words)` +
    (lost ? `; left out: ${c.missingEn + c.missingBoth} pair(s) whose English word is not in ${basename(en.file)} (${missingEnWords.length} words${missingEnWords.length ? `, e.g. ${eg(missingEnWords)}` : ''}), ` +
      `${c.missingNl + c.missingBoth} whose Dutch word is not in ${basename(nl.file)} (${missingNlWords.length} words${missingNlWords.length ? `, e.g. ${eg(missingNlWords)}` : ''}), ${c.incomplete} with a missing rating` : '') +
    (c.duplicates ? `; ${c.duplicates} repeated pair(s) merged` : '');
  (lost ? log.warn : log.info).call(log, { ...c }, msg);
  return { source, enDimensions: [...EN_DIMENSIONS], nlDimensions: [...NL_DIMENSIONS], rows, counts: c, missing: { en: missingEnWords, nl: missingNlWords } };
}
