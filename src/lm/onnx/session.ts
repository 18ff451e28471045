/**
 * OnnxCausalLM: CausalLM's forward pass through ONNX Runtime (onnxruntime-node). Same weights,
 * same computation (decoder.ts), inference only; training stays in TF.js. On the CPU it runs
 * several times the tokens/s of TF.js wasm (MLAS GEMMs with AVX2 / AVX-512 and a thread pool);
 * it can also run on ONNX Runtime's WebGPU execution provider.
 *
 * On the CPU the weights are the Float32Arrays of a CausalLM on the TF.js cpu backend, handed
 * to ONNX Runtime as inputs without a copy; on webgpu they are written once as the graphs'
 * external data. One graph per variant (with or without past keys and values, hidden states,
 * logits) is built on first use.
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { SmftError } from '../../util/errors.js';
import { cleanStalePrivateTemps } from '../../util/temp.js';
import type { LmConfig } from '../config.js';
import type { CausalLM, ForwardOptions } from '../model.js';
import { ropeInvFreq, ropeTableData } from '../rope.js';
import { attentionBiasData, forwardInputs } from '../forward-inputs.js';
import type { KvPrefix, LmEngine, SelectedLogitsRequest } from '../engine.js';
import { decoderGraph, packWeights, variantKey, weightInputs, type DecoderVariant, type ExternalWeights } from './decoder.js';
import { loadOrt } from './runtime.js';

/** Keys and values of every layer, [Bp, kvHeads, P, headDim] each, from a previous call. */
export class OnnxKV implements KvPrefix {
  constructor(readonly keys: Ort.Tensor[], readonly values: Ort.Tensor[]) {}
  get length(): number {
    return Number(this.keys[0].dims[2]);
  }
  get batch(): number {
    return Number(this.keys[0].dims[0]);
  }
  dispose(): void {
    // Plain JS arrays: nothing to free in the runtime.
  }
}

/** CausalLM's forward options, with an ONNX Runtime key/value cache. */
export type OnnxForwardOptions = Omit<ForwardOptions, 'pastKeyValues'> & { pastKeyValues?: OnnxKV };

export interface OnnxForwardOutput {
  /** [B·T, n] or, with logitsAt, [B, n] (row-major). */
  logits?: Float32Array;
  /** numLayers + 1 arrays [B·T, hidden]. */
  hiddenStates?: Float32Array[];
  pastKeyValues?: OnnxKV;
}

export interface OnnxOptions {
  /** Intra-op threads (default: ONNX Runtime's, one per physical core). */
  threads?: number;
  /**
   * 'cpu' (default), or 'webgpu': ONNX Runtime's WebGPU execution provider (its own Dawn, on
   * Vulkan / Metal / D3D12). On webgpu the weights are written once to a temporary folder as the
   * graphs' external data, so they are uploaded to the device once.
   */
  device?: 'cpu' | 'webgpu';
  /** Parameters to use instead of the model's, by name and in its layout (e.g. LoRA-merged kernels). */
  replace?: Map<string, Float32Array>;
}

export class OnnxCausalLM implements LmEngine {
  readonly runtime: string;
  private readonly sessions = new Map<string, Promise<Ort.InferenceSession>>();
  private readonly invFreq: Float64Array;
  /** webgpu: the folder with weights.bin and the graphs (removed by dispose). */
  private readonly dir: string | null;
  /** webgpu: where each weight lies in weights.bin. */
  private readonly external: ExternalWeights;

  private constructor(
    private readonly ort: typeof Ort,
    readonly config: LmConfig,
    private readonly weights: Record<string, Ort.Tensor>,
    private readonly embed: Float32Array,
    private readonly outputEmbeddings: Float32Array,
    private readonly opts: OnnxOptions,
  ) {
    this.invFreq = ropeInvFreq(config);
    this.runtime = `onnxruntime-${opts.device ?? 'cpu'}`;
    this.external = { file: WEIGHTS_FILE, offsets: packWeights(config).offsets };
    this.dir = opts.device === 'webgpu' ? writeExternalWeights(this.external.offsets, weights) : null;
    if (this.dir) liveDirs.add(this.dir);
  }

