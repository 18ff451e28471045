/**
 * report.html: one self-contained page (no external resources) with the figures embedded as
 * SVG data URIs, the result tables and the run's provenance. A small inline script records, on
 * load, how many figures the browser rendered (`#smft-render-status`), for the headless test.
 */
import type { RunInputs } from './curves.js';
import type { Figure, Skipped } from './figures.js';
import { orderedDimensions, orderedSubsets, styleOf } from './figures.js';
import { ciExcludesZero, finite, fixed, formatBootstrapP, formatCi, formatInt, formatP } from './format.js';
import { dimensionLabel, subsetLabel, type ModelStyle } from './labels.js';
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

/** A table, inside a box that scrolls sideways should it still be wider than the page. */
function table(caption: string, head: string[], rows: string[][], numericFrom = 1, note = ''): string {
  if (!rows.length) return '';
  const th = head.map((h, i) => `<th${i >= numericFrom ? ' class="num"' : ''}>${esc(h)}</th>`).join('');
  const trs = rows.map((r) => `<tr>${r.map((c, i) => `<td${i >= numericFrom ? ' class="num"' : ''}>${c}</td>`).join('')}</tr>`).join('\n');
  const foot = note ? `\n<p class="tnote"><i>Note.</i> ${note}</p>` : '';
  return `<div class="table-wrap"><table>\n<caption>${caption}</caption>\n<thead><tr>${th}</tr></thead>\n<tbody>\n${trs}\n</tbody>\n</table>${foot}</div>`;
}

/** Most value columns a table shows side by side; wider ones are split into several tables. */
export const MAX_TABLE_COLUMNS = 6;

/**
 * A table with `lead` columns repeated and the value columns in blocks of MAX_TABLE_COLUMNS, so
 * that many models or model pairs wrap inside the page instead of running off it.
 */
function wideTable(caption: string, lead: string[], cols: string[], rows: { lead: string[]; cells: string[] }[], note = ''): string {
  const blocks = Math.max(1, Math.ceil(cols.length / MAX_TABLE_COLUMNS));
  const per = Math.ceil(cols.length / blocks);
  const out: string[] = [];
  for (let b = 0; b < blocks; b++) {
    const lo = b * per, hi = Math.min(cols.length, lo + per);
    const cap = blocks > 1 ? `${caption} (${b + 1} of ${blocks})` : caption;
    out.push(table(cap, [...lead, ...cols.slice(lo, hi)], rows.map((r) => [...r.lead, ...r.cells.slice(lo, hi)]), lead.length, b === blocks - 1 ? note : ''));
  }
  return out.join('\n');
}

function sig(p: number | undefined, text: string): string {
  return finite(p) && p < 0.05 ? `<strong>${text}</strong>` : text;
}

const P_RULE = 'p: two-sided, printed “&lt; .001” below one in a thousand';

