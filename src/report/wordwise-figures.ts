/**
 * The paper's word-wise figures: distributions of each word's distance to the human ratings, the
 * inter-model correlation of word-wise similarity, and scatter plots of model pairs.
 */
import { PAGE_WIDTH, colorEnc, gridColumns, langName, mainSubset, orderedSubsets, syntheticNote, vl, type FigureSet, type Row } from './chart.js';
import { finite } from './format.js';
import { conditionAlias, splitPair, subsetLabel, type ModelStyle } from './labels.js';
import type { Evaluation } from './load.js';

const fmt = (x: number, d = 2) => (finite(x) ? x.toFixed(d) : 'NaN');

/** Do the models' names fit side by side under bands of `band` px? */
function fitsUnder(st: ModelStyle, ids: readonly string[], band: number): boolean {
  return Math.max(...ids.map((m) => st.label(m).length)) * 6.5 <= band;
}


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

export function wordwise(ev: Evaluation, st: ModelStyle, out: FigureSet): void {
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

