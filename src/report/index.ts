/**
 * `smft report RESULTS_DIR`: the paper's figures (SVG + PNG) and a self-contained report.html
 * from an evaluation output folder, written atomically to RESULTS_DIR/report/ (or `outDir`).
 */
import { join, resolve } from 'node:path';
import { writeFileSync, mkdirSync } from 'node:fs';
import { SmftError } from '../util/errors.js';
import { bareName } from '../util/names.js';
import { writeDirAtomic } from '../util/atomic.js';
import { log } from '../util/log.js';
import { buildFigures, type Skipped } from './figures.js';
import { reportHtml, type RenderedFigure } from './html.js';
import { readEvaluation } from './load.js';
import { renderSvg, svgToPng } from './render.js';
import { readTrainingRun, readTrajectory } from './runs.js';

export { buildFigures } from './figures.js';
export { readEvaluation } from './load.js';

/** The radar chart's word when none is given (as in the paper). */
export const DEFAULT_WORD = 'SHOUTER';

export interface ReportOptions {
  /** Word of the radar chart (case-insensitive); default SHOUTER. */
  word?: string;
  /** Output folder; default RESULTS_DIR/report. Replaced as a whole. */
  outDir?: string;
  /** LoRA run folders (smft train --recipe) by model id: training curves from their metrics.jsonl. */
  training?: Record<string, string>;
  /** Alignment trajectories (smft trajectory's trajectory.csv, or its folder) by model id. */
  trajectories?: Record<string, string>;
}

export interface ReportResult {
  /** Path of report.html. */
  html: string;
  /** Paths of the figure files written (each figure as .svg and .png), in report order. */
  figures: string[];
  /** The report folder. */
  outDir: string;
  /** Figures that could not be drawn from this folder, with the reason (also shown in the page). */
  skipped: Skipped[];
  /** Vega/Vega-Lite warnings per figure, if any. */
  warnings: Record<string, string[]>;
}

function svgSize(svg: string): { width: number; height: number } {
  const m = /<svg[^>]*\bwidth="([\d.]+)"[^>]*\bheight="([\d.]+)"/.exec(svg);
  return m ? { width: Math.round(Number(m[1])), height: Math.round(Number(m[2])) } : { width: 0, height: 0 };
}

/**
 * Build the report of the evaluation folder `resultsDir` (results.json, and ratings.csv,
 * bootstrap.csv, wordwise.csv where present), with the training curves and alignment trajectories
 * of `opts.training` / `opts.trajectories`. Figures whose inputs are missing are skipped and
 * listed in the page. Throws SmftError for a missing or invalid results.json or CSV, or a
 * chosen `word` that is not rated.
 */
export async function buildReport(resultsDir: string, opts: ReportOptions = {}): Promise<ReportResult> {
  const dir = resolve(resultsDir);
  const outDir = resolve(opts.outDir ?? join(dir, 'report'));
  const t0 = Date.now();
  const ev = readEvaluation(dir);
  const word = opts.word ?? DEFAULT_WORD;
  const runs = {
    training: Object.entries(opts.training ?? {}).map(([model, d]) => readTrainingRun(model, resolve(d))),
    trajectories: Object.entries(opts.trajectories ?? {}).map(([model, f]) => readTrajectory(model, resolve(f))),
  };
  const set = buildFigures(ev, { word, wordExplicit: opts.word !== undefined, runs });
  if (set.wordError) throw new SmftError(set.wordError, join(dir, 'ratings.csv'));
  // Figure file names are made from subset names read from the results: data, never a path.
  for (const f of set.figures) bareName(`${f.name}.svg`, 'figure file name (from the subset names in the results)', dir);

  const rendered: RenderedFigure[] = [];
  const warnings: Record<string, string[]> = {};
  for (const figure of set.figures) {
    const w: string[] = [];
    let svg: string;
    try {
      svg = await renderSvg(figure.chart, figure.name, w);
    } catch (e) {
      throw new Error(`report: rendering figure ${figure.name} failed: ${(e as Error).message}`, { cause: e });
    }
    if (w.length) { warnings[figure.name] = w; log.warn({ figure: figure.name, warnings: w }, 'chart warnings'); }
    const png = svgToPng(svg);
    rendered.push({ figure, svg, png, ...svgSize(svg) });
  }
  const html = reportHtml(ev, rendered, set.skipped, runs);
  for (const s of set.skipped) log.info({ figure: s.name }, `figure skipped: ${s.reason}`);

  await writeDirAtomic(outDir, (tmp) => {
    mkdirSync(join(tmp, 'figures'), { recursive: true });
    for (const r of rendered) {
      writeFileSync(join(tmp, 'figures', `${r.figure.name}.svg`), r.svg);
      writeFileSync(join(tmp, 'figures', `${r.figure.name}.png`), r.png);
    }
    writeFileSync(join(tmp, 'report.html'), html);
  }, { kind: 'report' });
  const figures = rendered.flatMap((r) => [join(outDir, 'figures', `${r.figure.name}.svg`), join(outDir, 'figures', `${r.figure.name}.png`)]);
  log.info({ outDir, figures: rendered.length, skipped: set.skipped.length, ms: Date.now() - t0 }, 'report written');
  return { html: join(outDir, 'report.html'), figures, outDir, skipped: set.skipped, warnings };
}
