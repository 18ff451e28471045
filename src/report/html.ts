/**
 * report.html: one self-contained page (no external resources) with the figures embedded as
 * SVG data URIs, the result tables and the run's provenance. A small inline script records, on
 * load, how many figures the browser rendered (`#smft-render-status`), for the headless test.
 */
import type { Figure, Skipped } from './figures.js';
import { orderedDimensions, orderedSubsets } from './figures.js';
import { dimensionLabel, modelLabel, pairLabel, subsetLabel } from './labels.js';
import type { Evaluation, FileHash, Results } from './load.js';

export interface RenderedFigure {
  figure: Figure;
  svg: string;
  png: Uint8Array;
  width: number;
  height: number;
}

export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

function f(x: number | undefined, d = 3): string {
  return finite(x) ? x.toFixed(d) : '–';
}

/** p-value as in the paper's tables: "< .001" below one in a thousand. */
export function fp(p: number | undefined): string {
  if (!finite(p)) return '–';
  if (p < 0.001) return '< .001';
  return p.toFixed(3).replace(/^0\./, '.');
}

function ci(c: [number, number] | undefined, d = 3): string {
  return c && finite(c[0]) && finite(c[1]) ? `[${c[0].toFixed(d)}, ${c[1].toFixed(d)}]` : '–';
}

function int(x: number | undefined): string {
  return finite(x) ? Math.round(x).toLocaleString('en-US') : '–';
}

function table(caption: string, head: string[], rows: string[][], numericFrom = 1): string {
  if (!rows.length) return '';
  const th = head.map((h, i) => `<th${i >= numericFrom ? ' class="num"' : ''}>${esc(h)}</th>`).join('');
  const trs = rows.map((r) => `<tr>${r.map((c, i) => `<td${i >= numericFrom ? ' class="num"' : ''}>${c}</td>`).join('')}</tr>`).join('\n');
  return `<table>\n<caption>${esc(caption)}</caption>\n<thead><tr>${th}</tr></thead>\n<tbody>\n${trs}\n</tbody>\n</table>`;
}

function sig(p: number | undefined, text: string): string {
  return finite(p) && p < 0.05 ? `<strong>${text}</strong>` : text;
}

