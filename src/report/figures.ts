/**
 * The report's figures as chart specs (Vega-Lite, and Vega for the radar chart), built from an
 * evaluation folder. A figure whose inputs are missing is skipped with the reason, which the
 * report shows. Figures with one panel per model or dimension wrap into grids that fit the page
 * (PAGE_WIDTH), every panel titled; a model has the same colour everywhere (labels.ts).
 */
import { dimensionsFor, subsetsFor } from '../data/dimensions.js';
import type { Metric } from '../eval/rdm.js';
import { PAGE_WIDTH, colorEnc, gridColumns, langName, syntheticNote, vl, type Figure, type FigureSet, type Row } from './chart.js';
import { curveFigures, type RunInputs } from './curves.js';
import { finite } from './format.js';
import { conditionAlias, dimensionLabel, modelStyle, splitPair, subsetLabel, type ModelStyle } from './labels.js';
import { ratingColumn, type Evaluation, type Results } from './load.js';
import { HEATMAP_WORDS, heatmapData } from './rdm40.js';
import { FONT } from './render.js';

export type { Figure, FigureSet, Skipped } from './chart.js';

export interface FigureOptions {
  /** Word of the radar chart (case-insensitive). */
  word: string;
  /** True when the user chose the word: then a word that is not rated is an error. */
  wordExplicit: boolean;
  /** Training runs and alignment trajectories to draw beside the evaluation. */
  runs?: RunInputs;
}

/** Subsets in the canonical order for the language, then any others found. */
export function orderedSubsets(res: Results, found: Iterable<string>): string[] {
  const canon = Object.keys(subsetsFor(res.lang));
  const set = new Set(found);
  return [...canon.filter((s) => set.has(s)), ...[...set].filter((s) => !canon.includes(s)).sort()];
}

/** Dimensions in the canonical order for the language, then any others found. */
export function orderedDimensions(res: Results, found: Iterable<string>): string[] {
  const canon = dimensionsFor(res.lang) as readonly string[];
  const set = new Set(found);
  return [...canon.filter((s) => set.has(s)), ...[...set].filter((s) => !canon.includes(s)).sort()];
}

/** The subset of the RDM heatmaps and scatter plots: 'all' (en) / 'sensory' (nl), or the first. */
export function mainSubset(res: Results, available: readonly string[]): string | undefined {
  const want = res.lang === 'en' ? 'all' : 'sensory';
  return available.includes(want) ? want : available[0];
}

const fmt = (x: number, d = 2) => (finite(x) ? x.toFixed(d) : 'NaN');

/** Do the models' names fit side by side under bands of `band` px? */
function fitsUnder(st: ModelStyle, ids: readonly string[], band: number): boolean {
  return Math.max(...ids.map((m) => st.label(m).length)) * 6.5 <= band;
}

// ---------------------------------------------------------------------------------------------
// 1. RSA bars with bootstrap CIs

function rsaBars(ev: Evaluation, st: ModelStyle, out: FigureSet): void {
  const res = ev.results;
  if (!res.rsa) { out.skipped.push({ name: 'rsa_bars', reason: 'results.json has no "rsa" section' }); return; }
  const subsets = orderedSubsets(res, Object.keys(res.rsa));
  const models = res.models.filter((m) => subsets.some((s) => res.rsa![s]?.[m]));
  const rows: Row[] = [];
  let withCi = 0;
  for (const s of subsets) {
    for (const m of models) {
      const e = res.rsa[s][m];
      if (!e || !finite(e.rho)) continue;
      const ci = res.bootstrapModels?.[s]?.[m]?.ci;
      const lo = ci && finite(ci[0]) ? ci[0] : null;
      const hi = ci && finite(ci[1]) ? ci[1] : null;
      if (lo !== null && hi !== null) withCi++;
      rows.push({ subset: subsetLabel(s), model: st.label(m), rho: e.rho, lo, hi, top: Math.max(e.rho, hi ?? e.rho, 0) });
    }
  }
  if (!rows.length) { out.skipped.push({ name: 'rsa_bars', reason: 'no finite RSA ρ in results.json' }); return; }
  const ciNote = withCi
    ? `error bars: 95% bootstrap CI${res.bootstrap_iterations ? ` (${res.bootstrap_iterations} iterations)` : ''}`
    : 'no bootstrap CIs in results.json';
  // Bars as wide as the page allows (at most 30 px); the values are printed on bars wide enough.
  const bar = Math.max(8, Math.min(30, Math.floor((PAGE_WIDTH - 300) / subsets.length / models.length) - 4));
  const layer: Record<string, unknown>[] = [
    { mark: { type: 'bar' }, encoding: { y: { field: 'rho', type: 'quantitative', title: 'RSA (Spearman ρ)' }, color: colorEnc(st, models) } },
  ];
  if (withCi) {
    layer.push({
      transform: [{ filter: 'isValid(datum.lo) && isValid(datum.hi)' }],
      mark: { type: 'errorbar', ticks: true, color: '#222' },
      encoding: { y: { field: 'lo', type: 'quantitative', title: 'RSA (Spearman ρ)' }, y2: { field: 'hi' } },
    });
  }
  if (bar >= 22) {
    layer.push({
      mark: { type: 'text', dy: -5, baseline: 'bottom', fontSize: 9, color: '#333' },
      encoding: { y: { field: 'top', type: 'quantitative', title: 'RSA (Spearman ρ)' }, text: { field: 'rho', type: 'quantitative', format: '.2f' } },
    });
  }
  out.figures.push({
    name: 'rsa_bars', group: 1,
    title: 'RSA: human vs model RDMs',
    caption: `Spearman ρ between the human RDM and each model's RDM per subset (${langName(res)}, ${res.metric ?? 'cosine'} distance); ${ciNote}.${bar >= 22 ? '' : ' Values in the RSA table.'}${syntheticNote(st, models)}`,
    chart: vl({
      title: { text: `RSA per subset (${langName(res)})`, subtitle: ciNote },
      data: { values: rows },
      width: Math.max(260, subsets.length * (models.length * (bar + 4) + 40)),
      height: 280,
      encoding: {
        x: { field: 'subset', type: 'nominal', sort: subsets.map(subsetLabel), title: null, axis: { labelAngle: 0, labelFontSize: 12 } },
        xOffset: { field: 'model', type: 'nominal', sort: models.map(st.label), scale: { paddingInner: 0.08 } },
      },
      layer,
    }),
  });
}

