/**
 * Reading an evaluation output folder (`smft evaluate --out DIR`) for the report: results.json
 * (required) and the optional long CSVs beside it. Every section of results.json may be absent;
 * what is present must have the documented shape, else a SmftError names the file and the key.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Papa from 'papaparse';
import { canonicalDimension, type Lang } from '../data/dimensions.js';
import { SmftError } from '../util/errors.js';
import type { ModelInfo } from './labels.js';

import type { RsaEntry, PairDiff as BootPair, ModelDistribution as BootModel, DimEntry, SteigerEntry, WordwiseEntry, TTestEntry as TtestEntry } from '../eval/results.js';

export type { RsaEntry, BootPair, BootModel, DimEntry, SteigerEntry, WordwiseEntry, TtestEntry };
export interface FileHash { path: string; sha256: string }
export interface Provenance {
  smft_version?: string; created?: string; command?: string; seed?: number; node?: string;
  data_files: FileHash[]; predictions: FileHash[]; models?: unknown;
  /** Any other keys, shown as they are. */
  extra: Record<string, unknown>;
}

type Nested<T> = Record<string, Record<string, T>>;

export interface Results {
  lang: Lang;
  n_words?: number;
  metric?: string;
  models: string[];
  rsa?: Nested<RsaEntry>;
  /** Per subset: pairs ("A vs B") and per-model distributions, split apart. */
  bootstrapPairs?: Nested<BootPair>;
  bootstrapModels?: Nested<BootModel>;
  bootstrap_iterations?: number;
  dimensions?: Nested<DimEntry>;
  steiger?: Nested<SteigerEntry>;
  wordwise?: Nested<WordwiseEntry>;
  wordwise_ttest?: Nested<TtestEntry>;
  wordwise_intermodel?: Nested<number>;
  /** Per model: metadata, e.g. `synthetic` (a description) for a model without trained weights. */
  model_info: Record<string, ModelInfo>;
  /** Layer-wise RSA of hidden states per subset (evaluate --representations). */
  layers?: Record<string, LayerPoint[]>;
  provenance?: Provenance;
}

export interface LayerPoint { layer: number; pooling: string; rho: number }

/** ratings.csv: one value per (source, dimension, word); NaN where missing. */
export interface Ratings {
  words: string[];
  dimensions: string[];
  sources: string[];
  /** key `${source}\t${dimension}` → values in `words` order. */
  columns: Map<string, Float64Array>;
}

export interface BootRow { subset: string; iteration: number; model: string; rho: number }
export interface WordwiseRow { word: string; subset: string; model: string; distance: number; similarity: number }

export interface Evaluation {
  dir: string;
  results: Results;
  ratings?: Ratings;
  bootstrap?: BootRow[];
  wordwise?: WordwiseRow[];
}

export function ratingColumn(r: Ratings, source: string, dim: string): Float64Array | undefined {
  return r.columns.get(`${source}\t${dim}`);
}

