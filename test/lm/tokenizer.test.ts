import { testDataDir } from '../helpers/data.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixture } from './helpers.js';
import { LmTokenizer } from '../../src/lm/tokenizer.js';


test('fixture tokenizers: digits are single tokens, text round-trips, Llama adds BOS', async () => {
  for (const name of ['tiny-llama', 'tiny-qwen2']) {
    const tok = await LmTokenizer.load(fixture(name));
    for (const d of ['0', '1', '2', '3', '4', '5', 'A', 'B', 'C', 'D']) assert.notEqual(tok.singleTokenId(d), undefined, `${name}: ${d}`);
    const text = 'De zoë ervaart één begrip: "ABANDON" — ça va? 12345';
    const ids = tok.encode(text, { addSpecialTokens: false });
    assert.equal(tok.decode(ids), text);
    const withSpecial = tok.encode('hello');
    if (name === 'tiny-llama') assert.equal(tok.decode([withSpecial[0]]), '<|begin_of_text|>');
    else assert.deepEqual(withSpecial, tok.encode('hello', { addSpecialTokens: false }));
  }
});

test('fixture tokenizers cover the words of the norming prompts', async () => {
  const tok = await LmTokenizer.load(fixture('tiny-qwen2'));
  const PAPER_PROMPTS = join(testDataDir(), 'paper', 'prompts');
  const files = readdirSync(PAPER_PROMPTS).filter((f) => f.endsWith('_prompt.txt'));
  assert.ok(files.length >= 17, `paper prompt files in ${PAPER_PROMPTS}`);
  const words = new Set<string>();
  for (const f of files) for (const w of readFileSync(join(PAPER_PROMPTS, f), 'utf8').match(/[A-Za-z]+/g) ?? []) words.add(w);
  for (const w of ['concept', 'experienced', 'hearing', 'scale', 'number']) words.add(w);
  let single = 0;
  for (const w of words) if (tok.encode(' ' + w, { addSpecialTokens: false }).length === 1) single++;
  assert.ok(single / words.size > 0.9, `${single}/${words.size} prompt words are single tokens`);
});

test('chat template (qwen) and its absence (llama)', async () => {
  const q = await LmTokenizer.load(fixture('tiny-qwen2'));
  assert.equal(q.hasChatTemplate, true);
  const s = q.applyChatTemplate([{ role: 'user', content: 'Rate "{Word}".' }]);
  assert.equal(s, '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nRate "{Word}".<|im_end|>\n<|im_start|>assistant\n');
  const ids = q.encode(s, { addSpecialTokens: false });
  assert.equal(q.decode([ids[0]]), '<|im_start|>');
  const l = await LmTokenizer.load(fixture('tiny-llama'));
  assert.equal(l.hasChatTemplate, false);
});