function tables(res: Results): { html: string; missing: string[] } {
  const parts: string[] = [];
  const missing: string[] = [];
  if (res.rsa) {
    const rows: string[][] = [];
    for (const s of orderedSubsets(res, Object.keys(res.rsa))) {
      for (const m of res.models) {
        const e = res.rsa[s][m];
        if (!e) continue;
        rows.push([esc(subsetLabel(s)), esc(modelLabel(m)), f(e.rho), fp(e.p), ci(res.bootstrapModels?.[s]?.[m]?.ci), int(e.n_words), int(e.n_pairs)]);
      }
    }
    parts.push(table('RSA: Spearman ρ between the human RDM and each model RDM', ['Subset', 'Model', 'ρ', 'p', '95% bootstrap CI', 'Words', 'Pairs'], rows, 2));
  } else missing.push('RSA (no "rsa" section)');

  if (res.bootstrapPairs && Object.values(res.bootstrapPairs).some((x) => Object.keys(x).length)) {
    const rows: string[][] = [];
    for (const s of orderedSubsets(res, Object.keys(res.bootstrapPairs))) {
      for (const [k, e] of Object.entries(res.bootstrapPairs[s])) {
        const excl = finite(e.ci[0]) && finite(e.ci[1]) && (e.ci[0] > 0 || e.ci[1] < 0);
        rows.push([esc(subsetLabel(s)), esc(pairLabel(k)), f(e.diff), excl ? `<strong>${ci(e.ci)}</strong>` : ci(e.ci), fp(e.p), excl ? 'yes' : 'no']);
      }
    }
    const it = res.bootstrap_iterations ? ` (${res.bootstrap_iterations} iterations)` : '';
    parts.push(table(`Bootstrap differences of RSA ρ between models${it}; significant when the 95% CI excludes 0`, ['Subset', 'Pair', 'Δρ', '95% CI', 'p', 'Significant'], rows, 2));
  } else missing.push('bootstrap model comparisons (no "bootstrap" section)');

  if (res.dimensions) {
    const dims = orderedDimensions(res, Object.keys(res.dimensions));
    const models = res.models.filter((m) => dims.some((d) => res.dimensions![d]?.[m]));
    const rows = dims.map((d) => {
      const n = models.map((m) => res.dimensions![d]?.[m]?.n).find(finite);
      return [esc(dimensionLabel(d)), ...models.map((m) => {
        const e = res.dimensions![d]?.[m];
        return e ? `${f(e.rho)} <span class="p">(p ${fp(e.p)})</span>` : '–';
      }), int(n)];
    });
    parts.push(table('Dimension-wise Spearman ρ between human and model ratings', ['Dimension', ...models.map(modelLabel), 'n'], rows));
  } else missing.push('dimension-wise ρ (no "dimensions" section)');

  if (res.steiger) {
    const dims = orderedDimensions(res, Object.keys(res.steiger));
    const pairs: string[] = [];
    for (const d of dims) for (const k of Object.keys(res.steiger[d])) if (!pairs.includes(k)) pairs.push(k);
    const rows = dims.map((d) => [esc(dimensionLabel(d)), ...pairs.map((k) => {
      const e = res.steiger![d][k];
      return e ? sig(e.p, `${f(e.z, 2)} <span class="p">(p ${fp(e.p)})</span>`) : '–';
    })]);
    parts.push(table("Steiger's Z for model pairs per dimension (bold: p < .05)", ['Dimension', ...pairs.map(pairLabel)], rows));
  } else missing.push('Steiger tests (no "steiger" section)');

  if (res.wordwise) {
    const rows: string[][] = [];
    for (const s of orderedSubsets(res, Object.keys(res.wordwise))) {
      for (const m of res.models) {
        const e = res.wordwise[s][m];
        if (e) rows.push([esc(subsetLabel(s)), esc(modelLabel(m)), f(e.mean_distance), f(e.mean_similarity), int(e.n_words)]);
      }
    }
    parts.push(table('Word-wise distance d to the human rating vector and similarity 1/(1+d)', ['Subset', 'Model', 'Mean distance', 'Mean similarity', 'Words'], rows, 2));
  } else missing.push('word-wise summary (no "wordwise" section)');

  if (res.wordwise_ttest) {
    const rows: string[][] = [];
    for (const s of orderedSubsets(res, Object.keys(res.wordwise_ttest))) {
      for (const [k, e] of Object.entries(res.wordwise_ttest[s])) {
        rows.push([esc(subsetLabel(s)), esc(pairLabel(k)), sig(e.p, f(e.t, 2)), int(e.df), fp(e.p)]);
      }
    }
    parts.push(table('Paired t-tests of word-wise similarity between models (bold: p < .05)', ['Subset', 'Pair', 't', 'df', 'p'], rows, 2));
  } else missing.push('word-wise t-tests (no "wordwise_ttest" section)');

  if (res.wordwise_intermodel) {
    const rows: string[][] = [];
    for (const s of orderedSubsets(res, Object.keys(res.wordwise_intermodel))) {
      for (const [k, v] of Object.entries(res.wordwise_intermodel[s])) rows.push([esc(subsetLabel(s)), esc(pairLabel(k)), f(v)]);
    }
    parts.push(table('Spearman ρ between models’ word-wise similarities', ['Subset', 'Pair', 'ρ'], rows, 2));
  }
  return { html: parts.filter(Boolean).join('\n'), missing };
}

function hashTable(caption: string, files: FileHash[]): string {
  if (!files.length) return '';
  return table(caption, ['File', 'SHA-256'], files.map((h) => [`<code>${esc(h.path)}</code>`, `<code class="hash">${esc(h.sha256)}</code>`]), 9);
}

function provenance(res: Results): string {
  const p = res.provenance;
  if (!p) return '<p class="note">results.json has no provenance block.</p>';
  const items: [string, string | undefined][] = [
    ['smft version', p.smft_version],
    ['Created', p.created],
    ['Command', p.command !== undefined ? `<code>${esc(p.command)}</code>` : undefined],
    ['Seed', p.seed !== undefined ? String(p.seed) : undefined],
    ['Node', p.node],
    ['Language', res.lang],
    ['Words', res.n_words !== undefined ? String(res.n_words) : undefined],
    ['RDM metric', res.metric],
    ['Bootstrap iterations', res.bootstrap_iterations !== undefined ? String(res.bootstrap_iterations) : undefined],
  ];
  const dl = items.filter((i) => i[1] !== undefined)
    .map(([k, v]) => `<dt>${esc(k)}</dt><dd>${k === 'Command' ? v : esc(v)}</dd>`).join('\n');
  const models = p.models !== undefined ? `<h3>Models</h3>\n<pre>${esc(JSON.stringify(p.models, null, 2))}</pre>` : '';
  const extra = Object.keys(p.extra).length ? `<h3>Other</h3>\n<pre>${esc(JSON.stringify(p.extra, null, 2))}</pre>` : '';
  return [`<dl>\n${dl}\n</dl>`, hashTable('Data files', p.data_files), hashTable('Predictions', p.predictions), models, extra].filter(Boolean).join('\n');
}