// ---------------------------------------------------------------------------------------------
// 2. RDM heatmaps of 40 words, Ward order of the human RDM: a grid of panels, human first

function rdmHeatmaps(ev: Evaluation, st: ModelStyle, out: FigureSet): void {
  const res = ev.results;
  const subsets = subsetsFor(res.lang);
  const subset = res.lang === 'en' ? 'all' : 'sensory';
  const name = `rdm_${subset}`;
  if (!ev.ratings) { out.skipped.push({ name, reason: 'ratings.csv is missing' }); return; }
  const dims = subsets[subset] as readonly string[];
  const r = ev.ratings;
  const missingHuman = dims.filter((d) => !ratingColumn(r, 'human', d));
  if (missingHuman.length) { out.skipped.push({ name, reason: `ratings.csv has no human ratings for ${missingHuman.join(', ')}` }); return; }
  const models = res.models.filter((m) => dims.every((d) => ratingColumn(r, m, d)));
  const lacking = res.models.filter((m) => !models.includes(m));
  if (lacking.length) out.skipped.push({ name: `${name} (${lacking.join(', ')})`, reason: `ratings.csv lacks some ${subset} ratings of ${lacking.join(', ')}` });
  const metric = (['cosine', 'euclidean', 'correlation'].includes(res.metric ?? '') ? res.metric : 'cosine') as Metric;
  const hm = heatmapData(r, dims, models, metric);
  if (!hm) { out.skipped.push({ name, reason: `fewer than 3 words have complete ${subset} ratings` }); return; }
  const sources = ['human', ...models];
  const rows: Row[] = [];
  for (const s of sources) {
    const mat = hm.matrices.get(s)!;
    hm.words.forEach((a, i) => hm.words.forEach((b, j) => rows.push({ panel: st.label(s), row: a, col: b, d: mat[i][j] })));
  }
  const cell = 8;
  const side = hm.words.length * cell;
  // Word labels left of the first column and under the last row only; the legend on the right.
  const columns = gridColumns(sources.length, side, 14, PAGE_WIDTH - 90 - 80);
  const colorDomain = metric === 'euclidean' ? undefined : [0, 2];
  const choice = hm.nComplete > HEATMAP_WORDS
    ? `${hm.words.length} of the ${hm.nComplete} complete words, evenly spaced in alphabetical order`
    : `all ${hm.words.length} complete words`;
  out.figures.push({
    name, group: 2,
    title: `RDMs of ${hm.words.length} words (${subsetLabel(subset)})`,
    caption: `${metric[0].toUpperCase()}${metric.slice(1)} distances between z-scored ${subsetLabel(subset).toLowerCase()} rating vectors of ${choice}; rows and columns ordered by Ward clustering of the human RDM (top left), the same order in every panel.${syntheticNote(st, models)}`,
    chart: vl({
      title: { text: `RDMs, ${subsetLabel(subset)} dimensions (${langName(res)}, ${hm.words.length} words, Ward order of the human RDM)` },
      data: { values: rows },
      facet: { field: 'panel', type: 'nominal', sort: sources.map(st.label), title: null, header: { labelFontSize: 13, labelFontWeight: 'bold', labelPadding: 4 } },
      columns,
      spacing: { row: 16, column: 14 },
      resolve: { axis: { x: 'independent', y: 'independent' } },
      spec: {
        width: side, height: side,
        mark: { type: 'rect' },
        encoding: {
          x: { field: 'col', type: 'ordinal', sort: hm.words, title: null, axis: { labels: false, ticks: false, domain: false } },
          y: { field: 'row', type: 'ordinal', sort: hm.words, title: null, axis: { labelFontSize: 7.5, ticks: false, labelPadding: 2, domain: false } },
          color: {
            field: 'd', type: 'quantitative', title: `${metric} distance`,
            scale: { scheme: 'viridis', ...(colorDomain ? { domain: colorDomain } : {}) },
            legend: { gradientLength: side },
          },
        },
      },
    }),
  });
}

