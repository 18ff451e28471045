/**
 * Rendering chart specs in Node: Vega-Lite specs are compiled to Vega, Vega specs are run
 * headless (`renderer: 'none'`) to SVG, and SVG is rasterised to PNG with resvg.
 */
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { log } from '../util/log.js';

/** The font stack of every figure (DejaVu Sans is what Debian ships; resvg and Chromium find it). */
export const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';

/** Shared look of the Vega-Lite figures. */
export const VL_CONFIG = {
  font: FONT,
  background: 'white',
  view: { stroke: '#bbb' },
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal' },
  header: { labelFontSize: 12, titleFontSize: 12, labelBaseline: 'alphabetic', labelPadding: 8 },
  legend: { labelFontSize: 11, titleFontSize: 11 },
  title: { fontSize: 14, anchor: 'start', offset: 10 },
} as const;

/** A chart spec in one of the two grammars. */
export type ChartSpec = { kind: 'vega-lite'; spec: Record<string, unknown> } | { kind: 'vega'; spec: Record<string, unknown> };

/** Messages Vega(-Lite) logged while a chart was compiled and rendered. */
export type Warnings = string[];

function collector(warnings: Warnings, where: string): vega.LoggerInterface {
  let lvl = 2; // vega.Warn
  const add = (level: string, args: unknown[]) => {
    const msg = args.map((a) => (a instanceof Error ? a.message : String(a))).join(' ');
    warnings.push(`${level}: ${msg}`);
    log.debug({ chart: where, level }, msg);
  };
  const logger: vega.LoggerInterface = {
    level(l?: number) { if (l === undefined) return lvl; lvl = l; return logger; },
    error(...args: unknown[]) { add('error', args); return logger; },
    warn(...args: unknown[]) { add('warn', args); return logger; },
    info() { return logger; },
    debug() { return logger; },
  };
  return logger;
}

/** Vega spec of a chart (Vega-Lite specs compiled). */
export function toVega(chart: ChartSpec, name: string, warnings: Warnings): vega.Spec {
  if (chart.kind === 'vega') return chart.spec as vega.Spec;
  const spec = { config: VL_CONFIG, ...chart.spec } as unknown as TopLevelSpec;
  return compile(spec, { logger: collector(warnings, name) }).spec as vega.Spec;
}

/** Render a chart to an SVG document. */
export async function renderSvg(chart: ChartSpec, name: string, warnings: Warnings = []): Promise<string> {
  const vg = toVega(chart, name, warnings);
  const view = new vega.View(vega.parse(vg), {
    renderer: 'none',
    logger: collector(warnings, name),
    logLevel: vega.Warn,
  });
  try {
    const svg = stableIds(await view.toSVG());
    return svg.startsWith('<?xml') ? svg : `<?xml version="1.0" encoding="UTF-8"?>\n${svg}`;
  } finally {
    view.finalize();
  }
}

/**
 * Vega numbers gradients with a process-wide counter; renumber them per document so that a
 * figure's SVG is the same whatever was rendered before it.
 */
function stableIds(svg: string): string {
  const ids = new Map<string, number>();
  return svg.replace(/\bgradient_(\d+)\b/g, (_, n: string) => {
    if (!ids.has(n)) ids.set(n, ids.size);
    return `gradient_${ids.get(n)}`;
  });
}

/** Rasterise an SVG document to PNG at `scale` × its size, on white. */
export function svgToPng(svg: string, scale = 2): Buffer {
  const r = new Resvg(svg, {
    background: 'white',
    fitTo: { mode: 'zoom', value: scale },
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
  });
  return r.render().asPng();
}