const CSS = `
body { font-family: 'DejaVu Sans', Helvetica, Arial, sans-serif; margin: 0 auto; max-width: 1500px; padding: 16px 28px; color: #222; background: #fff; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 15px; } .sub { color: #555; margin-top: 0; }
figure.smft-figure { margin: 18px 0 26px; } figure.smft-figure img { max-width: 100%; height: auto; display: block; }
figcaption { font-size: 13px; color: #444; margin-top: 6px; max-width: 1100px; } figcaption a { color: #36c; }
table { border-collapse: collapse; margin: 14px 0 22px; font-size: 13px; } caption { text-align: left; font-weight: bold; padding-bottom: 6px; white-space: nowrap; }
th, td { padding: 3px 10px; border-bottom: 1px solid #e3e3e3; text-align: left; } th { border-bottom: 2px solid #999; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; } .p { color: #777; font-size: 11px; }
.note { background: #fff8e1; border-left: 4px solid #f0b400; padding: 8px 12px; font-size: 13px; }
dl { display: grid; grid-template-columns: max-content auto; gap: 4px 16px; font-size: 13px; } dt { font-weight: bold; } dd { margin: 0; }
pre { background: #f6f6f6; padding: 10px; font-size: 12px; overflow-x: auto; } code.hash { font-size: 11px; }
nav ul { columns: 2; font-size: 13px; }
`;

const CHECK_SCRIPT = `
window.addEventListener('load', function () {
  var figs = document.querySelectorAll('figure.smft-figure');
  var ok = 0, bad = [];
  for (var i = 0; i < figs.length; i++) {
    var img = figs[i].querySelector('img');
    if (img && img.complete && img.naturalWidth > 0 && img.naturalHeight > 0) ok++; else bad.push(figs[i].id);
  }
  var s = document.getElementById('smft-render-status');
  s.setAttribute('data-rendered', String(ok));
  s.setAttribute('data-failed', bad.join(' '));
  s.setAttribute('data-done', '1');
});
`;

/**
 * Embedded figures: the SVG, unless it is large (thousands of marks: the RDMs, scatter plots
 * of all words), then the 2× PNG, which is several times smaller and as sharp on screen.
 */
export const MAX_INLINE_SVG = 600_000;

function dataUri(f: RenderedFigure): string {
  return f.svg.length <= MAX_INLINE_SVG
    ? `data:image/svg+xml;base64,${Buffer.from(f.svg, 'utf8').toString('base64')}`
    : `data:image/png;base64,${Buffer.from(f.png).toString('base64')}`;
}

/** The whole report page. */
export function reportHtml(ev: Evaluation, figs: RenderedFigure[], skipped: Skipped[]): string {
  const res = ev.results;
  const lang = res.lang === 'en' ? 'English' : 'Dutch';
  const models = res.models.map(modelLabel).join(', ');
  const tab = tables(res);
  const notes = [
    ...skipped.map((s) => `Figure <code>${esc(s.name)}</code> not drawn: ${esc(s.reason)}.`),
    ...tab.missing.map((m) => `Table not shown: ${esc(m)}.`),
  ];
  const figureHtml = figs.map((fig, i) => {
    const { figure, width, height } = fig;
    return `<figure class="smft-figure" id="fig-${esc(figure.name)}" data-name="${esc(figure.name)}">
<img src="${dataUri(fig)}" width="${width}" height="${height}" alt="${esc(figure.title)}">
<figcaption><b>Figure ${i + 1}. ${esc(figure.title)}.</b> ${esc(figure.caption)} <a href="figures/${esc(figure.name)}.svg">SVG</a> · <a href="figures/${esc(figure.name)}.png">PNG</a></figcaption>
</figure>`;
  }).join('\n');
  const nav = figs.map(({ figure }, i) => `<li><a href="#fig-${esc(figure.name)}">Figure ${i + 1}. ${esc(figure.title)}</a></li>`).join('\n');
  const created = res.provenance?.created ? ` · evaluated ${esc(res.provenance.created)}` : '';
  const nWords = res.n_words !== undefined ? `${res.n_words} words · ` : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="smft-figures" content="${figs.length}">
<title>smft report: ${esc(lang)} sensorimotor alignment</title>
<style>${CSS}</style>
</head>
<body>
<div id="smft-render-status" hidden data-expected="${figs.length}" data-rendered="" data-failed="" data-done=""></div>
<h1>Sensorimotor alignment of LLMs with human norms (${esc(lang)})</h1>
<p class="sub">${nWords}models: ${esc(models)} · metric: ${esc(res.metric ?? 'cosine')}${created}</p>
${notes.length ? `<div class="note">${notes.join('<br>\n')}</div>` : ''}
<nav><ul>
${nav}
</ul></nav>
<h2>Figures</h2>
${figureHtml}
<h2>Tables</h2>
${tab.html}
<h2>Provenance</h2>
${provenance(res)}
<script>${CHECK_SCRIPT}</script>
</body>
</html>
`;
}