// ---------------------------------------------------------------------------------------------
// 3. Bootstrap densities of RSA ρ; synthetic models (ρ ≈ 0, narrow) in a panel of their own

function densityPanel(title: string, rows: Row[], observed: Row[], st: ModelStyle, ids: readonly string[], all: readonly string[]): Record<string, unknown> {
  let lo = Infinity, hi = -Infinity;
  for (const b of [...rows, ...observed]) { lo = Math.min(lo, b.rho as number); hi = Math.max(hi, b.rho as number); }
  const pad = Math.max(hi - lo, 0.02) * 0.25;
  const extent = [lo - pad, hi + pad];
  const density = { density: 'rho', groupby: ['model'], extent, steps: 200 };
  const x = { field: 'value', type: 'quantitative', title: 'RSA ρ', scale: { domain: extent, nice: false, zero: false } };
  const y = { field: 'density', type: 'quantitative', title: 'density', stack: null };
  const color = colorEnc(st, all);
  const layer: Record<string, unknown>[] = [
    { data: { values: rows }, transform: [density], mark: { type: 'area', opacity: 0.3 }, encoding: { x, y, color } },
    { data: { values: rows }, transform: [density], mark: { type: 'line', strokeWidth: 1.5 }, encoding: { x, y, color } },
  ];
  if (observed.length) {
    layer.push({ data: { values: observed }, mark: { type: 'rule', strokeDash: [4, 3], strokeWidth: 1.2 },
      encoding: { x: { field: 'rho', type: 'quantitative' }, color } });
  }
  return { title: { text: title, fontSize: 12, subtitle: ids.map(st.label).join(', '), subtitleFontSize: 10 }, width: 440, height: 220, layer };
}

function bootstrapDensities(ev: Evaluation, st: ModelStyle, out: FigureSet): void {
  const res = ev.results;
  if (!ev.bootstrap) { out.skipped.push({ name: 'bootstrap_density', reason: 'bootstrap.csv is missing' }); return; }
  const subsets = orderedSubsets(res, ev.bootstrap.map((b) => b.subset));
  if (!subsets.length) { out.skipped.push({ name: 'bootstrap_density', reason: 'bootstrap.csv has no rows' }); return; }
  for (const s of subsets) {
    const name = `bootstrap_density_${s}`;
    const rows = ev.bootstrap.filter((b) => b.subset === s && finite(b.rho) && res.models.includes(b.model));
    const models = res.models.filter((m) => rows.filter((b) => b.model === m).length >= 2);
    const used = rows.filter((b) => models.includes(b.model));
    if (!models.length) { out.skipped.push({ name, reason: `fewer than 2 bootstrap iterations per model for ${s}` }); continue; }
    const iters = new Set(used.map((b) => b.iteration)).size;
    const real = models.filter((m) => st.synthetic(m) === undefined);
    const synth = models.filter((m) => st.synthetic(m) !== undefined);
    const panel = (title: string, ids: string[]) => densityPanel(
      title,
      used.filter((b) => ids.includes(b.model)).map((b) => ({ model: st.label(b.model), rho: b.rho })),
      ids.map((m) => ({ model: st.label(m), rho: res.rsa?.[s]?.[m]?.rho ?? null })).filter((o) => finite(o.rho)),
      st, ids, models,
    );
    const panels = [
      ...(real.length ? [panel(synth.length ? 'Trained models' : `${real.length} model${real.length === 1 ? '' : 's'}`, real)] : []),
      ...(synth.length ? [panel('Synthetic models (own scales)', synth)] : []),
    ];
    const hasObserved = models.some((m) => finite(res.rsa?.[s]?.[m]?.rho));
    const split = real.length && synth.length
      ? ' Synthetic models are drawn in a panel of their own, with their own axes: their narrow densities near 0 would flatten the others.'
      : '';
    out.figures.push({
      name, group: 3,
      title: `Bootstrap distribution of RSA ρ (${subsetLabel(s)})`,
      caption: `Kernel density of each model's RSA ρ over ${iters} bootstrap resamples of the words (${subsetLabel(s).toLowerCase()} dimensions)${hasObserved ? '; dashed: the observed ρ' : ''}.${split}${syntheticNote(st, models)}`,
      chart: vl({
        title: { text: `Bootstrap RSA ρ, ${subsetLabel(s)} (${langName(res)}, ${iters} iterations)` },
        hconcat: panels,
        spacing: 30,
        resolve: { scale: { x: 'independent', y: 'independent' } },
      }),
    });
  }
}

// ---------------------------------------------------------------------------------------------
// 4. Dimension-wise ρ with "ns" brackets (Steiger p ≥ .05): one panel per dimension

