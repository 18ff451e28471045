import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Resvg } from '@resvg/resvg-js';
import { EN_FIGURES, NL_FIGURES, fixtureCopy } from './helpers.js';
import { decodePng, isPng, pixelStats } from './png.js';

const { buildReport } = await import('../../src/report/index.js');
const { SmftError } = await import('../../src/util/errors.js');
const { evenlySpaced, wardOrder } = await import('../../src/report/rdm40.js');
const { renderSvg } = await import('../../src/report/render.js');

function checkSvg(file: string): void {
  const svg = readFileSync(file, 'utf8');
  assert.match(svg, /^(<\?xml[^>]*\?>\s*)?<svg[\s>]/, `${file}: starts with <svg>`);
  assert.match(svg.trimEnd(), /<\/svg>$/, `${file}: ends with </svg>`);
  const m = /<svg[^>]*\bwidth="([\d.]+)"[^>]*\bheight="([\d.]+)"/.exec(svg);
  assert.ok(m && Number(m[1]) > 50 && Number(m[2]) > 50, `${file}: has a size`);
  // resvg parses the XML strictly: a malformed document throws here.
  const r = new Resvg(svg);
  assert.ok(r.width > 0 && r.height > 0, `${file}: resvg reads it`);
  assert.ok(!/NaN|undefined/.test(svg), `${file}: no NaN/undefined in the markup`);
}

function checkPng(file: string): void {
  const buf = readFileSync(file);
  assert.ok(isPng(buf), `${file}: PNG signature`);
  const img = decodePng(buf);
  assert.ok(img.width > 100 && img.height > 100, `${file}: ${img.width}×${img.height}`);
  const st = pixelStats(img);
  assert.ok(st.nonWhite > 0.03, `${file}: not blank (${(st.nonWhite * 100).toFixed(1)}% non-white)`);
  assert.ok(st.distinct > 20, `${file}: ${st.distinct} colours`);
}

