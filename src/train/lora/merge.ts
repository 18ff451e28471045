/**
 * Merge a LoRA adapter into its base model: W' = W + s·B·A for every adapted linear layer, and
 * write a complete Hugging Face model folder (config.json, the tokenizer, generation config and
 * licence copied, model.safetensors in float32). The merged model computes what base + adapter computes (the
 * only difference is float32 rounding of W'), so it can be rated or evaluated without LoRA.
 *
 * Works on the files only (no TF.js): tensors are read one at a time from the base folder and
 * streamed into the output, so memory stays near one tensor. The folder appears atomically.
 */
import { closeSync, copyFileSync, openSync, readdirSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join, basename } from 'node:path';
import { SmftError } from '../../util/errors.js';
import { log } from '../../util/log.js';
import { writeDirAtomic } from '../../util/atomic.js';
import { readConfig } from '../../lm/config.js';
import { resolveModelDir, type ResolveOptions } from '../../lm/hub.js';
import { WeightSource } from '../../lm/safetensors.js';
import { loraModuleNames, loraScale, peftTensorName } from './config.js';
import { readAdapterFiles } from './peft.js';
import { baseInfoFromTensors, checkBase } from './base.js';
import { resolveCheckpointDir } from './checkpoint.js';

export interface MergeOptions extends ResolveOptions {
  /** Base model folder or hub id. */
  base: string;
  /** Adapter folder, step folder or run folder (its best / latest checkpoint). */
  adapter: string;
  /** Output model folder (replaced atomically if it exists). */
  out: string;
  /** Refuse an adapter recorded for another base model (default true). */
  checkBase?: boolean;
}

export interface MergeResult {
  out: string;
  adapterDir: string;
  mergedModules: number;
  tensors: number;
  seconds: number;
}

/**
 * Files of the base folder the merged folder needs besides config.json and the weights: the
 * tokenizer, generation settings and the licence. Nothing else is copied (not stale outputs,
 * caches or other weights that happen to sit in the base folder).
 */
const COPIED = new Set([
  'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'added_tokens.json', 'chat_template.jinja',
  'vocab.json', 'merges.txt', 'tokenizer.model', 'generation_config.json',
]);
const isCopied = (name: string): boolean => COPIED.has(name) || /^(LICEN[CS]E|NOTICE|USE_POLICY)(\.[a-z]+)?$/i.test(name);

/** W [out, in] += s·B[out, r]·A[r, in], each row accumulated in float64 and rounded once. */
export function mergeInto(w: Float32Array, a: Float32Array, b: Float32Array, outF: number, inF: number, r: number, scale: number): void {
  const row = new Float64Array(inF);
  for (let o = 0; o < outF; o++) {
    row.fill(0);
    for (let k = 0; k < r; k++) {
      const c = b[o * r + k] * scale;
      if (c === 0) continue;
      const off = k * inF;
      for (let i = 0; i < inF; i++) row[i] += c * a[off + i];
    }
    const wo = o * inF;
    for (let i = 0; i < inF; i++) w[wo + i] = w[wo + i] + row[i];
  }
}

export async function mergeLora(opts: MergeOptions): Promise<MergeResult> {
  const t0 = performance.now();
  const adapterDir = resolveCheckpointDir(opts.adapter);
  const files = readAdapterFiles(adapterDir);
  const modelDir = await resolveModelDir(opts.base, opts);
  const cfg = readConfig(modelDir);
  const ws = WeightSource.open(modelDir);
  try {
    if (opts.checkBase !== false) {
      if (files.base) checkBase(files.base, baseInfoFromTensors(cfg, basename(modelDir), (n) => ws.read(n).data), adapterDir);
      else log.warn({ adapterDir }, 'adapter carries no base-model fingerprint (made outside smft?); only tensor shapes are checked');
    }
    const modules = loraModuleNames(cfg, files.config);
    const scale = loraScale(files.config);
    const plan = new Map<string, { a: Float32Array; b: Float32Array }>();
    for (const m of modules) {
      const info = ws.info(`${m}.weight`);
      if (!info) throw new SmftError(`the base model has no '${m}.weight'`, modelDir);
      const [outF, inF] = info.shape;
      const a = files.tensors.get(peftTensorName(m, 'A'));
      const b = files.tensors.get(peftTensorName(m, 'B'));
      if (!a || !b) throw new SmftError(`adapter lacks the tensors of ${m}`, adapterDir);
      if (a.shape.join(',') !== `${files.config.r},${inF}` || b.shape.join(',') !== `${outF},${files.config.r}`) {
        throw new SmftError(`adapter tensors of ${m} have shapes [${a.shape}] / [${b.shape}], the base model needs [${files.config.r}, ${inF}] / [${outF}, ${files.config.r}] (another base model?)`, adapterDir);
      }
      plan.set(`${m}.weight`, { a: a.data, b: b.data });
    }
    const names = ws.names().filter((n) => !/\.rotary_emb\.inv_freq$/.test(n)).sort();

    await writeDirAtomic(opts.out, (tmp) => {
      for (const f of readdirSync(modelDir)) {
        const p = join(modelDir, f);
        if (!isCopied(f) || !statSync(p).isFile()) continue;
        copyFileSync(p, join(tmp, f));
      }
      const config = JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8')) as Record<string, unknown>;
      config.torch_dtype = 'float32';
      if ('dtype' in config) config.dtype = 'float32';
      writeFileSync(join(tmp, 'config.json'), JSON.stringify(config, null, 2) + '\n');

      // Stream model.safetensors: header first (all F32), then tensor after tensor.
      const header: Record<string, unknown> = { __metadata__: { format: 'pt', smft_merged_adapter: basename(adapterDir) } };
      let offset = 0;
      for (const n of names) {
        const shape = ws.info(n)!.shape;
        const bytes = shape.reduce((x, d) => x * d, 1) * 4;
        header[n] = { dtype: 'F32', shape, data_offsets: [offset, offset + bytes] };
        offset += bytes;
      }
      let hjson = Buffer.from(JSON.stringify(header), 'utf8');
      const padLen = (8 - (hjson.length % 8)) % 8;
      if (padLen) hjson = Buffer.concat([hjson, Buffer.alloc(padLen, 0x20)]);
      const fd = openSync(join(tmp, 'model.safetensors'), 'w');
      try {
        const len = Buffer.alloc(8);
        len.writeBigUInt64LE(BigInt(hjson.length));
        writeSync(fd, len);
        writeSync(fd, hjson);
        for (const n of names) {
          const t = ws.read(n);
          const p = plan.get(n);
          if (p) mergeInto(t.data, p.a, p.b, t.shape[0], t.shape[1], files.config.r, scale);
          const buf = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
          for (let done = 0; done < buf.length;) done += writeSync(fd, buf, done, Math.min(buf.length - done, 1 << 30));
        }
      } finally {
        closeSync(fd);
      }
    }, { kind: 'merged-model' });
    const seconds = (performance.now() - t0) / 1000;
    log.info({ out: opts.out, adapter: adapterDir, modules: modules.length, scale, seconds: Number(seconds.toFixed(1)) }, 'LoRA merged into the base weights');
    return { out: opts.out, adapterDir, mergedModules: modules.length, tensors: names.length, seconds };
  } finally {
    ws.close();
  }
}
