import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expectedRating, loadPredictions, readBatchInputWords } from '../../src/data/predictions.js';
import { column } from '../../src/eval/table.js';
import { tempDir } from '../helpers/tmp.js';

const request = (id: string, word: string) => JSON.stringify({ custom_id: id, method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `Please indicate how strongly … The concept is: "${word}". Only answer with a number from 0 to 5.` }] } });
const response = (id: string, answer: string, top: Array<[string, number]>) => JSON.stringify({ custom_id: id, response: { status_code: 200, body: { choices: [{ message: { content: answer }, logprobs: { content: [{ token: answer, logprob: top[0][1], top_logprobs: top.map(([token, logprob]) => ({ token, logprob })) }] } }] } } });

test('expected rating renormalises over the digit tokens 0–5 present', () => {
  // p(2)=0.5, p(3)=0.25, '6' and 'x' ignored → (2·0.5 + 3·0.25) / 0.75
  const got = expectedRating([{ token: '2', logprob: Math.log(0.5) }, { token: '3', logprob: Math.log(0.25) }, { token: '6', logprob: Math.log(0.1) }, { token: 'x', logprob: Math.log(0.1) }]);
  assert.ok(Math.abs(got - (2 * 0.5 + 3 * 0.25) / 0.75) < 1e-12);
  assert.ok(Number.isNaN(expectedRating([{ token: 'A', logprob: 0 }])));
});

test('batch outputs map to words through the batch input file, not the row order', () => {
  const dir = tempDir('jsonl');
  // Requests in an order unrelated to the outputs' order.
  writeFileSync(join(dir, 'input.jsonl'), [request('task_2', 'BELL'), request('task_1', 'APPLE'), request('task_3', 'CHAIR')].join('\n') + '\n');
  writeFileSync(join(dir, 'auditory_base_test_results.jsonl'), [
    response('task_1', '1', [['1', Math.log(0.6)], ['2', Math.log(0.4)]]),
    response('task_2', '5', [['5', Math.log(0.9)], ['4', Math.log(0.1)]]),
    response('task_3', 'n/a', [['0', Math.log(0.7)], ['1', Math.log(0.3)]]),
  ].join('\n') + '\n');
  writeFileSync(join(dir, 'human.csv'), 'word,dimension,model,rating\nAPPLE,auditory,human,1.2\nBELL,auditory,human,4.8\nCHAIR,auditory,human,0.5\n');
  const batchWords = readBatchInputWords([join(dir, 'input.jsonl')]);
  assert.equal(batchWords.get('task_2'), 'BELL');
  const t = loadPredictions([join(dir, 'human.csv'), join(dir, 'auditory_base_test_results.jsonl')], { batchWords });
  assert.deepEqual(t.sources, ['human', 'base', 'base_expected']);
  assert.deepEqual(t.words, ['APPLE', 'BELL', 'CHAIR']);
  assert.deepEqual(Array.from(column(t, 'base', 'auditory')), [1, 5, NaN]);
  const expected = Array.from(column(t, 'base_expected', 'auditory'));
  assert.ok(Math.abs(expected[0] - 1.4) < 1e-12 && Math.abs(expected[1] - 4.9) < 1e-12 && Math.abs(expected[2] - 0.3) < 1e-12, String(expected));
});