function dimensionBars(ev: Evaluation, st: ModelStyle, out: FigureSet): void {
  const res = ev.results;
  if (!res.dimensions) { out.skipped.push({ name: 'dimension_rho', reason: 'results.json has no "dimensions" section' }); return; }
  const dims = orderedDimensions(res, Object.keys(res.dimensions));
  const models = res.models.filter((m) => dims.some((d) => finite(res.dimensions![d]?.[m]?.rho)));
  if (!dims.length || !models.length) { out.skipped.push({ name: 'dimension_rho', reason: 'no finite dimension ρ in results.json' }); return; }
  const m = models.length;
  const rows: Row[] = [];
  let span = 0;
  dims.forEach((d) => models.forEach((mod, mi) => {
    const rho = res.dimensions![d]?.[mod]?.rho;
    if (!finite(rho)) return;
    span = Math.max(span, Math.abs(rho));
    rows.push({ kind: 'bar', dimension: dimensionLabel(d), model: st.label(mod), x0: mi - 0.42, x1: mi + 0.42, y0: 0, y1: rho });
  }));
  span = Math.max(span, 0.1);
  let nsCount = 0;
  if (res.steiger) {
    const step = 0.075 * span, leg = 0.025 * span;
    for (const d of dims) {
      const ns: [number, number][] = [];
      for (const [key, e] of Object.entries(res.steiger[d] ?? {})) {
        const p = splitPair(key);
        if (!p || !finite(e.p) || e.p < 0.05) continue;
        const a = models.indexOf(p[0]), b = models.indexOf(p[1]);
        if (a < 0 || b < 0) continue;
        ns.push([Math.min(a, b), Math.max(a, b)]);
      }
      ns.sort((x, y) => (x[1] - x[0]) - (y[1] - y[0]) || x[0] - y[0]);
      const top = Math.max(0, ...models.map((mod) => res.dimensions![d]?.[mod]?.rho).filter(finite));
      const levels: [number, number][][] = [];
      const dimension = dimensionLabel(d);
      for (const [a, b] of ns) {
        let l = 0;
        while (levels[l]?.some(([c, e]) => !(b < c || a > e))) l++;
        (levels[l] ??= []).push([a, b]);
        const y = top + 0.05 * span + l * step;
        rows.push(
          { kind: 'leg', dimension, x0: a, x1: a, y0: y - leg, y1: y }, { kind: 'leg', dimension, x0: a, x1: b, y0: y, y1: y },
          { kind: 'leg', dimension, x0: b, x1: b, y0: y - leg, y1: y }, { kind: 'ns', dimension, x0: (a + b) / 2, y1: y },
        );
        nsCount++;
      }
    }
  }
  const panelWidth = Math.max(96, m * 16 + 12);
  const columns = gridColumns(dims.length, panelWidth, 14, PAGE_WIDTH - 260);
  const x = {
    field: 'x0', type: 'quantitative', title: null,
    scale: { domain: [-0.5, m - 0.5], nice: false, zero: false },
    // No model names under the bars (they would repeat under every column): the legend names them.
    axis: null,
  };
  // Padding: the top bracket's "ns" stays inside the panel, so that every panel title sits at the same height.
  const y = { field: 'y1', type: 'quantitative', title: 'Spearman ρ (human vs model)', scale: { padding: 14 }, axis: { labelExpr: "datum.value > 1.0001 ? '' : datum.label", tickCount: 6 } };
  const layer: Record<string, unknown>[] = [
    { transform: [{ filter: "datum.kind === 'bar'" }], mark: { type: 'rect' }, encoding: { x, x2: { field: 'x1' }, y, y2: { field: 'y0' }, color: colorEnc(st, models) } },
  ];
  if (nsCount) {
    layer.push({ transform: [{ filter: "datum.kind === 'leg'" }], mark: { type: 'rule', color: '#333', strokeWidth: 0.8 },
      encoding: { x, x2: { field: 'x1' }, y, y2: { field: 'y0' } } });
    layer.push({ transform: [{ filter: "datum.kind === 'ns'" }], mark: { type: 'text', baseline: 'bottom', dy: -1, fontSize: 9, color: '#333' },
      encoding: { x, y, text: { value: 'ns' } } });
  }
  const steigerNote = res.steiger
    ? `"ns": Steiger's test p ≥ .05 for that model pair (${nsCount} bracket${nsCount === 1 ? '' : 's'}); pairs without a bracket differ significantly (p < .05)`
    : 'no Steiger tests in results.json';
  out.figures.push({
    name: 'dimension_rho', group: 4,
    title: 'Dimension-wise agreement with the humans',
    caption: `Spearman ρ between human and model ratings per dimension (${langName(res)}), one panel per dimension, the models in the legend's order in every panel; ${steigerNote}.${syntheticNote(st, models)}`,
    chart: vl({
      title: { text: `Dimension-wise ρ (${langName(res)})`, subtitle: res.steiger ? '"ns": Steiger\'s test p ≥ .05 for the bracketed model pair' : 'no Steiger tests in results.json' },
      data: { values: rows },
      facet: { field: 'dimension', type: 'nominal', sort: dims.map(dimensionLabel), title: null, header: { labelFontSize: 12, labelFontWeight: 'bold' } },
      columns,
      spacing: { row: 14, column: 14 },
      spec: { width: panelWidth, height: 190, layer },
    }),
  });
}

// ---------------------------------------------------------------------------------------------
// 5. Human rating distributions per dimension

