/**
 * `smft rate --api` against loopback servers that misbehave: 429 with Retry-After then 500 then
 * success; a server that stops answering (timeout, then resume); an unreachable URL, a non-JSON
 * answer, a 401 — each one clear line and nothing written.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Papa from 'papaparse';
import { runCli } from '../cli/helpers.js';
import { expectedRating } from '../../src/data/predictions.js';
import { fillTemplate, loadTemplates } from '../../src/lm/prompts.js';
import type { Dimension } from '../../src/data/dimensions.js';

let tmp: string;
let words: string;
before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'smft-api-faults-'));
  words = join(tmp, 'words.txt');
  writeFileSync(words, 'thunder\nvelvet\n');
});
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Deterministic top logprobs of the digits for a prompt (what the fake model answers). */
function digitLogprobs(content: string): Array<{ token: string; logprob: number }> {
  let h = 0;
  for (const c of content) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return [0, 1, 2, 3, 4, 5].map((k) => ({ token: String(k), logprob: -(((h >> (3 * k)) & 7) + 0.25 * k) }));
}

const answer = (content: string): unknown => {
  const top = digitLogprobs(content);
  return { id: 'chatcmpl-fake', object: 'chat.completion', created: 0, model: 'fake', choices: [{ index: 0, message: { role: 'assistant', content: top[0].token }, logprobs: { content: [{ ...top[0], top_logprobs: top }] }, finish_reason: 'length' }] };
};

interface Fake { url: string; close(): Promise<void> }

/** A loopback server; `chat` handles POST /v1/chat/completions (the user message's text given), everything else is a 404. */
async function fake(chat: (content: string, res: ServerResponse, req: IncomingMessage) => void): Promise<Fake> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/chat/completions') return chat((JSON.parse(body) as { messages: Array<{ content: string }> }).messages.at(-1)!.content, res, req);
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'not found' } }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    close: () => new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); }),
  };
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
};

type Row = { word: string; dimension: string; rating: string };
const rows = (file: string): Row[] => Papa.parse<Row>(readFileSync(file, 'utf8'), { header: true, skipEmptyLines: true }).data;

function assertRatings(file: string, n: number): void {
  const r = rows(file);
  assert.equal(r.length, n);
  assert.equal(new Set(r.map((x) => `${x.word}|${x.dimension}`)).size, n, 'no duplicate rows');
}

const rate = (url: string, out: string, ...extra: string[]) => runCli(['rate', '--api', url, '--api-model', 'fake', '--eval-set', words, '-o', out, ...extra], { timeoutMs: 90_000 });

test('429 with Retry-After, then 500, then success: every rating once, Retry-After waited for, the retries logged', async () => {
  const attempts = new Map<string, number[]>();
  const flaky = new Set<string>();
  const server = await fake((content, res) => {
    let times = attempts.get(content);
    if (!times) {
      attempts.set(content, (times = []));
      if (flaky.size < 3) flaky.add(content);
    }
    times.push(Date.now());
    if (flaky.has(content) && times.length === 1) return json(res, 429, { error: { message: 'Rate limit reached', type: 'requests' } }, { 'retry-after': '0.3' });
    if (flaky.has(content) && times.length === 2) return json(res, 500, { error: { message: 'The server had an error', type: 'server_error' } });
    json(res, 200, answer(content));
  });
  try {
    const out = join(tmp, 'flaky.csv');
    const r = await runCli(['rate', '--api', server.url, '--api-model', 'fake', '--eval-set', words, '-o', out, '--retries', '3', '--concurrency', '4'], { env: { SMFT_LOG_LEVEL: 'info' }, timeoutMs: 90_000 });
    assert.equal(r.code, 0, r.stderr);
    assertRatings(out, 22);
    for (const c of flaky) {
      const t = attempts.get(c)!;
      assert.equal(t.length, 3);
      assert.ok(t[1] - t[0] >= 280, `Retry-After 0.3 s waited for (${t[1] - t[0]} ms)`);
    }
    assert.equal([...attempts.values()].filter((t) => t.length > 1).length, 3);
    assert.match(r.stderr, /rated 22 prompts through the API; 6 retries/);
    // The ratings are the fake model's, for the prompts smft rate builds.
    const templates = loadTemplates(undefined, 'en');
    for (const row of rows(out)) {
      const want = expectedRating(digitLogprobs(fillTemplate(templates.get(row.dimension as Dimension)!, row.word)));
      assert.ok(Math.abs(Number(row.rating) - want) < 1e-6, `${row.word} ${row.dimension}: ${row.rating} vs ${want}`);
    }
  } finally {
    await server.close();
  }
});

test('a server that stops answering: one error line after the timeout, the ratings so far kept, and the same command resumes', async () => {
  let answered = 0;
  let healthy = false;
  let requests = 0;
  const server = await fake((content, res) => {
    requests++;
    if (healthy || answered < 5) { answered++; return json(res, 200, answer(content)); }
    // never answers
  });
  try {
    const out = join(tmp, 'hang.csv');
    const r = await rate(server.url, out, '--timeout', '1', '--retries', '0', '--concurrency', '1');
    assert.equal(r.code, 2);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^smft: error: http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions: no answer within 1 s \(--timeout\); 5 of 22 ratings written; run the same command again to resume$/);
    assertRatings(out, 5);
    healthy = true;
    requests = 0;
    const again = await rate(server.url, out, '--timeout', '1', '--retries', '0', '--concurrency', '1');
    assert.equal(again.code, 0, again.stderr);
    assert.equal(requests, 17, 'only the missing ratings are asked for');
    assertRatings(out, 22);
  } finally {
    await server.close();
  }
});

test('bad input: an unreachable URL, a non-JSON answer, a 401 — one clear line each, no output file', async () => {
  // A port that was just free: nothing listens there.
  const gone = await fake(() => undefined);
  await gone.close();
  const html = await fake((_c, res) => { res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Welcome to nginx!</body></html>'); });
  const denied = await fake((_c, res) => json(res, 401, { error: { message: 'Incorrect API key provided: sk-wrong.', type: 'invalid_request_error', code: 'invalid_api_key' } }));
  try {
    const cases: Array<[string, RegExp]> = [
      [gone.url, /^smft: error: http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions: connection refused \(is the server running, on this port\?\)/],
      [html.url, /^smft: error: http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions: the answer is not JSON \(content-type text\/html, starts with "<html><body>Welcome to nginx!/],
      [denied.url, /^smft: error: http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions: HTTP 401 Unauthorized: Incorrect API key provided: sk-wrong\. \(check the key: --api-key-env/],
    ];
    for (const [i, [url, want]] of cases.entries()) {
      const out = join(tmp, `bad-${i}.csv`);
      const r = await rate(url, out);
      assert.equal(r.code, 2, r.stderr);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], want);
      assert.equal(existsSync(out), false, 'nothing written');
    }
  } finally {
    await html.close();
    await denied.close();
  }
});
