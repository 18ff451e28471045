/**
 * `smft serve` on loopback (a real HTTP server, port 0, the tiny Qwen2 fixture, a bearer key)
 * against in-process references: `smft rate --api` vs `smft rate --backend onnx`, the
 * top-logprobs fallback without logit_bias, greedy decoding and logprobs, hidden states,
 * batching, and export → outputs from the server → evaluate.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Papa from 'papaparse';
import { fixture } from '../lm/helpers.js';
import { BIN, ROOT, runCli } from '../cli/helpers.js';
import { testDataDir } from '../helpers/data.js';
import { loadModel, type LoadedModel } from '../../src/lm/load.js';
import { OnnxCausalLM } from '../../src/lm/onnx/session.js';
import { initBackend } from '../../src/lm/backend.js';
import { loadTemplates } from '../../src/lm/prompts.js';
import { PromptBuilder, digitTokenIds, rateWords } from '../../src/lm/rate.js';
import { digitProbabilities } from '../../src/data/predictions.js';
import { loadNorms, promptWords } from '../../src/data/norms.js';
import { ForwardQueue } from '../../src/serve/queue.js';
import { biasedLogSoftmax, topK } from '../../src/serve/decode.js';
import { ApiClient } from '../../src/api/client.js';
import { rateWordsApi } from '../../src/api/rate-api.js';
import type { LmEngine } from '../../src/lm/engine.js';

const KEY = 'test-key-7f3a';
let tmp: string;
let server: ChildProcess;
let base: string;
let lm: LoadedModel;
let engine: OnnxCausalLM;
let words: string[];
let wordsFile: string;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'smft-serve-'));
  server = spawn(process.execPath, [BIN, 'serve', '--model', fixture('tiny-qwen2'), '--port', '0', '--api-key-env', 'SMFT_TEST_KEY'], {
    cwd: ROOT, env: { ...process.env, SMFT_LOG_LEVEL: 'warn', SMFT_TEST_KEY: KEY }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  const first = new Promise<string>((resolve, reject) => {
    createInterface({ input: server.stdout! }).once('line', resolve);
    server.once('exit', (code) => reject(new Error(`smft serve exited (${code}) before listening`)));
  });
  await initBackend('cpu');
  lm = await loadModel(fixture('tiny-qwen2'));
  engine = await OnnxCausalLM.fromModel(lm.model);
  // The first five words of the paper's English evaluation set, as smft rate prompts them.
  words = promptWords(await loadNorms(join(testDataDir(), 'paper', 'eval_en_1572_with_predictions.csv'), 'en')).slice(0, 5);
  wordsFile = join(tmp, 'words.txt');
  writeFileSync(wordsFile, words.join('\n') + '\n');
  const line = await first;
  const m = /^listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(line);
  assert.ok(m, `first stdout line: ${line}`);
  base = m[1];
});

after(async () => {
  if (server.exitCode === null) {
    const exited = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    await exited;
  }
  await engine?.dispose();
  lm?.model.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

const auth = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
async function post(path: string, body: unknown, headers: Record<string, string> = auth): Promise<{ status: number; json: any }> {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

type Row = { word: string; dimension: string; rating: string; argmax: string };
const readRows = (file: string): Row[] => Papa.parse<Row>(readFileSync(file, 'utf8'), { header: true, skipEmptyLines: true }).data;
const byKey = (rows: Row[]): Map<string, Row> => new Map(rows.map((r) => [`${r.word}|${r.dimension}`, r]));

/** Full-vocabulary logits after `ids`, in this process. */
async function lastLogits(e: LmEngine, ids: number[]): Promise<Float32Array> {
  return e.selectedLogits({ ids: [ids], attentionMask: [ids.map(() => 1)], positionIds: [ids.map((_, i) => i)], logitsAt: [ids.length - 1] });
}

test('serve: the first stdout line, /v1/models, and the bearer key (401 in OpenAI\'s error shape without it)', async () => {
  const open = await fetch(`${base}/v1/models`);
  assert.equal(open.status, 401);
  const err = await open.json() as { error: { message: string; type: string; code: string } };
  assert.equal(err.error.code, 'invalid_api_key');
  assert.equal(typeof err.error.message, 'string');
  const res = await fetch(`${base}/v1/models`, { headers: auth });
  const models = await res.json() as { data: Array<{ id: string; object: string }> };
  assert.deepEqual(models.data.map((m) => [m.id, m.object]), [['tiny-qwen2', 'model']]);
  const tok = await post('/tokenize', { prompt: '3', add_special_tokens: false });
  assert.deepEqual(tok.json.tokens, [lm.tokenizer.singleTokenId('3')]);
});

