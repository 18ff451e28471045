import * as tf from '@tensorflow/tfjs';
import { SmftError } from '../util/errors.js';
import type { LmConfig } from './config.js';
import { rmsNorm } from './rmsnorm.js';
import { ropeInvFreq, ropeTables } from './rope.js';
import { selfAttention, type LayerKV } from './attention.js';
import { mlp } from './mlp.js';

export type { LayerKV } from './attention.js';
/** One LayerKV per layer. Batch 1 caches are broadcast over the batch of the next call. */
export type PastKeyValues = LayerKV[];

/**
 * A hook on a named linear layer (e.g. LoRA): receives the layer input x [N, in] and the base
 * output y = x·Wᵀ + b [N, out] and returns the output to use instead.
 */
export type LinearAdapter = (x: tf.Tensor2D, y: tf.Tensor2D) => tf.Tensor2D;

export interface ForwardOptions {
  /** [B, past + T], 1 for real tokens, 0 for padding. Default: all ones. */
  attentionMask?: number[][];
  /** [B, T]. Default: cumsum(attentionMask) − 1 over past + current, padding at 1 (as generate()). */
  positionIds?: number[][];
  /** Keys/values of earlier tokens (from a previous call with `useCache`). Not disposed. */
  pastKeyValues?: PastKeyValues;
  /** Return this call's keys/values (past included) as `pastKeyValues`. */
  useCache?: boolean;
  /** Return hidden states: embeddings, each layer's output, the last one after the final norm. */
  outputHiddenStates?: boolean;
  /** 'all' positions (default), or 'none' to skip the head. */
  logits?: 'all' | 'none';
  /** Compute logits only at this position (index into T) of each row: logits shape [B, 1, n]. */
  logitsAt?: number[];
  /** Compute logits only for these token ids (n = their number). */
  logitsTokenIds?: number[];
}

export interface ForwardOutput {
  /** [B, T, V], or [B, 1, n] with logitsAt / logitsTokenIds. */
  logits?: tf.Tensor3D;
  /** numLayers + 1 tensors [B, T, hidden] (transformers' convention). */
  hiddenStates?: tf.Tensor3D[];
  pastKeyValues?: PastKeyValues;
}

const NEG = -1e9;

/**
 * A Llama / Qwen2 / Mistral decoder in TF.js (float32). Weights are kept under their Hugging
 * Face names; linear weights are stored transposed ([in, out], "kernels") because that is the
 * fast layout for TF.js matMul. Every linear layer goes through `linear(name, x)`, where
 * adapters (LoRA) can be attached with `setAdapter`. Built only from tf ops, so it is
 * differentiable.
 */
export class CausalLM {
  private readonly invFreq: Float64Array;
  private readonly adapters = new Map<string, LinearAdapter>();
  private headKernelCache: tf.Tensor2D | null = null;

  /**
   * @param params HF name → tensor for the norms, biases and linear layers; linear `*.weight`
   *   entries transposed to [in, out].
   * @param host the token embeddings `model.embed_tokens.weight` and, untied only,
   *   `lm_head.weight`, both [vocab, hidden] in HF layout, kept in host memory: the embedding
   *   lookup and the few output rows a rating needs are gathered there, which keeps the
   *   largest matrices out of the backend's memory (the wasm heap is limited to 4 GB).
   */
  constructor(
    readonly config: LmConfig,
    readonly params: Map<string, tf.Tensor>,
    private readonly host: { embed: Float32Array; lmHead?: Float32Array },
  ) {
    this.invFreq = ropeInvFreq(config);
    const n = config.vocabSize * config.hiddenSize;
    if (host.embed.length !== n) throw new Error('embedding size does not match the config');
    if (!config.tieWordEmbeddings && host.lmHead?.length !== n) throw new Error('untied model without lm_head');
  }

  /** Token embeddings [vocab, hidden] (row-major, HF layout). */
  get embedTokens(): Float32Array {
    return this.host.embed;
  }

  /** Output embeddings [vocab, hidden]: lm_head, or the token embeddings when tied. */
  get outputEmbeddings(): Float32Array {
    return this.config.tieWordEmbeddings ? this.host.embed : this.host.lmHead!;
  }

