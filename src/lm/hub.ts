import { existsSync, statSync, createWriteStream, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { SmftError } from '../util/errors.js';
import { log } from '../util/log.js';
import { writeDirAtomic } from '../util/atomic.js';

const HUB_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

export interface ResolveOptions {
  /** Default: $SMFT_CACHE_DIR or ~/.cache/smft/hub. */
  cacheDir?: string;
  /** Default: $SMFT_HF_ENDPOINT or https://huggingface.co. */
  endpoint?: string;
  /** Never touch the network (also $SMFT_OFFLINE=1 or $HF_HUB_OFFLINE=1). */
  offline?: boolean;
}

export function defaultCacheDir(): string {
  return process.env.SMFT_CACHE_DIR || join(homedir(), '.cache', 'smft', 'hub');
}

/** True when `dir` looks like a complete model folder. */
function complete(dir: string): boolean {
  return existsSync(join(dir, 'config.json')) && existsSync(join(dir, 'tokenizer.json')) &&
    (existsSync(join(dir, 'model.safetensors')) || existsSync(join(dir, 'model.safetensors.index.json')));
}

/**
 * A local model folder, or a Hugging Face hub id (`org/name`) looked up in the cache and
 * downloaded there once when online. Offline, a missing hub model is one clear error line.
 */
export async function resolveModelDir(ref: string, opts: ResolveOptions = {}): Promise<string> {
  if (existsSync(ref)) {
    if (!statSync(ref).isDirectory()) throw new SmftError('a model must be a folder (config.json, tokenizer.json, *.safetensors)', ref);
    return resolve(ref);
  }
  if (!HUB_ID.test(ref)) throw new SmftError(`model '${ref}' is neither an existing folder nor a Hugging Face hub id (org/name)`);
  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  const dir = join(cacheDir, ...ref.split('/'));
  if (complete(dir)) {
    log.debug({ model: ref, dir }, 'using cached hub model');
    return dir;
  }
  const offline = opts.offline ?? (process.env.SMFT_OFFLINE === '1' || process.env.HF_HUB_OFFLINE === '1');
  const help = `download the model folder (config.json, tokenizer.json, tokenizer_config.json, *.safetensors) and pass its path, or place it in ${dir}`;
  if (offline) throw new SmftError(`model '${ref}' is not in the cache and smft is offline: ${help}`);
  const endpoint = (opts.endpoint ?? process.env.SMFT_HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/$/, '');
  try {
    await download(ref, dir, endpoint);
  } catch (e) {
    if (e instanceof SmftError) throw e;
    const err = e as Error & { cause?: { code?: string } };
    const why = err.cause?.code ?? err.message.split('\n')[0];
    throw new SmftError(`cannot download '${ref}' from ${endpoint} (${why}): ${help}`);
  }
  return dir;
}

async function download(ref: string, dir: string, endpoint: string): Promise<void> {
  const headers: Record<string, string> = {};
  const token = process.env.HF_TOKEN ?? process.env.HUGGING_FACE_HUB_TOKEN;
  if (token) headers.Authorization = `Bearer ${token}`;
  const url = (f: string): string => `${endpoint}/${ref}/resolve/main/${f}`;
  const get = async (f: string, required: boolean): Promise<Response | null> => {
    const res = await fetch(url(f), { headers, redirect: 'follow', signal: AbortSignal.timeout(60_000) });
    if (res.ok) return res;
    if (!required && res.status === 404) return null;
    if (res.status === 401 || res.status === 403) throw new SmftError(`cannot download '${ref}': access denied (gated model? set HF_TOKEN)`);
    throw new SmftError(`cannot download '${ref}/${f}': HTTP ${res.status}`);
  };
  log.info({ model: ref, dir }, 'downloading model from the Hugging Face hub');
  await writeDirAtomic(dir, async (tmp) => {
    const save = async (f: string, res: Response): Promise<void> => {
      await pipeline(Readable.fromWeb(res.body as unknown as WebReadableStream), createWriteStream(join(tmp, f)));
    };
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) await save(f, (await get(f, true))!);
    for (const f of ['generation_config.json', 'special_tokens_map.json', 'chat_template.jinja']) {
      const r = await get(f, false);
      if (r) await save(f, r);
    }
    const index = await get('model.safetensors.index.json', false);
    if (index) {
      const json = (await index.json()) as { weight_map?: Record<string, string> };
      writeFileSync(join(tmp, 'model.safetensors.index.json'), JSON.stringify(json));
      for (const shard of new Set(Object.values(json.weight_map ?? {}))) {
        log.info({ file: shard }, 'downloading');
        await save(shard, (await get(shard, true))!);
      }
    } else {
      log.info({ file: 'model.safetensors' }, 'downloading');
      await save('model.safetensors', (await get('model.safetensors', true))!);
    }
  }, { kind: 'hub-model' });
}