function humanDistributions(ev: Evaluation, out: FigureSet): void {
  const res = ev.results;
  if (!ev.ratings) { out.skipped.push({ name: 'human_ratings', reason: 'ratings.csv is missing' }); return; }
  const r = ev.ratings;
  const dims = orderedDimensions(res, r.dimensions.filter((d) => ratingColumn(r, 'human', d)));
  const rows: Row[] = [];
  for (const d of dims) for (const v of ratingColumn(r, 'human', d)!) if (finite(v)) rows.push({ dimension: dimensionLabel(d), rating: v });
  if (!rows.length) { out.skipped.push({ name: 'human_ratings', reason: 'ratings.csv has no human ratings' }); return; }
  out.figures.push({
    name: 'human_ratings', group: 5,
    title: 'Human rating distributions',
    caption: `Histograms of the human norms per dimension over the evaluated words (${langName(res)}; 0–5 scale, bins of 0.25).`,
    chart: vl({
      title: { text: `Human ratings per dimension (${langName(res)}, ${r.words.length} words)` },
      data: { values: rows },
      facet: { field: 'dimension', type: 'nominal', sort: dims.map(dimensionLabel), title: null, header: { labelFontSize: 12 } },
      columns: 6,
      spec: {
        width: 130, height: 90,
        mark: { type: 'bar', color: '#4c78a8' },
        encoding: {
          x: { field: 'rating', type: 'quantitative', bin: { extent: [0, 5], step: 0.25 }, title: 'rating', axis: { values: [0, 1, 2, 3, 4, 5], format: 'd' } },
          y: { aggregate: 'count', type: 'quantitative', title: 'words' },
        },
      },
    }),
  });
}

// ---------------------------------------------------------------------------------------------
// 6. Word-wise: distance distributions, inter-model heatmap, similarity scatter plots

const PREFERRED_PAIRS: [string, string][] = [['base', 'en_ft'], ['base', 'nl_ft'], ['base', 'qa_ft'], ['en_ft', 'nl_ft']];

/**
 * The paper's four scatter pairs within one family of models (the bare condition ids, or one
 * prefix such as gpt4o_): the family with the most of them, trained models before synthetic ones.
 */
function scatterPairs(st: ModelStyle, models: readonly string[]): [string, string][] {
  const families = new Map<string, Map<string, string>>();
  for (const m of models) {
    const a = conditionAlias(m);
    const [prefix, cond] = a ? [a.prefix, a.condition] : ['', m];
    if (!PREFERRED_PAIRS.some((p) => p.includes(cond))) continue;
    if (!families.has(prefix)) families.set(prefix, new Map());
    families.get(prefix)!.set(cond, m);
  }
  let best: [string, string][] = [];
  let bestScore = -1;
  for (const fam of families.values()) {
    const pairs = PREFERRED_PAIRS.filter(([a, b]) => fam.has(a) && fam.has(b)).map(([a, b]) => [fam.get(a)!, fam.get(b)!] as [string, string]);
    const real = pairs.length && pairs.every(([a, b]) => !st.synthetic(a) && !st.synthetic(b));
    const score = pairs.length + (real ? 10 : 0);
    if (pairs.length && score > bestScore) { best = pairs; bestScore = score; }
  }
  if (best.length) return best;
  return models.flatMap((a, i) => models.slice(i + 1).map((b) => [a, b] as [string, string])).slice(0, 6);
}

