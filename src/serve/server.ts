/**
 * smft serve: an OpenAI-compatible HTTP server over smft's own engine (any LmEngine: ONNX
 * Runtime on the CPU or WebGPU, or TF.js), what a lab runs on its GPU box for colleagues.
 *
 * - GET  /v1/models, GET /health
 * - POST /v1/chat/completions, POST /v1/completions: greedy decoding, `logprobs`,
 *   `top_logprobs` (≤ 20), `logit_bias`, `max_tokens` (≥ 1), `stop`; concurrent requests share
 *   forward passes (queue.ts)
 * - POST /tokenize, /detokenize: vLLM's shapes (so `smft rate --api` finds the digit token ids)
 * - POST /v1/smft/hidden_states: an extension, every layer's hidden state of each input
 *   (last token or mean over the tokens)
 *
 * Errors are OpenAI's error JSON; with a key, every route but /health needs `Authorization:
 * Bearer <key>`.
 */
import { createServer, type IncomingMessage } from 'node:http';
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { log } from '../util/log.js';
import type { LmEngine } from '../lm/engine.js';
import type { LmTokenizer } from '../lm/tokenizer.js';
import { ForwardQueue } from './queue.js';
import { greedyDecode, type Decoded, type TokenChoice } from './decode.js';
import { ApiError, chatLogprobs, chatMessages, completionLogprobs, completionPrompts, samplingFields, type Json } from './requests.js';

export interface ServeOptions {
  engine: LmEngine;
  tokenizer: LmTokenizer;
  /** The model id clients name (GET /v1/models). */
  modelName: string;
  /** Default 127.0.0.1 (loopback only). */
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Bearer key every request must carry (none: open). */
  apiKey?: string;
  /** Sequences per forward pass (default 16). */
  maxBatch?: number;
  /** How long a batch waits for more requests (default 5 ms). */
  batchWindowMs?: number;
}

export interface RunningServer {
  url: string;
  host: string;
  port: number;
  queue: ForwardQueue;
  close(): Promise<void>;
}

