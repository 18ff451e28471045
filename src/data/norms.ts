import { extname } from 'node:path';
import { SmftError, at } from '../util/errors.js';
import { columnRole, wordKey } from './columns.js';
import { readCsv, parseNumber, type CsvTable } from './csv.js';
import { dimensionsFor, canonicalDimension, type Dimension, type Lang } from './dimensions.js';
import { readXlsx } from './xlsx.js';

/** Human norms of one language: mean rating of each word on each dimension. */
export interface Norms {
  lang: Lang;
  file: string;
  words: string[];
  dimensions: Dimension[];
  /** Row-major words × dimensions, NaN where missing. */
  values: Float64Array;
  /** wordKey → row. */
  index: Map<string, number>;
}

const WORD_COLUMNS: Record<Lang, string[]> = { en: ['Word', 'word', 'ENGLISH', 'English'], nl: ['Woord', 'woord', 'Word_nl', 'Dutch'] };

/** NoRaRe (concepticon/norare-data) column names for the Lancaster means. */
function noRaReDimension(name: string): Dimension | undefined {
  const m = name.toLowerCase().match(/^english_([a-z]+?)(?:_action)?_mean$/);
  return m ? canonicalDimension(m[1]) : undefined;
}

/** Read a norms table from CSV, TSV or XLSX (for .xlsx, `sheet` or the first sheet). */
export async function readTable(file: string, sheet?: string): Promise<CsvTable> {
  return extname(file).toLowerCase() === '.xlsx' ? readXlsx(file, sheet) : readCsv(file);
}

/**
 * Norms from a table in any of the accepted layouts: Lancaster official CSV (`Word`,
 * `Auditory.mean` …), the paper's variant (`Foot.mean`, `Hand.mean`), NoRaRe TSV
 * (`ENGLISH`, `ENGLISH_AUDITORY_MEAN` …), Dutch norms (`Woord`, `Horen` …), or the
 * Lancaster × Dutch pairs file (either language). Words are matched case-insensitively;
 * a word listed twice with different ratings is an error, identical repeats are merged.
 */
export function normsFromTable(t: CsvTable, lang: Lang): Norms {
  const dims = dimensionsFor(lang);
  const colOf = new Map<Dimension, number>();
  t.header.forEach((h, i) => {
    const role = columnRole(h);
    const dim = role.kind === 'human' && role.lang === lang ? role.dim : lang === 'en' ? noRaReDimension(h) : undefined;
    if (dim && !colOf.has(dim)) colOf.set(dim, i);
  });
  const missing = dims.filter((d) => !colOf.has(d));
  if (missing.length === dims.length) {
    throw new SmftError(`no ${lang === 'en' ? 'Lancaster' : 'Dutch'} norm columns found (expected e.g. ${lang === 'en' ? "'Auditory.mean'" : "'Horen'"}); columns are: ${t.header.slice(0, 12).join(', ')}${t.header.length > 12 ? ', …' : ''}`, t.file);
  }
  if (missing.length) throw new SmftError(`missing norm column(s) for ${missing.join(', ')}`, t.file);
  const wordCol = WORD_COLUMNS[lang].map((c) => t.col(c)).find((i) => i >= 0);
  if (wordCol === undefined) throw new SmftError(`no word column (expected one of ${WORD_COLUMNS[lang].join(', ')})`, t.file);
  const words: string[] = [];
  const vals: number[] = [];
  const index = new Map<string, number>();
  const firstLine = new Map<string, number>();
  t.rows.forEach((row, r) => {
    const word = row[wordCol].trim();
    if (word === '') throw new SmftError('empty word', at(t.file, t.line(r), t.header[wordCol]));
    const v = dims.map((d) => parseNumber(row[colOf.get(d)!], t, r, t.header[colOf.get(d)!]));
    v.forEach((x, k) => {
      if (!Number.isNaN(x) && (x < 0 || x > 5)) throw new SmftError(`rating ${x} outside 0–5`, at(t.file, t.line(r), t.header[colOf.get(dims[k])!]));
    });
    const key = wordKey(word);
    const prev = index.get(key);
    if (prev !== undefined) {
      const same = v.every((x, k) => Object.is(x, vals[prev * dims.length + k]) || Math.abs(x - vals[prev * dims.length + k]) < 1e-9);
      if (!same) throw new SmftError(`word '${word}' appears twice with different ratings (first at line ${firstLine.get(key)})`, at(t.file, t.line(r)));
      return;
    }
    index.set(key, words.length);
    firstLine.set(key, t.line(r));
    words.push(word);
    vals.push(...v);
  });
  return { lang, file: t.file, words, dimensions: [...dims], values: Float64Array.from(vals), index };
}

/**
 * The words as a model is prompted with them: norm files spell English words in upper case
 * (as the Lancaster norms do), people read them in lower case; Dutch words are kept as they are.
 */
export function promptWords(norms: Norms): string[] {
  return norms.words.map((w) => promptWord(w, norms.lang));
}

/** One word as a model is prompted with it (see promptWords). */
export function promptWord(word: string, lang: Lang): string {
  return lang === 'en' ? word.toLowerCase() : word;
}

export async function loadNorms(file: string, lang: Lang, sheet?: string): Promise<Norms> {
  return normsFromTable(await readTable(file, sheet ?? (lang === 'nl' && extname(file).toLowerCase() === '.xlsx' ? 'SensoryRatings' : undefined)), lang);
}
