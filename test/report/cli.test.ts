/**
 * `smft report` on the command line: the training and trajectory options, the default radar word
 * (a Dutch evaluation without SHOUTER still reports), and a bad input as one error line.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../cli/helpers.js';
import { CURVE_FIGURES, NL_FIGURES, addRunData, fixtureCopy } from './helpers.js';

test('smft report --training ID=DIR --trajectory DIR draws the curve figures', async () => {
  const fx = fixtureCopy('en');
  try {
    const runs = addRunData(fx.dir, fx.root);
    const r = await runCli(['report', fx.dir, '--training', `en_ft=${runs.training.en_ft}`, '--training', runs.training.qa_ft, '--trajectory', runs.trajectories.en_ft, '-o', join(fx.root, 'rep')], { timeoutMs: 180_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), join(fx.root, 'rep', 'report.html'));
    const files = readdirSync(join(fx.root, 'rep', 'figures'));
    for (const n of CURVE_FIGURES) assert.ok(files.includes(`${n}.svg`), n);
  } finally { fx.cleanup(); }
});

test('smft report: a Dutch evaluation without the default radar word, and a bad --training, through the CLI', async () => {
  const fx = fixtureCopy('nl');
  try {
    const ok = await runCli(['report', fx.dir], { timeoutMs: 180_000 });
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(readdirSync(join(fx.dir, 'report', 'figures')).filter((f) => f.endsWith('.svg')).sort(), NL_FIGURES.map((n) => `${n}.svg`).sort());
    const out = join(fx.root, 'bad');
    const bad = await runCli(['report', fx.dir, '--training', `en_ft=${fx.root}`, '-o', out], { timeoutMs: 180_000 });
    assert.notEqual(bad.code, 0);
    const lines = bad.stderr.trim().split('\n');
    assert.equal(lines.length, 1, bad.stderr);
    assert.match(lines[0], new RegExp(`^smft: error: ${fx.root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: no metrics\\.jsonl`));
    assert.ok(!existsSync(out), 'no output');
  } finally { fx.cleanup(); }
});
