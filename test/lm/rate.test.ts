import { testDataDir } from '../helpers/data.js';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, readFileSync, appendFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture, useBackend } from './helpers.js';
import { SmftError } from '../../src/util/errors.js';
import { EN_DIMENSIONS, NL_DIMENSIONS, type Dimension } from '../../src/data/dimensions.js';
import { loadModel, type LoadedModel } from '../../src/lm/load.js';
import { loadTemplates, type PromptTemplate } from '../../src/lm/prompts.js';
import { rateWords, PromptBuilder, commonPrefix, type RatingRow } from '../../src/lm/rate.js';
import { PredictionsWriter, PREDICTION_COLUMNS } from '../../src/lm/predictions.js';


const WORDS = ['ABANDON', 'apple', 'zoë', 'thunder', 'ed', 'één', 'x'];
let qwen: LoadedModel;
let llama: LoadedModel;
let tmp: string;

before(async () => {
  await useBackend('wasm');
  qwen = await loadModel(fixture('tiny-qwen2'));
  llama = await loadModel(fixture('tiny-llama'));
  tmp = mkdtempSync(join(tmpdir(), 'smft-rate-'));
});
after(() => {
  qwen.model.dispose();
  llama.model.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

const tpl = (dimension: Dimension, text: string): PromptTemplate => ({ dimension, text, source: 'test' });

function assertSameRatings(a: RatingRow[], b: RatingRow[]): void {
  const key = (r: RatingRow): string => `${r.word}|${r.dimension}`;
  const mb = new Map(b.map((r) => [key(r), r]));
  assert.equal(a.length, b.length);
  for (const r of a) {
    const s = mb.get(key(r))!;
    assert.ok(s, key(r));
    assert.ok(Math.abs(r.rating - s.rating) < 1e-4, `${key(r)}: ${r.rating} vs ${s.rating}`);
    for (const p of ['p0', 'p1', 'p2', 'p3', 'p4', 'p5'] as const) assert.ok(Math.abs(r[p] - s[p]) < 1e-4);
    assert.equal(r.argmax, s.argmax);
  }
}

test('default templates: 11 English and 6 Dutch dimensions with placeholders', () => {
  const en = loadTemplates(undefined, 'en');
  assert.deepEqual([...en.keys()], [...EN_DIMENSIONS]);
  const nl = loadTemplates(undefined, 'nl');
  assert.deepEqual([...nl.keys()], [...NL_DIMENSIONS]);
  for (const t of [...en.values()]) assert.match(t.text, /\{Word\}/);
  for (const t of [...nl.values()]) assert.match(t.text, /\{Woord\}/);
});

test("the paper's prompt files load for both languages", () => {
  const PAPER_PROMPTS = join(testDataDir(), 'paper', 'prompts');
  const en = loadTemplates(PAPER_PROMPTS, 'en');
  assert.equal(en.size, 11);
  assert.match(en.get('foot_leg')!.source, /foot_prompt\.txt$/);
  assert.match(en.get('hand_arm')!.text, /hand\/arm/);
  const nl = loadTemplates(PAPER_PROMPTS, 'nl');
  assert.match(nl.get('horen')!.source, /Horen_prompt\.txt$/);
  assert.match(nl.get('horen')!.text, /\{Woord\}"\. Only answer with a number from 0 to 5\.$/);
});

test('a template without the placeholder is an error naming the file; missing dimensions too', () => {
  const dir = join(tmp, 'tpl');
  for (const d of ['horen', 'proeven', 'voelen', 'sensaties', 'ruiken']) {
    writeFileSync(join(mkdirp(dir), `${d}.txt`), `Hoe sterk {Woord}?`);
  }
  assert.throws(() => loadTemplates(dir, 'nl'), (e: Error) => e instanceof SmftError && /no prompt template for dimension\(s\) zien/.test(e.message));
  writeFileSync(join(dir, 'Zien_prompt.txt'), 'Hoe sterk zie je het woord?');
  assert.throws(() => loadTemplates(dir, 'nl'), (e: Error) => e instanceof SmftError && /Zien_prompt\.txt: template has no word placeholder/.test(e.message));
});

test('prefix + suffix split happens at a token boundary common to every prompt', async () => {
  const t = tpl('auditory', 'How strongly is it experienc{Word} by hearing?');
  const b = new PromptBuilder(qwen.tokenizer);
  const pre = b.prefixIds(t);
  const full = b.ids(t, 'ed');
  assert.ok(commonPrefix(pre, full) < pre.length, 'the word merges with the last prefix token');
  // and the cached ratings still equal the uncached ones
  const templates = new Map([['auditory' as Dimension, t]]);
  const a = await rateWords(qwen.model, qwen.tokenizer, { words: WORDS, templates, progress: false });
  const u = await rateWords(qwen.model, qwen.tokenizer, { words: WORDS, templates, prefixCache: false, progress: false });
  assertSameRatings(a.rows, u.rows);
});

for (const which of ['qwen (chat template)', 'llama (base model)']) {
  test(`${which}: cached ratings equal uncached ratings; probabilities are normalised`, async () => {
    const lm = which.startsWith('qwen') ? qwen : llama;
    const templates = loadTemplates(undefined, 'en');
    const a = await rateWords(lm.model, lm.tokenizer, { words: WORDS, templates, batchSize: 4, progress: false });
    const u = await rateWords(lm.model, lm.tokenizer, { words: WORDS, templates, batchSize: 3, prefixCache: false, progress: false });
    assert.equal(a.rows.length, WORDS.length * 11);
    assertSameRatings(a.rows, u.rows);
    for (const r of a.rows) {
      const p = [r.p0, r.p1, r.p2, r.p3, r.p4, r.p5];
      assert.ok(Math.abs(p.reduce((x, y) => x + y, 0) - 1) < 1e-9);
      assert.ok(Math.abs(r.rating - p.reduce((x, y, k) => x + k * y, 0)) < 1e-9);
      assert.equal(r.argmax, p.indexOf(Math.max(...p)));
    }
    assert.ok(a.stats.tokensSaved > 0.5 * a.stats.fullTokens, `saved ${a.stats.tokensSaved} of ${a.stats.fullTokens}`);
    assert.equal(u.stats.tokensSaved, 0);
  });
}

test('empty words are refused', async () => {
  await assert.rejects(
    rateWords(qwen.model, qwen.tokenizer, { words: ['a', ' ', 'b'], templates: loadTemplates(undefined, 'en'), progress: false }),
    (e: Error) => e instanceof SmftError && /empty entry at position 2/.test(e.message),
  );
});

test('predictions CSV: append, resume skipping rated pairs, repair of a cut-off line', async () => {
  const path = join(tmp, 'pred', 'predictions.csv');
  const templates = new Map([...loadTemplates(undefined, 'nl')].slice(0, 2));
  const id = { kind: 'local', model: 'tiny-qwen2', weights: 'sha256:aa', adapter: null, templates: 'sha256:bb', lang: 'nl', smft: '0' };
  const w1 = new PredictionsWriter(path, 'tiny-qwen2', id);
  await rateWords(qwen.model, qwen.tokenizer, { words: WORDS.slice(0, 3), templates, lang: 'nl', onRows: (r) => w1.append(r), progress: false });
  appendFileSync(path, 'apple,zien,tiny-qwen2,1.2'); // an interrupted write
  // Resuming with anything else (here: other weights) is refused, and the file is left as it was.
  const before = readFileSync(path);
  assert.throws(() => new PredictionsWriter(path, 'tiny-qwen2', { ...id, weights: 'sha256:cc' }),
    (e: Error) => e instanceof SmftError && /6 rating\(s\) of model 'tiny-qwen2' here were made with another weights: "sha256:aa" → "sha256:cc"/.test(e.message) && !e.message.includes('\n'));
  assert.ok(readFileSync(path).equals(before));
  // Another model id in the same file has its own record.
  const other = new PredictionsWriter(path, 'other', { ...id, weights: 'sha256:cc' });
  assert.equal(other.count, 0);
  const meta = JSON.parse(readFileSync(`${path}.meta.json`, 'utf8'));
  assert.deepEqual(Object.keys(meta.models).sort(), ['other', 'tiny-qwen2']);
  assert.equal(meta.models['tiny-qwen2'].identity.weights, 'sha256:aa');
  const w2 = new PredictionsWriter(path, 'tiny-qwen2', id);
  assert.equal(w2.count, 6);
  const res = await rateWords(qwen.model, qwen.tokenizer, {
    words: WORDS, templates, lang: 'nl', skip: (w, d) => w2.has(w, d), onRows: (r) => w2.append(r), progress: false,
  });
  assert.equal(res.rows.length, (WORDS.length - 3) * 2);
  const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
  assert.equal(lines[0], PREDICTION_COLUMNS.join(','));
  assert.equal(lines.length, 1 + WORDS.length * 2);
  assert.ok(lines.some((l) => l.startsWith('zoë,horen,tiny-qwen2,')));
  writeFileSync(join(tmp, 'other.csv'), 'a,b,c\n1,2,3\n');
  assert.throws(() => new PredictionsWriter(join(tmp, 'other.csv'), 'm', id), /not a smft predictions file/);
  // Ratings without a record (an older smft, or made by hand) cannot be resumed.
  const bare = join(tmp, 'bare.csv');
  writeFileSync(bare, `${PREDICTION_COLUMNS.join(',')}\napple,zien,m,1,1,0,1,0,0,0,0\n`);
  assert.throws(() => new PredictionsWriter(bare, 'm', id), /1 rating\(s\) of model 'm' have no record of what produced them \(.*bare\.csv\.meta\.json\)/);
  writeFileSync(`${bare}.meta.json`, '{"some": "file"}');
  assert.throws(() => new PredictionsWriter(bare, 'm', id), /bare\.csv\.meta\.json: not an smft ratings record/);
});

function mkdirp(d: string): string {
  mkdirSync(d, { recursive: true });
  return d;
}

test('rateWordsParallel (2 worker threads) gives the same ratings as rateWords', async () => {
  const { rateWordsParallel } = await import('../../src/lm/parallel.js');
  const templates = new Map([...loadTemplates(undefined, 'en')].slice(0, 3));
  const single = await rateWords(qwen.model, qwen.tokenizer, { words: WORDS, templates, progress: false });
  const seen: RatingRow[] = [];
  const par = await rateWordsParallel({
    model: fixture('tiny-qwen2'), backend: 'wasm', workers: 2, words: WORDS, templates,
    skip: (w, d) => w === 'x' && d === 'auditory', onRows: (r) => { seen.push(...r); }, progress: false,
  });
  assert.equal(par.rows.length, WORDS.length * 3 - 1);
  assert.equal(seen.length, par.rows.length);
  assertSameRatings(par.rows, single.rows.filter((r) => !(r.word === 'x' && r.dimension === 'auditory')));
  assert.ok(par.stats.tokensSaved > 0);
});

test('rateWordsParallel reports a worker error as one SmftError', async () => {
  const { rateWordsParallel } = await import('../../src/lm/parallel.js');
  await assert.rejects(
    rateWordsParallel({ model: join(tmp, 'nope'), workers: 1, words: ['a'], templates: loadTemplates(undefined, 'en'), progress: false }),
    (e: Error) => e instanceof SmftError && /neither an existing folder/.test(e.message),
  );
});