let local: Map<string, Row>;

test('smft rate --api against smft serve gives the in-process ratings (smft rate --backend onnx) within 1e-4, all 11 dimensions', async () => {
  const localCsv = join(tmp, 'local.csv');
  const apiCsv = join(tmp, 'api.csv');
  const r1 = await runCli(['rate', '--model', fixture('tiny-qwen2'), '--backend', 'onnx', '--eval-set', wordsFile, '-o', localCsv], { timeoutMs: 120_000 });
  assert.equal(r1.code, 0, r1.stderr);
  const r2 = await runCli(['rate', '--api', `${base}/v1`, '--api-model', 'tiny-qwen2', '--api-key-env', 'SMFT_TEST_KEY', '--eval-set', wordsFile, '-o', apiCsv],
    { env: { SMFT_TEST_KEY: KEY, SMFT_LOG_LEVEL: 'info' }, timeoutMs: 120_000 });
  assert.equal(r2.code, 0, r2.stderr);
  assert.match(r2.stderr, /"digitIds":\[48,49,50,51,52,53\],"source":"tokenize"/);
  local = byKey(readRows(localCsv));
  const api = readRows(apiCsv);
  assert.equal(api.length, 5 * 11);
  assert.equal(new Set(api.map((r) => r.dimension)).size, 11);
  for (const r of api) {
    const l = local.get(`${r.word}|${r.dimension}`)!;
    assert.ok(Math.abs(Number(r.rating) - Number(l.rating)) < 1e-4, `${r.word} ${r.dimension}: ${r.rating} vs ${l.rating}`);
    assert.equal(r.argmax, l.argmax);
  }
});

