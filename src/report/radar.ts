/**
 * The radar chart of one word's ratings, each model against the humans, one panel per model in a
 * grid (Vega: Vega-Lite has no polar line charts).
 */
import { gridColumns, langName, orderedDimensions, syntheticNote, type FigureSet, type Row } from './chart.js';
import type { FigureOptions } from './figures.js';
import { finite } from './format.js';
import { dimensionLabel, type ModelStyle } from './labels.js';
import { ratingColumn, type Evaluation } from './load.js';
import { FONT } from './render.js';

/** The radar figure, or the error for a chosen word that cannot be drawn. */
export function radar(ev: Evaluation, st: ModelStyle, opts: FigureOptions, out: FigureSet): string | undefined {
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

