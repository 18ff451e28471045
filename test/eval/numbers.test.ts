/**
 * Numbers are checked, not trusted: decimal cells only, and an analysis that does not depend
 * on the scale of the ratings (z-scoring scaled before squaring) nor lose every model to one
 * empty column.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { log } from '../../src/util/log.js';
import { SmftError } from '../../src/util/errors.js';
import { readCsv, parseNumber, parseDecimal } from '../../src/data/csv.js';
import { zscoreColumns } from '../../src/eval/rdm.js';
import { evaluate } from '../../src/eval/evaluate.js';
import { EN_DIMENSIONS } from '../../src/data/dimensions.js';
import { Rng } from '../../src/util/rng.js';
import type { RatingTable } from '../../src/eval/table.js';

log.level = 'silent';
let tmp = '';
before(() => { tmp = mkdtempSync(join(tmpdir(), 'smft-numbers-')); });
after(() => rmSync(tmp, { recursive: true, force: true }));

test('numeric cells: decimal numbers only; an empty cell is missing, never 0', () => {
  const f = join(tmp, 'cells.csv');
  const cells = ['2.5', ' 3 ', '+4', '.5', '5.', '1e-3', '', 'NA', 'nan', '0x10', '0b11', '0o7', 'Infinity', '1e999', '3,5', '1_000', '--1'];
  writeFileSync(f, `Word,x\n${cells.map((c, i) => `w${i},"${c}"`).join('\n')}\n`);
  const t = readCsv(f);
  const got = cells.map((_, r) => { try { return parseNumber(t.rows[r][1], t, r, 'x'); } catch (e) { assert.ok(e instanceof SmftError); return (e as Error).message; } });
  assert.deepEqual(got.slice(0, 6), [2.5, 3, 4, 0.5, 5, 0.001]);
  assert.ok(got.slice(6, 9).every((v) => Number.isNaN(v)), 'missing markers are NaN');
  assert.match(String(got[9]), /cells\.csv:11 \(column "x"\): '0x10' is not a number \(hex, binary and octal literals are not ratings\)/);
  assert.match(String(got[10]), /'0b11' is not a number \(hex/);
  assert.match(String(got[11]), /'0o7' is not a number \(hex/);
  assert.match(String(got[12]), /'Infinity' is not a number$/);
  assert.match(String(got[13]), /'1e999' is not a number \(out of the range of a double\)/);
  assert.match(String(got[14]), /decimal comma/);
  assert.match(String(got[15]), /'1_000' is not a number/);
  assert.match(String(got[16]), /'--1' is not a number/);
  // The same rule for numbers inside other files (an OpenAI answer): '' and '0x3' are not numbers.
  assert.deepEqual(['', ' ', '0x3', '3', ' 4.5\n'].map(parseDecimal), [NaN, NaN, NaN, 3, 4.5]);
});

/** A random n-word table on the 11 English dimensions: human plus `models` (name → transform of base). */
function table(n: number, models: Record<string, (v: Float64Array) => Float64Array>): RatingTable {
  const rng = new Rng(7);
  const d = EN_DIMENSIONS.length;
  const human = Float64Array.from({ length: n * d }, () => Math.round(rng.next() * 500) / 100);
  const base = human.map((x) => Math.min(5, Math.max(0, x + (rng.next() - 0.5) * 3)));
  const values = new Map<string, Float64Array>([['human', human], ['base', base]]);
  for (const [m, f] of Object.entries(models)) values.set(m, f(base));
  return { lang: 'en', words: Array.from({ length: n }, (_, i) => `w${i}`), dimensions: [...EN_DIMENSIONS], sources: [...values.keys()], values };
}

test('z-scores: a power-of-two scale keeps sane ratings bit for bit; 1e200 and 1e308 do not overflow', () => {
  const rng = new Rng(3);
  const n = 50, d = 3;
  const X = Float64Array.from({ length: n * d }, () => rng.next() * 5);
  // The plain formula (mean, population SD), as before the scaling: the reference for sane data.
  const plain = new Float64Array(n * d);
  for (let k = 0; k < d; k++) {
    let s = 0; for (let i = 0; i < n; i++) s += X[i * d + k];
    const mean = s / n; let ss = 0;
    for (let i = 0; i < n; i++) ss += (X[i * d + k] - mean) ** 2;
    for (let i = 0; i < n; i++) plain[i * d + k] = (X[i * d + k] - mean) / Math.sqrt(ss / n);
  }
  assert.deepEqual(zscoreColumns(X, n, d), plain);
  for (const c of [1e200, 1e-200, 1e300]) {
    const Z = zscoreColumns(X.map((x) => x * c), n, d);
    for (let i = 0; i < Z.length; i++) assert.ok(Math.abs(Z[i] - plain[i]) < 1e-12, `× ${c}: ${Z[i]} vs ${plain[i]}`);
  }
  const Y = Float64Array.from(X);
  Y[0] = 1e308;
  assert.ok(zscoreColumns(Y, n, d).every(Number.isFinite), '1e308 in a cell gives finite z-scores');
});

test('evaluate: ratings × 1e200 (and a 1e308 cell) give the ρ of the sane scale; an empty model column drops only that model', async () => {
  const t = table(60, {
    big: (b) => b.map((x) => x * 1e200),
    huge: (b) => { const v = Float64Array.from(b); v[0] = 1e308; return v; },
    empty: (b) => b.map((x, k) => (k % EN_DIMENSIONS.length === 0 ? NaN : x)),
    none: (b) => b.map(() => NaN),
  });
  const ev = await evaluate(t, { bootstrap: 0 });
  const r = ev.results;
  assert.deepEqual(r.models, ['base', 'big', 'huge']);
  assert.deepEqual(r.excluded_models, { empty: 'no ratings on auditory', none: 'no ratings' });
  for (const s of ['motor', 'sensory', 'all']) {
    assert.ok(Number.isFinite(r.rsa[s].base.rho) && r.rsa[s].base.n_words === 60, s);
    assert.ok(Math.abs(r.rsa[s].big.rho - r.rsa[s].base.rho) < 1e-12, `${s}: ${r.rsa[s].big.rho} vs ${r.rsa[s].base.rho}`);
    assert.ok(Number.isFinite(r.rsa[s].huge.rho), s);
    assert.ok(Number.isFinite(r.wordwise[s].big.mean_distance) && r.wordwise[s].big.mean_distance > 1e199, 'word-wise distances do not overflow');
  }
  for (const dim of EN_DIMENSIONS) assert.ok(Math.abs(r.dimensions[dim].big.rho - r.dimensions[dim].base.rho) < 1e-12, dim);
  // Every model empty: one clear error.
  const allEmpty = table(10, { none: (b) => b.map(() => NaN) });
  allEmpty.sources = ['human', 'none'];
  await assert.rejects(evaluate(allEmpty, { bootstrap: 0 }), (e: Error) => e instanceof SmftError && /no model has ratings on every dimension \(none: no ratings\)/.test(e.message));
});
