/**
 * The request fields of OpenAI's chat completions and (legacy) completions that smft serve
 * honours, checked one by one; anything it cannot do as asked (sampling, streaming, n > 1,
 * echo) is a 400 in OpenAI's error shape rather than a silently different answer.
 */
import type { ChatMessage } from '../lm/tokenizer.js';

/** An error answered as `{ error: { message, type, param, code } }` with an HTTP status. */
export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly param: string | null = null, readonly code: string | null = null) {
    super(message);
  }

  get type(): string {
    return this.status === 401 ? 'authentication_error' : this.status === 404 ? 'not_found_error' : this.status >= 500 ? 'server_error' : 'invalid_request_error';
  }

  toJSON(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** Largest top_logprobs / logprobs accepted (OpenAI's and vLLM's default limit). */
export const MAX_TOP_LOGPROBS = 20;
/** max_tokens when a request gives none. */
export const DEFAULT_MAX_TOKENS = 16;

export type Json = Record<string, unknown>;

const bad = (param: string, message: string): ApiError => new ApiError(400, message, param);

/** The fields that decide how tokens are chosen and reported, common to both endpoints. */
export interface SamplingFields {
  maxTokens: number;
  logitBias: Map<number, number>;
  stop: string[];
}

export function samplingFields(body: Json, vocabSize: number, maxTokensParam: string[]): SamplingFields {
  if (body.stream === true) throw bad('stream', 'streaming is not supported by smft serve; leave stream out or false');
  if (body.n !== undefined && body.n !== null && body.n !== 1) throw bad('n', 'only n = 1 is supported');
  const temperature = body.temperature;
  if (temperature !== undefined && temperature !== null && (typeof temperature !== 'number' || temperature < 0)) throw bad('temperature', 'temperature must be a number ≥ 0');
  if (typeof temperature === 'number' && temperature > 0) throw bad('temperature', 'smft serve decodes greedily: use temperature 0 (or leave it out)');
  for (const p of ['presence_penalty', 'frequency_penalty']) {
    const v = body[p];
    if (v !== undefined && v !== null && v !== 0) throw bad(p, `${p} is not supported (greedy decoding only)`);
  }
  let maxTokens = DEFAULT_MAX_TOKENS;
  for (const p of maxTokensParam) {
    const v = body[p];
    if (v === undefined || v === null) continue;
    if (!Number.isInteger(v) || (v as number) < 1) throw bad(p, `${p} must be an integer ≥ 1`);
    maxTokens = v as number;
  }
  const logitBias = new Map<number, number>();
  if (body.logit_bias !== undefined && body.logit_bias !== null) {
    if (typeof body.logit_bias !== 'object' || Array.isArray(body.logit_bias)) throw bad('logit_bias', 'logit_bias must map token ids to numbers');
    for (const [k, v] of Object.entries(body.logit_bias as Json)) {
      const id = Number(k);
      if (!/^\d+$/.test(k) || id >= vocabSize) throw bad('logit_bias', `logit_bias key '${k}' is not a token id of this model (0…${vocabSize - 1})`);
      if (typeof v !== 'number' || v < -100 || v > 100) throw bad('logit_bias', `logit_bias of token ${k} must be a number in [-100, 100]`);
      logitBias.set(id, v);
    }
  }
  const s = body.stop;
  const stop = s === undefined || s === null ? [] : typeof s === 'string' ? [s] : s;
  if (!Array.isArray(stop) || stop.length > 4 || stop.some((x) => typeof x !== 'string' || x === '')) throw bad('stop', 'stop must be a non-empty string or up to 4 of them');
  return { maxTokens, logitBias, stop: stop as string[] };
}

/** Chat: `logprobs` (boolean) and `top_logprobs` (0–20, only with logprobs). */
export function chatLogprobs(body: Json): { logprobs: boolean; top: number } {
  const lp = body.logprobs ?? false;
  if (typeof lp !== 'boolean') throw bad('logprobs', 'logprobs must be true or false');
  const top = body.top_logprobs ?? 0;
  if (!Number.isInteger(top) || (top as number) < 0 || (top as number) > MAX_TOP_LOGPROBS) throw bad('top_logprobs', `top_logprobs must be an integer from 0 to ${MAX_TOP_LOGPROBS}`);
  if ((top as number) > 0 && !lp) throw bad('top_logprobs', 'top_logprobs needs logprobs: true');
  return { logprobs: lp, top: top as number };
}

/** Completions: `logprobs` is the number of alternatives (0–20) or null for none. */
export function completionLogprobs(body: Json): number | null {
  const lp = body.logprobs;
  if (lp === undefined || lp === null || lp === false) return null;
  if (!Number.isInteger(lp) || (lp as number) < 0 || (lp as number) > MAX_TOP_LOGPROBS) throw bad('logprobs', `logprobs must be an integer from 0 to ${MAX_TOP_LOGPROBS}`);
  return lp as number;
}

/** The chat messages (string content or text parts; 'developer' is the system role). */
export function chatMessages(body: Json): ChatMessage[] {
  const m = body.messages;
  if (!Array.isArray(m) || m.length === 0) throw bad('messages', 'messages must be a non-empty array');
  return m.map((msg: unknown, i) => {
    const { role, content } = (msg ?? {}) as { role?: unknown; content?: unknown };
    const r = role === 'developer' ? 'system' : role;
    if (r !== 'system' && r !== 'user' && r !== 'assistant') throw bad(`messages[${i}].role`, `messages[${i}].role must be system, developer, user or assistant`);
    let text: string;
    if (typeof content === 'string') text = content;
    else if (Array.isArray(content) && content.every((p) => p?.type === 'text' && typeof p.text === 'string')) text = content.map((p) => p.text as string).join('');
    else throw bad(`messages[${i}].content`, `messages[${i}].content must be a string or text parts`);
    return { role: r, content: text };
  });
}

/** Completions: one prompt or several (text, or token ids). */
export function completionPrompts(body: Json, vocabSize: number): Array<string | number[]> {
  const p = body.prompt;
  if (body.suffix !== undefined && body.suffix !== null) throw bad('suffix', 'suffix is not supported');
  if (body.echo === true) throw bad('echo', 'echo is not supported');
  const isIds = (x: unknown): x is number[] => Array.isArray(x) && x.length > 0 && x.every((t) => Number.isInteger(t) && t >= 0 && t < vocabSize);
  if (typeof p === 'string') return [p];
  if (isIds(p)) return [p];
  if (Array.isArray(p) && p.length > 0 && p.every((x) => typeof x === 'string' || isIds(x))) return p as Array<string | number[]>;
  throw bad('prompt', 'prompt must be a string, a list of strings, or token ids (a list, or a list of lists)');
}