  /**
   * Share a CausalLM's weights (load it on the TF.js 'cpu' backend: its tensors are then plain
   * Float32Arrays, used without a copy). Attached adapters are not part of the graph: pass
   * merged kernels in `replace` (LoraAdapters.mergedKernels; src/train/lora/inference.ts).
   */
  static async fromModel(model: CausalLM, opts: OnnxOptions = {}): Promise<OnnxCausalLM> {
    if (model.hasAdapters) throw new SmftError('the ONNX Runtime engine cannot run attached adapters: merge the LoRA checkpoint into the weights first');
    const ort = await loadOrt();
    const weights: Record<string, Ort.Tensor> = {};
    for (const [name, shape] of weightInputs(model.config)) {
      const t = model.params.get(name);
      if (!t) throw new SmftError(`missing parameter ${name}`);
      if (t.shape.join(',') !== shape.join(',')) throw new SmftError(`parameter ${name} has shape [${t.shape}], expected [${shape}]`);
      const data = opts.replace?.get(name) ?? (t.dataSync() as Float32Array);
      if (data.length !== t.size) throw new SmftError(`replacement for parameter ${name} has ${data.length} values, expected ${t.size}`);
      weights[name] = new ort.Tensor('float32', data, shape);
    }
    return new OnnxCausalLM(ort, model.config, weights, model.embedTokens, model.outputEmbeddings, opts);
  }

  private session(v: DecoderVariant): Promise<Ort.InferenceSession> {
    const key = variantKey(v);
    let s = this.sessions.get(key);
    if (!s) {
      const options: Ort.InferenceSession.SessionOptions = {
        graphOptimizationLevel: 'all',
        executionMode: 'sequential',
        ...(this.opts.threads ? { intraOpNumThreads: this.opts.threads } : {}),
      };
      if (this.dir) {
        const file = join(this.dir, `decoder-${key}.onnx`);
        writeFileSync(file, decoderGraph(this.config, v, this.external));
        s = this.ort.InferenceSession.create(file, { ...options, executionProviders: ['webgpu'] });
      } else {
        s = this.ort.InferenceSession.create(decoderGraph(this.config, v), options);
      }
      this.sessions.set(key, s);
    }
    return s;
  }

  async forward(ids: number[][], opts: OnnxForwardOptions = {}): Promise<OnnxForwardOutput> {
    const cfg = this.config;
    const ort = this.ort;
    const past = opts.pastKeyValues;
    const { b, t, pastLen, mask, positions } = forwardInputs(cfg, ids, opts, past && { layers: past.keys.length, length: past.length, batch: past.batch });
    const s = pastLen + t;
    const { hiddenSize: h, numKvHeads: nkv, numHeads: nh, headDim: hd } = cfg;
    const group = nh / nkv;
    const variant: DecoderVariant = { past: !!past, present: !!opts.useCache, hidden: !!opts.outputHiddenStates, logits: opts.logits !== 'none' };
    const i64 = (v: number[]): Ort.Tensor => new ort.Tensor('int64', BigInt64Array.from(v.map(BigInt)), [v.length]);
    const { cos, sin } = ropeTableData(this.invFreq, positions);
    const feeds: Record<string, Ort.Tensor> = {
      ...(this.dir ? {} : this.weights),
      inputs_embeds: new ort.Tensor('float32', this.embedRows(ids), [b * t, h]),
      cos: new ort.Tensor('float32', cos, [b, 1, t, hd]),
      sin: new ort.Tensor('float32', sin, [b, 1, t, hd]),
      attention_bias: new ort.Tensor('float32', attentionBiasData(mask, b, t, pastLen), [b, 1, 1, t, s]),
      shape_q: i64([b, t, nkv, group, hd]),
      shape_kv: i64([b, t, nkv, hd]),
      shape_scores: i64([b, nkv, group, t, s]),
      shape_probs: i64([b, nkv, group * t, s]),
    };
    if (past) {
      feeds.expand_b = i64([b, 1, 1, 1]);
      past.keys.forEach((k, i) => { feeds[`past_key_${i}`] = k; });
      past.values.forEach((v, i) => { feeds[`past_value_${i}`] = v; });
    }
    if (variant.logits) {
      const rows = opts.logitsAt ? opts.logitsAt.map((p, i) => i * t + p) : Array.from({ length: b * t }, (_, i) => i);
      feeds.head_rows = i64(rows);
      feeds.head_weight = this.headWeight(opts.logitsTokenIds);
    }
    const session = await this.session(variant);
    const out = await session.run(feeds);
    const result: OnnxForwardOutput = {};
    if (variant.logits) result.logits = out.logits.data as Float32Array;
    if (variant.hidden) result.hiddenStates = Array.from({ length: cfg.numLayers + 1 }, (_, l) => out[`hidden_${l}`].data as Float32Array);
    if (variant.present) {
      result.pastKeyValues = new OnnxKV(
        Array.from({ length: cfg.numLayers }, (_, i) => out[`present_key_${i}`]),
        Array.from({ length: cfg.numLayers }, (_, i) => out[`present_value_${i}`]),
      );
    }
    return result;
  }