/** A JSON number, or NaN (null stands for NaN in the evaluator's JSON). */
function num(v: unknown): number {
  return typeof v === 'number' ? v : NaN;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function ci(v: unknown): [number, number] {
  return Array.isArray(v) && v.length === 2 ? [num(v[0]), num(v[1])] : [NaN, NaN];
}

/** A two-level section `{ outer: { inner: value } }`, each value mapped by `f`. */
function nested<T>(file: string, raw: Record<string, unknown>, key: string, f: (v: unknown, where: string) => T): Nested<T> | undefined {
  const sec = raw[key];
  if (sec === undefined || sec === null) return undefined;
  if (!isObject(sec)) throw new SmftError(`"${key}" must be an object`, file);
  const out: Nested<T> = {};
  for (const [outer, inner] of Object.entries(sec)) {
    if (!isObject(inner)) throw new SmftError(`"${key}.${outer}" must be an object`, file);
    out[outer] = {};
    for (const [k, v] of Object.entries(inner)) out[outer][k] = f(v, `${key}.${outer}.${k}`);
  }
  return out;
}

function entry<T>(file: string, fields: readonly (keyof T & string)[]) {
  return (v: unknown, where: string): T => {
    if (!isObject(v)) throw new SmftError(`"${where}" must be an object`, file);
    const o: Record<string, unknown> = {};
    for (const k of fields) o[k] = k === 'ci' ? ci(v[k]) : num(v[k]);
    return o as T;
  };
}

function hashes(v: unknown): FileHash[] {
  if (!Array.isArray(v)) return [];
  return v.filter(isObject).map((h) => ({ path: String(h.path ?? ''), sha256: String(h.sha256 ?? '') }));
}

function provenance(v: unknown): Provenance | undefined {
  if (!isObject(v)) return undefined;
  const known = new Set(['smft_version', 'created', 'command', 'seed', 'node', 'data_files', 'predictions', 'models']);
  const extra: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (!known.has(k)) extra[k] = x;
  const str = (x: unknown): string | undefined => (typeof x === 'string' ? x : undefined);
  return {
    smft_version: str(v.smft_version), created: str(v.created), command: str(v.command),
    seed: typeof v.seed === 'number' ? v.seed : undefined, node: str(v.node),
    data_files: hashes(v.data_files), predictions: hashes(v.predictions), models: v.models, extra,
  };
}

function modelInfo(file: string, v: unknown): Record<string, ModelInfo> {
  if (v === undefined || v === null) return {};
  if (!isObject(v)) throw new SmftError('"model_info" must be an object', file);
  const out: Record<string, ModelInfo> = {};
  for (const [id, e] of Object.entries(v)) {
    if (!isObject(e)) throw new SmftError(`"model_info.${id}" must be an object`, file);
    if (e.synthetic !== undefined && typeof e.synthetic !== 'string') throw new SmftError(`"model_info.${id}.synthetic" must be a string`, file);
    out[id] = { synthetic: e.synthetic as string | undefined };
  }
  return out;
}

function layerSection(file: string, v: unknown): Record<string, LayerPoint[]> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw new SmftError('"layers" must be an object', file);
  const out: Record<string, LayerPoint[]> = {};
  for (const [subset, rows] of Object.entries(v)) {
    if (!Array.isArray(rows) || !rows.every((r) => isObject(r) && typeof r.layer === 'number' && typeof r.pooling === 'string')) {
      throw new SmftError(`"layers.${subset}" must be an array of { layer, pooling, rho }`, file);
    }
    out[subset] = rows.map((r) => ({ layer: r.layer as number, pooling: r.pooling as string, rho: num(r.rho) }));
  }
  return out;
}

/** Parse and check results.json. */
export function readResults(dir: string): Results {
  const file = join(dir, 'results.json');
  if (!existsSync(file)) throw new SmftError('results.json not found (is this a folder written by `smft evaluate --out`?)', file);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new SmftError(`not valid JSON: ${(e as Error).message}`, file);
  }
  if (!isObject(raw)) throw new SmftError('must hold a JSON object', file);
  if (raw.lang !== 'en' && raw.lang !== 'nl') throw new SmftError(`"lang" must be "en" or "nl", got ${JSON.stringify(raw.lang)}`, file);
  const layers = layerSection(file, raw.layers);
  // `smft evaluate --representations FILE` alone writes only the layer curve, without models.
  const modelsOptional = layers !== undefined && (raw.models === undefined || (Array.isArray(raw.models) && raw.models.length === 0));
  if (!modelsOptional && (!Array.isArray(raw.models) || raw.models.length === 0 || !raw.models.every((m) => typeof m === 'string' && m !== ''))) {
    throw new SmftError('"models" must be a non-empty array of model ids', file);
  }
  const models = modelsOptional ? [] : raw.models as string[];
  if (models.includes('human')) throw new SmftError('"models" must not include "human"', file);

  // bootstrap mixes pair entries ("A vs B") and per-model entries under one subset key.
  let bootstrapPairs: Nested<BootPair> | undefined;
  let bootstrapModels: Nested<BootModel> | undefined;
  const boot = nested(file, raw, 'bootstrap', (v, where) => {
    if (!isObject(v)) throw new SmftError(`"${where}" must be an object`, file);
    return v;
  });
  if (boot) {
    bootstrapPairs = {};
    bootstrapModels = {};
    for (const [subset, entries] of Object.entries(boot)) {
      bootstrapPairs[subset] = {};
      bootstrapModels[subset] = {};
      for (const [k, v] of Object.entries(entries)) {
        if (/ vs /.test(k)) bootstrapPairs[subset][k] = { diff: num(v.diff), ci: ci(v.ci), p: num(v.p) };
        else bootstrapModels[subset][k] = { mean: num(v.mean), ci: ci(v.ci) };
      }
    }
  }

  return {
    lang: raw.lang,
    n_words: typeof raw.n_words === 'number' ? raw.n_words : undefined,
    metric: typeof raw.metric === 'string' ? raw.metric : undefined,
    models,
    rsa: nested(file, raw, 'rsa', entry<RsaEntry>(file, ['rho', 'p', 'n_words', 'n_pairs'])),
    bootstrapPairs,
    bootstrapModels,
    bootstrap_iterations: typeof raw.bootstrap_iterations === 'number' ? raw.bootstrap_iterations : undefined,
    dimensions: nested(file, raw, 'dimensions', entry<DimEntry>(file, ['rho', 'p', 'n'])),
    steiger: nested(file, raw, 'steiger', entry<SteigerEntry>(file, ['z', 'p'])),
    wordwise: nested(file, raw, 'wordwise', entry<WordwiseEntry>(file, ['mean_distance', 'mean_similarity', 'n_words'])),
    wordwise_ttest: nested(file, raw, 'wordwise_ttest', entry<TtestEntry>(file, ['t', 'p', 'df'])),
    wordwise_intermodel: nested(file, raw, 'wordwise_intermodel', (v) => num(v)),
    model_info: modelInfo(file, raw.model_info),
    layers,
    provenance: provenance(raw.provenance),
  };
}

