import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCsv } from '../../src/data/csv.js';
import { loadNorms, normsFromTable } from '../../src/data/norms.js';
import { joinNorms, loadPaired, loadTranslations, pairedFromTable, translationsFromTable } from '../../src/data/translations.js';
import { SmftError } from '../../src/util/errors.js';
import { testDataDir } from '../helpers/data.js';

const DATA = testDataDir();
const DEEPL = join(DATA, 'paper', 'dutch_words_translation_24036.csv');
const PAIRS = join(DATA, 'lancaster_x_dutch_translation_pairs_SUBSET_7861.csv');
const NORARE = join(DATA, 'lancaster_sensorimotor_norms_SUBSET_norare_2708.tsv');
const DUTCH = join(DATA, 'dutch_sensory_norms.csv');

let tmp = '';
before(() => { tmp = mkdtempSync(join(tmpdir(), 'smft-translations-')); });
after(() => { rmSync(tmp, { recursive: true, force: true }); });
const csvFile = (name: string, text: string) => { const f = join(tmp, name); writeFileSync(f, text); return f; };

test("the paper's DeepL table: 24 036 Dutch words, 10 677 flagged Include? = 1", async () => {
  const all = await loadTranslations(DEEPL);
  assert.equal(all.format, 'deepl');
  assert.deepEqual(all.counts, { rows: 24036, pairs: 24036, duplicates: 0, empty: 0, excluded: 0 });
  assert.equal(all.pairs.filter((p) => p.included).length, 10677);
  const aaien = all.pairs.find((p) => p.nl === 'aaien')!;
  assert.deepEqual(aaien, { en: 'pet', nl: 'aaien', line: 3, included: false, back: 'pet' });
  const inc = await loadTranslations(DEEPL, { includedOnly: true });
  assert.equal(inc.pairs.length, 10677);
  assert.equal(inc.counts.excluded, 13359);
  assert.ok(inc.pairs.every((p) => p.included === true));
});

test('the Lancaster × Dutch pairs file gives 7861 pairs, each an included DeepL pair', async () => {
  const pairs = await loadTranslations(PAIRS);
  assert.equal(pairs.format, 'pairs');
  assert.equal(pairs.pairs.length, 7861);
  const deepl = new Set((await loadTranslations(DEEPL, { includedOnly: true })).pairs.map((p) => `${p.en.toLowerCase()}|${p.nl.toLowerCase()}`));
  assert.equal(pairs.pairs.filter((p) => deepl.has(`${p.en.toLowerCase()}|${p.nl.toLowerCase()}`)).length, 7861);
});

test('join NoRaRe Lancaster subset × Dutch norms through the 7861 pairs: 1665 joined, the rest counted', async () => {
  const en = await loadNorms(NORARE, 'en');
  const nl = await loadNorms(DUTCH, 'nl');
  const j = joinNorms(en, nl, await loadTranslations(PAIRS));
  assert.deepEqual(j.counts, { pairs: 7861, joined: 1665, missingEn: 6196, missingNl: 0, missingBoth: 0, incomplete: 0, duplicates: 0, uniqueEn: 1665, uniqueNl: 1665 });
  assert.equal(j.missing.en.length, 6196);
  assert.equal(j.missing.nl.length, 0);
  // The joined ratings agree with the pairs file's own: English rounded to 3 decimals there,
  // Dutch to 2 decimals in the cleaned Dutch norms (SOURCES.md).
  const own = await loadPaired(PAIRS);
  const byPair = new Map(own.rows.map((r) => [`${r.en.toLowerCase()}|${r.nl}`, r]));
  for (const r of j.rows) {
    const o = byPair.get(`${r.en.toLowerCase()}|${r.nl}`)!;
    assert.ok(o, `${r.en} – ${r.nl} not in the pairs file`);
    r.enRatings.forEach((x, k) => assert.ok(Math.abs(x - o.enRatings[k]) <= 0.0005 + 1e-12, `${r.en} ${j.enDimensions[k]}: ${x} vs ${o.enRatings[k]}`));
    r.nlRatings.forEach((x, k) => assert.ok(Math.abs(x - o.nlRatings[k]) <= 0.005 + 1e-12, `${r.nl} ${j.nlDimensions[k]}: ${x} vs ${o.nlRatings[k]}`));
  }
});