  async prefill(ids: number[]): Promise<KvPrefix> {
    return (await this.forward([ids], { useCache: true, logits: 'none' })).pastKeyValues!;
  }

  async selectedLogits(req: SelectedLogitsRequest, prefix?: KvPrefix): Promise<Float32Array> {
    const out = await this.forward(req.ids, {
      attentionMask: req.attentionMask,
      positionIds: req.positionIds,
      pastKeyValues: prefix as OnnxKV | undefined,
      logitsAt: req.logitsAt,
      logitsTokenIds: req.tokenIds,
    });
    return out.logits!;
  }

  async hiddenStates(ids: number[][], attentionMask: number[][]): Promise<Float32Array[]> {
    return (await this.forward(ids, { attentionMask, outputHiddenStates: true, logits: 'none' })).hiddenStates!;
  }

  /** Embedding lookup on the host table: [B·T, hidden]. */
  private embedRows(ids: number[][]): Float32Array {
    const h = this.config.hiddenSize;
    const t = ids[0].length;
    const out = new Float32Array(ids.length * t * h);
    ids.forEach((row, i) => row.forEach((id, j) => out.set(this.embed.subarray(id * h, (id + 1) * h), (i * t + j) * h)));
    return out;
  }

  /** Output embedding rows [n, hidden] of `tokenIds`, or the whole table. */
  private headWeight(tokenIds?: number[]): Ort.Tensor {
    const { hiddenSize: h, vocabSize: v } = this.config;
    if (!tokenIds) return new this.ort.Tensor('float32', this.outputEmbeddings, [v, h]);
    const w = new Float32Array(tokenIds.length * h);
    tokenIds.forEach((id, r) => {
      if (!Number.isInteger(id) || id < 0 || id >= v) throw new SmftError(`token id ${id} outside the vocabulary`);
      w.set(this.outputEmbeddings.subarray(id * h, (id + 1) * h), r * h);
    });
    return new this.ort.Tensor('float32', w, [tokenIds.length, h]);
  }

  async dispose(): Promise<void> {
    for (const s of this.sessions.values()) await (await s).release();
    this.sessions.clear();
    if (this.dir) {
      rmSync(this.dir, { recursive: true, force: true });
      liveDirs.delete(this.dir);
    }
  }
}

const WEIGHTS_FILE = 'weights.bin';

/** Write each weight at its byte offset of WEIGHTS_FILE in a new temporary folder; returns the folder. */
function writeExternalWeights(offsets: Map<string, number>, weights: Record<string, Ort.Tensor>): string {
  cleanStalePrivateTemps(tmpdir(), 'smft-onnx-');
  const dir = mkdtempSync(join(tmpdir(), `smft-onnx-${process.pid}-`));
  const fd = openSync(join(dir, WEIGHTS_FILE), 'w');
  try {
    for (const [name, offset] of offsets) {
      const d = weights[name].data as Float32Array;
      const buf = Buffer.from(d.buffer, d.byteOffset, d.byteLength);
      for (let done = 0; done < buf.length;) done += writeSync(fd, buf, done, Math.min(buf.length - done, 1 << 30), offset + done);
    }
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  } finally {
    closeSync(fd);
  }
  return dir;
}

/** Folders of live webgpu engines, removed at process exit if not disposed before. */
const liveDirs = new Set<string>();
process.on('exit', () => {
  for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
});
