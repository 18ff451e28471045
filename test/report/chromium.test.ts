/**
 * Opens report.html in headless Chromium (Debian's `chromium` package; CI installs it) and checks
 * that every figure rendered: the page's own count of loaded, non-empty figure images after the
 * load event (via --dump-dom), and a screenshot that is neither blank nor missing the models'
 * colours. The report includes the layer curve, training curves and trajectory (hand-made data).
 * Fails, never skips, when Chromium is not installed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import { CURVE_FIGURES, EN_FIGURES, addRunData, fixtureCopy } from './helpers.js';
import { decodePng, pixelStats } from './png.js';

const { buildReport } = await import('../../src/report/index.js');

const CHROMIUM = process.env.SMFT_CHROMIUM ?? 'chromium';
const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-dev-shm-usage', '--hide-scrollbars', '--mute-audio',
];

let fx: ReturnType<typeof fixtureCopy>;
let html: string;
let profiles: string;

function chromium(args: string[]): { stdout: string; stderr: string } {
  const r = spawnSync(CHROMIUM, [...FLAGS, `--user-data-dir=${mkdtempSync(join(profiles, 'profile-'))}`, ...args], {
    encoding: 'utf8', timeout: 90_000, maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    assert.fail(`${CHROMIUM} not found: install Debian's chromium package (apt-get install -y chromium) or set SMFT_CHROMIUM`);
  }
  assert.ifError(r.error);
  assert.equal(r.status, 0, `${CHROMIUM} exited with ${r.status}: ${r.stderr.slice(-2000)}`);
  return { stdout: r.stdout, stderr: r.stderr };
}

before(async () => {
  fx = fixtureCopy('en');
  const runs = addRunData(fx.dir, fx.root);
  html = (await buildReport(fx.dir, { training: runs.training, trajectories: runs.trajectories })).html;
  profiles = mkdtempSync(join(tmpdir(), 'smft-chromium-'));
});
after(() => {
  fx.cleanup();
  rmSync(profiles, { recursive: true, force: true });
});

test('chromium is installed', () => {
  const r = spawnSync(CHROMIUM, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  assert.ok(!r.error, `${CHROMIUM} not runnable (${r.error?.message}): install Debian's chromium package (apt-get install -y chromium)`);
  assert.match(r.stdout, /Chromium \d+/);
});

const FIGURES = [...EN_FIGURES, ...CURVE_FIGURES];

test('every figure of report.html renders in headless Chromium', () => {
  const { stdout } = chromium(['--virtual-time-budget=10000', '--dump-dom', pathToFileURL(html).href]);
  const m = /<div id="smft-render-status"[^>]*>/.exec(stdout);
  assert.ok(m, 'status element in the dumped DOM');
  const attr = (k: string) => new RegExp(`${k}="([^"]*)"`).exec(m[0])?.[1];
  assert.equal(attr('data-done'), '1', 'the load handler ran');
  assert.equal(attr('data-expected'), String(FIGURES.length));
  assert.equal(attr('data-failed'), '', 'no figure failed to render');
  assert.equal(attr('data-rendered'), String(FIGURES.length), 'every figure image loaded with a non-zero natural size');
  for (const n of FIGURES) assert.ok(stdout.includes(`data-name="${n}"`), `figure ${n} in the page`);
});

test('the render check notices a figure that does not render', () => {
  // Negative control: the first figure's image replaced by a broken SVG.
  const broken = join(profiles, 'broken.html');
  const page = readFileSync(html, 'utf8').replace(/src="data:image\/svg\+xml;base64,[^"]*"/, 'src="data:image/svg+xml;base64,PHN2Zz4="');
  writeFileSync(broken, page);
  const { stdout } = chromium(['--virtual-time-budget=10000', '--dump-dom', pathToFileURL(broken).href]);
  const m = /<div id="smft-render-status"[^>]*>/.exec(stdout);
  assert.ok(m);
  assert.match(m[0], new RegExp(`data-rendered="${FIGURES.length - 1}"`));
  assert.match(m[0], /data-failed="fig-rsa_bars"/);
});

test('a screenshot of report.html is not blank and shows the figures', () => {
  const shot = join(profiles, 'report.png');
  chromium(['--window-size=1400,2600', '--virtual-time-budget=10000', `--screenshot=${shot}`, pathToFileURL(html).href]);
  const img = decodePng(readFileSync(shot));
  assert.equal(img.width, 1400);
  assert.equal(img.height, 2600);
  const st = pixelStats(img);
  assert.ok(st.nonWhite > 0.1, `screenshot mostly blank (${(st.nonWhite * 100).toFixed(1)}% non-white)`);
  assert.ok(st.distinct > 500, `only ${st.distinct} colours`);
  // The bars, RDMs and densities at the top of the page carry the models' colours (labels.ts).
  for (const [name, rgb] of [['En_FT', [0x00, 0x72, 0xb2]], ['Nl_FT', [0xe6, 0x9f, 0x00]], ['QA_FT', [0x00, 0x9e, 0x73]]] as const) {
    const n = st.count(rgb[0], rgb[1], rgb[2], 10);
    assert.ok(n > 2000, `${name} colour on ${n} pixels`);
  }
});