describe('buildReport on the English fixture', () => {
  let fx: ReturnType<typeof fixtureCopy>;
  let res: Awaited<ReturnType<typeof buildReport>>;
  before(async () => {
    fx = fixtureCopy('en');
    res = await buildReport(fx.dir, {});
  });
  after(() => fx.cleanup());

  test('writes every figure as SVG and PNG under DIR/report/figures', () => {
    assert.equal(res.outDir, join(fx.dir, 'report'));
    assert.equal(res.html, join(fx.dir, 'report', 'report.html'));
    assert.deepEqual(res.skipped, []);
    const expected = EN_FIGURES.flatMap((n) => [`${n}.svg`, `${n}.png`]).sort();
    assert.deepEqual(readdirSync(join(res.outDir, 'figures')).sort(), expected);
    assert.deepEqual(res.figures.map((f) => basename(f)).sort(), expected);
    assert.deepEqual(res.warnings, {}, 'no Vega/Vega-Lite warnings');
  });

  test('every SVG is well-formed and every PNG decodes and is not blank', () => {
    for (const n of EN_FIGURES) {
      checkSvg(join(res.outDir, 'figures', `${n}.svg`));
      checkPng(join(res.outDir, 'figures', `${n}.png`));
    }
  });

  test('report.html is self-contained and has the figures, tables and provenance', () => {
    const html = readFileSync(res.html, 'utf8');
    assert.match(html, /<meta name="smft-figures" content="11">/);
    assert.equal((html.match(/<figure class="smft-figure"/g) ?? []).length, 11);
    assert.equal((html.match(/<img src="data:image\/(svg\+xml|png);base64,/g) ?? []).length, 11);
    // Large SVGs (the 8 000-cell RDM panel) are embedded as their PNG, the rest as SVG.
    assert.equal((html.match(/<img src="data:image\/png;base64,/g) ?? []).length, 1);
    assert.ok(!/\b(src|href)="(https?:)?\/\//.test(html), 'no external resources');
    assert.ok(!/<link\b/.test(html));
    for (const t of ['RSA: Spearman', 'Bootstrap differences', 'Dimension-wise Spearman', 'Steiger&#39;s Z', 'Word-wise distance d', 'Paired t-tests']) {
      assert.ok(html.includes(t), `table ${t}`);
    }
    assert.ok(html.includes('Provenance') && html.includes('predictions/en_qa_ft.csv') && html.includes('4'.repeat(64)));
    assert.ok(html.includes('smft evaluate --lang en --out fixture-en'));
    // Numbers from results.json show up in the tables.
    assert.ok(html.includes('0.838'), 'en_ft motor RSA ρ');
  });

  test('the RDM figure shows 40 of the complete words, human first', () => {
    const svg = readFileSync(join(res.outDir, 'figures', 'rdm_all.svg'), 'utf8');
    const panels = ['Human', 'Base', 'En_FT', 'Nl_FT', 'QA_FT'].map((p) => svg.indexOf(`>${p}</text>`));
    assert.ok(panels.every((i) => i > 0));
    assert.deepEqual([...panels].sort((a, b) => a - b), panels, 'panels in order Human, Base, En_FT, Nl_FT, QA_FT');
    const html = readFileSync(res.html, 'utf8');
    assert.match(html, /40 of the 47 complete words, evenly spaced in alphabetical order/);
  });

  test('the output is deterministic', async () => {
    const first = readFileSync(res.html, 'utf8');
    const again = await buildReport(fx.dir, { outDir: join(fx.dir, 'report2') });
    assert.equal(readFileSync(again.html, 'utf8'), first.replace(/report2/g, 'report'));
  });
});

test('buildReport on the Dutch fixture: sensory only, radar skipped with a note', async () => {
  const fx = fixtureCopy('nl');
  try {
    const res = await buildReport(fx.dir, {});
    const names = readdirSync(join(res.outDir, 'figures'));
    assert.deepEqual(names.sort(), NL_FIGURES.flatMap((n) => [`${n}.svg`, `${n}.png`]).sort());
    for (const n of NL_FIGURES) { checkSvg(join(res.outDir, 'figures', `${n}.svg`)); checkPng(join(res.outDir, 'figures', `${n}.png`)); }
    assert.deepEqual(res.skipped.map((s) => s.name), ['radar_shouter']);
    const html = readFileSync(res.html, 'utf8');
    assert.match(html, /radar_shouter<\/code> not drawn: the default word &quot;SHOUTER&quot; is not among the evaluated words/);
    assert.ok(html.includes('Horen') && html.includes('Dutch'));
    // A Dutch word can be chosen.
    const res2 = await buildReport(fx.dir, { word: 'Toeter', outDir: join(fx.dir, 'r2') });
    assert.ok(res2.figures.some((f) => f.endsWith('radar_toeter.svg')));
    checkPng(join(fx.dir, 'r2', 'figures', 'radar_toeter.png'));
  } finally {
    fx.cleanup();
  }
});

test('missing sections and files: figures skipped, the rest drawn, the page says why', async () => {
  const fx = fixtureCopy('en');
  try {
    const file = join(fx.dir, 'results.json');
    const r = JSON.parse(readFileSync(file, 'utf8'));
    delete r.bootstrap; delete r.steiger; delete r.wordwise_intermodel; delete r.provenance;
    writeFileSync(file, JSON.stringify(r));
    rmSync(join(fx.dir, 'bootstrap.csv'));
    rmSync(join(fx.dir, 'wordwise.csv'));
    const res = await buildReport(fx.dir, {});
    const names = new Set(res.figures.map((f) => basename(f).replace(/\.(svg|png)$/, '')));
    assert.deepEqual([...names].sort(), ['dimension_rho', 'human_ratings', 'radar_shouter', 'rdm_all', 'rsa_bars']);
    assert.deepEqual(res.skipped.map((s) => s.name).sort(), ['bootstrap_density', 'wordwise_distance', 'wordwise_intermodel', 'wordwise_scatter']);
    const html = readFileSync(res.html, 'utf8');
    assert.ok(html.includes('bootstrap.csv is missing'));
    assert.ok(html.includes('no Steiger tests in results.json'));
    assert.ok(html.includes('no bootstrap CIs in results.json'));
    assert.ok(html.includes('results.json has no provenance block'));
    for (const n of names) checkPng(join(res.outDir, 'figures', `${n}.png`));

    // Only results.json: the figures that need nothing else.
    for (const f of ['ratings.csv']) rmSync(join(fx.dir, f));
    const res2 = await buildReport(fx.dir, {});
    assert.deepEqual([...new Set(res2.figures.map((f) => basename(f).replace(/\.(svg|png)$/, '')))].sort(), ['dimension_rho', 'rsa_bars']);
  } finally {
    fx.cleanup();
  }
});

describe('errors', () => {
  test('missing results.json is a SmftError naming the file', async () => {
    const fx = fixtureCopy('en');
    try {
      rmSync(join(fx.dir, 'results.json'));
      await assert.rejects(buildReport(fx.dir, {}), (e: Error) => e instanceof SmftError && e.message.includes(join(fx.dir, 'results.json')));
      assert.ok(!existsSync(join(fx.dir, 'report')));
    } finally { fx.cleanup(); }
  });

  test('invalid results.json is a SmftError naming the file', async () => {
    const fx = fixtureCopy('en');
    try {
      const file = join(fx.dir, 'results.json');
      writeFileSync(file, '{ "lang": "en", ');
      await assert.rejects(buildReport(fx.dir, {}), (e: Error) => e instanceof SmftError && e.message.startsWith(file) && /JSON/.test(e.message));
      writeFileSync(file, JSON.stringify({ lang: 'de', models: ['base'] }));
      await assert.rejects(buildReport(fx.dir, {}), (e: Error) => e instanceof SmftError && e.message.includes('"lang"'));
      writeFileSync(file, JSON.stringify({ lang: 'en', models: [] }));
      await assert.rejects(buildReport(fx.dir, {}), (e: Error) => e instanceof SmftError && e.message.includes('"models"'));
      writeFileSync(file, JSON.stringify({ lang: 'en', models: ['base'], rsa: [1, 2] }));
      await assert.rejects(buildReport(fx.dir, {}), (e: Error) => e instanceof SmftError && e.message.includes('"rsa"'));
    } finally { fx.cleanup(); }
  });

  test('a bad CSV header is a SmftError naming the CSV', async () => {
    const fx = fixtureCopy('en');
    try {
      const file = join(fx.dir, 'bootstrap.csv');
      writeFileSync(file, 'subset,iter,model,rho\nmotor,0,base,0.5\n');
      await assert.rejects(buildReport(fx.dir, {}), (e: Error) => e instanceof SmftError && e.message.startsWith(file) && e.message.includes('iteration'));
    } finally { fx.cleanup(); }
  });

  test('a chosen word that is not rated is a SmftError; the old report stays', async () => {
    const fx = fixtureCopy('en');
    try {
      const old = await buildReport(fx.dir, {});
      const oldHtml = readFileSync(old.html, 'utf8');
      const oldRadar = old.figures.find((f) => /radar_.*\.png$/.test(f))!;
      await assert.rejects(buildReport(fx.dir, { word: 'zeppelin' }), (e: Error) => e instanceof SmftError && e.message.includes('zeppelin'));
      assert.equal(readFileSync(old.html, 'utf8'), oldHtml);
      const res = await buildReport(fx.dir, { word: 'Thunder' });
      assert.ok(res.figures.some((f) => f.endsWith('radar_thunder.png')));
      assert.ok(!existsSync(oldRadar), 'report folder replaced as a whole');
    } finally { fx.cleanup(); }
  });

  test('a folder at the report\'s place that smft did not make is never replaced', async () => {
    const fx = fixtureCopy('en');
    try {
      mkdirSync(join(fx.dir, 'report'));
      writeFileSync(join(fx.dir, 'report', 'keep.txt'), 'mine');
      await assert.rejects(buildReport(fx.dir, {}), (e: Error) => e instanceof SmftError && /report: exists and is a folder smft did not make/.test(e.message));
      assert.equal(readFileSync(join(fx.dir, 'report', 'keep.txt'), 'utf8'), 'mine');
    } finally { fx.cleanup(); }
  });
});

test('chart warnings are collected (so an empty list above means something)', async () => {
  const w: string[] = [];
  await renderSvg({ kind: 'vega-lite', spec: { data: { values: [{ a: 1, b: 'x' }] }, mark: 'bar',
    encoding: { x: { field: 'a', type: 'quantitative' }, shape: { field: 'b', type: 'nominal' } } } }, 'probe', w);
  assert.deepEqual(w, ['warn: shape dropped as it is incompatible with "bar".']);
});

describe('word choice and Ward order', () => {
  test('evenlySpaced picks k words spread over the sorted list, independent of input order', () => {
    const words = Array.from({ length: 100 }, (_, i) => `w${String(i).padStart(3, '0')}`);
    const k = evenlySpaced([...words].reverse(), 40);
    assert.equal(k.length, 40);
    assert.equal(new Set(k).size, 40);
    assert.deepEqual(k, evenlySpaced(words, 40));
    assert.equal(k[0], 'w001');
    assert.equal(k[39], 'w098');
    assert.deepEqual(evenlySpaced(['b', 'a'], 40), ['a', 'b']);
  });

  test('wardOrder equals SciPy leaves_list(linkage(c, "ward"))', () => {
    // Points on a line: 0, 10, 1.2, 11.5, 3 → {1,3} then {4,{0,2}}.
    const x = [0, 10, 1.2, 11.5, 3];
    const c = new Float64Array(10);
    let o = 0;
    for (let i = 0; i < 5; i++) for (let j = i + 1; j < 5; j++) c[o++] = Math.abs(x[i] - x[j]);
    assert.deepEqual(wardOrder(c, 5), [1, 3, 4, 0, 2]);
    // Cosine distances of 12 random 4-d points (numpy default_rng(7)); order from SciPy 1.17.
    const c12 = Float64Array.from([1.890574, 1.653861, 1.778733, 0.420579, 0.984939, 0.559639, 0.441440, 0.897025, 0.497997, 0.762152, 1.366981, 0.218958, 0.105339, 1.166521, 0.653202, 1.169839, 1.295916, 0.928214, 1.568051, 1.039886, 0.708037, 0.347447, 1.165572, 0.766032, 1.537660, 1.602778, 0.338255, 1.807546, 1.541863, 0.661325, 1.176744, 0.905260, 1.036627, 1.212168, 0.973494, 1.713157, 0.971472, 0.370660, 0.240738, 0.233130, 0.185039, 0.857239, 0.689945, 0.383922, 1.481608, 0.521870, 0.485649, 0.897177, 0.767425, 0.515112, 1.631614, 0.018494, 1.470042, 0.507031, 0.044757, 1.298601, 1.433033, 0.388398, 0.072570, 1.449061, 1.617821, 1.669417, 0.820820, 0.422808, 1.809177, 1.359862]);
    assert.deepEqual(wardOrder(c12, 12), [0, 9, 10, 6, 7, 4, 5, 8, 11, 2, 1, 3]);
  });
});