test('without logit_bias: ratings renormalise over the digits among the top 20 logprobs; answers without digits are counted and left empty', async () => {
  const out = join(tmp, 'nobias.csv');
  const r = await runCli(['rate', '--api', `${base}/v1`, '--api-key-env', 'SMFT_TEST_KEY', '--no-logit-bias', '--eval-set', wordsFile, '-o', out],
    { env: { SMFT_TEST_KEY: KEY, SMFT_LOG_LEVEL: 'info' }, timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.stderr);
  // Reference: the top 20 of the full distribution, computed here.
  const builder = new PromptBuilder(lm.tokenizer, { lang: 'en' });
  const digits = digitTokenIds(lm.tokenizer);
  let lacked = 0, partial = 0;
  const rows = byKey(readRows(out));
  for (const t of loadTemplates(undefined, 'en').values()) {
    for (const w of words) {
      const logp = biasedLogSoftmax(await lastLogits(engine, builder.ids(t, w)), new Map());
      const top = topK(logp, 20);
      const listed = top.filter((id) => digits.includes(id)).map((id) => ({ token: String(digits.indexOf(id)), logprob: logp[id] }));
      const { p, present } = digitProbabilities(listed);
      if (present === 0) lacked++; else if (present < 6) partial++;
      const got = rows.get(`${w}|${t.dimension}`)!;
      if (present === 0) assert.equal(got.rating, '', `${w} ${t.dimension}`);
      else assert.ok(Math.abs(Number(got.rating) - p.reduce((a, x, k) => a + k * x, 0)) < 1e-4, `${w} ${t.dimension}`);
    }
  }
  assert.ok(lacked > 0 && lacked < 55, `the tiny model leaves some answers without digits (${lacked})`);
  assert.match(r.stderr, new RegExp(`${lacked} of 55 answers lacked every digit 0–5 among the top logprobs \\(rating left empty\\); ${partial} had only some`));
  assert.match(r.stderr, /no logit_bias/);
});

test('chat completions: greedy tokens, logprobs and top_logprobs as computed in-process; logit_bias; bad requests in OpenAI\'s error shape', async () => {
  const messages = [{ role: 'user' as const, content: 'How strongly do you experience "thunder" by hearing?' }];
  const { status, json } = await post('/v1/chat/completions', { model: 'tiny-qwen2', messages, max_tokens: 3, temperature: 0, logprobs: true, top_logprobs: 5 });
  assert.equal(status, 200, JSON.stringify(json));
  const ids = lm.tokenizer.encode(lm.tokenizer.applyChatTemplate(messages), { addSpecialTokens: false });
  const content = json.choices[0].logprobs.content as Array<{ token: string; logprob: number; top_logprobs: Array<{ token: string; logprob: number }> }>;
  assert.equal(content.length, 3);
  const seq = [...ids];
  for (const step of content) {
    const logits = await lastLogits(engine, seq);
    const logp = biasedLogSoftmax(logits, new Map());
    const best = topK(logp, 5);
    assert.equal(step.token, lm.tokenizer.decode([best[0]]));
    assert.ok(Math.abs(step.logprob - logp[best[0]]) < 1e-4);
    assert.deepEqual(step.top_logprobs.map((t) => t.token), best.map((id) => lm.tokenizer.decode([id])));
    // Independent of the server's helper: log-softmax by hand.
    const z = Array.from(logits).reduce((a, x) => a + Math.exp(x), 0);
    assert.ok(Math.abs(step.top_logprobs[1].logprob - (logits[best[1]] - Math.log(z))) < 1e-4);
    seq.push(best[0]);
  }
  assert.equal(json.choices[0].finish_reason, 'length');
  assert.deepEqual(json.usage, { prompt_tokens: ids.length, completion_tokens: 3, total_tokens: ids.length + 3 });

  const five = lm.tokenizer.singleTokenId('5')!;
  const biased = await post('/v1/chat/completions', { messages, max_tokens: 1, logprobs: true, logit_bias: { [five]: 100 } });
  assert.equal(biased.json.choices[0].message.content, '5');
  assert.ok(biased.json.choices[0].logprobs.content[0].logprob > -1e-6);

  for (const [body, param] of [
    [{ messages, top_logprobs: 21, logprobs: true }, 'top_logprobs'],
    [{ messages, temperature: 0.7 }, 'temperature'],
    [{ messages, logit_bias: { 99999: 1 } }, 'logit_bias'],
    [{ messages: [] }, 'messages'],
  ] as const) {
    const bad = await post('/v1/chat/completions', body);
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.param, param);
    assert.equal(bad.json.error.type, 'invalid_request_error');
  }
  const wrong = await post('/v1/chat/completions', { model: 'gpt-4o', messages });
  assert.equal(wrong.status, 404);
  assert.equal(wrong.json.error.code, 'model_not_found');
});

test('/v1/completions (--api-completions): base-model prompts give the in-process ratings of raw prompts', async () => {
  const templates = loadTemplates(undefined, 'en');
  const client = new ApiClient({ baseUrl: `${base}/v1`, apiKey: KEY, retries: 0 });
  const digits = digitTokenIds(lm.tokenizer);
  const api = await rateWordsApi({ client, model: 'tiny-qwen2', route: 'completions', words: words.slice(0, 2), templates, lang: 'en', digitIds: digits, progress: false });
  const ref = await rateWords(engine, lm.tokenizer, { words: words.slice(0, 2), templates, lang: 'en', chat: 'never', progress: false });
  const refBy = new Map(ref.rows.map((r) => [`${r.word}|${r.dimension}`, r.rating]));
  assert.equal(api.rows.length, 22);
  for (const r of api.rows) assert.ok(Math.abs(r.rating - refBy.get(`${r.word}|${r.dimension}`)!) < 1e-4, `${r.word} ${r.dimension}`);
  assert.equal(api.stats.lackedDigits + api.stats.partialDigits, 0);
});

test('hidden states per layer (POST /v1/smft/hidden_states) equal the engine\'s', async () => {
  const { status, json } = await post('/v1/smft/hidden_states', { input: ['thunder and lightning', 'velvet'], pooling: 'last' });
  assert.equal(status, 200, JSON.stringify(json));
  assert.equal(json.num_layers, lm.config.numLayers + 1);
  const ids = lm.tokenizer.encode('thunder and lightning');
  const hidden = await engine.hiddenStates([ids], [ids.map(() => 1)]);
  const h = lm.config.hiddenSize;
  for (let l = 0; l <= lm.config.numLayers; l++) {
    const want = hidden[l].subarray((ids.length - 1) * h, ids.length * h);
    const got = json.data[0].hidden_states[l] as number[];
    assert.equal(got.length, h);
    assert.ok(got.every((x, k) => Math.abs(x - want[k]) < 1e-4), `layer ${l}`);
  }
  assert.equal(json.data[1].tokens, lm.tokenizer.encode('velvet').length);
});