function wordwise(ev: Evaluation, st: ModelStyle, out: FigureSet): void {
  const res = ev.results;
  // 6a. distance distributions
  if (!ev.wordwise) {
    out.skipped.push({ name: 'wordwise_distance', reason: 'wordwise.csv is missing' });
  } else {
    const rows = ev.wordwise.filter((w) => finite(w.distance) && res.models.includes(w.model));
    const subsets = orderedSubsets(res, rows.map((w) => w.subset));
    const models = res.models.filter((m) => rows.some((w) => w.model === m));
    if (!rows.length) out.skipped.push({ name: 'wordwise_distance', reason: 'wordwise.csv has no finite distances' });
    else {
      // Upright boxes as in the paper while the model names fit under them; else lying boxes
      // with the names on the left, which never overlap and need no slanting.
      const band = 40;
      const upright = fitsUnder(st, models, band);
      const model = { field: 'model', type: 'nominal', sort: models.map(st.label), title: null, axis: { labelLimit: 220 } };
      const distance = { field: 'distance', type: 'quantitative', title: 'Euclidean distance to human ratings' };
      const width = upright ? Math.max(120, models.length * band) : 300;
      out.figures.push({
        name: 'wordwise_distance', group: 6,
        title: 'Word-wise distance to the humans',
        caption: `Per word, the Euclidean distance between the model's and the humans' raw rating vectors (similarity = 1/(1+d)); box plots per model and subset (${langName(res)}).${syntheticNote(st, models)}`,
        chart: vl({
          title: { text: `Word-wise distance to the human ratings (${langName(res)})` },
          data: { values: rows.map((w) => ({ subset: subsetLabel(w.subset), model: st.label(w.model), distance: w.distance })) },
          facet: { field: 'subset', type: 'nominal', sort: subsets.map(subsetLabel), title: null, header: { labelFontSize: 12, labelFontWeight: 'bold' } },
          columns: gridColumns(subsets.length, width + (upright ? 30 : 10), 14, upright ? PAGE_WIDTH : PAGE_WIDTH - 180),
          spec: {
            width, height: upright ? 240 : models.length * 24,
            mark: { type: 'boxplot', extent: 1.5, size: upright ? Math.min(22, band - 12) : 14, outliers: { size: 6, opacity: 0.5 } },
            encoding: {
              ...(upright ? { x: { ...model, axis: { labelAngle: 0 } }, y: distance } : { y: model, x: distance }),
              color: { ...colorEnc(st, models), legend: null },
            },
          },
        }),
      });
    }
  }

  // 6b. inter-model correlation heatmap
  if (!res.wordwise_intermodel) {
    out.skipped.push({ name: 'wordwise_intermodel', reason: 'results.json has no "wordwise_intermodel" section' });
  } else {
    const subsets = orderedSubsets(res, Object.keys(res.wordwise_intermodel));
    const rows: Row[] = [];
    const used = new Set<string>();
    for (const s of subsets) {
      const pairs = Object.entries(res.wordwise_intermodel[s]).map(([k, v]) => [splitPair(k), v] as const)
        .filter((e): e is readonly [[string, string], number] => !!e[0] && finite(e[1]));
      const ms = res.models.filter((m) => pairs.some(([p]) => p.includes(m)));
      for (const a of ms) {
        for (const b of ms) {
          const rho = a === b ? 1 : pairs.find(([p]) => (p[0] === a && p[1] === b) || (p[0] === b && p[1] === a))?.[1];
          if (finite(rho)) { rows.push({ subset: subsetLabel(s), a: st.label(a), b: st.label(b), rho }); used.add(a); }
        }
      }
    }
    const models = res.models.filter((m) => used.has(m));
    if (!rows.length) out.skipped.push({ name: 'wordwise_intermodel', reason: 'no finite inter-model correlations in results.json' });
    else {
      const labels = models.map(st.label);
      const cell = Math.max(34, Math.min(48, Math.floor(330 / labels.length)));
      const side = labels.length * cell;
      out.figures.push({
        name: 'wordwise_intermodel', group: 6,
        title: 'Inter-model correlation of word-wise similarity',
        caption: `Spearman ρ between models' word-wise similarity to the humans, per subset (${langName(res)}).${syntheticNote(st, models)}`,
        chart: vl({
          title: { text: `Inter-model ρ of word-wise similarity (${langName(res)})` },
          data: { values: rows },
          facet: { field: 'subset', type: 'nominal', sort: subsets.map(subsetLabel), title: null, header: { labelFontSize: 12, labelFontWeight: 'bold' } },
          columns: gridColumns(subsets.length, side + 20, 14, PAGE_WIDTH - 170),
          spec: {
            width: side, height: side,
            encoding: {
              x: { field: 'b', type: 'nominal', sort: labels, title: null, axis: { labelAngle: -40, labelAlign: 'right', labelLimit: 150 } },
              y: { field: 'a', type: 'nominal', sort: labels, title: null, axis: { labelLimit: 150 } },
            },
            layer: [
              { mark: { type: 'rect' }, encoding: { color: { field: 'rho', type: 'quantitative', title: 'ρ', scale: { scheme: 'blueorange', domain: [-1, 1] } } } },
              { mark: { type: 'text', fontSize: cell < 40 ? 9.5 : 11 }, encoding: {
                text: { field: 'rho', type: 'quantitative', format: '.2f' },
                color: { condition: { test: 'abs(datum.rho) > 0.65', value: 'white' }, value: 'black' } } },
            ],
          },
        }),
      });
    }
  }

  // 6c. scatter plots of word-wise similarity for model pairs
  if (!ev.wordwise) { out.skipped.push({ name: 'wordwise_scatter', reason: 'wordwise.csv is missing' }); return; }
  const subsets = orderedSubsets(res, ev.wordwise.map((w) => w.subset));
  const s = mainSubset(res, subsets);
  if (!s) { out.skipped.push({ name: 'wordwise_scatter', reason: 'wordwise.csv has no rows' }); return; }
  const name = `wordwise_scatter_${s}`;
  const sim = new Map<string, Map<string, number>>();
  for (const w of ev.wordwise) {
    if (w.subset !== s || !finite(w.similarity)) continue;
    let m = sim.get(w.model);
    if (!m) sim.set(w.model, (m = new Map()));
    m.set(w.word, w.similarity);
  }
  const models = res.models.filter((m) => sim.has(m));
  const pairs = scatterPairs(st, models);
  if (!pairs.length) { out.skipped.push({ name, reason: 'fewer than two models in wordwise.csv' }); return; }
  let lo = Infinity, hi = -Infinity;
  for (const m of models) for (const v of sim.get(m)!.values()) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  const pad = Math.max(hi - lo, 0.01) * 0.04;
  const domain = [Math.max(0, lo - pad), Math.min(1, hi + pad)];
  const inter = res.wordwise_intermodel?.[s];
  const panels = pairs.map(([a, b]) => {
    const sa = sim.get(a)!, sb = sim.get(b)!;
    const pts: Row[] = [];
    for (const [word, x] of sa) { const y = sb.get(word); if (finite(y)) pts.push({ word, x, y }); }
    const rho = inter?.[`${a} vs ${b}`] ?? inter?.[`${b} vs ${a}`];
    return {
      title: { text: `${st.label(a)} vs ${st.label(b)}`, subtitle: `${pts.length} words${finite(rho) ? `, ρ = ${fmt(rho)}` : ''}`, anchor: 'middle', fontSize: 12, limit: 250 },
      width: 210, height: 210,
      layer: [
        { data: { values: [{ v: domain[0] }, { v: domain[1] }] }, mark: { type: 'line', color: '#999', strokeDash: [4, 3], strokeWidth: 1 },
          encoding: { x: { field: 'v', type: 'quantitative', scale: { domain, nice: false } }, y: { field: 'v', type: 'quantitative', scale: { domain, nice: false } } } },
        { data: { values: pts }, mark: { type: 'circle', size: 12, opacity: 0.45, color: st.color(b) },
          encoding: {
            x: { field: 'x', type: 'quantitative', title: `${st.label(a)} similarity`, scale: { domain, nice: false } },
            y: { field: 'y', type: 'quantitative', title: `${st.label(b)} similarity`, scale: { domain, nice: false } },
          } },
      ],
    };
  });
  const used = [...new Set(pairs.flat())];
  out.figures.push({
    name, group: 6,
    title: `Word-wise similarity, model against model (${subsetLabel(s)})`,
    caption: `Each point a word: its similarity 1/(1+d) to the human ratings (${subsetLabel(s).toLowerCase()} dimensions) under two models, in the colour of the model on the y axis; dashed: equal similarity.${syntheticNote(st, used)}`,
    chart: vl({
      title: { text: `Word-wise similarity to the humans, model pairs (${subsetLabel(s)}, ${langName(res)})` },
      concat: panels,
      columns: gridColumns(panels.length, 280, 24),
      spacing: 24,
    }),
  });
}