function tables(res: Results, st: ModelStyle): { html: string; missing: string[] } {
  const parts: string[] = [];
  const missing: string[] = [];
  const L = (m: string) => esc(st.label(m));
  const N = res.bootstrap_iterations;
  if (res.rsa) {
    const rows: string[][] = [];
    for (const s of orderedSubsets(res, Object.keys(res.rsa))) {
      for (const m of res.models) {
        const e = res.rsa[s][m];
        if (!e) continue;
        rows.push([esc(subsetLabel(s)), L(m), fixed(e.rho), esc(formatP(e.p)), formatCi(res.bootstrapModels?.[s]?.[m]?.ci), formatInt(e.n_words), formatInt(e.n_pairs)]);
      }
    }
    parts.push(table(
      'RSA: Spearman ρ between the human RDM and each model RDM',
      ['Subset', 'Model', 'ρ', 'p', '95% bootstrap CI', 'Words', 'Pairs'], rows, 2,
      `${P_RULE}. It treats the word pairs as independent, which they are not (each word is in many pairs), so it overstates the evidence: the bootstrap CI over words is the inference to report.`));
  } else missing.push('RSA (no "rsa" section)');

  if (res.bootstrapPairs && Object.values(res.bootstrapPairs).some((x) => Object.keys(x).length)) {
    const rows: string[][] = [];
    let disagree = 0;
    for (const s of orderedSubsets(res, Object.keys(res.bootstrapPairs))) {
      for (const [k, e] of Object.entries(res.bootstrapPairs[s])) {
        const excl = ciExcludesZero(e.ci);
        const odd = finite(e.p) && finite(e.ci[0]) && (excl !== (e.p < 0.05));
        if (odd) disagree++;
        rows.push([esc(subsetLabel(s)), esc(st.pair(k)), fixed(e.diff), excl ? `<strong>${formatCi(e.ci)}</strong>` : formatCi(e.ci), `${esc(formatBootstrapP(e.p, N))}${odd ? '<sup>†</sup>' : ''}`, excl ? 'yes' : 'no']);
      }
    }
    const it = N ? ` (${N} iterations)` : '';
    const oddNote = disagree ? ` † ${disagree} p-value${disagree === 1 ? '' : 's'} on the other side of .05 than the CI: the CI decides.` : '';
    parts.push(table(
      `Bootstrap differences of RSA ρ between models${it}`,
      ['Subset', 'Pair', 'Δρ', '95% CI', 'p', 'Significant'], rows, 2,
      `Significant (CI in bold): the 95% percentile CI of the difference excludes 0, the paper's rule. p is the paper's approximation, the share of centred bootstrap differences at least as large as the observed one (“&lt; 1/${N ?? 'N'}” when none is); it is shown for comparison and does not decide.${oddNote}`));
  } else missing.push('bootstrap model comparisons (no "bootstrap" section)');

  if (res.dimensions) {
    const dims = orderedDimensions(res, Object.keys(res.dimensions));
    const models = res.models.filter((m) => dims.some((d) => res.dimensions![d]?.[m]));
    const rows = dims.map((d) => {
      const n = models.map((m) => res.dimensions![d]?.[m]?.n).find(finite);
      return { lead: [esc(dimensionLabel(d)), formatInt(n)], cells: models.map((m) => {
        const e = res.dimensions![d]?.[m];
        return e ? `${fixed(e.rho)} <span class="p">(p ${esc(formatP(e.p))})</span>` : '–';
      }) };
    });
    parts.push(wideTable('Dimension-wise Spearman ρ between human and model ratings', ['Dimension', 'n'], models.map((m) => st.label(m)), rows, `${P_RULE}.`));
  } else missing.push('dimension-wise ρ (no "dimensions" section)');

  if (res.steiger) {
    const dims = orderedDimensions(res, Object.keys(res.steiger));
    const pairs: string[] = [];
    for (const d of dims) for (const k of Object.keys(res.steiger[d])) if (!pairs.includes(k)) pairs.push(k);
    const rows = dims.map((d) => ({ lead: [esc(dimensionLabel(d))], cells: pairs.map((k) => {
      const e = res.steiger![d][k];
      return e ? sig(e.p, `${fixed(e.z, 2)} <span class="p">(p ${esc(formatP(e.p))})</span>`) : '–';
    }) }));
    parts.push(wideTable('Steiger&#39;s Z for model pairs per dimension', ['Dimension'], pairs.map((k) => st.pair(k)), rows, `Bold: p &lt; .05; ${P_RULE}. A pair “A vs B”: Z &gt; 0 when A agrees more with the humans.`));
  } else missing.push('Steiger tests (no "steiger" section)');

  if (res.wordwise) {
    const rows: string[][] = [];
    for (const s of orderedSubsets(res, Object.keys(res.wordwise))) {
      for (const m of res.models) {
        const e = res.wordwise[s][m];
        if (e) rows.push([esc(subsetLabel(s)), L(m), fixed(e.mean_distance), fixed(e.mean_similarity), formatInt(e.n_words)]);
      }
    }
    parts.push(table('Word-wise distance d to the human rating vector and similarity 1/(1+d)', ['Subset', 'Model', 'Mean distance', 'Mean similarity', 'Words'], rows, 2));
  } else missing.push('word-wise summary (no "wordwise" section)');

  if (res.wordwise_ttest) {
    const rows: string[][] = [];
    for (const s of orderedSubsets(res, Object.keys(res.wordwise_ttest))) {
      for (const [k, e] of Object.entries(res.wordwise_ttest[s])) {
        rows.push([esc(subsetLabel(s)), esc(st.pair(k)), sig(e.p, fixed(e.t, 2)), formatInt(e.df), esc(formatP(e.p))]);
      }
    }
    parts.push(table('Paired t-tests of word-wise similarity between models', ['Subset', 'Pair', 't', 'df', 'p'], rows, 2, `Bold: p &lt; .05; ${P_RULE}.`));
  } else missing.push('word-wise t-tests (no "wordwise_ttest" section)');

  if (res.wordwise_intermodel) {
    const rows: string[][] = [];
    for (const s of orderedSubsets(res, Object.keys(res.wordwise_intermodel))) {
      for (const [k, v] of Object.entries(res.wordwise_intermodel[s])) rows.push([esc(subsetLabel(s)), esc(st.pair(k)), fixed(v)]);
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
table { border-collapse: collapse; margin: 14px 0 22px; font-size: 13px; } caption { text-align: left; font-weight: bold; padding-bottom: 6px; max-width: 1100px; }
.tnote { font-size: 12px; color: #444; margin: -16px 0 22px; max-width: 1100px; } .table-wrap { max-width: 100%; overflow-x: auto; } sup { font-size: 10px; }
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

function groupBy<T>(xs: readonly T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) m.set(key(x), [...(m.get(key(x)) ?? []), x]);
  return m;
}

/** The whole report page. */
export function reportHtml(ev: Evaluation, figs: RenderedFigure[], skipped: Skipped[], runs: RunInputs = {}): string {
  const res = ev.results;
  const st = styleOf(res, runs);
  const lang = res.lang === 'en' ? 'English' : 'Dutch';
  const models = res.models.map((m) => st.label(m)).join(', ');
  const tab = tables(res, st);
  const synthetic = res.models.filter((m) => st.synthetic(m) !== undefined);
  const notes = [
    ...(synthetic.length ? [`Synthetic models, without trained knowledge (their ρ near 0 is expected): ${[...groupBy(synthetic, (m) => st.synthetic(m)!)].map(([d, ms]) => `${ms.map(esc).join(', ')} (${esc(d)})`).join('; ')}.`] : []),
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
<p class="sub">${nWords}${res.models.length ? `models: ${esc(models)} · ` : ''}metric: ${esc(res.metric ?? 'cosine')}${created}</p>
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