test('concurrent requests share forward passes, with the logits of single requests', async () => {
  let calls = 0;
  const counting: LmEngine = { config: engine.config, runtime: engine.runtime, prefill: (ids) => engine.prefill(ids), hiddenStates: (a, b) => engine.hiddenStates(a, b), selectedLogits: (req, p) => { calls++; return engine.selectedLogits(req, p); } };
  const queue = new ForwardQueue(counting, { padId: 0, maxBatch: 16, windowMs: 5 });
  const seqs = words.map((w, i) => lm.tokenizer.encode(`${'the '.repeat(i)}${w}`));
  const batched = await Promise.all(seqs.map((s) => queue.nextLogits(s)));
  assert.equal(calls, 1);
  assert.equal(queue.stats.largestBatch, seqs.length);
  for (let i = 0; i < seqs.length; i++) {
    const single = await lastLogits(engine, seqs[i]);
    assert.ok(batched[i].every((x, k) => Math.abs(x - single[k]) < 1e-4), `sequence ${i}`);
  }
});

test('export --format openai-batch → outputs from smft serve → smft evaluate, by custom_id in any order', async () => {
  const requests = join(tmp, 'requests.jsonl');
  const e = await runCli(['export', '--format', 'openai-batch', '--lang', 'en', '--eval-set', 'paper', '--limit', '5', '--lowercase', '--model', 'tiny-qwen2',
    '--top-logprobs', '20', '--max-tokens', '1', '--digit-token-ids', '48,49,50,51,52,53', '-o', requests], { timeoutMs: 60_000 });
  assert.equal(e.code, 0, e.stderr);
  const lines = readFileSync(requests, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { custom_id: string; method: string; url: string; body: Record<string, unknown> });
  assert.equal(lines.length, 55);
  // What a batch run returns: one output line per request, in its own order.
  const outputs: string[] = [];
  for (const [i, req] of lines.entries()) {
    assert.equal(req.url, '/v1/chat/completions');
    const { status, json } = await post(req.url, req.body);
    assert.equal(status, 200);
    outputs.push(JSON.stringify({ id: `batch_req_${i}`, custom_id: req.custom_id, response: { status_code: status, request_id: `req_${i}`, body: json }, error: null }));
  }
  outputs.reverse();
  const outFile = join(tmp, 'tiny_output.jsonl');
  writeFileSync(outFile, outputs.join('\n') + '\n');
  const results = join(tmp, 'results');
  const ev = await runCli(['evaluate', '-p', outFile, '--batch-input', requests, '--bootstrap', '0', '-o', results], { timeoutMs: 120_000 });
  assert.equal(ev.code, 0, ev.stderr);
  const json = JSON.parse(readFileSync(join(results, 'results.json'), 'utf8')) as { models: string[]; n_words: number };
  assert.deepEqual(json.models.sort(), ['tiny', 'tiny_expected']);
  assert.equal(json.n_words, 5);
  const long = Papa.parse<{ word: string; dimension: string; source: string; rating: string }>(readFileSync(join(results, 'ratings.csv'), 'utf8'), { header: true, skipEmptyLines: true }).data;
  let n = 0;
  for (const r of long.filter((x) => x.source.startsWith('tiny'))) {
    const l = local.get(`${r.word.toLowerCase()}|${r.dimension}`)!;
    if (r.source === 'tiny_expected') assert.ok(Math.abs(Number(r.rating) - Number(l.rating)) < 1e-4, `${r.word} ${r.dimension}`);
    else assert.equal(Number(r.rating), Number(l.argmax), `${r.word} ${r.dimension}: the greedy answer is the most probable digit`);
    n++;
  }
  assert.equal(n, 2 * 55);
  assert.equal(existsSync(join(results, 'rsa.csv')), true);
});
