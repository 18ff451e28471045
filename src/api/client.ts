/**
 * A small client for OpenAI-compatible HTTP APIs (OpenAI, vLLM, llama.cpp's server, Ollama, TGI,
 * smft serve): JSON requests with a bearer key, a timeout per try, and retries with exponential
 * backoff on what the OpenAI Python client retries (connection errors, timeouts, 408, 409, 429,
 * 5xx), waiting as long as the server's `Retry-After` / `retry-after-ms` asks when it does.
 * Every failure that ends a request is one SmftError line naming the URL.
 */
import { SmftError } from '../util/errors.js';
import { log } from '../util/log.js';

export interface ApiClientOptions {
  /** The API base as the OpenAI client's `base_url` takes it, e.g. http://127.0.0.1:8000/v1. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <key>` when given. */
  apiKey?: string;
  /** Time for one try, headers and body (default 60 s). */
  timeoutMs?: number;
  /** Retries after the first try (default 5). */
  retries?: number;
  /** First backoff (default 500 ms), doubled on each retry up to `maxBackoffMs` (default 8 s). */
  backoffMs?: number;
  maxBackoffMs?: number;
}

/** Statuses worth another try (as the OpenAI Python client). */
const RETRY_STATUS = new Set([408, 409, 429]);
/** A server's Retry-After longer than this is not waited for (the backoff is used instead). */
const MAX_RETRY_AFTER_MS = 60_000;

export class ApiClient {
  readonly baseUrl: string;
  /** Retries done so far, over all requests. */
  retryCount = 0;
  /** Whether any answer came back yet: connection errors before that are not retried (a wrong URL fails at once). */
  private reached = false;
  private readonly opts: Required<Omit<ApiClientOptions, 'apiKey'>> & { apiKey?: string };

  constructor(opts: ApiClientOptions) {
    let url: URL;
    try {
      url = new URL(opts.baseUrl);
    } catch {
      throw new SmftError(`not a URL: '${opts.baseUrl}' (give the API base, e.g. http://127.0.0.1:8000/v1)`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new SmftError(`not an http(s) URL: '${opts.baseUrl}'`);
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.opts = { timeoutMs: 60_000, retries: 5, backoffMs: 500, maxBackoffMs: 8_000, ...opts, baseUrl: this.baseUrl };
  }

  /** The server root: the base without a trailing /v1 (where vLLM serves /tokenize). */
  get rootUrl(): string {
    return this.baseUrl.replace(/\/v1$/, '');
  }

  /** POST JSON to `path` under the base (or an absolute URL); the parsed JSON answer. */
  post<T>(path: string, body: unknown, opts: { retry?: boolean } = {}): Promise<T> {
    return this.request<T>('POST', path, body, opts);
  }

  get<T>(path: string, opts: { retry?: boolean } = {}): Promise<T> {
    return this.request<T>('GET', path, undefined, opts);
  }

  private async request<T>(method: string, path: string, body: unknown, { retry = true }: { retry?: boolean }): Promise<T> {
    const url = /^https?:/.test(path) ? path : `${this.baseUrl}${path}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.opts.apiKey) headers.authorization = `Bearer ${this.opts.apiKey}`;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const retries = retry ? this.opts.retries : 0;
    for (let attempt = 0; ; attempt++) {
      let failure: Failure;
      let wait: number | undefined;
      try {
        const res = await fetch(url, { method, headers, body: payload, signal: AbortSignal.timeout(this.opts.timeoutMs) });
        this.reached = true;
        const text = await res.text();
        if (res.ok) return parseJson<T>(text, url, res.headers.get('content-type'));
        failure = httpFailure(res.status, res.statusText, text);
        if (!(RETRY_STATUS.has(res.status) || res.status >= 500)) throw new SmftError(failure.reason, url, failure.code);
        wait = retryAfterMs(res.headers);
      } catch (e) {
        if (e instanceof SmftError) throw e;
        failure = networkFailure(e, this.opts.timeoutMs);
        if (failure.code === 'network' && !this.reached) throw new SmftError(failure.reason, url, failure.code);
      }
      if (attempt >= retries) throw new SmftError(`${failure.reason}${attempt > 0 ? ` (after ${attempt + 1} tries)` : ''}`, url, failure.code);
      const backoff = Math.min(this.opts.backoffMs * 2 ** attempt, this.opts.maxBackoffMs) * (0.75 + 0.25 * Math.random());
      const delay = wait !== undefined && wait <= MAX_RETRY_AFTER_MS ? wait : backoff;
      this.retryCount++;
      log.warn({ url, attempt: attempt + 1, retries, delay_ms: Math.round(delay), reason: failure.reason }, 'request failed; retrying');
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/** Why one try failed, and a machine-readable code (`http-429`, `timeout`, `network`). */
interface Failure { reason: string; code: string }

function parseJson<T>(text: string, url: string, contentType: string | null): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    const start = text.trim().slice(0, 60).replace(/\s+/g, ' ');
    throw new SmftError(`the answer is not JSON (content-type ${contentType ?? 'none'}, starts with ${JSON.stringify(start)}); is this the API base (…/v1)?`, url, 'not-json');
  }
}

/** One line for an HTTP error, with the server's own message when it sent OpenAI's error JSON. */
function httpFailure(status: number, statusText: string, text: string): Failure {
  let detail = '';
  try {
    const j = JSON.parse(text) as { error?: { message?: string } | string; message?: string; detail?: unknown };
    const e = j.error;
    detail = typeof e === 'string' ? e : e?.message ?? j.message ?? (typeof j.detail === 'string' ? j.detail : '');
  } catch {
    detail = text.trim().slice(0, 120).replace(/\s+/g, ' ');
  }
  const hint = status === 401 || status === 403 ? ' (check the key: --api-key-env names the environment variable that holds it)' : status === 404 ? ' (check the URL and --api-model)' : '';
  return { reason: `HTTP ${status}${statusText ? ` ${statusText}` : ''}${detail ? `: ${detail}` : ''}${hint}`, code: `http-${status}` };
}

function networkFailure(e: unknown, timeoutMs: number): Failure {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return { reason: `no answer within ${timeoutMs / 1000} s (--timeout)`, code: 'timeout' };
  const code = err.cause?.code;
  const reason = code === 'ECONNREFUSED' ? 'connection refused (is the server running, on this port?)'
    : code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? 'host not found'
    : code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' ? 'the connection was closed by the server'
    : `cannot connect (${code ?? err.cause?.message ?? err.message})`;
  return { reason, code: 'network' };
}

/** Retry-After (seconds or an HTTP date) or OpenAI's retry-after-ms, in ms; undefined when absent. */
export function retryAfterMs(headers: Headers): number | undefined {
  const ms = Number(headers.get('retry-after-ms'));
  if (headers.get('retry-after-ms') !== null && Number.isFinite(ms) && ms >= 0) return ms;
  const v = headers.get('retry-after');
  if (v === null) return undefined;
  const s = Number(v);
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  const date = Date.parse(v);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}
