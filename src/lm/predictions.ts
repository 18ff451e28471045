import { appendFileSync, existsSync, readFileSync, truncateSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Papa from 'papaparse';
import { SmftError } from '../util/errors.js';
import { log } from '../util/log.js';
import type { RatingRow } from './rate.js';

/** Columns of the long predictions CSV that `smft rate` writes and `smft evaluate` reads. */
export const PREDICTION_COLUMNS = ['word', 'dimension', 'model', 'rating', 'argmax', 'p0', 'p1', 'p2', 'p3', 'p4', 'p5'] as const;

const key = (word: string, dimension: string): string => `${word}\u0000${dimension}`;

/**
 * What produced the ratings of a model id (kind 'local' | 'api' | 'head', model name, …): a plain
 * JSON object. Recording it beside the CSV and refusing a resume under another identity belong
 * to the provenance work (BRIEF contract 1); here the writer only carries it.
 */
export interface RatingIdentity {
  kind: 'local' | 'api' | 'head';
  model: string;
  [field: string]: unknown;
}

/**
 * Append-only writer for a long predictions CSV. Opening an existing file checks the header,
 * repairs a last line cut off by an interrupted run, and collects the word×dimension pairs
 * already rated for `model` so a resumed run can skip them.
 */
export class PredictionsWriter {
  private readonly done = new Set<string>();

  constructor(readonly path: string, readonly model: string, readonly identity?: RatingIdentity) {
    if (!existsSync(path) || readFileSync(path, 'utf8').length === 0) {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, PREDICTION_COLUMNS.join(',') + '\n');
      return;
    }
    let text = readFileSync(path, 'utf8');
    if (!text.endsWith('\n')) {
      const cut = text.lastIndexOf('\n') + 1;
      log.warn({ file: path, bytes: text.length - cut }, 'dropping an incomplete last line left by an interrupted run');
      truncateSync(path, Buffer.byteLength(text.slice(0, cut), 'utf8'));
      text = text.slice(0, cut);
    }
    const parsed = Papa.parse<string[]>(text, { skipEmptyLines: true });
    const header = parsed.data[0] ?? [];
    if (header.join(',') !== PREDICTION_COLUMNS.join(',')) {
      throw new SmftError(`not a smft predictions file (header must be ${PREDICTION_COLUMNS.join(',')}); choose another --out or remove it`, path);
    }
    for (let i = 1; i < parsed.data.length; i++) {
      const r = parsed.data[i];
      if (r.length !== PREDICTION_COLUMNS.length) throw new SmftError(`malformed row (${r.length} fields)`, `${path}:${i + 1}`);
      if (r[2] === model) this.done.add(key(r[0], r[1]));
    }
    if (this.done.size) log.info({ file: path, model, rated: this.done.size }, 'resuming: pairs already rated are skipped');
  }

  /** Whether word × dimension is already in the file for this model. */
  has(word: string, dimension: string): boolean {
    return this.done.has(key(word, dimension));
  }

  get count(): number {
    return this.done.size;
  }

  /** Append rows (one write). */
  append(rows: RatingRow[]): void {
    if (!rows.length) return;
    const data = rows.map((r) => [r.word, r.dimension, this.model, fmt(r.rating), fmt(r.argmax), fmt(r.p0), fmt(r.p1), fmt(r.p2), fmt(r.p3), fmt(r.p4), fmt(r.p5)]);
    appendFileSync(this.path, Papa.unparse(data, { header: false, newline: '\n' }) + '\n');
    for (const r of rows) this.done.add(key(r.word, r.dimension));
  }
}

/** Up to 7 significant digits; empty for a missing value (e.g. a head's rating has no probabilities). */
function fmt(x: number): string {
  return Number.isFinite(x) ? Number(x.toPrecision(7)).toString() : '';
}