const MAX_BODY = 8 * 2 ** 20;

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const { engine, tokenizer, modelName } = opts;
  const queue = new ForwardQueue(engine, {
    maxBatch: opts.maxBatch,
    windowMs: opts.batchWindowMs,
    padId: tokenizer.padTokenId < engine.config.vocabSize ? tokenizer.padTokenId : 0,
  });
  const created = Math.floor(Date.now() / 1000);
  const keyHash = opts.apiKey ? sha(opts.apiKey) : null;
  const vocab = engine.config.vocabSize;
  const maxLen = engine.config.maxPositionEmbeddings;

  const checkModel = (body: Json): void => {
    if (body.model !== undefined && body.model !== modelName) throw new ApiError(404, `The model '${String(body.model)}' does not exist (this server serves '${modelName}').`, 'model', 'model_not_found');
  };
  const checkLength = (prompt: number[], maxTokens: number): void => {
    if (prompt.length + maxTokens > maxLen) throw new ApiError(400, `This model's maximum context length is ${maxLen} tokens; the prompt has ${prompt.length} and max_tokens is ${maxTokens}.`, 'max_tokens', 'context_length_exceeded');
  };
  const usage = (prompt: number, completion: number) => ({ prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion });
  const choice = (t: TokenChoice) => ({ token: t.text, logprob: t.logprob, bytes: [...Buffer.from(t.text, 'utf8')] });

  const routes: Record<string, (body: Json) => Promise<unknown>> = {
    'GET /v1/models': async () => ({ object: 'list', data: [{ id: modelName, object: 'model', created, owned_by: 'smft', max_model_len: maxLen }] }),

    'POST /v1/chat/completions': async (body) => {
      checkModel(body);
      const messages = chatMessages(body);
      if (!tokenizer.hasChatTemplate) throw new ApiError(400, 'this model has no chat template; use /v1/completions', 'messages');
      const sampling = samplingFields(body, vocab, ['max_tokens', 'max_completion_tokens']);
      const { logprobs, top } = chatLogprobs(body);
      const prompt = tokenizer.encode(tokenizer.applyChatTemplate(messages), { addSpecialTokens: false });
      checkLength(prompt, sampling.maxTokens);
      const d = await greedyDecode(queue, tokenizer, prompt, { ...sampling, topLogprobs: top, eosIds: engine.config.eosTokenIds });
      return {
        id: `chatcmpl-${randomUUID().replace(/-/g, '')}`, object: 'chat.completion', created: Math.floor(Date.now() / 1000), model: modelName,
        choices: [{
          index: 0,
          message: { role: 'assistant', content: d.text },
          logprobs: logprobs ? { content: d.tokens.map((t) => ({ ...choice(t), top_logprobs: t.top.map(choice) })) } : null,
          finish_reason: d.finishReason,
        }],
        usage: usage(prompt.length, d.tokens.length),
      };
    },

    'POST /v1/completions': async (body) => {
      checkModel(body);
      const prompts = completionPrompts(body, vocab).map((p) => (typeof p === 'string' ? tokenizer.encode(p) : p));
      const sampling = samplingFields(body, vocab, ['max_tokens']);
      const lp = completionLogprobs(body);
      for (const p of prompts) checkLength(p, sampling.maxTokens);
      const done = await Promise.all(prompts.map((p) => greedyDecode(queue, tokenizer, p, { ...sampling, topLogprobs: lp ?? 0, eosIds: engine.config.eosTokenIds })));
      return {
        id: `cmpl-${randomUUID().replace(/-/g, '')}`, object: 'text_completion', created: Math.floor(Date.now() / 1000), model: modelName,
        choices: done.map((d, index) => ({ index, text: d.text, logprobs: lp === null ? null : legacyLogprobs(d), finish_reason: d.finishReason })),
        usage: usage(prompts.reduce((a, p) => a + p.length, 0), done.reduce((a, d) => a + d.tokens.length, 0)),
      };
    },

    'POST /tokenize': async (body) => {
      checkModel(body);
      let ids: number[];
      if (body.messages !== undefined) {
        const text = tokenizer.applyChatTemplate(chatMessages(body), { addGenerationPrompt: body.add_generation_prompt !== false });
        ids = tokenizer.encode(text, { addSpecialTokens: body.add_special_tokens === true });
      } else {
        const text = body.prompt ?? body.content;
        if (typeof text !== 'string') throw new ApiError(400, 'give prompt (a string) or messages', 'prompt');
        ids = tokenizer.encode(text, { addSpecialTokens: body.add_special_tokens !== false && body.add_special !== false });
      }
      return { count: ids.length, max_model_len: maxLen, tokens: ids, token_strs: null };
    },

    'POST /detokenize': async (body) => {
      checkModel(body);
      const t = body.tokens;
      if (!Array.isArray(t) || t.some((x) => !Number.isInteger(x) || x < 0 || x >= vocab)) throw new ApiError(400, `tokens must be a list of token ids (0…${vocab - 1})`, 'tokens');
      return { prompt: tokenizer.decode(t as number[]) };
    },

    'POST /v1/smft/hidden_states': async (body) => {
      checkModel(body);
      const input = typeof body.input === 'string' ? [body.input] : body.input;
      if (!Array.isArray(input) || input.length === 0 || input.some((x) => typeof x !== 'string' || x === '')) throw new ApiError(400, 'input must be a non-empty string or a list of them', 'input');
      const pooling = body.pooling ?? 'last';
      if (pooling !== 'last' && pooling !== 'mean') throw new ApiError(400, "pooling must be 'last' or 'mean'", 'pooling');
      const seqs = (input as string[]).map((s) => tokenizer.encode(s, { addSpecialTokens: body.add_special_tokens !== false }));
      for (const s of seqs) checkLength(s, 0);
      const layers = await queue.exclusive((e) => hiddenStates(e, seqs, queue));
      const h = engine.config.hiddenSize;
      const t = Math.max(...seqs.map((s) => s.length));
      return {
        object: 'list', model: modelName, num_layers: layers.length, hidden_size: h, pooling,
        data: seqs.map((s, i) => ({
          object: 'hidden_states', index: i, tokens: s.length,
          hidden_states: layers.map((l) => pool(l, i, t, s.length, h, pooling)),
        })),
        usage: usage(seqs.reduce((a, s) => a + s.length, 0), 0),
      };
    },
  };

  const server = createServer((req, res) => {
    const t0 = Date.now();
    const path = (req.url ?? '/').split('?')[0].replace(/\/+$/, '') || '/';
    const answer = (status: number, payload: unknown): void => {
      const text = JSON.stringify(payload);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
      log.debug({ method: req.method, path, status, ms: Date.now() - t0 }, 'request');
    };
    void (async () => {
      try {
        if (req.method === 'GET' && path === '/health') return answer(200, {});
        if (keyHash && !authorised(req, keyHash)) throw new ApiError(401, 'Incorrect API key provided.', null, 'invalid_api_key');
        const route = routes[`${req.method} ${path}`];
        if (!route) throw new ApiError(Object.keys(routes).some((r) => r.endsWith(` ${path}`)) ? 405 : 404, `no route ${req.method} ${path}`, null, 'not_found');
        const body = req.method === 'POST' ? await readJson(req) : {};
        answer(200, await route(body));
      } catch (e) {
        const err = e instanceof ApiError ? e : new ApiError(500, (e as Error).message ?? String(e));
        if (err.status >= 500) log.error({ err: e, path }, 'request failed');
        answer(err.status, err.toJSON());
      }
    })();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  const addr = server.address() as AddressInfo;
  const hostText = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${hostText}:${addr.port}`,
    host: addr.address,
    port: addr.port,
    queue,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

/** The legacy completions logprobs object: tokens, their logprobs, the top alternatives as {token: logprob}, text offsets. */
function legacyLogprobs(d: Decoded) {
  const offsets: number[] = [];
  let at = 0;
  for (const t of d.tokens) { offsets.push(at); at += t.text.length; }
  return {
    tokens: d.tokens.map((t) => t.text),
    token_logprobs: d.tokens.map((t) => t.logprob),
    top_logprobs: d.tokens.map((t) => Object.fromEntries(t.top.map((c) => [c.text, c.logprob]))),
    text_offset: offsets,
  };
}

/** Every layer's hidden states of right-padded sequences: numLayers + 1 arrays [B·T, hidden]. */
function hiddenStates(engine: LmEngine, seqs: number[][], queue: ForwardQueue): Promise<Float32Array[]> {
  const t = Math.max(...seqs.map((s) => s.length));
  const pad = queue.padId;
  return engine.hiddenStates(
    seqs.map((s) => [...s, ...new Array<number>(t - s.length).fill(pad)]),
    seqs.map((s) => Array.from({ length: t }, (_, j) => (j < s.length ? 1 : 0))),
  );
}

/** Row i's last-token state or mean over its n tokens, from a [B·T, hidden] layer. */
function pool(layer: Float32Array, i: number, t: number, n: number, h: number, how: 'last' | 'mean'): number[] {
  if (how === 'last') return Array.from(layer.subarray((i * t + n - 1) * h, (i * t + n) * h));
  const out = new Array<number>(h).fill(0);
  for (let j = 0; j < n; j++) for (let k = 0; k < h; k++) out[k] += layer[(i * t + j) * h + k] / n;
  return out;
}

const sha = (s: string): Buffer => createHash('sha256').update(s).digest();

function authorised(req: IncomingMessage, keyHash: Buffer): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
  return m !== null && timingSafeEqual(sha(m[1].trim()), keyHash);
}

function readJson(req: IncomingMessage): Promise<Json> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) { reject(new ApiError(413, `request body over ${MAX_BODY >> 20} MiB`)); req.destroy(); return; }
      chunks.push(c);
    });
    req.on('error', reject);
    req.on('end', () => {
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null');
      } catch (e) {
        return reject(new ApiError(400, `the request body is not valid JSON (${(e as Error).message})`));
      }
      if (body === null || typeof body !== 'object' || Array.isArray(body)) return reject(new ApiError(400, 'the request body must be a JSON object'));
      resolve(body as Json);
    });
  });
}
