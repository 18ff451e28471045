/**
 * The report's figures as chart specs (Vega-Lite, and Vega for the radar chart), built from an
 * evaluation folder. A figure whose inputs are missing is skipped with the reason, which the
 * report shows. Figures with one panel per model or dimension wrap into grids that fit the page
 * (PAGE_WIDTH), every panel titled; a model has the same colour everywhere (labels.ts).
 */
import { subsetsFor } from '../data/dimensions.js';
import type { Metric } from '../eval/rdm.js';
import { PAGE_WIDTH, colorEnc, gridColumns, langName, orderedDimensions, orderedSubsets, syntheticNote, vl, type FigureSet, type Row } from './chart.js';
import { curveFigures, type RunInputs } from './curves.js';
import { finite } from './format.js';
import { dimensionLabel, modelStyle, splitPair, subsetLabel, type ModelStyle } from './labels.js';
import { ratingColumn, type Evaluation, type Results } from './load.js';
import { radar } from './radar.js';
import { HEATMAP_WORDS, heatmapData } from './rdm40.js';
import { wordwise } from './wordwise-figures.js';

export type { Figure, FigureSet, Skipped } from './chart.js';
export { mainSubset, orderedDimensions, orderedSubsets } from './chart.js';

export interface FigureOptions {
  /** Word of the radar chart (case-insensitive). */
  word: string;
  /** True when the user chose the word: then a word that is not rated is an error. */
  wordExplicit: boolean;
  /** Training runs and alignment trajectories to draw beside the evaluation. */
  runs?: RunInputs;
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
  return { ...(title ? { title: { text: title, fontSize: 12, subtitle: ids.map(st.label).join(', '), subtitleFontSize: 10 } } : {}), width: 440, height: 220, layer };
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
      ...(real.length ? [panel(synth.length ? 'Trained models' : '', real)] : []),
      ...(synth.length ? [panel(real.length ? 'Synthetic models (own scales)' : '', synth)] : []),
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
    const step = 0.13 * span, leg = 0.03 * span; // one level ≥ the 9-px "ns" text at the panel's height
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
      columns: gridColumns(dims.length, 130, 20, 1000),
      // An axis under every panel: with shared axes Vega-Lite draws one under the empty cell of the last row.
      resolve: { axis: { x: 'independent' } },
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
