import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Papa from 'papaparse';
import { writeDirAtomic } from '../util/atomic.js';
import type { Evaluation } from './evaluate.js';
import type { ModelDistribution, PairDiff, Provenance } from './results.js';

/** JSON with NaN/±Infinity written as null (JSON has no NaN). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n';
}

function csv(rows: Array<Record<string, unknown>>, columns: string[]): string {
  return Papa.unparse({ fields: columns, data: rows.map((r) => columns.map((c) => fmt(r[c]))) }, { newline: '\n' }) + '\n';
}

function fmt(v: unknown): unknown {
  return typeof v === 'number' && !Number.isFinite(v) ? '' : v;
}

/**
 * Write an evaluation to `dir` atomically: results.json, the tables as CSV, and the per-word /
 * per-iteration detail that reports draw from.
 */
export async function writeEvaluation(dir: string, ev: Evaluation, provenance?: Provenance, extra: Record<string, string> = {}): Promise<void> {
  const r = { ...ev.results, ...(provenance ? { provenance } : {}) };
  const t = ev.table;
  await writeDirAtomic(dir, (tmp) => {
    for (const [name, text] of Object.entries(extra)) writeFileSync(join(tmp, name), text);
    writeFileSync(join(tmp, 'results.json'), toJson(r));
    const ratings: Array<Record<string, unknown>> = [];
    for (const s of t.sources) {
      const v = t.values.get(s)!;
      t.words.forEach((w, i) => t.dimensions.forEach((d, j) => ratings.push({ word: w, dimension: d, source: s, rating: v[i * t.dimensions.length + j] })));
    }
    writeFileSync(join(tmp, 'ratings.csv'), csv(ratings, ['word', 'dimension', 'source', 'rating']));
    writeFileSync(join(tmp, 'rsa.csv'), csv(Object.entries(r.rsa).flatMap(([subset, byModel]) => Object.entries(byModel).map(([model, e]) => {
      const b = r.bootstrap?.[subset]?.[model] as ModelDistribution | undefined;
      return { subset, model, ...e, boot_mean: b?.mean, ci_low: b?.ci[0], ci_high: b?.ci[1] };
    })), ['subset', 'model', 'rho', 'p', 'n_words', 'n_pairs', 'boot_mean', 'ci_low', 'ci_high']));
    writeFileSync(join(tmp, 'dimensions.csv'), csv(Object.entries(r.dimensions).flatMap(([dimension, byModel]) =>
      Object.entries(byModel).map(([model, e]) => ({ dimension, model, ...e }))), ['dimension', 'model', 'rho', 'p', 'n']));
    writeFileSync(join(tmp, 'steiger.csv'), csv(Object.entries(r.steiger).flatMap(([dimension, byPair]) =>
      Object.entries(byPair).map(([pair, e]) => ({ dimension, pair, ...e }))), ['dimension', 'pair', 'z', 'p']));
    writeFileSync(join(tmp, 'wordwise_summary.csv'), csv(Object.entries(r.wordwise).flatMap(([subset, byModel]) =>
      Object.entries(byModel).map(([model, e]) => ({ subset, model, ...e }))), ['subset', 'model', 'mean_distance', 'mean_similarity', 'n_words']));
    writeFileSync(join(tmp, 'wordwise_tests.csv'), csv(Object.entries(r.wordwise_ttest).flatMap(([subset, byPair]) =>
      Object.entries(byPair).map(([pair, e]) => ({ subset, pair, ...e, spearman: r.wordwise_intermodel[subset]?.[pair] }))), ['subset', 'pair', 't', 'p', 'df', 'spearman']));
    const words: Array<Record<string, unknown>> = [];
    for (const [subset, w] of Object.entries(ev.wordwise)) {
      const rows = ev.rows[subset];
      for (const model of Object.keys(w.distance)) rows.forEach((row, k) => words.push({ word: t.words[row], subset, model, distance: w.distance[model][k], similarity: w.similarity[model][k] }));
    }
    writeFileSync(join(tmp, 'wordwise.csv'), csv(words, ['word', 'subset', 'model', 'distance', 'similarity']));
    if (r.bootstrap) {
      writeFileSync(join(tmp, 'bootstrap_pairs.csv'), csv(Object.entries(r.bootstrap).flatMap(([subset, entries]) =>
        Object.entries(entries).filter(([k]) => k.includes(' vs ')).map(([pair, e]) => {
          const d = e as PairDiff;
          return { subset, pair, diff: d.diff, ci_low: d.ci[0], ci_high: d.ci[1], p: d.p, significant: d.ci[0] > 0 || d.ci[1] < 0 };
        })), ['subset', 'pair', 'diff', 'ci_low', 'ci_high', 'p', 'significant']));
      const boot: Array<Record<string, unknown>> = [];
      for (const [subset, byModel] of Object.entries(ev.samples)) {
        for (const [model, v] of Object.entries(byModel)) v.forEach((rho, iteration) => boot.push({ subset, iteration, model, rho }));
      }
      writeFileSync(join(tmp, 'bootstrap.csv'), csv(boot, ['subset', 'iteration', 'model', 'rho']));
    }
  }, { kind: 'evaluation' });
}

/** Layer-wise RSA as CSV (subset, pooling, layer, rho). */
export function layersCsv(layers: Record<string, Array<{ layer: number; pooling: string; rho: number }>>): string {
  return csv(Object.entries(layers).flatMap(([subset, rows]) => rows.map((r) => ({ subset, ...r }))), ['subset', 'pooling', 'layer', 'rho']);
}
