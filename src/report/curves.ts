/**
 * Line figures over layers and training steps: the layer-wise RSA of hidden states (results.json
 * `layers`), the training curves of LoRA runs (metrics.jsonl) and the alignment trajectory (RSA
 * per checkpoint, trajectory.csv). Each is drawn when its data is there; without it, nothing is
 * said (these inputs are optional), and data that is there but unusable is a skip with the reason.
 */
import { colorEnc, gridColumns, langName, syntheticNote, vl, type FigureSet, type Row } from './chart.js';
import { finite } from './format.js';
import { subsetLabel, type ModelStyle } from './labels.js';
import type { Results } from './load.js';
import type { Trajectory, TrainingRun } from './runs.js';

export interface RunInputs {
  training?: TrainingRun[];
  trajectories?: Trajectory[];
}

/**
 * A line per series with a dot per value: two layers, so that the legends show line strokes
 * (dashed where the series is) rather than dots.
 */
function linesWithPoints(encoding: Record<string, Record<string, unknown>>, strokeWidth: number, size: number): Record<string, unknown>[] {
  const { strokeDash: _dash, ...dots } = encoding;
  return [
    { mark: { type: 'line', strokeWidth }, encoding },
    { mark: { type: 'point', filled: true, size, opacity: 1 }, encoding: dots },
  ];
}

const POOLING_LABELS: Record<string, string> = { last: 'last prompt token', mean: "mean over the word's tokens" };

function layerCurve(res: Results, out: FigureSet): void {
  const name = 'layer_rsa';
  if (!res.layers) return;
  const canon = ['motor', 'sensory', 'all'];
  const subsets = Object.keys(res.layers).sort((a, b) => (canon.indexOf(a) + 1 || 99) - (canon.indexOf(b) + 1 || 99) || a.localeCompare(b));
  const rows: Row[] = [];
  const best: string[] = [];
  for (const s of subsets) {
    for (const pooling of [...new Set(res.layers[s].map((p) => p.pooling))]) {
      const pts = res.layers[s].filter((p) => p.pooling === pooling && finite(p.rho));
      for (const p of pts) rows.push({ subset: subsetLabel(s), pooling: POOLING_LABELS[p.pooling] ?? p.pooling, layer: p.layer, rho: p.rho });
      const top = pts.reduce<typeof pts[number] | undefined>((b, p) => (!b || p.rho > b.rho ? p : b), undefined);
      if (top) best.push(`${subsetLabel(s).toLowerCase()}, ${POOLING_LABELS[pooling] ?? pooling}: layer ${top.layer} (ρ = ${top.rho.toFixed(3)})`);
    }
  }
  if (!rows.length) { out.skipped.push({ name, reason: 'no finite layer-wise ρ in results.json' }); return; }
  const layers = new Set(rows.map((r) => r.layer)).size;
  const pools = [...Object.values(POOLING_LABELS), ...new Set(rows.map((r) => r.pooling as string).filter((p) => !Object.values(POOLING_LABELS).includes(p)))];
  const width = Math.min(360, Math.max(220, layers * 14));
  out.figures.push({
    name, group: 8,
    title: 'Layer-wise RSA of hidden states',
    caption: `Spearman ρ between the human RDM and the RDM of each layer's hidden states (of the model given to smft evaluate --representations; in smft reproduce, the Base model on the English prompts; each unit z-scored over words, ${res.metric ?? 'cosine'} distance), per subset (${langName(res)}); layer 0 is the embedding output. Pooling: the last prompt token (black, solid) or the mean over the word's tokens (grey, dashed); a layer whose pooled states do not vary over words has no ρ. Best layers: ${best.join('; ')}.`,
    chart: vl({
      title: { text: `Layer-wise RSA of hidden states (${langName(res)})` },
      data: { values: rows },
      facet: { field: 'subset', type: 'nominal', sort: subsets.map(subsetLabel), title: null, header: { labelFontSize: 12, labelFontWeight: 'bold' } },
      columns: gridColumns(subsets.length, width + 40, 16),
      resolve: { axis: { x: 'independent' } },
      spec: {
        width, height: 220,
        layer: linesWithPoints({
          x: { field: 'layer', type: 'quantitative', title: 'layer', axis: { tickMinStep: 1, format: 'd' } },
          y: { field: 'rho', type: 'quantitative', title: 'RSA (Spearman ρ)', scale: { padding: 8 }, axis: { labelFlush: true } },
          color: { field: 'pooling', type: 'nominal', title: 'pooling', scale: { domain: pools, range: ['#222222', '#777777'] }, legend: { orient: 'bottom', labelLimit: 300, symbolType: 'stroke', symbolStrokeWidth: 2 } },
          strokeDash: { field: 'pooling', type: 'nominal', title: 'pooling', scale: { domain: pools, range: [[1, 0], [5, 3]] } },
        }, 1.8, 26),
      },
    }),
  });
}

/** Panels of the training figure: the metric key and its title, in order. */
const TRAINING_PANELS: [string, string][] = [
  ['loss', 'Loss (solid: training, dashed: validation)'], ['lr', 'Learning rate'],
  ['valR', 'Validation r (ratings)'], ['valMae', 'Validation MAE (ratings)'], ['valAccuracy', 'Validation accuracy (QA)'],
];