// ---------------------------------------------------------------------------------------------
// 7. Radar chart of one word's ratings (Vega: Vega-Lite has no polar line charts), a grid of panels

function radar(ev: Evaluation, st: ModelStyle, opts: FigureOptions, out: FigureSet): string | undefined {
  const res = ev.results;
  const want = opts.word.trim();
  const name = `radar_${want.toLowerCase().replace(/[^a-z0-9]+/gi, '_')}`;
  if (!ev.ratings) {
    if (opts.wordExplicit) return 'ratings.csv is missing, so no radar chart can be drawn';
    out.skipped.push({ name, reason: 'ratings.csv is missing' });
    return undefined;
  }
  const r = ev.ratings;
  const wi = r.words.findIndex((w) => w.toLowerCase() === want.toLowerCase());
  if (wi < 0) {
    if (opts.wordExplicit) return `the word ${JSON.stringify(want)} is not in ratings.csv`;
    out.skipped.push({ name, reason: `the default word ${JSON.stringify(want)} is not among the evaluated words (choose one with the word option)` });
    return undefined;
  }
  const word = r.words[wi];
  const dims = orderedDimensions(res, r.dimensions.filter((d) => ratingColumn(r, 'human', d)));
  const models = res.models.filter((m) => dims.some((d) => finite(ratingColumn(r, m, d)?.[wi])));
  if (dims.length < 3 || !models.length) {
    out.skipped.push({ name, reason: `fewer than 3 dimensions or no model ratings for ${JSON.stringify(word)}` });
    return undefined;
  }
  const PW = 300, PH = 250, R = 78, cx = PW / 2, cy = PH / 2 + 10;
  const cols = gridColumns(models.length, PW, 0);
  const points: Row[] = [];
  const missing: string[] = [];
  models.forEach((m, k) => {
    const px = (k % cols) * PW, py = Math.floor(k / cols) * PH;
    for (const [src, srcLabel] of [['human', st.label('human')], [m, st.label(m)]] as const) {
      dims.forEach((d, i) => {
        const v = ratingColumn(r, src, d)?.[wi];
        if (!finite(v)) { if (src !== 'human' || k === 0) missing.push(`${st.label(src)}/${dimensionLabel(d)}`); return; }
        points.push({ panel: st.label(m), px, py, source: srcLabel, human: src === 'human' ? 1 : 0, i, angle: (2 * Math.PI * i) / dims.length, value: Math.max(0, Math.min(5, v)) });
      });
    }
  });
  const rowsN = Math.ceil(models.length / cols);
  const { domain, range } = st.scale(['human', ...models]);
  const xy = (rad: string) => ({
    x: { signal: `${cx} + (${rad}) * sin(datum.angle)` },
    y: { signal: `${cy} - (${rad}) * cos(datum.angle)` },
  });
  const spec: Record<string, unknown> = {
    $schema: 'https://vega.github.io/schema/vega/v6.json',
    width: PW * cols, height: PH * rowsN, padding: 10, autosize: 'pad', background: 'white',
    title: { text: `Ratings of ${word.toUpperCase()} (${langName(res)}): each model against the humans`, anchor: 'start', font: FONT, fontSize: 14, fontWeight: 'bold', offset: 6 },
    data: [
      { name: 'points', values: points },
      { name: 'spokes', values: dims.map((d, i) => ({ i, angle: (2 * Math.PI * i) / dims.length, label: dimensionLabel(d) })) },
      { name: 'rings', values: [1, 2, 3, 4, 5].map((v) => ({ v })) },
    ],
    scales: [
      { name: 'r', type: 'linear', domain: [0, 5], range: [0, R], zero: true },
      { name: 'color', type: 'ordinal', domain, range },
    ],
    legends: [{ stroke: 'color', fill: 'color', orient: 'bottom', direction: 'horizontal', offset: 4, symbolType: 'stroke', symbolStrokeWidth: 2.5, labelFont: FONT, labelFontSize: 12, labelLimit: 260, columns: Math.min(domain.length, 5) }],
    marks: [{
      type: 'group',
      from: { facet: { data: 'points', name: 'panelPoints', groupby: ['panel', 'px', 'py'] } },
      encode: { update: { x: { field: 'px' }, y: { field: 'py' }, width: { value: PW }, height: { value: PH } } },
      marks: [
        { type: 'text', encode: { update: { x: { value: cx }, y: { value: 6 }, text: { signal: 'parent.panel' }, align: { value: 'center' }, baseline: { value: 'top' }, font: { value: FONT }, fontSize: { value: 13 }, fontWeight: { value: 'bold' }, limit: { value: PW - 10 } } } },
        { type: 'arc', from: { data: 'rings' }, encode: { update: {
          x: { value: cx }, y: { value: cy }, innerRadius: { value: 0 }, outerRadius: { scale: 'r', field: 'v' },
          startAngle: { value: 0 }, endAngle: { value: 2 * Math.PI }, fillOpacity: { value: 0 }, stroke: { value: '#d0d0d0' }, strokeWidth: { value: 0.8 } } } },
        { type: 'text', from: { data: 'rings' }, encode: { update: {
          x: { value: cx + 2 }, y: { signal: `${cy} - scale('r', datum.v)` }, text: { field: 'v' }, font: { value: FONT }, fontSize: { value: 8 }, fill: { value: '#999' }, baseline: { value: 'bottom' } } } },
        { type: 'rule', from: { data: 'spokes' }, encode: { update: {
          x: { value: cx }, y: { value: cy }, x2: xy(String(R)).x, y2: xy(String(R)).y, stroke: { value: '#d0d0d0' }, strokeWidth: { value: 0.8 } } } },
        { type: 'text', from: { data: 'spokes' }, encode: { update: {
          ...xy(String(R + 9)), text: { field: 'label' }, font: { value: FONT }, fontSize: { value: 10 }, fill: { value: '#333' },
          align: { signal: "abs(sin(datum.angle)) < 0.15 ? 'center' : (sin(datum.angle) > 0 ? 'left' : 'right')" },
          baseline: { signal: "cos(datum.angle) > 0.7 ? 'bottom' : (cos(datum.angle) < -0.7 ? 'top' : 'middle')" } } } },
        {
          type: 'group',
          from: { facet: { data: 'panelPoints', name: 'series', groupby: ['source', 'human'] } },
          sort: { field: 'datum.human', order: 'descending' },
          marks: [
            { type: 'line', from: { data: 'series' }, sort: { field: 'datum.i' }, encode: { update: {
              ...xy("scale('r', datum.value)"), interpolate: { value: 'linear-closed' },
              stroke: { scale: 'color', field: 'source' }, fill: { scale: 'color', field: 'source' }, fillOpacity: { value: 0.12 },
              strokeWidth: { value: 2 }, strokeDash: { signal: 'datum.human ? [5, 3] : [1, 0]' } } } },
            { type: 'symbol', from: { data: 'series' }, encode: { update: {
              ...xy("scale('r', datum.value)"), size: { value: 18 }, fill: { scale: 'color', field: 'source' }, stroke: { value: 'white' }, strokeWidth: { value: 0.5 } } } },
          ],
        },
      ],
    }],
  };
  out.figures.push({
    name, group: 7,
    title: `Ratings of ${word.toUpperCase()}`,
    caption: `The ${dims.length} ratings of “${word}” by each model (solid, one panel per model) against the human norms (dashed), 0–5 from the centre.${missing.length ? ` Missing, not drawn: ${missing.join(', ')}.` : ''}${syntheticNote(st, models)}`,
    chart: { kind: 'vega', spec },
  });
  return undefined;
}

/** The labels and colours of an evaluation's models (and of the runs' model ids). */
export function styleOf(res: Results, runs?: RunInputs): ModelStyle {
  const extra = [...(runs?.training ?? []).map((t) => t.model), ...(runs?.trajectories ?? []).map((t) => t.model)];
  return modelStyle([...res.models, ...extra.filter((m) => !res.models.includes(m))], res.model_info);
}

/** Every figure the evaluation folder supports, in report order. Throws nothing but `wordError`. */
export function buildFigures(ev: Evaluation, opts: FigureOptions): FigureSet & { wordError?: string } {
  const out: FigureSet = { figures: [], skipped: [] };
  const st = styleOf(ev.results, opts.runs);
  let wordError: string | undefined;
  if (ev.results.models.length) {
    rsaBars(ev, st, out);
    rdmHeatmaps(ev, st, out);
    bootstrapDensities(ev, st, out);
    dimensionBars(ev, st, out);
    humanDistributions(ev, out);
    wordwise(ev, st, out);
    wordError = radar(ev, st, opts, out);
  }
  curveFigures(ev.results, st, opts.runs ?? {}, out);
  return { ...out, wordError };
}