/** A CSV file's rows as string records, after checking its header; undefined if absent. */
function readCsv(file: string, required: readonly string[]): Record<string, string>[] | undefined {
  if (!existsSync(file)) return undefined;
  const parsed = Papa.parse<Record<string, string>>(readFileSync(file, 'utf8'), { header: true, skipEmptyLines: true });
  const fields = (parsed.meta.fields ?? []).map((f) => f.trim());
  const missing = required.filter((c) => !fields.includes(c));
  if (missing.length) throw new SmftError(`missing column(s) ${missing.join(', ')} (header: ${fields.join(',')})`, file);
  const bad = parsed.errors[0];
  if (bad) throw new SmftError(`${bad.message}${bad.row !== undefined ? ` (row ${bad.row + 2})` : ''}`, file);
  return parsed.data;
}

function numCell(s: string | undefined): number {
  if (s === undefined) return NaN;
  const t = s.trim();
  if (t === '' || /^(nan|na|null)$/i.test(t)) return NaN;
  const v = Number(t);
  return Number.isFinite(v) ? v : NaN;
}

export function readRatings(dir: string): Ratings | undefined {
  const file = join(dir, 'ratings.csv');
  const rows = readCsv(file, ['word', 'dimension', 'source', 'rating']);
  if (!rows) return undefined;
  const words: string[] = [];
  const wordIndex = new Map<string, number>();
  const dims: string[] = [];
  const sources: string[] = [];
  for (const r of rows) {
    if (!wordIndex.has(r.word)) { wordIndex.set(r.word, words.length); words.push(r.word); }
  }
  const columns = new Map<string, Float64Array>();
  rows.forEach((r, i) => {
    const dim = canonicalDimension(r.dimension ?? '');
    if (!dim) throw new SmftError(`unknown dimension ${JSON.stringify(r.dimension)}`, `${file}:${i + 2}`);
    const src = (r.source ?? '').trim();
    if (!src) throw new SmftError('empty source', `${file}:${i + 2}`);
    if (!dims.includes(dim)) dims.push(dim);
    if (!sources.includes(src)) sources.push(src);
    const key = `${src}\t${dim}`;
    let col = columns.get(key);
    if (!col) { col = new Float64Array(words.length).fill(NaN); columns.set(key, col); }
    col[wordIndex.get(r.word)!] = numCell(r.rating);
  });
  return { words, dimensions: dims, sources, columns };
}

export function readBootstrap(dir: string): BootRow[] | undefined {
  const rows = readCsv(join(dir, 'bootstrap.csv'), ['subset', 'iteration', 'model', 'rho']);
  return rows?.map((r) => ({ subset: r.subset, iteration: numCell(r.iteration), model: r.model, rho: numCell(r.rho) }));
}

export function readWordwise(dir: string): WordwiseRow[] | undefined {
  const rows = readCsv(join(dir, 'wordwise.csv'), ['word', 'subset', 'model', 'distance', 'similarity']);
  return rows?.map((r) => ({
    word: r.word, subset: r.subset, model: r.model, distance: numCell(r.distance), similarity: numCell(r.similarity),
  }));
}

export function readEvaluation(dir: string): Evaluation {
  const results = readResults(dir);
  return { dir, results, ratings: readRatings(dir), bootstrap: readBootstrap(dir), wordwise: readWordwise(dir) };
}