test('join through the whole DeepL table: 4531 pairs (2247 English words), 19 505 pairs lack the English word', async () => {
  const j = joinNorms(await loadNorms(NORARE, 'en'), await loadNorms(DUTCH, 'nl'), await loadTranslations(DEEPL));
  assert.deepEqual(j.counts, { pairs: 24036, joined: 4531, missingEn: 19505, missingNl: 0, missingBoth: 0, incomplete: 0, duplicates: 0, uniqueEn: 2247, uniqueNl: 4531 });
  assert.equal(j.missing.en.length, 14979);
});

test('join of the pairs file with itself through the included DeepL pairs gives back its 7861 rows', async () => {
  const en = await loadNorms(PAIRS, 'en');
  const nl = await loadNorms(PAIRS, 'nl');
  const j = joinNorms(en, nl, await loadTranslations(DEEPL, { includedOnly: true }));
  assert.equal(j.counts.joined, 7861);
  assert.equal(j.counts.missingEn + j.counts.missingNl + j.counts.missingBoth, 10677 - 7861);
});

test('join on hand-made norms: every lost pair is counted by reason', () => {
  const en = normsFromTable(readCsv(csvFile('en.csv', [
    'Word,Auditory.mean,Gustatory.mean,Haptic.mean,Interoceptive.mean,Olfactory.mean,Visual.mean,Foot_leg.mean,Hand_arm.mean,Head.mean,Mouth.mean,Torso.mean',
    'APPLE,1,4,3,1,3,4,0,3,1,4,0',
    'DOG,4,0,3,1,3,5,2,2,2,1,1',
    'RUN,2,0,1,3,0,3,5,2,2,1,3',
    'SOUP,1,5,1,2,4,3,0,2,1,5,0',
  ].join('\n') + '\n')), 'en');
  const nl = normsFromTable(readCsv(csvFile('nl.csv', [
    'Woord,Horen,Zien,Ruiken,Proeven,Voelen,Sensaties',
    'appel,1,4,3,4,3,1',
    'hond,4,5,3,0,3,1',
    'rennen,2,3,0,0,1,3',
    'soep,1,3,4,5,1,',
  ].join('\n') + '\n')), 'nl');
  const pairs = [
    { en: 'apple', nl: 'Appel', line: 2 },     // joined (case-insensitive)
    { en: 'APPLE', nl: 'appel', line: 3 },     // repeat: merged
    { en: 'dog', nl: 'hond', line: 4 },        // joined
    { en: 'hound', nl: 'hond', line: 5 },      // English missing
    { en: 'run', nl: 'lopen', line: 6 },       // Dutch missing
    { en: 'cat', nl: 'kat', line: 7 },         // both missing
    { en: 'soup', nl: 'soep', line: 8 },       // Dutch rating missing
  ];
  const j = joinNorms(en, nl, pairs);
  assert.deepEqual(j.counts, { pairs: 7, joined: 2, missingEn: 1, missingNl: 1, missingBoth: 1, incomplete: 1, duplicates: 1, uniqueEn: 2, uniqueNl: 2 });
  assert.deepEqual(j.missing, { en: ['hound', 'cat'], nl: ['lopen', 'kat'] });
  assert.deepEqual(j.rows.map((r) => [r.en, r.nl]), [['APPLE', 'appel'], ['DOG', 'hond']]);
  assert.deepEqual(j.rows[0].enRatings, [1, 4, 3, 1, 3, 4, 0, 3, 1, 4, 0]);
  // Dutch ratings in canonical order: horen, proeven, voelen, sensaties, ruiken, zien.
  assert.deepEqual(j.rows[0].nlRatings, [1, 4, 3, 1, 3, 4]);
  assert.throws(() => joinNorms(nl, en, pairs), (e: Error) => e instanceof SmftError && /first norms must be English/.test(e.message));
});

