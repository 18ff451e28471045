/**
 * Token ids of the rating digits "0"…"5" behind an API, for an equal `logit_bias` on them: with
 * the same bias on all six their ratios stay as they were, and all six come out among the top
 * logprobs (where the server applies the bias before computing logprobs, as OpenAI and smft
 * serve do; vLLM does so with `--logprobs-mode processed_logprobs`).
 */
import { log } from '../util/log.js';
import type { ApiClient } from './client.js';

/**
 * "0"…"5" are tokens 15–20 in OpenAI's o200k_base (gpt-4o, gpt-4.1, o-series, gpt-5) and
 * cl100k_base (gpt-4, gpt-3.5-turbo) encodings alike: both begin with the 94 printable one-byte
 * tokens in byte order ("!" = 0, …, "0" = 15). Checked against the rank files of js-tiktoken
 * 1.0.21 (ranks/o200k_base.js, ranks/cl100k_base.js).
 */
export const OPENAI_DIGIT_IDS: readonly number[] = [15, 16, 17, 18, 19, 20];

/** Model names that use o200k_base or cl100k_base (fine-tuned ones included: `ft:gpt-4o-mini-…`). */
const OPENAI_MODEL = /^(ft:)?(gpt-(3\.5|4|5)|o[1-9]|chatgpt-|davinci-002|babbage-002)/i;

/** The bias on each digit token: OpenAI's maximum; equal on all six, so their ratios are kept. */
export const DIGIT_BIAS = 100;

/** The request field `logit_bias` with DIGIT_BIAS on each digit token. */
export function digitLogitBias(ids: readonly number[]): Record<string, number> {
  return Object.fromEntries(ids.map((id) => [String(id), DIGIT_BIAS]));
}

export interface DigitIds {
  ids: number[];
  /** 'openai' (known encodings), 'tokenize' (the server's /tokenize) or 'given'. */
  source: 'openai' | 'tokenize' | 'given';
}

/**
 * The digit ids of `model` behind `client`: OpenAI's fixed ids for OpenAI models (or any model on
 * api.openai.com), else the server's `/tokenize` (vLLM's shape `{ model, prompt,
 * add_special_tokens }` → `{ tokens }`, which smft serve also answers; llama.cpp's `{ content,
 * add_special }` in the same body). Null when neither gives six single tokens.
 */
export async function findDigitIds(client: ApiClient, model: string): Promise<DigitIds | null> {
  if (new URL(client.baseUrl).hostname === 'api.openai.com' || OPENAI_MODEL.test(model)) return { ids: [...OPENAI_DIGIT_IDS], source: 'openai' };
  const ids: number[] = [];
  try {
    for (const d of ['0', '1', '2', '3', '4', '5']) {
      const r = await client.post<{ tokens?: unknown }>(`${client.rootUrl}/tokenize`, { model, prompt: d, add_special_tokens: false, content: d, add_special: false }, { retry: false });
      const t = r?.tokens;
      if (!Array.isArray(t) || t.length !== 1 || !Number.isInteger(t[0])) {
        log.info({ digit: d, tokens: t }, 'the server does not tokenize each digit as one token id; no logit_bias');
        return null;
      }
      ids.push(t[0] as number);
    }
  } catch (e) {
    log.info({ reason: (e as Error).message }, 'no /tokenize on the server; digit token ids unknown');
    return null;
  }
  return { ids, source: 'tokenize' };
}