  /** Names of all linear layers (e.g. `model.layers.0.self_attn.q_proj`), in layer order. */
  linearNames(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.config.numLayers; i++) {
      for (const n of ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj', 'self_attn.o_proj', 'mlp.gate_proj', 'mlp.up_proj', 'mlp.down_proj']) {
        out.push(`model.layers.${i}.${n}`);
      }
    }
    return out;
  }

  /** Attach (or with undefined, remove) an adapter on a linear layer. */
  setAdapter(name: string, adapter: LinearAdapter | undefined): void {
    if (!this.params.has(`${name}.weight`)) throw new Error(`no linear layer '${name}'`);
    if (adapter) this.adapters.set(name, adapter);
    else this.adapters.delete(name);
  }

  /** The kernel [in, out] (transposed HF weight) and bias of a linear layer. */
  linearWeights(name: string): { kernel: tf.Tensor2D; bias?: tf.Tensor1D } {
    const kernel = this.params.get(`${name}.weight`) as tf.Tensor2D | undefined;
    if (!kernel) throw new Error(`no linear layer '${name}'`);
    return { kernel, bias: this.params.get(`${name}.bias`) as tf.Tensor1D | undefined };
  }

  /** y = x·Wᵀ + b through any adapter; x of shape [N, in]. */
  readonly linear = (name: string, x: tf.Tensor2D): tf.Tensor2D => {
    const { kernel, bias } = this.linearWeights(name);
    const y = tf.tidy(() => {
      const z = tf.matMul(x, kernel);
      return (bias ? tf.add(z, bias) : z) as tf.Tensor2D;
    });
    const adapter = this.adapters.get(name);
    if (!adapter) return y;
    return tf.tidy(() => adapter(x, y));
  };

  private param<T extends tf.Tensor>(name: string): T {
    const p = this.params.get(name);
    if (!p) throw new Error(`missing parameter ${name}`);
    return p as T;
  }

  /**
   * Forward pass over token ids [B][T]. Returns logits and, on request, hidden states and the
   * key/value cache. All returned tensors belong to the caller (dispose them).
   */
  forward(ids: number[][], opts: ForwardOptions = {}): ForwardOutput {
    const cfg = this.config;
    const b = ids.length;
    if (b === 0) throw new SmftError('forward: empty batch');
    const t = ids[0].length;
    if (t === 0 || ids.some((r) => r.length !== t)) throw new SmftError('forward: every row needs the same, non-zero length (pad and mask)');
    for (const r of ids) for (const id of r) {
      if (!Number.isInteger(id) || id < 0 || id >= cfg.vocabSize) throw new SmftError(`forward: token id ${id} outside the vocabulary [0, ${cfg.vocabSize})`);
    }
    const past = opts.pastKeyValues;
    if (past && past.length !== cfg.numLayers) throw new SmftError(`forward: pastKeyValues has ${past.length} layers, model has ${cfg.numLayers}`);
    const pastLen = past ? past[0].k.shape[2] : 0;
    if (past && past[0].k.shape[0] !== 1 && past[0].k.shape[0] !== b) throw new SmftError('forward: pastKeyValues batch must be 1 or match ids');
    const s = pastLen + t;
    if (cfg.slidingWindow !== null && s > cfg.slidingWindow) {
      throw new SmftError(`sequence of ${s} tokens exceeds the model's sliding_window ${cfg.slidingWindow} (sliding-window attention is not implemented)`);
    }
    const mask = opts.attentionMask ?? Array.from({ length: b }, () => new Array<number>(s).fill(1));
    if (mask.length !== b || mask.some((r) => r.length !== s)) throw new SmftError(`forward: attentionMask must be [${b}, ${s}] (past + current)`);
    const positions = opts.positionIds ?? defaultPositions(mask, t);
    if (positions.length !== b || positions.some((r) => r.length !== t)) throw new SmftError(`forward: positionIds must be [${b}, ${t}]`);
    if (opts.logitsAt && (opts.logitsAt.length !== b || opts.logitsAt.some((p) => !Number.isInteger(p) || p < 0 || p >= t))) {
      throw new SmftError(`forward: logitsAt needs one position in [0, ${t}) per row`);
    }

    return tf.tidy(() => {
      const { cos, sin } = ropeTables(this.invFreq, positions);
      const bias = attentionBias(mask, b, t, pastLen);
      const ctx = { cos, sin, bias };
      const shape = { numHeads: cfg.numHeads, numKvHeads: cfg.numKvHeads, headDim: cfg.headDim };
      let x = this.embed(ids);
      const hidden: tf.Tensor3D[] = [];
      const presents: LayerKV[] = [];
      for (let i = 0; i < cfg.numLayers; i++) {
        if (opts.outputHiddenStates) hidden.push(x);
        const p = `model.layers.${i}`;
        const xin = x;
        // One scope per layer: its intermediates are freed as soon as the layer is done.
        const layer = tf.tidy(() => {
          const h1 = rmsNorm(xin, this.param(`${p}.input_layernorm.weight`), cfg.rmsNormEps);
          const { out, present } = selfAttention(this.linear, `${p}.self_attn`, shape, h1, ctx, past?.[i]);
          const x1 = tf.add(xin, out) as tf.Tensor3D;
          const h2 = rmsNorm(x1, this.param(`${p}.post_attention_layernorm.weight`), cfg.rmsNormEps);
          const m = mlp(this.linear, `${p}.mlp`, tf.reshape(h2, [b * t, cfg.hiddenSize]) as tf.Tensor2D);
          const y = tf.add(x1, tf.reshape(m, [b, t, cfg.hiddenSize])) as tf.Tensor3D;
          return opts.useCache ? { y, k: present.k, v: present.v } : { y };
        }) as { y: tf.Tensor3D; k?: tf.Tensor4D; v?: tf.Tensor4D };
        if (opts.useCache) presents.push({ k: layer.k!, v: layer.v! });
        x = layer.y;
      }
      const final = rmsNorm(x, this.param('model.norm.weight'), cfg.rmsNormEps);
      if (opts.outputHiddenStates) hidden.push(final);
      const out: ForwardOutput = {};
      if (opts.logits !== 'none') out.logits = this.head(final, opts.logitsAt, opts.logitsTokenIds);
      if (opts.outputHiddenStates) out.hiddenStates = hidden;
      if (opts.useCache) out.pastKeyValues = presents;
      return out as tf.TensorContainerObject;
    }) as ForwardOutput;
  }

  /** Embedding lookup on the host table: [B, T, hidden]. */
  private embed(ids: number[][]): tf.Tensor3D {
    const h = this.config.hiddenSize;
    const t = ids[0].length;
    const out = new Float32Array(ids.length * t * h);
    ids.forEach((row, i) => row.forEach((id, j) => out.set(this.host.embed.subarray(id * h, (id + 1) * h), (i * t + j) * h)));
    return tf.tensor3d(out, [ids.length, t, h]);
  }

  private head(final: tf.Tensor3D, at?: number[], tokenIds?: number[]): tf.Tensor3D {
    const [b, t, h] = final.shape;
    let rows: tf.Tensor2D = tf.reshape(final, [b * t, h]);
    let outT = t;
    if (at) {
      rows = tf.gather(rows, tf.tensor1d(at.map((p, i) => i * t + p), 'int32'));
      outT = 1;
    }
    let logits: tf.Tensor2D;
    if (tokenIds) {
      for (const id of tokenIds) if (!Number.isInteger(id) || id < 0 || id >= this.config.vocabSize) throw new SmftError(`token id ${id} outside the vocabulary`);
      const w = new Float32Array(h * tokenIds.length); // [hidden, n]
      const table = this.outputEmbeddings;
      tokenIds.forEach((id, c) => {
        for (let k = 0; k < h; k++) w[k * tokenIds.length + c] = table[id * h + k];
      });
      logits = tf.matMul(rows, tf.tensor2d(w, [h, tokenIds.length]));
    } else {
      logits = tf.matMul(rows, this.headKernel());
    }
    return tf.reshape(logits, [b, outT, logits.shape[1]]);
  }

  /** [hidden, vocab] output kernel, uploaded on the first full-vocabulary logits request. */
  private headKernel(): tf.Tensor2D {
    if (!this.headKernelCache) {
      const { vocabSize: v, hiddenSize: h } = this.config;
      const table = this.outputEmbeddings;
      const k = new Float32Array(v * h);
      for (let i = 0; i < v; i++) for (let j = 0; j < h; j++) k[j * v + i] = table[i * h + j];
      this.headKernelCache = tf.keep(tf.tensor2d(k, [h, v]));
    }
    return this.headKernelCache;
  }

  /** Free the backend weights (and any cached head). */
  dispose(): void {
    for (const t of this.params.values()) t.dispose();
    this.params.clear();
    this.headKernelCache?.dispose();
    this.headKernelCache = null;
  }
}

/** transformers' generate(): position = cumsum(mask) − 1, padding set to 1; last T columns. */
export function defaultPositions(mask: number[][], t: number): number[][] {
  return mask.map((row) => {
    const pos: number[] = [];
    let c = 0;
    for (const m of row) {
      c += m;
      pos.push(m ? c - 1 : 1);
    }
    return pos.slice(row.length - t);
  });
}

/** Additive causal + padding mask [B, 1, 1, T, S] with S = past + T. */
function attentionBias(mask: number[][], b: number, t: number, pastLen: number): tf.Tensor {
  const s = pastLen + t;
  const data = new Float32Array(b * t * s);
  for (let i = 0; i < b; i++) {
    for (let q = 0; q < t; q++) {
      const o = (i * t + q) * s;
      for (let k = 0; k < s; k++) {
        data[o + k] = k <= pastLen + q && mask[i][k] ? 0 : NEG;
      }
    }
  }
  return tf.tensor(data, [b, 1, 1, t, s]);
}

/** Free a key/value cache. */
export function disposeCache(cache: PastKeyValues | undefined): void {
  if (!cache) return;
  for (const kv of cache) {
    kv.k.dispose();
    kv.v.dispose();
  }
}
