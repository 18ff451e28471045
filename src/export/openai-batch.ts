/**
 * OpenAI Batch API requests for rating words, one per word × dimension, in the paper's shape:
 * `POST /v1/chat/completions` with only a user message (the prompt file with the word filled
 * in), temperature 0, logprobs with the top 5 — as the raw outputs in the paper's
 * model_outputs/ show (model gpt-4o-mini-2024-07-18, no system message, no max_tokens: one base
 * answer ran to 11 tokens, the fine-tuned ones answer "2.0" in 3). The custom_id
 * `smft:<dimension>:<word>` lets `smft evaluate` read the outputs back (src/data/batch-ids.ts).
 */
import type { Dimension } from '../data/dimensions.js';
import { batchCustomId } from '../data/batch-ids.js';
import { fillTemplate, type PromptTemplate } from '../lm/prompts.js';
import { ratingMessages } from '../lm/rate.js';
import { digitLogitBias } from '../api/digits.js';

/** The model of the paper's batch runs (base; its fine-tuned models are `ft:gpt-4o-mini-2024-07-18:…`). */
export const PAPER_BATCH_MODEL = 'gpt-4o-mini-2024-07-18';
/** OpenAI's limit of requests in one batch. */
export const MAX_BATCH_REQUESTS = 50_000;

export interface BatchRequest {
  custom_id: string;
  method: 'POST';
  url: '/v1/chat/completions';
  body: Record<string, unknown>;
}

export interface BatchRequestOptions {
  words: string[];
  templates: Map<Dimension, PromptTemplate>;
  /** Default PAPER_BATCH_MODEL. */
  model?: string;
  /** Default 5 (the paper). */
  topLogprobs?: number;
  /** Omitted by default (the paper set none). */
  maxTokens?: number;
  /** Token ids of "0"…"5": an equal logit_bias on them (not in the paper's requests). */
  digitIds?: readonly number[];
}

/** One request per word × dimension, dimension by dimension in the templates' order. */
export function openaiBatchRequests(opts: BatchRequestOptions): BatchRequest[] {
  const out: BatchRequest[] = [];
  for (const template of opts.templates.values()) {
    for (const word of opts.words) {
      out.push({
        custom_id: batchCustomId(template.dimension, word),
        method: 'POST',
        url: '/v1/chat/completions',
        body: {
          model: opts.model ?? PAPER_BATCH_MODEL,
          messages: ratingMessages(fillTemplate(template, word)),
          temperature: 0,
          logprobs: true,
          top_logprobs: opts.topLogprobs ?? 5,
          ...(opts.maxTokens !== undefined ? { max_tokens: opts.maxTokens } : {}),
          ...(opts.digitIds ? { logit_bias: digitLogitBias(opts.digitIds) } : {}),
        },
      });
    }
  }
  return out;
}
