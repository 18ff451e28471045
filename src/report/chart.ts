/**
 * What every figure builder shares: the figure record, Vega-Lite spec wrapper, the model colour
 * encoding, the grid that wraps panels to the page width, and the caption line about synthetic
 * models.
 */
import { dimensionsFor, subsetsFor } from '../data/dimensions.js';
import type { ModelStyle } from './labels.js';
import type { Results } from './load.js';
import type { ChartSpec } from './render.js';

export interface Figure {
  /** File stem under figures/ (e.g. 'rsa_bars'). */
  name: string;
  /** Order in the report (1–7: the paper's figures; 8–10: layers, training, trajectory). */
  group: number;
  title: string;
  caption: string;
  chart: ChartSpec;
}

export interface Skipped { name: string; reason: string }

export interface FigureSet { figures: Figure[]; skipped: Skipped[] }

export type Row = Record<string, string | number | null>;

/**
 * Natural width (px) a figure is laid out for: report.html's column at a 1400 px window is
 * ≈ 1340 px, so figures this wide are shown at their own size, not shrunk.
 */
export const PAGE_WIDTH = 1260;

export const vl = (spec: Record<string, unknown>): ChartSpec => ({ kind: 'vega-lite', spec: { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', ...spec } });

/**
 * Columns of a grid of `n` panels of `panelWidth` (+ `gap`) in `width`: as few rows as fit, and
 * the panels spread evenly over them (11 panels, 9 fit: 6 + 5, not 9 + 2).
 */
export function gridColumns(n: number, panelWidth: number, gap = 16, width = PAGE_WIDTH): number {
  const fit = Math.max(1, Math.min(n, Math.floor((width + gap) / (panelWidth + gap))));
  return Math.ceil(n / Math.ceil(n / fit));
}

/** Colour encoding of the field `model` (display labels) for `ids`, in this order. */
export function colorEnc(st: ModelStyle, ids: readonly string[], legendTitle: string | null = null): Record<string, unknown> {
  const { domain, range } = st.scale(ids);
  return { field: 'model', type: 'nominal', sort: domain, scale: { domain, range }, legend: { title: legendTitle, labelLimit: 260 } };
}

export const langName = (res: Results) => (res.lang === 'en' ? 'English' : 'Dutch');

/**
 * ' Synthetic (random weights, …): Base, En_FT — "<description>".' for the synthetic models among
 * `ids`, or ''. Their ρ ≈ 0 is what a model without trained weights gives.
 */
export function syntheticNote(st: ModelStyle, ids: readonly string[]): string {
  const byDesc = new Map<string, string[]>();
  for (const id of ids) {
    const d = st.synthetic(id);
    if (d !== undefined) byDesc.set(d, [...(byDesc.get(d) ?? []), id]);
  }
  if (!byDesc.size) return '';
  const parts = [...byDesc].map(([d, ms]) => `${ms.map((m) => st.label(m).replace(/ \(synthetic\)$/, '')).join(', ')}: ${d}`);
  return ` "(synthetic)" marks models without trained knowledge, whose ρ near 0 is expected (${parts.join('; ')}).`;
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
