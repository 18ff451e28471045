import { existsSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import { resolve } from 'node:path';
import type { Lang } from '../../data/dimensions.js';
import { SmftError } from '../../util/errors.js';
import { log } from '../../util/log.js';
import { sha256 } from '../../util/hash.js';
import { smftVersion } from '../../eval/provenance.js';
import { loadTemplates } from '../../lm/prompts.js';
import { PredictionsWriter, type RatingIdentity } from '../../lm/predictions.js';
import { ApiClient } from '../../api/client.js';
import { findDigitIds, OPENAI_DIGIT_IDS, type DigitIds } from '../../api/digits.js';
import { logApiRatingDone, rateWordsApi } from '../../api/rate-api.js';

export interface ApiRateFlags {
  api: string;
  apiModel?: string;
  apiKeyEnv: string;
  apiCompletions?: boolean;
  concurrency: number;
  timeout: number;
  retries: number;
  topLogprobs: number;
  logitBias: boolean;
  digitTokenIds?: number[];
  out: string;
  prompts?: string;
  lang: Lang;
  modelId?: string;
}

/** `smft rate --api URL`: ratings through an OpenAI-compatible server into the long predictions CSV. */
export async function rateThroughApi(f: ApiRateFlags, words: string[]): Promise<void> {
  const client = new ApiClient({ baseUrl: f.api, apiKey: process.env[f.apiKeyEnv] || undefined, timeoutMs: f.timeout * 1000, retries: f.retries });
  const templates = loadTemplates(f.prompts ? resolve(f.prompts) : undefined, f.lang);
  const model = f.apiModel ?? (await onlyModel(client));
  const route = f.apiCompletions ? 'completions' : 'chat';
  let digits: DigitIds | null = null;
  if (f.logitBias) digits = f.digitTokenIds ? { ids: f.digitTokenIds, source: 'given' } : await findDigitIds(client, model);
  if (digits) log.info({ digitIds: digits.ids, source: digits.source }, 'an equal logit_bias on the digit tokens 0–5');
  else log.info({ logitBias: false }, 'no logit_bias: ratings renormalise over the digits among the top logprobs');
  const identity: RatingIdentity = {
    kind: 'api',
    model,
    api: client.baseUrl,
    route,
    lang: f.lang,
    templates: sha256([...templates.values()].map((t) => `${t.dimension}\n${t.text}`).join('\n\n')),
    topLogprobs: f.topLogprobs,
    logitBias: digits ? digits.ids : null,
    smft: smftVersion(),
  };
  // The CSV is created with the first row, so a run that fails before any answer leaves nothing.
  const out = resolve(f.out);
  const modelId = f.modelId ?? model;
  let writer = existsSync(out) ? new PredictionsWriter(out, modelId, identity) : undefined;
  const { stats } = await rateWordsApi({
    client, model, route, words, templates, lang: f.lang,
    concurrency: f.concurrency, topLogprobs: f.topLogprobs, digitIds: digits?.ids,
    skip: (w, d) => writer?.has(w, d) ?? false,
    onRows: (rows) => { (writer ??= new PredictionsWriter(out, modelId, identity)).append(rows); },
  });
  logApiRatingDone(stats, !!digits);
  process.stdout.write(`${out}\n`);
}

/** The one model a server serves (GET /models), for runs without --api-model. */
async function onlyModel(client: ApiClient): Promise<string> {
  const r = await client.get<{ data?: Array<{ id?: string }> }>('/models');
  const ids = (r?.data ?? []).map((m) => m.id).filter((id): id is string => typeof id === 'string');
  if (ids.length !== 1) throw new SmftError(`the server lists ${ids.length} models${ids.length ? ` (${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ', …' : ''})` : ''}; choose one with --api-model`, `${client.baseUrl}/models`);
  log.info({ model: ids[0] }, 'the server\'s only model');
  return ids[0];
}

/** Parse --digit-token-ids: 'openai' (OpenAI's encodings) or six integers, those of "0"…"5". */
export function digitIdsOption(v: string): number[] {
  if (v === 'openai') return [...OPENAI_DIGIT_IDS];
  const ids = v.split(',').map((s) => Number(s.trim()));
  if (ids.length !== 6 || ids.some((x) => !Number.isInteger(x) || x < 0)) throw new InvalidArgumentError("'openai' or six token ids, those of 0,1,2,3,4,5 (e.g. 15,16,17,18,19,20)");
  return ids;
}
