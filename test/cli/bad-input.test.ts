/**
 * Bad input through the real command line: `node bin/smft.js evaluate --predictions F --out DIR`
 * on small broken files. Every error must be exit code ≠ 0, exactly one stderr line naming the
 * file (and line/column where there is one) and the problem, and no --out folder afterwards.
 * The CLI runs are spawned a few at a time (each costs 1–2 s of tsx start-up).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCsv } from '../../src/data/csv.js';
import { EN_DIMENSIONS } from '../../src/data/dimensions.js';
import { PAPER_FILES, SOURCES } from '../../src/data/sources.js';
import { testDataDir } from '../helpers/data.js';
import { BAD, ROOT, runCli } from './helpers.js';

let tmp = '';
before(() => { tmp = mkdtempSync(join(tmpdir(), 'smft-bad-input-')); });
after(() => { rmSync(tmp, { recursive: true, force: true }); });

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

interface Expect {
  /** The file the message must name. */
  file: string;
  /** `:line` after the file name, when the problem has a line. */
  line?: number;
  /** ` (column "name")` after the line, when it has a column. */
  column?: string;
  problem: RegExp;
}

/** Run evaluate on `file` and check the one-line error, the exit code and that --out was not made. */
async function expectError(name: string, file: string, e: Expect): Promise<void> {
  const out = join(tmp, `out-${name}`);
  const r = await runCli(['evaluate', '--predictions', file, '--out', out, '--bootstrap', '0']);
  const lines = r.stderr.trimEnd().split('\n');
  assert.notEqual(r.code, 0, `${name}: exit code 0; stdout: ${r.stdout}`);
  assert.equal(lines.length, 1, `${name}: stderr is not one line:\n${r.stderr}`);
  const msg = lines[0];
  assert.match(msg, /^smft: error: /, `${name}: ${msg}`);
  let where = escape(e.file);
  if (e.line !== undefined) where += `:${e.line}`;
  if (e.column !== undefined) where += escape(` (column ${JSON.stringify(e.column)})`);
  assert.match(msg, new RegExp(`^smft: error: ${where}[: ]`), `${name}: location should be ${where}: ${msg}`);
  assert.match(msg, e.problem, `${name}: ${msg}`);
  assert.equal(existsSync(out), false, `${name}: --out folder exists after an error`);
  assert.deepEqual(readdirSync(tmp).filter((f) => f.includes(`out-${name}`)), [], `${name}: temp output left behind`);
  assert.equal(r.stdout, '', `${name}: nothing on stdout`);
}

const fx = (f: string) => join(BAD, f);

