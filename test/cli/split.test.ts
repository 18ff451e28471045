/** `smft split` through a child process: the paper's split, a seeded split, and its errors. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCsv } from '../../src/data/csv.js';
import { testDataDir } from '../helpers/data.js';
import { BAD, runSplit } from './helpers.js';

const PAIRS = join(testDataDir(), 'lancaster_x_dutch_translation_pairs_SUBSET_7861.csv');
let tmp = '';
before(() => { tmp = mkdtempSync(join(tmpdir(), 'smft-split-cli-')); });
after(() => { rmSync(tmp, { recursive: true, force: true }); });

describe('smft split', { concurrency: 3 }, () => {
  test("--paper writes the authors' split: train.csv (2358), eval.csv (1572), split.json, and prints the counts", async () => {
    const out = join(tmp, 'paper');
    const r = await runSplit(['--paper', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^pairs: 7861 in lancaster_x_dutch_translation_pairs_SUBSET_7861\.csv; half kept by the first split \(test_size 0\.5, random_state 42\): 3930$/m);
    assert.match(r.stdout, /^train: 2358 pairs \(2358 English, 2358 Dutch words\)$/m);
    assert.match(r.stdout, /^eval: {2}1572 pairs \(1572 English, 1572 Dutch words\), the pairs of eval_en_1572_with_predictions\.csv \(same set, its order\)$/m);
    assert.equal(readCsv(join(out, 'train.csv')).rows.length, 2358);
    assert.equal(readCsv(join(out, 'eval.csv')).rows.length, 1572);
    const info = JSON.parse(readFileSync(join(out, 'split.json'), 'utf8'));
    assert.equal(info.kind, 'paper');
    assert.deepEqual(info.counts.train, { rows: 2358, uniqueEn: 2358, uniqueNl: 2358 });
    assert.equal(info.indices.train.length, 2358);
    assert.equal(info.files.length, 2);
    assert.match(info.files[0].sha256, /^[0-9a-f]{64}$/);
  });

  test('--norms with a seed is reproducible, and another seed differs', async () => {
    const [a, b, c] = await Promise.all([1, 2, 3].map((k) => runSplit(['--norms', PAIRS, '--seed', k === 3 ? '12' : '11', '--eval-count', '1000', '--out', join(tmp, `seeded-${k}`)])));
    for (const r of [a, b, c]) assert.equal(r.code, 0, r.stderr);
    assert.match(a.stdout, /^7861 English–Dutch pairs in 7861 groups .*seed 11$/m);
    assert.match(a.stdout, /^eval: {2}1000 pairs \(1000 English, 1000 Dutch words\)$/m);
    const read = (k: number, f: string) => readFileSync(join(tmp, `seeded-${k}`, f), 'utf8');
    assert.equal(read(1, 'eval.csv'), read(2, 'eval.csv'));
    assert.equal(read(1, 'train.csv'), read(2, 'train.csv'));
    assert.notEqual(read(1, 'eval.csv'), read(3, 'eval.csv'));
    assert.equal(readCsv(join(tmp, 'seeded-1', 'train.csv')).rows.length, 6861);
  });

  const errors: Array<[string, string[], RegExp]> = [
    ['--paper with --seed', ['--paper', '--seed', '3'], /^smft: error: --seed applies to --norms only; the paper's split is fixed$/],
    ['neither --paper nor --norms', [], /^smft: error: give exactly one of --paper, --pool or --norms FILE$/],
    ['--paper with --pool', ['--paper', '--pool'], /^smft: error: give exactly one of --paper, --pool or --norms FILE$/],
    ['--norms a semicolon file', ['--norms', join(BAD, 'semicolon.csv')], new RegExp(`^smft: error: ${join(BAD, 'semicolon.csv').replace(/[.]/g, '\\.')}:1: header uses ';' as delimiter`)],
    ['--norms a file without norms', ['--norms', join(BAD, 'non-numeric.csv')], /^smft: error: .*non-numeric\.csv: no Lancaster \('Auditory\.mean' …\) or Dutch \('Horen' …\) norm columns found$/],
    ['--eval-fraction out of range', ['--norms', PAIRS, '--eval-fraction', '1.5'], /^smft: error: eval fraction must be between 0 and 1 \(got 1\.5\)$/],
  ];
  for (const [name, args, re] of errors) {
    test(`error: ${name}`, async () => {
      const out = join(tmp, `err-${name.replace(/\W+/g, '-')}`);
      const r = await runSplit([...args, '--out', out]);
      assert.notEqual(r.code, 0);
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], re);
      assert.equal(existsSync(out), false);
    });
  }
});
