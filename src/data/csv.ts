import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import Papa from 'papaparse';
import { SmftError, at, describeErrno } from '../util/errors.js';
import { checkInputFile, MAX_TEXT_BYTES } from '../util/input.js';

/** A delimited text file as strings, with the file line of each row for error messages. */
export interface CsvTable {
  file: string;
  header: string[];
  rows: string[][];
  /** 1-based file line of data row r. */
  line(r: number): number;
  /** Index of a column by exact name, or -1. */
  col(name: string): number;
}

/**
 * Read a file as UTF-8 text; a missing, empty, special (device, FIFO) or too large file, or
 * invalid UTF-8, is a one-line error.
 */
export function readText(file: string): string {
  checkInputFile(file, { maxBytes: MAX_TEXT_BYTES, what: 'text files' });
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new SmftError(`cannot read it: ${describeErrno(e as NodeJS.ErrnoException)}`, file);
  }
  if (bytes.length === 0) throw new SmftError('file is empty', file);
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  } catch {
    const bad = firstInvalidUtf8(bytes);
    const line = bytes.subarray(0, bad).toString('latin1').split('\n').length;
    throw new SmftError(`not valid UTF-8 (byte 0x${bytes[bad].toString(16)} at offset ${bad}); re-save the file as UTF-8`, at(file, line));
  }
}

function firstInvalidUtf8(b: Buffer): number {
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    let extra = 0;
    if (c < 0x80) continue;
    else if (c >= 0xc2 && c <= 0xdf) extra = 1;
    else if (c >= 0xe0 && c <= 0xef) extra = 2;
    else if (c >= 0xf0 && c <= 0xf4) extra = 3;
    else return i;
    for (let k = 1; k <= extra; k++) if (i + k >= b.length || (b[i + k] & 0xc0) !== 0x80) return i;
    i += extra;
  }
  return 0;
}

/**
 * Parse a comma-separated (.csv) or tab-separated (.tsv/.tab) file with a header row. A file
 * that uses another delimiter, a duplicated or empty column name, or a row with the wrong
 * number of fields is a one-line error naming file and line.
 */
export function readCsv(file: string, opts: { delimiter?: string } = {}): CsvTable {
  const text = readText(file);
  const ext = extname(file).toLowerCase();
  const delimiter = opts.delimiter ?? (ext === '.tsv' || ext === '.tab' ? '\t' : ',');
  const firstLine = text.slice(0, text.search(/\r?\n|$/));
  if (!firstLine.includes(delimiter)) {
    const other = [';', '\t', ','].find((d) => d !== delimiter && firstLine.includes(d));
    if (other) {
      const name = other === '\t' ? 'tab' : `'${other}'`;
      throw new SmftError(`header uses ${name} as delimiter, expected '${delimiter === '\t' ? 'tab' : delimiter}'; re-save the file ${delimiter === ',' ? 'comma-separated' : 'tab-separated'}`, at(file, 1));
    }
  }
  const parsed = Papa.parse<string[]>(text, { delimiter, skipEmptyLines: false });
  const lines: number[] = [];
  const data: string[][] = [];
  let line = 1;
  // Track physical line numbers (quoted fields may span lines).
  for (const row of parsed.data) {
    const physical = row.reduce((s, f) => s + (f.match(/\n/g)?.length ?? 0), 0);
    if (!(row.length === 1 && row[0].trim() === '')) { data.push(row); lines.push(line); }
    line += 1 + physical;
  }
  const err = parsed.errors.find((e) => e.type === 'Quotes');
  if (err) throw new SmftError(`malformed quoting (${err.message})`, at(file, (err.row ?? 0) + 1));
  if (data.length === 0) throw new SmftError('file has no header row', file);
  const header = data[0].map((h) => h.trim());
  const seen = new Map<string, number>();
  header.forEach((h, i) => {
    if (h === '' && i < header.length - 1) throw new SmftError(`column ${i + 1} has an empty name`, at(file, 1));
    if (seen.has(h) && h !== '') throw new SmftError(`column '${h}' appears twice (columns ${seen.get(h)! + 1} and ${i + 1})`, at(file, 1));
    seen.set(h, i);
  });
  const rows = data.slice(1);
  const rowLines = lines.slice(1);
  rows.forEach((r, k) => {
    // A trailing empty column name (e.g. index export) is tolerated; otherwise lengths must match.
    if (r.length !== header.length) {
      throw new SmftError(`has ${r.length} fields, the header has ${header.length}`, at(file, rowLines[k]));
    }
  });
  if (rows.length === 0) throw new SmftError('file has a header but no data rows', file);
  return {
    file, header, rows,
    line: (r) => rowLines[r],
    col: (name) => header.indexOf(name),
  };
}

const MISSING = new Set(['', 'na', 'nan', 'n/a', '#n/a', 'null', 'none']);

/** A decimal number as people and spreadsheets write it (no hex, binary or octal literals). */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A finite decimal number written in `s` (surrounding blanks allowed), else NaN: '' is NaN, not 0. */
export function parseDecimal(s: string): number {
  const x = s.trim();
  const v = DECIMAL.test(x) ? Number(x) : NaN;
  return Number.isFinite(v) ? v : NaN;
}

/**
 * Parse a numeric cell: missing markers (an empty cell, NA, NaN, …) give NaN — missing, never
 * 0; anything else must be a finite decimal number (`0x10`, `0b1`, `Infinity`, `1e999` are errors).
 */
export function parseNumber(cell: string, t: CsvTable, r: number, column: string): number {
  const s = cell.trim();
  if (MISSING.has(s.toLowerCase())) return NaN;
  const v = DECIMAL.test(s) ? Number(s) : NaN;
  if (!Number.isFinite(v)) {
    const hint = /^-?\d+,\d+$/.test(s) ? ' (decimal comma? use a point)'
      : /^[+-]?0[xXbBoO]/.test(s) ? ' (hex, binary and octal literals are not ratings)'
        : DECIMAL.test(s) ? ' (out of the range of a double)' : '';
    throw new SmftError(`'${cell}' is not a number${hint}`, at(t.file, t.line(r), column));
  }
  return v;
}
