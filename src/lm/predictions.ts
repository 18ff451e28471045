import { appendFileSync, existsSync, readFileSync, rmSync, truncateSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Papa from 'papaparse';
import { SmftError } from '../util/errors.js';
import { log } from '../util/log.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { RatingRow } from './rate.js';

/**
 * What produced the ratings of one model id: a plain JSON object. `kind` says which sort of
 * rater ('local': a model folder with an optional LoRA adapter; 'head': a regression head;
 * 'api': a hosted model); the other fields are free and depend on the kind (for 'local':
 * model, weights, adapter, templates, lang, smft). `synthetic` describes synthetic weights
 * (config.json `smft_synthetic`). Two identities are the same when every field is equal.
 */
export interface RatingIdentity {
  kind: string;
  synthetic?: string;
  [field: string]: unknown;
}

/** The provenance sidecar of a ratings CSV: `<csv>.meta.json`. */
export interface RatingsMeta {
  format: 'smft-ratings-meta';
  version: 1;
  /** Model id (as in the CSV's `model` column) → what produced its ratings. */
  models: Record<string, { identity: RatingIdentity; created: string }>;
}

export const metaPath = (csv: string): string => `${csv}.meta.json`;

/** Read a ratings sidecar; undefined when there is none. A sidecar that is not ours is an error. */
export function readRatingsMeta(csv: string): RatingsMeta | undefined {
  const p = metaPath(csv);
  if (!existsSync(p)) return undefined;
  let m: RatingsMeta;
  try {
    m = JSON.parse(readFileSync(p, 'utf8')) as RatingsMeta;
  } catch (e) {
    throw new SmftError(`not valid JSON (${(e as Error).message.split('\n')[0]}); this file records what produced ${csv}`, p);
  }
  if (!m || m.format !== 'smft-ratings-meta' || m.version !== 1 || !m.models || typeof m.models !== 'object' || Array.isArray(m.models)) {
    throw new SmftError('not an smft ratings record (format smft-ratings-meta, version 1)', p);
  }
  for (const [id, e] of Object.entries(m.models)) {
    if (!e || typeof e !== 'object' || !e.identity || typeof e.identity !== 'object' || typeof e.identity.kind !== 'string') {
      throw new SmftError(`the record of model '${id}' has no identity`, p);
    }
  }
  return m;
}

/**
 * results.json `model_info` from the sidecars of prediction files: for each model id of
 * `models` (compared lower-cased, as the long CSV reader does) that a sidecar records, its kind
 * and, for synthetic weights, `synthetic` (the description from config.json `smft_synthetic`).
 */
export function ratingsModelInfo(files: string[], models: string[]): Record<string, { kind: string; synthetic?: string }> {
  const out: Record<string, { kind: string; synthetic?: string }> = {};
  for (const file of files) {
    let meta: RatingsMeta | undefined;
    try {
      meta = readRatingsMeta(file);
    } catch (e) {
      // Evaluation does not depend on the record: a broken one only costs the model info.
      if (!(e instanceof SmftError)) throw e;
      log.warn({ file: metaPath(file) }, `${e.message}; model info of ${file} not used`);
    }
    if (!meta) continue;
    for (const [id, { identity }] of Object.entries(meta.models)) {
      const m = models.find((x) => x === id) ?? models.find((x) => x === id.toLowerCase());
      if (!m) continue;
      const prev = out[m];
      const synthetic = typeof identity.synthetic === 'string' ? identity.synthetic : prev?.synthetic;
      out[m] = { kind: prev?.kind ?? identity.kind, ...(synthetic ? { synthetic } : {}) };
    }
  }
  return out;
}

/** Canonical JSON (sorted keys) for comparing identities. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).filter((k) => (v as Record<string, unknown>)[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

/** The fields in which two identities differ, as `field: old → new` (long hashes shortened). */
export function identityDiff(a: RatingIdentity, b: RatingIdentity): string[] {
  const show = (v: unknown): string => {
    const s = v === undefined ? '(none)' : canonical(v);
    return s.length > 40 ? `${s.slice(0, 28)}…${s.slice(-6)}` : s;
  };
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.filter((k) => canonical(a[k]) !== canonical(b[k])).map((k) => `${k}: ${show(a[k])} → ${show(b[k])}`);
}

/** Columns of the long predictions CSV that `smft rate` writes and `smft evaluate` reads. */
export const PREDICTION_COLUMNS = ['word', 'dimension', 'model', 'rating', 'argmax', 'p0', 'p1', 'p2', 'p3', 'p4', 'p5'] as const;

const key = (word: string, dimension: string): string => `${word}\u0000${dimension}`;

/**
 * Append-only writer for a long predictions CSV. Opening an existing file checks the header,
 * repairs a last line cut off by an interrupted run, and collects the word×dimension pairs
 * already rated for `model` so a resumed run can skip them.
 */
export class PredictionsWriter {
  private readonly done = new Set<string>();
  /** This writer made the file (it did not exist or was empty). */
  private created = false;
  private appended = 0;

  /**
   * `identity` says what produces the ratings of `model`; it is recorded in `<path>.meta.json`.
   * Resuming a model id whose ratings came from something else (other weights, adapter,
   * templates, language or smft version), or whose ratings have no record, is refused.
   */
  constructor(readonly path: string, readonly model: string, readonly identity: RatingIdentity) {
    if (!identity || typeof identity.kind !== 'string') throw new Error('PredictionsWriter: identity.kind is required');
    if (!existsSync(path) || readFileSync(path, 'utf8').length === 0) {
      mkdirSync(dirname(path), { recursive: true });
      // A new ratings file: a record left from an earlier file of that name describes nothing.
      this.record(undefined);
      writeFileSync(path, PREDICTION_COLUMNS.join(',') + '\n');
      this.created = true;
      return;
    }
    let text = readFileSync(path, 'utf8');
    const parsed = Papa.parse<string[]>(text, { skipEmptyLines: true });
    const header = parsed.data[0] ?? [];
    if (header.join(',') !== PREDICTION_COLUMNS.join(',')) {
      throw new SmftError(`not a smft predictions file (header must be ${PREDICTION_COLUMNS.join(',')}); choose another --out or remove it`, path);
    }
    const meta = readRatingsMeta(path);
    const rows = parsed.data.length - (text.endsWith('\n') ? 1 : 2);
    for (let i = 1; i <= rows; i++) {
      const r = parsed.data[i];
      if (r.length !== PREDICTION_COLUMNS.length) throw new SmftError(`malformed row (${r.length} fields)`, `${path}:${i + 1}`);
      if (r[2] === model) this.done.add(key(r[0], r[1]));
    }
    const recorded = meta?.models[model]?.identity;
    if (this.done.size && !recorded) {
      throw new SmftError(`${this.done.size} rating(s) of model '${model}' have no record of what produced them (${metaPath(path)}); `
        + 'they cannot be resumed safely: rate into another file or choose another --model-id', path);
    }
    if (this.done.size && recorded) {
      const diff = identityDiff(recorded, identity);
      if (diff.length) {
        throw new SmftError(`the ${this.done.size} rating(s) of model '${model}' here were made with another ${diff.slice(0, 3).join('; ')}${diff.length > 3 ? '; …' : ''}: `
          + 'resuming would mix two models; rate into another file or choose another --model-id', path);
      }
    }
    if (!text.endsWith('\n')) {
      const cut = text.lastIndexOf('\n') + 1;
      log.warn({ file: path, bytes: text.length - cut }, 'dropping an incomplete last line left by an interrupted run');
      truncateSync(path, Buffer.byteLength(text.slice(0, cut), 'utf8'));
      text = text.slice(0, cut);
      if (text === '') writeFileSync(path, PREDICTION_COLUMNS.join(',') + '\n'); // the header itself was cut
    }
    if (!recorded || this.done.size === 0) this.record(meta);
    if (this.done.size) log.info({ file: path, model, rated: this.done.size }, 'resuming: pairs already rated are skipped');
  }

  /** Add (or replace) this model id's identity in the sidecar, atomically. */
  private record(meta: RatingsMeta | undefined): void {
    const next: RatingsMeta = { format: 'smft-ratings-meta', version: 1, models: { ...(meta?.models ?? {}) } };
    if (meta === undefined && existsSync(metaPath(this.path))) readRatingsMeta(this.path); // refuse to replace a file that is not ours
    next.models[this.model] = { identity: this.identity, created: new Date().toISOString() };
    writeFileAtomic(metaPath(this.path), JSON.stringify(next, null, 2) + '\n');
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
    this.appended += rows.length;
  }

  /** After a failure: remove the file (and its record) if this writer made it and wrote no row. */
  discardIfEmpty(): void {
    if (!this.created || this.appended > 0) return;
    rmSync(this.path, { force: true });
    rmSync(metaPath(this.path), { force: true });
  }
}

/** Up to 7 significant digits; empty for a missing value (e.g. a head's rating has no probabilities). */
function fmt(x: number): string {
  return Number.isFinite(x) ? Number(x.toPrecision(7)).toString() : '';
}
