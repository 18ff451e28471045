/**
 * `smft export --format openai-ft | sft-jsonl`: the paper's fine-tuning files, checked byte for
 * byte against the same files built in Python as the authors' create_finetuning_dataset.py does
 * (scripts/reference/paper_targets_reference.py → test/fixtures/paper/finetune.json).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testDataDir } from '../helpers/data.js';
import { readJson } from '../helpers/golden.js';
import { runCli } from '../cli/helpers.js';
import { exportFinetune, finetuneRecord, pythonJson } from '../../src/export/finetune.js';
import { SmftError } from '../../src/util/errors.js';

const DATA = testDataDir();
const GOLDEN = readJson<Record<string, { lines: number; sha256: string }>>(join(import.meta.dirname, '..', 'fixtures', 'paper', 'finetune.json'));
let tmp: string;
before(() => { tmp = mkdtempSync(join(tmpdir(), 'smft-export-ft-')); });
after(() => { rmSync(tmp, { recursive: true, force: true }); });

const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
const lines = (f: string) => readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));

test("pythonJson writes what Python's json.dumps(ensure_ascii=False) writes", () => {
  assert.equal(pythonJson({ messages: [{ role: 'user', content: 'Het "woord": één\nB' }, { role: 'assistant', content: '2.0' }] }),
    '{"messages": [{"role": "user", "content": "Het \\"woord\\": één\\nB"}, {"role": "assistant", "content": "2.0"}]}');
  assert.equal(pythonJson([1, 'a', null]), '[1, "a", null]');
});

test("openai-ft: en_ft, nl_ft and qa_ft files equal the Python-built ones byte for byte", async () => {
  for (const recipe of ['en_ft', 'nl_ft', 'qa_ft']) {
    const out = join(tmp, `openai-${recipe}`);
    const r = await exportFinetune({ recipe, format: 'openai-ft', out, dataDir: DATA });
    const train = join(out, 'train.jsonl');
    assert.equal(r.counts.train, GOLDEN[recipe].lines, recipe);
    assert.equal(sha(train), GOLDEN[recipe].sha256, `${recipe}: train.jsonl differs from the Python-built file`);
    assert.equal(existsSync(join(out, 'validation.jsonl')), false);
    const manifest = JSON.parse(readFileSync(join(out, 'export.json'), 'utf8'));
    assert.equal(manifest.files['train.jsonl'].sha256, GOLDEN[recipe].sha256);
    assert.equal(manifest.recipe, recipe);
    if (recipe === 'en_ft') {
      // METHOD.md: {"messages": [user, assistant]}, no system message; answers "1.33", "2.0", "0.5".
      const recs = lines(train);
      assert.ok(recs.every((x) => Object.keys(x).join() === 'messages' && x.messages.length === 2 && x.messages[0].role === 'user' && x.messages[1].role === 'assistant'));
      assert.ok(recs.every((x) => /^[0-5]\.\d{1,2}$/.test(x.messages[1].content)));
      assert.ok(recs.some((x) => /^\d\.0$/.test(x.messages[1].content)) && recs.some((x) => /^\d\.\d$/.test(x.messages[1].content)));
      assert.match(recs[0].messages[0].content, /^Complete the following task as a native speaker of English\..*The concept is: "[A-Z' -]+"\. Only answer with a number from 0 to 5\. $/);
    }
  }
});

test('--validation holds out whole words (train.valFraction, seed), and sft-jsonl carries the same examples as prompt/completion', async () => {
  const a = await exportFinetune({ recipe: 'en_ft', format: 'openai-ft', out: join(tmp, 'val-openai'), dataDir: DATA, validation: true });
  const b = await exportFinetune({ recipe: 'en_ft', format: 'sft-jsonl', out: join(tmp, 'val-sft'), dataDir: DATA, validation: true });
  assert.equal(a.counts.train + a.counts.validation, 2358 * 11);
  const word = (x: { messages: { content: string }[] }) => /The concept is: "(.*)"\./.exec(x.messages[0].content)![1];
  const tr = lines(join(a.dir, 'train.jsonl')), va = lines(join(a.dir, 'validation.jsonl'));
  const trWords = new Set(tr.map(word)), vaWords = new Set(va.map(word));
  assert.equal(trWords.size + vaWords.size, 2358);
  assert.ok([...vaWords].every((w) => !trWords.has(w)));
  assert.equal(va.length, vaWords.size * 11, 'all 11 dimensions of a held-out word');
  assert.ok(Math.abs(vaWords.size - 0.05 * 2358) < 3, `${vaWords.size} validation words`);
  for (const [f, g] of [['train.jsonl', tr], ['validation.jsonl', va]] as const) {
    const sft = lines(join(b.dir, f));
    assert.equal(sft.length, g.length);
    sft.forEach((x, i) => assert.deepEqual(x, { prompt: [g[i].messages[0]], completion: [g[i].messages[1]] }));
  }
  assert.equal(JSON.parse(readFileSync(join(b.dir, 'export.json'), 'utf8')).validation.valFraction, 0.05);
  const rec = finetuneRecord({ messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'A' }], group: 'g', source: { item: 1, answer: 'A' } }, 'sft-jsonl');
  assert.equal(rec, '{"prompt": [{"role": "user", "content": "q"}], "completion": [{"role": "assistant", "content": "A"}]}');
});

test('smft export: a tiny recipe through the CLI; bad input is one SmftError with nothing written', async () => {
  const out = join(tmp, 'cli-tiny');
  const r = await runCli(['export', '--format', 'sft-jsonl', '--recipe', 'nl_ft_tiny', '--validation', '-o', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^\d+ training and \d+ validation examples \(nl_ft_tiny, sft-jsonl\)$/m);
  assert.ok(existsSync(join(out, 'train.jsonl')) && existsSync(join(out, 'validation.jsonl')) && existsSync(join(out, 'export.json')));
  const bad = join(tmp, 'bad');
  await assert.rejects(exportFinetune({ recipe: 'no_such', format: 'openai-ft', out: bad, dataDir: DATA }), (e: Error) => e instanceof SmftError && /no recipe 'no_such'/.test(e.message));
  await assert.rejects(exportFinetune({ recipe: 'qa_ft', format: 'openai-ft', out: bad, dataDir: DATA, validation: true, overrides: ['train.valFraction=0'] }),
    (e: Error) => e instanceof SmftError && /recipe 'qa_ft' holds out no validation examples/.test(e.message));
  await assert.rejects(exportFinetune({ recipe: 'en_ft', format: 'parquet' as 'openai-ft', out: bad, dataDir: DATA }), /unknown fine-tuning format 'parquet'/);
  assert.equal(existsSync(bad), false);
});
