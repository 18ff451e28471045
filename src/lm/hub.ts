/**
 * Model folders from the Hugging Face hub, through @huggingface/hub (model info, file tree,
 * downloads with HTTP ranges, Xet storage). What smft adds: the revision is pinned to one
 * commit; only what a model folder needs is fetched (config, tokenizer, safetensors weights);
 * every file is verified against the hash the hub announces (SHA-256 for LFS files, the git
 * blob id for small ones); a connection cut mid-file is resumed where it stopped (a Range
 * request); file names from the hub must stay inside the model folder; and the folder appears
 * in the cache only when complete (a temp folder beside it, removed on any failure).
 */
import { createHash, type Hash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { downloadFile, listFiles, modelInfo, HubApiError, type ListFileEntry } from '@huggingface/hub';
import { SmftError } from '../util/errors.js';
import { log } from '../util/log.js';
import { writeDirAtomic } from '../util/atomic.js';
import { isHubId, pathInside } from '../util/names.js';
import { Progress, formatBytes } from '../util/progress.js';
import { rememberSha256 } from '../util/filehash.js';

export interface ResolveOptions {
  /** Default: $SMFT_CACHE_DIR or ~/.cache/smft/hub. */
  cacheDir?: string;
  /** Default: $SMFT_HF_ENDPOINT, $HF_ENDPOINT (as huggingface_hub) or https://huggingface.co. */
  endpoint?: string;
  /** Never touch the network (also $SMFT_OFFLINE=1 or $HF_HUB_OFFLINE=1). */
  offline?: boolean;
  /** Attempts to resume a file whose connection was cut (default 5). */
  retries?: number;
}

/** Files of a model folder besides the weights: required, then optional. */
const REQUIRED = ['config.json', 'tokenizer.json', 'tokenizer_config.json'];
const OPTIONAL = ['generation_config.json', 'special_tokens_map.json', 'chat_template.jinja'];
const INDEX = 'model.safetensors.index.json';
/** What smft records about a download inside the folder (repo, commit, file hashes). */
export const DOWNLOAD_RECORD = '.smft-download.json';

export function defaultCacheDir(): string {
  return process.env.SMFT_CACHE_DIR || join(homedir(), '.cache', 'smft', 'hub');
}

export function hubEndpoint(opts: ResolveOptions = {}): string {
  return (opts.endpoint ?? process.env.SMFT_HF_ENDPOINT ?? process.env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, '');
}

/** True when `dir` looks like a complete model folder. */
function complete(dir: string): boolean {
  return existsSync(join(dir, 'config.json')) && existsSync(join(dir, 'tokenizer.json')) &&
    (existsSync(join(dir, 'model.safetensors')) || existsSync(join(dir, INDEX)));
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
  if (!isHubId(ref)) throw new SmftError(`model '${ref}' is neither an existing folder nor a Hugging Face hub id (org/name)`);
  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  const dir = join(cacheDir, ...ref.split('/'));
  if (complete(dir)) {
    log.debug({ model: ref, dir }, 'using cached hub model');
    return dir;
  }
  const offline = opts.offline ?? (process.env.SMFT_OFFLINE === '1' || process.env.HF_HUB_OFFLINE === '1');
  const help = `download the model folder (config.json, tokenizer.json, tokenizer_config.json, *.safetensors) and pass its path, or place it in ${dir}`;
  if (offline) throw new SmftError(`model '${ref}' is not in the cache and smft is offline: ${help}`);
  const endpoint = hubEndpoint(opts);
  try {
    await download(ref, dir, endpoint, opts.retries ?? 5);
  } catch (e) {
    if (e instanceof SmftError) throw e;
    if (e instanceof HubApiError) {
      if (e.statusCode === 401 || e.statusCode === 403) throw new SmftError(`cannot download '${ref}' from ${endpoint}: access denied (gated or private model? set HF_TOKEN)`);
      if (e.statusCode === 404) throw new SmftError(`cannot download '${ref}' from ${endpoint}: no such model on the hub (HTTP 404): ${help}`);
      throw new SmftError(`cannot download '${ref}' from ${endpoint} (HTTP ${e.statusCode}): ${help}`);
    }
    const err = e as Error & { cause?: { code?: string } };
    const why = err.cause?.code ?? err.message.split('\n')[0];
    throw new SmftError(`cannot download '${ref}' from ${endpoint} (${why}): ${help}`);
  }
  return dir;
}

interface Planned { path: string; size: number; expect: { kind: 'sha256' | 'git-sha1'; hex: string } | null }

function plan(entry: ListFileEntry, ref: string): Planned {
  if (entry.lfs) {
    if (!/^[0-9a-f]{64}$/.test(entry.lfs.oid)) throw new SmftError(`the hub announces no SHA-256 for '${ref}/${entry.path}' (lfs oid ${JSON.stringify(entry.lfs.oid).slice(0, 70)})`);
    return { path: entry.path, size: entry.lfs.size, expect: { kind: 'sha256', hex: entry.lfs.oid } };
  }
  const oid = entry.oid && /^[0-9a-f]{40}$/.test(entry.oid) ? entry.oid : null;
  return { path: entry.path, size: entry.size, expect: oid ? { kind: 'git-sha1', hex: oid } : null };
}

async function download(ref: string, dir: string, endpoint: string, retries: number): Promise<void> {
  const token = process.env.HF_TOKEN ?? process.env.HUGGING_FACE_HUB_TOKEN;
  const creds = token ? { accessToken: token } : {};
  const repo = { type: 'model' as const, name: ref };
  const info = await modelInfo({ name: ref, hubUrl: endpoint, additionalFields: ['sha'], ...creds });
  // One commit for every file: a push to the repo during the download cannot mix two versions.
  const revision = typeof info.sha === 'string' && /^[0-9a-f]{40}$/.test(info.sha) ? info.sha : 'main';
  const tree = new Map<string, ListFileEntry>();
  for await (const e of listFiles({ repo, revision, hubUrl: endpoint, recursive: true, ...creds })) if (e.type === 'file') tree.set(e.path, e);
  const entry = (f: string, required: boolean): ListFileEntry | undefined => {
    const e = tree.get(f);
    if (!e && required) throw new SmftError(`cannot download '${ref}': the repo has no ${f} (smft needs a transformers model folder with safetensors weights)`);
    return e;
  };
  const files = [...REQUIRED.map((f) => entry(f, true)!), ...OPTIONAL.flatMap((f) => entry(f, false) ?? [])].map((e) => plan(e, ref));
  const index = entry(INDEX, false);
  const weights = index ? [] : [plan(entry('model.safetensors', true)!, ref)];
  log.info({ model: ref, revision, dir }, 'downloading model from the Hugging Face hub');

  const fetchFile = async (p: Planned, dest: string, progress: Progress | null): Promise<void> => {
    mkdirSync(dirname(dest), { recursive: true });
    const blob = await downloadFile({ repo, path: p.path, revision, hubUrl: endpoint, ...creds });
    if (!blob) throw new SmftError(`cannot download '${ref}/${p.path}': not found on the hub`);
    if (blob.size !== p.size) throw new SmftError(`cannot download '${ref}/${p.path}': the hub lists ${p.size} bytes but serves ${blob.size}`);
    const hash: Hash = p.expect?.kind === 'sha256' ? createHash('sha256') : createHash('sha1').update(`blob ${p.size}\0`);
    const fd = openSync(dest, 'w');
    let got = 0;
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          // After a cut connection, ask for the rest only (HTTP Range).
          const stream = (got === 0 ? blob : blob.slice(got)).stream() as unknown as AsyncIterable<Uint8Array>;
          for await (const chunk of stream) {
            if (got + chunk.length > p.size) throw new SmftError(`cannot download '${ref}/${p.path}': the hub sent more than the ${p.size} bytes it announced`);
            for (let off = 0; off < chunk.length;) off += writeSync(fd, chunk, off, chunk.length - off);
            hash.update(chunk);
            got += chunk.length;
            progress?.tick(chunk.length);
          }
          if (got < p.size) throw new Error(`connection closed after ${got} of ${p.size} bytes`);
          break;
        } catch (e) {
          if (e instanceof SmftError || attempt >= retries) throw e;
          log.warn({ file: p.path, bytes: got, of: p.size, attempt: attempt + 1, reason: (e as Error).message.split('\n')[0] },
            `download of ${p.path} interrupted at ${formatBytes(got)} of ${formatBytes(p.size)}; resuming`);
          await new Promise((r) => setTimeout(r, Math.min(8_000, 250 * 2 ** attempt)));
        }
      }
    } finally {
      closeSync(fd);
    }
    const hex = hash.digest('hex');
    if (p.expect && hex !== p.expect.hex) {
      throw new SmftError(`cannot download '${ref}/${p.path}': its bytes do not match the ${p.expect.kind === 'sha256' ? 'SHA-256' : 'git blob id'} the hub announces `
        + `(${p.expect.hex.slice(0, 12)}…, got ${hex.slice(0, 12)}…); nothing was kept`);
    }
    if (!p.expect) log.warn({ file: p.path }, 'the hub announced no hash for this file; not verified');
  };

  const sha256s: Record<string, string> = {};
  await writeDirAtomic(dir, async (tmp) => {
    for (const p of files) await fetchFile(p, join(tmp, p.path), null);
    if (index) {
      // The index names the shards: names from data, kept inside the folder.
      const ip = plan(index, ref);
      await fetchFile(ip, join(tmp, INDEX), null);
      let json: { weight_map?: Record<string, unknown> };
      try {
        json = JSON.parse(readFileSync(join(tmp, INDEX), 'utf8')) as typeof json;
      } catch (e) {
        throw new SmftError(`cannot download '${ref}': ${INDEX} is not valid JSON (${(e as Error).message.split('\n')[0]})`);
      }
      if (!json.weight_map || typeof json.weight_map !== 'object') throw new SmftError(`cannot download '${ref}': ${INDEX} has no weight_map`);
      for (const shard of new Set(Object.values(json.weight_map))) {
        pathInside(tmp, shard, `shard name in ${ref}/${INDEX}`);
        if (!(shard as string).endsWith('.safetensors')) throw new SmftError(`cannot download '${ref}': shard ${JSON.stringify(shard)} in ${INDEX} is not a .safetensors file`);
        weights.push(plan(entry(shard as string, true)!, ref));
      }
      files.push(ip);
    }
    const total = weights.reduce((a, p) => a + p.size, 0);
    log.info({ model: ref, files: weights.length, bytes: total }, `downloading ${formatBytes(total)} of weights`);
    const progress = new Progress(`download ${ref}`, total, { unit: 'bytes' });
    try {
      for (const p of weights) {
        await fetchFile(p, join(tmp, p.path), progress);
        if (p.expect?.kind === 'sha256') sha256s[p.path] = p.expect.hex;
      }
    } finally {
      progress.stop();
    }
    writeFileSync(join(tmp, DOWNLOAD_RECORD), JSON.stringify({
      repo: ref, revision, endpoint, downloaded: new Date().toISOString(),
      files: Object.fromEntries([...files, ...weights].map((p) => [p.path, p.expect ? `${p.expect.kind}:${p.expect.hex}` : null])),
    }, null, 2) + '\n');
  }, { kind: 'hub-model' });
  // The verified hashes make the weights' identity free to compute later (util/filehash.ts).
  for (const [f, h] of Object.entries(sha256s)) rememberSha256(join(dir, f), h);
}
