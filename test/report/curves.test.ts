/**
 * The figures beside the paper's: the layer-wise RSA curve, training curves and the alignment
 * trajectory are drawn when their data is there and absent when it is not; synthetic models are
 * labelled and drawn apart in the bootstrap densities; the tables print p-values by one rule.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CURVE_FIGURES, EN_FIGURES, addRunData, fixtureCopy, legendColors } from './helpers.js';
import { decodePng, pixelStats } from './png.js';

const { buildReport, buildFigures, readEvaluation } = await import('../../src/report/index.js');
const { reportHtml } = await import('../../src/report/html.js');
const { parseRunSpec, readTrainingRun, readTrajectory } = await import('../../src/report/runs.js');
const { modelColor } = await import('../../src/report/labels.js');
const { SmftError } = await import('../../src/util/errors.js');

const names = (set: { figures: { name: string }[] }) => set.figures.map((f) => f.name);

describe('layer, training and trajectory figures', () => {
  let fx: ReturnType<typeof fixtureCopy>;
  let runs: ReturnType<typeof addRunData>;
  let res: Awaited<ReturnType<typeof buildReport>>;
  before(async () => {
    fx = fixtureCopy('en');
    runs = addRunData(fx.dir, fx.root, ['base']);
    res = await buildReport(fx.dir, { training: runs.training, trajectories: runs.trajectories });
  });
  after(() => fx.cleanup());

  test('are drawn, after the paper’s figures, when their data is there', () => {
    assert.deepEqual(res.skipped, []);
    assert.deepEqual(res.warnings, {}, 'no Vega-Lite warnings');
    const stems = [...new Set(res.figures.map((f) => f.replace(/^.*\/|\.(svg|png)$/g, '')))];
    assert.deepEqual(stems, [...EN_FIGURES, ...CURVE_FIGURES]);
    for (const n of CURVE_FIGURES) {
      const st = pixelStats(decodePng(readFileSync(join(res.outDir, 'figures', `${n}.png`))));
      assert.ok(st.nonWhite > 0.03, `${n} not blank`);
    }
    const html = readFileSync(res.html, 'utf8');
    assert.match(html, /Figure 12\. Layer-wise RSA of hidden states\./);
    assert.match(html, /Figure 13\. Training curves\./);
    assert.match(html, /Figure 14\. Alignment trajectory during fine-tuning\./);
    assert.match(html, /Best layers: motor, last prompt token: layer 3/);
  });

  test('each run and trajectory in its model’s colour, with the synthetic label where it applies', () => {
    const training = readFileSync(join(res.outDir, 'figures', 'training_curves.svg'), 'utf8');
    const legend = legendColors(training);
    assert.equal(legend.get('En_FT'), modelColor('en_ft'));
    assert.equal(legend.get('QA_FT'), modelColor('qa_ft'));
    for (const panel of ['Loss (solid: training, dashed: validation)', 'Learning rate', 'Validation r (ratings)', 'Validation accuracy (QA)']) {
      assert.ok(training.includes(`>${panel}</text>`), panel);
    }
    const traj = readFileSync(join(res.outDir, 'figures', 'alignment_trajectory.svg'), 'utf8');
    assert.equal(legendColors(traj).get('En_FT'), modelColor('en_ft'));
    for (const panel of ['RSA, motor', 'RSA, sensory', 'RSA, all', 'Mean dimension-wise ρ']) assert.ok(traj.includes(`>${panel}</text>`), panel);
    const layers = readFileSync(join(res.outDir, 'figures', 'layer_rsa.svg'), 'utf8');
    for (const t of ['>Motor</text>', '>Sensory</text>', '>All</text>', 'last prompt token', 'mean over the word']) assert.ok(layers.includes(t), t);
  });

  test('are absent when their data is not, and nothing is said about them', () => {
    const ev = readEvaluation(fx.dir);
    const all = names(buildFigures(ev, { word: 'SHOUTER', wordExplicit: false, runs: { training: [readTrainingRun('en_ft', runs.training.en_ft)] } }));
    assert.ok(all.includes('training_curves') && all.includes('layer_rsa') && !all.includes('alignment_trajectory'));
    delete (ev.results as { layers?: unknown }).layers;
    const none = buildFigures(ev, { word: 'SHOUTER', wordExplicit: false });
    assert.deepEqual(names(none), EN_FIGURES);
    assert.deepEqual(none.skipped, []);
  });
});

test('results.json with only the layer curve (evaluate --representations alone) gives that figure', async () => {
  const fx = fixtureCopy('en');
  try {
    addRunData(fx.dir, fx.root);
    const r = JSON.parse(readFileSync(join(fx.dir, 'results.json'), 'utf8'));
    writeFileSync(join(fx.dir, 'results.json'), JSON.stringify({ lang: 'en', metric: 'cosine', layers: r.layers }));
    const dir = join(fx.root, 'layers-only');
    mkdirSync(dir);
    writeFileSync(join(dir, 'results.json'), JSON.stringify({ lang: 'en', metric: 'cosine', layers: r.layers }));
    const res = await buildReport(dir, {});
    assert.deepEqual(readdirSync(join(res.outDir, 'figures')).sort(), ['layer_rsa.png', 'layer_rsa.svg']);
    assert.ok(!readFileSync(res.html, 'utf8').includes('models:'));
  } finally { fx.cleanup(); }
});

describe('synthetic models', () => {
  test('are labelled in legends, tables and captions, and drawn apart in the bootstrap densities', () => {
    const fx = fixtureCopy('en');
    try {
      addRunData(fx.dir, fx.root, ['base', 'qa_ft']);
      const ev = readEvaluation(fx.dir);
      const set = buildFigures(ev, { word: 'SHOUTER', wordExplicit: false });
      const bars = set.figures.find((f) => f.name === 'rsa_bars')!;
      const json = JSON.stringify(bars.chart.spec);
      assert.ok(json.includes('"Base (synthetic)"') && json.includes('"QA_FT (synthetic)"') && json.includes('"En_FT"'));
      assert.match(bars.caption, /"\(synthetic\)" marks models without trained knowledge.*\(Base, QA_FT: random-weight test model\)/);
      const dens = set.figures.find((f) => f.name === 'bootstrap_density_all')!;
      const panels = (dens.chart.spec as { hconcat: { title: { text: string; subtitle: string } }[] }).hconcat;
      assert.deepEqual(panels.map((p) => p.title.text), ['Trained models', 'Synthetic models (own scales)']);
      assert.equal(panels[0].title.subtitle, 'En_FT, Nl_FT');
      assert.equal(panels[1].title.subtitle, 'Base (synthetic), QA_FT (synthetic)');
      assert.match(dens.caption, /panel of their own/);
      const html = reportHtml(ev, [], set.skipped);
      assert.match(html, /<td>Base \(synthetic\)<\/td>/);
      assert.match(html, /Synthetic models, without trained knowledge.*base, qa_ft \(random-weight test model\)/);
      // Without model_info: one panel, no label.
      const r = JSON.parse(readFileSync(join(fx.dir, 'results.json'), 'utf8'));
      delete r.model_info;
      writeFileSync(join(fx.dir, 'results.json'), JSON.stringify(r));
      const none = buildFigures(readEvaluation(fx.dir), { word: 'SHOUTER', wordExplicit: false });
      assert.ok(none.figures.every((f) => !JSON.stringify(f.chart.spec).includes('(synthetic)')));
      const d2 = none.figures.find((f) => f.name === 'bootstrap_density_all')!;
      assert.equal((d2.chart.spec as { hconcat: unknown[] }).hconcat.length, 1);
    } finally { fx.cleanup(); }
  });
});

describe('p-values and significance in the tables', () => {
  test('RSA p never 0, bootstrap p "< 1/N", significance by the CI with a mark where p disagrees', () => {
    const fx = fixtureCopy('en');
    try {
      const file = join(fx.dir, 'results.json');
      const r = JSON.parse(readFileSync(file, 'utf8'));
      for (const s of Object.keys(r.rsa)) for (const m of Object.keys(r.rsa[s])) r.rsa[s][m].p = 0;
      const pairs = Object.keys(r.bootstrap.all).filter((k) => k.includes(' vs '));
      r.bootstrap.all[pairs[0]] = { diff: 0.1, ci: [0.02, 0.18], p: 0 };
      r.bootstrap.all[pairs[1]] = { diff: 0.05, ci: [0.001, 0.1], p: 0.06 };
      r.bootstrap.all[pairs[2]] = { diff: 0.01, ci: [-0.02, 0.04], p: 0.3 };
      writeFileSync(file, JSON.stringify(r));
      const html = reportHtml(readEvaluation(fx.dir), [], []);
      const table = (caption: string) => {
        const i = html.indexOf(`<caption>${caption}`);
        assert.ok(i > 0, caption);
        return html.slice(i, html.indexOf('</div>', i));
      };
      const rsa = table('RSA: Spearman ρ');
      assert.ok(!/<td class="num">0(\.0+)?<\/td>/.test(rsa), 'no p printed as 0');
      assert.equal((rsa.match(/<td class="num">&lt; \.001<\/td>/g) ?? []).length, 12);
      assert.match(rsa, /treats the word pairs as independent/);
      const boot = table('Bootstrap differences');
      const row = (k: string) => boot.split('</tr>').find((tr) => tr.includes('<td>All</td>') && tr.includes(`>${k.replace(/(\w+) vs (\w+)/, (_, a, b) => `${label(a)} vs ${label(b)}`)}<`))!;
      const label = (m: string) => ({ base: 'Base', en_ft: 'En_FT', nl_ft: 'Nl_FT', qa_ft: 'QA_FT' })[m] ?? m;
      assert.match(row(pairs[0]), /&lt; 1\/20<\/td><td class="num">yes<\/td>/);
      assert.match(row(pairs[1]), /\.060<sup>†<\/sup><\/td><td class="num">yes<\/td>/, 'CI excludes 0: significant, and p = .06 is marked');
      assert.match(row(pairs[2]), /\.300<\/td><td class="num">no<\/td>/);
      assert.match(boot, /the 95% percentile CI of the difference excludes 0, the paper's rule/);
      assert.match(boot, /† \d+ p-values? on the other side of \.05 than the CI: the CI decides/);
      // Every p cell of every table: never a bare 0.
      assert.ok(!/\(p 0(\.0+)?\)|\(p \.000\)/.test(html));
    } finally { fx.cleanup(); }
  });

  test('wide tables are split into blocks of at most 6 value columns', () => {
    const fx = fixtureCopy('en');
    try {
      const html = reportHtml(readEvaluation(fx.dir), [], []);
      // 4 models: 6 Steiger pairs, one table.
      assert.equal((html.match(/<caption>Steiger&#39;s Z/g) ?? []).length, 1);
      const file = join(fx.dir, 'results.json');
      const r = JSON.parse(readFileSync(file, 'utf8'));
      for (const d of Object.keys(r.steiger)) for (let i = 0; i < 5; i++) r.steiger[d][`m${i} vs base`] = { z: 1, p: 0.3 };
      writeFileSync(file, JSON.stringify(r));
      const wide = reportHtml(readEvaluation(fx.dir), [], []);
      assert.deepEqual(wide.match(/<caption>Steiger&#39;s Z for model pairs per dimension \(\d of \d\)/g), [
        '<caption>Steiger&#39;s Z for model pairs per dimension (1 of 2)', '<caption>Steiger&#39;s Z for model pairs per dimension (2 of 2)']);
      assert.match(wide, /\.table-wrap \{ max-width: 100%; overflow-x: auto; \}/);
    } finally { fx.cleanup(); }
  });
});

describe('inputs of the curve figures', () => {
  test('[ID=]PATH names the model, or the folder does', () => {
    assert.deepEqual(parseRunSpec('en_ft=/x/run', 'training'), { model: 'en_ft', path: '/x/run' });
    assert.deepEqual(parseRunSpec('/x/checkpoints/nl_ft', 'training'), { model: 'nl_ft', path: '/x/checkpoints/nl_ft' });
  });

  test('a run folder without metrics.jsonl, or a bad trajectory.csv, is a SmftError naming the file', async () => {
    const fx = fixtureCopy('en');
    try {
      const runs = addRunData(fx.dir, fx.root);
      assert.throws(() => readTrainingRun('en_ft', fx.dir), (e: Error) => e instanceof SmftError && e.message.includes(fx.dir) && e.message.includes('metrics.jsonl'));
      writeFileSync(join(runs.training.en_ft, 'metrics.jsonl'), '{"step":1,"loss":2}\nnot json\n');
      assert.throws(() => readTrainingRun('en_ft', runs.training.en_ft), (e: Error) => e instanceof SmftError && /metrics\.jsonl: line 2 is not JSON/.test(e.message));
      const csv = join(runs.trajectories.en_ft, 'trajectory.csv');
      writeFileSync(csv, 'iteration,rsa_all\n0,0.1\n');
      assert.throws(() => readTrajectory('en_ft', runs.trajectories.en_ft), (e: Error) => e instanceof SmftError && e.message.startsWith(csv) && e.message.includes('step'));
      await assert.rejects(buildReport(fx.dir, { trajectories: { en_ft: csv } }), (e: Error) => e instanceof SmftError && e.message.startsWith(csv));
      assert.ok(!readdirSync(fx.dir).includes('report'), 'nothing written');
    } finally { fx.cleanup(); }
  });
});

test('the same model id has the same colour in reports with different model lists, in every figure, English and Dutch', async () => {
  const en = fixtureCopy('en');
  const nl = fixtureCopy('nl');
  try {
    // Another model list: nl_ft renamed to a new id, and the order reversed.
    for (const f of ['results.json', 'ratings.csv', 'bootstrap.csv', 'wordwise.csv']) {
      const p = join(en.dir, f);
      writeFileSync(p, readFileSync(p, 'utf8').replace(/\bnl_ft\b/g, 'mistral'));
    }
    const file = join(en.dir, 'results.json');
    const r = JSON.parse(readFileSync(file, 'utf8'));
    r.models.reverse();
    writeFileSync(file, JSON.stringify(r));
    const a = await buildReport(en.dir, {});
    const b = await buildReport(nl.dir, {});
    const colours = (res: typeof a, fig: string) => legendColors(readFileSync(join(res.outDir, 'figures', `${fig}.svg`), 'utf8'));
    const figs = ['rsa_bars', 'bootstrap_density_all', 'dimension_rho'];
    for (const fig of figs) {
      const c = colours(a, fig);
      assert.deepEqual([...c.keys()].sort(), ['Base', 'En_FT', 'QA_FT', 'mistral'], fig);
      for (const [label, id] of [['Base', 'base'], ['En_FT', 'en_ft'], ['QA_FT', 'qa_ft'], ['mistral', 'mistral']]) assert.equal(c.get(label), modelColor(id), `${fig}: ${label}`);
    }
    for (const fig of ['rsa_bars', 'bootstrap_density_sensory', 'dimension_rho']) {
      const c = colours(b, fig);
      for (const [label, id] of [['Base', 'base'], ['En_FT', 'en_ft'], ['Nl_FT', 'nl_ft'], ['QA_FT', 'qa_ft']]) assert.equal(c.get(label), modelColor(id), `nl ${fig}: ${label}`);
    }
    assert.equal(colours(a, 'rsa_bars').get('En_FT'), colours(b, 'rsa_bars').get('En_FT'));
  } finally {
    en.cleanup();
    nl.cleanup();
  }
});