describe('smft evaluate rejects bad predictions with one line', { concurrency: 3 }, () => {
  test('missing column: no Word column', () => expectError('missing-word', fx('missing-word-column.csv'), {
    file: fx('missing-word-column.csv'), problem: /no 'Word' column \(columns: Wrd, auditory_base/,
  }));

  test('missing column: long form without rating', () => expectError('long-missing', fx('long-missing-rating-column.csv'), {
    file: fx('long-missing-rating-column.csv'), problem: /missing column\(s\) rating \(a long predictions file has word,dimension,model,rating\)/,
  }));

  test('misspelt column is not silently ignored', () => expectError('misspelt', fx('misspelt-column.csv'), {
    file: fx('misspelt-column.csv'), line: 1, column: 'auditroy_base', problem: /'auditroy' is not a dimension \(did you mean 'auditory'\?\)/,
  }));

  test("non-numeric cell 'abc'", () => expectError('non-numeric', fx('non-numeric.csv'), {
    file: fx('non-numeric.csv'), line: 3, column: 'auditory_base', problem: /'abc' is not a number/,
  }));

  test('duplicate words (case-insensitive)', () => expectError('duplicates', fx('duplicate-words.csv'), {
    file: fx('duplicate-words.csv'), line: 4, problem: /word 'abandon' appears twice \(first at line 2\)/,
  }));

  test('semicolon-delimited file', () => expectError('semicolon', fx('semicolon.csv'), {
    file: fx('semicolon.csv'), line: 1, problem: /header uses ';' as delimiter, expected ','/,
  }));

  test('non-UTF-8 bytes (latin-1 é)', () => {
    const f = join(tmp, 'latin1.csv');
    writeFileSync(f, Buffer.concat([Buffer.from('Word,auditory_base\nABANDON,1\nCAF'), Buffer.from([0xe9]), Buffer.from(',2\n')]));
    return expectError('latin1', f, { file: f, line: 3, problem: /not valid UTF-8 \(byte 0xe9 at offset 32\); re-save the file as UTF-8/ });
  });

  test('a long predictions file whose words are not in the norms', () => {
    const f = join(tmp, 'unknown-words.csv');
    const rows = ['word,dimension,model,rating'];
    for (let i = 0; i < 5000; i++) rows.push(`nonword${i},${EN_DIMENSIONS[i % 11]},base,${i % 6}`);
    writeFileSync(f, rows.join('\n') + '\n');
    return expectError('unknown', f, { file: f, line: 2, problem: /word 'nonword0' is not in the norms .*eval_en_1572_with_predictions\.csv; 5000 of 5000 predicted word\(s\) are not/ });
  });

  test('empty file', () => expectError('empty', fx('empty.csv'), { file: fx('empty.csv'), problem: /file is empty/ }));

  test('header-only file', () => expectError('header-only', fx('header-only.csv'), { file: fx('header-only.csv'), problem: /has a header but no data rows/ }));

  test('JSONL line that is not JSON', () => {
    const f = fx('jsonl-not-json/auditory_base_test_results.jsonl');
    return expectError('jsonl-not-json', f, { file: f, line: 2, problem: /not valid JSON/ });
  });

  test('JSONL whose name does not tell dimension and model', () => {
    const f = fx('jsonl-nameless/predictions.jsonl');
    return expectError('jsonl-nameless', f, { file: f, problem: /cannot tell dimension and model from the file name/ });
  });
});

describe('what must work', { concurrency: 2 }, () => {
  test('empty and NaN cells are missing values: success, results.json, logged drop count', async () => {
    // 60 words of the paper's eval set, an invented model rating all 11 dimensions.
    const evalTable = readCsv(join(testDataDir(), PAPER_FILES.evalEn));
    const words = evalTable.rows.slice(0, 60).map((r) => r[evalTable.col('Word')]);
    const header = ['Word', ...EN_DIMENSIONS.map((d) => `${d}_test`)];
    const rows = words.map((w, i) => [w, ...EN_DIMENSIONS.map((_, j) => String((i * 7 + j * 3) % 6))]);
    rows[4][1] = '';       // auditory_test of word 5: empty
    rows[9][7] = 'NaN';    // foot_leg_test of word 10: NaN
    const f = join(tmp, 'with-gaps.csv');
    writeFileSync(f, [header, ...rows].map((r) => r.join(',')).join('\n') + '\n');
    const out = join(tmp, 'out-success');
    const r = await runCli(['evaluate', '--predictions', f, '--out', out, '--bootstrap', '0'], { env: { SMFT_LOG_LEVEL: 'info' } });
    assert.equal(r.code, 0, r.stderr);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    assert.equal(results.n_words, 60);
    assert.deepEqual(Object.keys(results.rsa).sort(), ['all', 'motor', 'sensory']);
    assert.equal(results.rsa.all.test.n_words, 58);
    assert.equal(results.rsa.sensory.test.n_words, 59);
    assert.equal(results.rsa.motor.test.n_words, 59);
    const logs = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; subset?: string; dropped?: number });
    const dropped = Object.fromEntries(logs.filter((l) => l.dropped !== undefined).map((l) => [l.subset, l.dropped]));
    assert.deepEqual(dropped, { motor: 1, sensory: 1, all: 2 }, r.stderr);
  });

  test('smft data fetch offline: one line naming the URL and where to put the file, fast', async () => {
    const dataDir = join(tmp, 'fetch-data');
    const r = await runCli(['data', 'fetch', '--data-dir', dataDir], {
      nodeArgs: ['--import', new URL('./offline-dns.mjs', import.meta.url).href],
      timeoutMs: 30_000,
    });
    const lines = r.stderr.trimEnd().split('\n');
    assert.notEqual(r.code, 0);
    assert.equal(lines.length, 1, r.stderr);
    const lancaster = SOURCES.find((s) => s.id === 'lancaster')!;
    assert.match(lines[0], new RegExp(`^smft: error: cannot download .* from ${escape(lancaster.url)} \\(.*ENOTFOUND.*\\); download it by hand and save it as ${escape(join(dataDir, lancaster.file))}$`));
    assert.ok(r.ms < 15_000, `took ${r.ms} ms`);
    assert.deepEqual(existsSync(dataDir) ? readdirSync(dataDir) : [], [], 'nothing half-downloaded left in the data directory');
  });
});

test('fixtures are where the test expects them', () => {
  assert.ok(existsSync(join(ROOT, 'bin', 'smft.js')));
  assert.equal(readFileSync(fx('empty.csv')).length, 0);
});