function trainingCurves(st: ModelStyle, runs: readonly TrainingRun[], out: FigureSet): void {
  const name = 'training_curves';
  if (!runs.length) return;
  const rows: Row[] = [];
  for (const run of runs) {
    const model = st.label(run.model);
    const init = run.initialVal;
    for (const [key, title] of TRAINING_PANELS) {
      if (key === 'loss') {
        for (const m of run.steps) if (finite(m.loss)) rows.push({ panel: title, model, kind: 'training', step: m.step, value: m.loss });
        if (finite(init?.valLoss)) rows.push({ panel: title, model, kind: 'validation', step: 0, value: init.valLoss });
        for (const m of run.steps) if (finite(m.valLoss)) rows.push({ panel: title, model, kind: 'validation', step: m.step, value: m.valLoss });
        continue;
      }
      const kind = key === 'lr' ? 'training' : 'validation';
      if (kind === 'validation' && finite(init?.[key])) rows.push({ panel: title, model, kind, step: 0, value: init[key] });
      for (const m of run.steps) if (finite(m[key])) rows.push({ panel: title, model, kind, step: m.step, value: m[key] as number });
    }
  }
  const panels = TRAINING_PANELS.map(([, t]) => t).filter((t) => rows.some((r) => r.panel === t));
  const ids = runs.map((r) => r.model);
  const steps = runs.map((r) => `${st.label(r.model)} ${r.steps.length} step${r.steps.length === 1 ? '' : 's'}`).join(', ');
  out.figures.push({
    name, group: 9,
    title: 'Training curves',
    caption: `Per optimizer step of each LoRA run (${steps}): training loss (solid) and validation loss (dashed, points; step 0: the base model before the first update), the learning rate, and the validation metrics the run recorded (independent y axes).${syntheticNote(st, ids)}`,
    chart: vl({
      title: { text: 'Training curves of the LoRA runs' },
      data: { values: rows },
      facet: { field: 'panel', type: 'nominal', sort: panels, title: null, header: { labelFontSize: 12, labelFontWeight: 'bold' } },
      columns: gridColumns(panels.length, 330, 20, 1100),
      resolve: { scale: { y: 'independent' }, axis: { x: 'independent' } },
      spec: {
        width: 300, height: 190,
        layer: linesWithPoints({
          x: { field: 'step', type: 'quantitative', title: 'step', axis: { tickMinStep: 1, format: 'd' } },
          y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false, padding: 8 }, axis: { labelFlush: true } },
          color: { ...colorEnc(st, ids), legend: { title: null, labelLimit: 260, symbolType: 'stroke', symbolStrokeWidth: 2.5 } },
          strokeDash: { field: 'kind', type: 'nominal', title: null, scale: { domain: ['training', 'validation'], range: [[1, 0], [5, 3]] }, legend: { symbolType: 'stroke', symbolStrokeColor: '#333', symbolStrokeWidth: 2 } },
        }, 1.6, 16),
      },
    }),
  });
}

const MEASURE_LABELS: Record<string, string> = {
  rsa_motor: 'RSA, motor', rsa_sensory: 'RSA, sensory', rsa_all: 'RSA, all', mean_dimension_rho: 'Mean dimension-wise ρ',
};

function trajectory(st: ModelStyle, trajs: readonly Trajectory[], out: FigureSet): void {
  const name = 'alignment_trajectory';
  if (!trajs.length) return;
  const rows: Row[] = [];
  const measures: string[] = [];
  for (const t of trajs) {
    for (const r of t.rows) {
      for (const [k, v] of Object.entries(r.values)) {
        if (!finite(v)) continue;
        const panel = MEASURE_LABELS[k] ?? k;
        if (!measures.includes(panel)) measures.push(panel);
        rows.push({ panel, model: st.label(t.model), step: r.step, value: v });
      }
    }
  }
  if (!rows.length) { out.skipped.push({ name, reason: 'the trajectory has no finite values' }); return; }
  const order = [...Object.values(MEASURE_LABELS).filter((m) => measures.includes(m)), ...measures.filter((m) => !Object.values(MEASURE_LABELS).includes(m))];
  const ids = trajs.map((t) => t.model);
  out.figures.push({
    name, group: 10,
    title: 'Alignment trajectory during fine-tuning',
    caption: `RSA with the human RDM per subset and the mean dimension-wise ρ of the ratings of the base model (step 0) and of every saved checkpoint of each run (smft trajectory; no bootstrap).${syntheticNote(st, ids)}`,
    chart: vl({
      title: { text: 'Alignment with the humans per checkpoint' },
      data: { values: rows },
      facet: { field: 'panel', type: 'nominal', sort: order, title: null, header: { labelFontSize: 12, labelFontWeight: 'bold' } },
      columns: gridColumns(order.length, 250, 20, 1100),
      resolve: { axis: { x: 'independent' } },
      spec: {
        width: 230, height: 190,
        layer: linesWithPoints({
          x: { field: 'step', type: 'quantitative', title: 'step (0: base model)', axis: { tickMinStep: 1, format: 'd' } },
          y: { field: 'value', type: 'quantitative', title: 'Spearman ρ', scale: { zero: false, padding: 8 }, axis: { labelFlush: true } },
          color: { ...colorEnc(st, ids), legend: { title: null, labelLimit: 260, symbolType: 'stroke', symbolStrokeWidth: 2.5 } },
        }, 1.8, 22),
      },
    }),
  });
}

/** The layer curve, training curves and trajectory figures (or their skip reasons). */
export function curveFigures(res: Results, st: ModelStyle, runs: RunInputs, out: FigureSet): void {
  layerCurve(res, out);
  trainingCurves(st, runs.training ?? [], out);
  trajectory(st, runs.trajectories ?? [], out);
}
