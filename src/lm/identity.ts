/**
 * What a rating depends on, as data: the identity of a model folder (a content hash of the
 * files that shape its output) and the identity of a rating run (model, adapter, prompt
 * templates, language, smft version) recorded beside every ratings file.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { contentSha256 } from '../util/filehash.js';
import { sha256 } from '../util/hash.js';
import { pathInside } from '../util/names.js';
import { readJsonFile } from '../util/json.js';
import { smftVersion } from '../eval/provenance.js';
import type { Lang } from '../data/dimensions.js';
import type { LoadedModel } from './load.js';
import type { PromptTemplate } from './prompts.js';
import type { PromptOptions } from './rate.js';
import type { RatingIdentity } from './predictions.js';

/** Files of a model folder that change what it computes (besides the weights). */
const MODEL_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'chat_template.jinja'];

/** The weight files of a model folder (model.safetensors, or the shards its index names). */
export function weightFiles(dir: string): string[] {
  const index = join(dir, 'model.safetensors.index.json');
  if (!existsSync(index)) return ['model.safetensors'];
  const json = readJsonFile<{ weight_map?: Record<string, string> }>(index);
  const shards = [...new Set(Object.values(json.weight_map ?? {}))].sort();
  for (const s of shards) pathInside(dir, s, 'shard name in model.safetensors.index.json', index);
  return ['model.safetensors.index.json', ...shards];
}

/**
 * `sha256:<hex>` over the content of the folder's config, tokenizer and weight files: equal for
 * two copies of a model, different as soon as one weight differs. Large files are hashed once
 * and then recognised by size, mtime and inode (util/filehash.ts).
 */
export async function modelIdentity(dir: string): Promise<string> {
  const parts: [string, string][] = [];
  for (const f of [...MODEL_FILES, ...weightFiles(dir)]) {
    const p = join(dir, f);
    if (existsSync(p)) parts.push([f, await contentSha256(p)]);
  }
  return `sha256:${sha256(JSON.stringify(parts))}`;
}

/** `sha256:<hex>` of the prompt templates and prompt options (what the model is asked). */
export function templatesIdentity(templates: Map<string, PromptTemplate>, opts: PromptOptions = {}): string {
  const t = [...templates.values()].map((x) => [x.dimension, x.text]).sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const { chat = 'auto', systemPrompt = null, answerPrefix = null } = opts;
  return `sha256:${sha256(JSON.stringify({ templates: t, chat, systemPrompt, answerPrefix }))}`;
}

/**
 * The identity of ratings from a local model folder (optionally with a LoRA adapter whose
 * checksum the caller gives), with `synthetic` when config.json says the weights are synthetic.
 */
export async function localRatingIdentity(lm: Pick<LoadedModel, 'dir' | 'name' | 'config'>, opts: {
  adapter: string | null; templates: Map<string, PromptTemplate>; prompt?: PromptOptions; lang: Lang;
}): Promise<RatingIdentity> {
  return {
    kind: 'local',
    model: lm.name,
    weights: await modelIdentity(lm.dir),
    adapter: opts.adapter,
    templates: templatesIdentity(opts.templates, opts.prompt),
    lang: opts.lang,
    smft: smftVersion(),
    ...(lm.config.synthetic ? { synthetic: lm.config.synthetic } : {}),
  };
}