test('pair rows from a table: missing ratings dropped and counted, repeats merged, conflicts and bad cells are errors', () => {
  const head = 'Word,Auditory.mean,Gustatory.mean,Haptic.mean,Interoceptive.mean,Olfactory.mean,Visual.mean,Foot.mean,Hand.mean,Head.mean,Mouth.mean,Torso.mean,Woord,Horen,Zien,Ruiken,Proeven,Voelen,Sensaties';
  const ok = pairedFromTable(readCsv(csvFile('pairs.csv', [head,
    'APPLE,1,4,3,1,3,4,0,3,1,4,0,appel,1,4,3,4,3,1',
    'APPLE,1,4,3,1,3,4,0,3,1,4,0,appel,1,4,3,4,3,1',
    'APPLE,1,4,3,1,3,4,0,3,1,4,0,appeltje,1,4,3,4,3,2',
    'SOUP,1,5,1,2,4,3,0,2,1,5,0,soep,1,3,4,5,1,',
  ].join('\n') + '\n')));
  assert.deepEqual(ok.counts, { rows: 4, kept: 2, incomplete: 1, duplicates: 1 });
  assert.deepEqual(ok.rows.map((r) => [r.en, r.nl]), [['APPLE', 'appel'], ['APPLE', 'appeltje']]);
  assert.equal(ok.rows[1].where, `${join(tmp, 'pairs.csv')}:4`);
  const f = csvFile('conflict.csv', [head, 'APPLE,1,4,3,1,3,4,0,3,1,4,0,appel,1,4,3,4,3,1', 'apple,2,4,3,1,3,4,0,3,1,4,0,appel,1,4,3,4,3,1'].join('\n') + '\n');
  assert.throws(() => pairedFromTable(readCsv(f)), (e: Error) => e instanceof SmftError && e.message.startsWith(`${f}:3: pair 'apple' – 'appel' appears twice with different ratings (first at ${f}:2)`));
  const g = csvFile('range.csv', [head, 'APPLE,1,4,3,1,3,4,0,3,1,4,0,appel,1,4,3,4,3,7'].join('\n') + '\n');
  assert.throws(() => pairedFromTable(readCsv(g)), (e: Error) => e instanceof SmftError && e.message === `${g}:2 (column "Sensaties"): rating 7 outside 0–5`);
  const h = csvFile('text.csv', [head, 'APPLE,1,4,3,1,3,4,0,3,1,4,0,appel,1,4,x,4,3,1'].join('\n') + '\n');
  assert.throws(() => pairedFromTable(readCsv(h)), (e: Error) => e instanceof SmftError && e.message === `${h}:2 (column "Ruiken"): 'x' is not a number`);
  const i = csvFile('nodutch.csv', 'Word,Auditory.mean\nAPPLE,1\n');
  assert.throws(() => pairedFromTable(readCsv(i)), (e: Error) => e instanceof SmftError && /not an English–Dutch pairs table: missing rating column\(s\) for gustatory/.test(e.message));
});

test('translation tables: wrong layout and bad Include? flag are one-line errors naming the file', () => {
  const a = csvFile('notrans.csv', 'foo,bar\n1,2\n');
  assert.throws(() => translationsFromTable(readCsv(a)), (e: Error) => e instanceof SmftError && e.message.startsWith(`${a}: not a translation table`));
  const b = csvFile('flag.csv', 'Original_word,Deepl_translation_English,Back_translation,Include?\nappel,apple,appel,1\nhond,dog,hond,maybe\n');
  assert.throws(() => translationsFromTable(readCsv(b)), (e: Error) => e instanceof SmftError && e.message === `${b}:3 (column "Include?"): 'maybe' is not a 0/1 flag`);
  const c = csvFile('gaps.csv', 'Word,Woord\napple,appel\n,hond\napple,appel\n');
  const t = translationsFromTable(readCsv(c));
  assert.deepEqual(t.counts, { rows: 3, pairs: 1, duplicates: 1, empty: 1, excluded: 0 });
  for (const m of [a, b, c]) assert.ok(!m.includes('\n'));
});
