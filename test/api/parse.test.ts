import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { firstTokenLogprobs, ratingFromLogprobs } from '../../src/api/logprobs.js';
import { ratingRequest } from '../../src/api/rate-api.js';
import { OPENAI_DIGIT_IDS } from '../../src/api/digits.js';
import { retryAfterMs } from '../../src/api/client.js';
import { expectedRating } from '../../src/data/predictions.js';
import { testDataDir } from '../helpers/data.js';
import { SmftError } from '../../src/util/errors.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'api');
const fixture = (name: string): unknown => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8'));
const close = (a: number, b: number, tol = 1e-12): boolean => Math.abs(a - b) <= tol;

test("OpenAI's documented chat answer with logprobs: the first token and its alternatives", () => {
  const { text, top } = firstTokenLogprobs(fixture('openai-chat-logprobs.json'), 'chat', 'fixture');
  assert.equal(text, 'Hello! How can I assist you today?');
  assert.deepEqual(top, [{ token: 'Hello', logprob: -0.31725305, bytes: [72, 101, 108, 108, 111] }, { token: 'Hi', logprob: -1.3190403, bytes: [72, 105] }]);
  const { row, present } = ratingFromLogprobs('hello', 'auditory', top);
  assert.equal(present, 0);
  assert.ok(Number.isNaN(row.rating) && Number.isNaN(row.argmax) && Number.isNaN(row.p3));
});

test("OpenAI's documented default answer (logprobs null) is one clear error", () => {
  assert.throws(() => firstTokenLogprobs(fixture('openai-chat-default.json'), 'chat', 'http://x/v1/chat/completions'),
    (e: unknown) => e instanceof SmftError && /^http:\/\/x\/v1\/chat\/completions: the answer has no choices\[0\]\.logprobs\.content/.test(e.message));
});

test("vLLM's chat answer: digits renormalised, vLLM's -9999 for -inf counts as probability 0", () => {
  const { text, top } = firstTokenLogprobs(fixture('vllm-chat-logprobs.json'), 'chat', 'fixture');
  assert.equal(text, '3');
  const { row, present } = ratingFromLogprobs('thunder', 'auditory', top);
  const [p2, p3, p4] = [Math.exp(-1.2), Math.exp(-0.5), Math.exp(-2.3)];
  const z = p2 + p3 + p4;
  assert.equal(present, 4);
  assert.ok(close(row.rating, (2 * p2 + 3 * p3 + 4 * p4) / z), String(row.rating));
  assert.ok(close(row.p3, p3 / z) && row.p0 === 0 && row.p1 === 0 && close(row.p5, 0));
  assert.equal(row.argmax, 3);
});

test("vLLM's completions answer (legacy logprobs): ' 2' and ' 1' count as digits", () => {
  const { text, top } = firstTokenLogprobs(fixture('vllm-completions-logprobs.json'), 'completions', 'fixture');
  assert.equal(text, ' 2');
  assert.equal(top.length, 4);
  const { row, present } = ratingFromLogprobs('velvet', 'haptic', top);
  const [p1, p2, p3] = [Math.exp(-1.1), Math.exp(-0.7), Math.exp(-2.0)];
  assert.equal(present, 3);
  assert.ok(close(row.rating, (p1 + 2 * p2 + 3 * p3) / (p1 + p2 + p3)));
  assert.equal(row.argmax, 2);
});

test("a real gpt-4o-mini batch answer of the paper gives the rating smft evaluate reads from it", () => {
  const dir = join(testDataDir(), 'paper', 'model_outputs');
  const file = readdirSync(dir).find((f) => f.startsWith('auditory_base'))!;
  const line = JSON.parse(readFileSync(join(dir, file), 'utf8').split('\n')[0]) as { response: { body: { choices: Array<{ logprobs: { content: Array<{ top_logprobs: Array<{ token: string; logprob: number }> }> } }> } } };
  const body = line.response.body;
  const { row } = ratingFromLogprobs('x', 'auditory', firstTokenLogprobs(body, 'chat', file).top);
  assert.ok(close(row.rating, expectedRating(body.choices[0].logprobs.content[0].top_logprobs)));
  assert.ok(row.rating > 0 && row.rating < 5);
});

test('rating requests: chat and completions bodies with an equal logit_bias on the digits', () => {
  const chat = ratingRequest('How loud is "thunder"?', { model: 'gpt-4o-mini', digitIds: OPENAI_DIGIT_IDS });
  assert.deepEqual(chat, {
    model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'How loud is "thunder"?' }], temperature: 0, max_tokens: 1, logprobs: true, top_logprobs: 20,
    logit_bias: { 15: 100, 16: 100, 17: 100, 18: 100, 19: 100, 20: 100 },
  });
  const base = ratingRequest('Rate it.', { model: 'm', route: 'completions', topLogprobs: 5, lang: 'nl' });
  assert.deepEqual(base, { model: 'm', prompt: 'Rate it.\nAntwoord: ', temperature: 0, max_tokens: 1, logprobs: 5 });
});

test('Retry-After: seconds, an HTTP date, retry-after-ms, absent', () => {
  assert.equal(retryAfterMs(new Headers({ 'retry-after': '2' })), 2000);
  assert.equal(retryAfterMs(new Headers({ 'retry-after-ms': '150', 'retry-after': '9' })), 150);
  const later = retryAfterMs(new Headers({ 'retry-after': new Date(Date.now() + 5000).toUTCString() }))!;
  assert.ok(later > 3000 && later <= 5000, String(later));
  assert.equal(retryAfterMs(new Headers()), undefined);
});
