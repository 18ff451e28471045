import * as tf from '@tensorflow/tfjs';
import { SmftError } from '../util/errors.js';
import type { LmConfig } from './config.js';
import { rmsNorm } from './rmsnorm.js';
import { ropeInvFreq, ropeTables } from './rope.js';
import { selfAttention, type AttentionContext, type LayerKV } from './attention.js';
import { mlp } from './mlp.js';
import { attentionBiasData, forwardInputs } from './forward-inputs.js';

export type { LayerKV } from './attention.js';
export { defaultPositions } from './forward-inputs.js';
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
  /**
   * Gradient checkpointing: each decoder layer runs as one op that keeps only its input for the
   * backward pass and recomputes the layer there, so a gradient holds one layer's activations
   * at a time instead of all of them (≈ one more forward pass of compute). Values and gradients
   * are the same (the same ops on the same inputs; adapters must draw the same dropout masks in
   * the recomputation, which LoRA's seeded masks do). Default: the model's
   * `gradientCheckpointing`. Not with `useCache`.
   */
  checkpoint?: boolean;
}

export interface ForwardOutput {
  /** [B, T, V], or [B, 1, n] with logitsAt / logitsTokenIds. */
  logits?: tf.Tensor3D;
  /** numLayers + 1 tensors [B, T, hidden] (transformers' convention). */
  hiddenStates?: tf.Tensor3D[];
  pastKeyValues?: PastKeyValues;
}

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
  /** The trainable tensors each adapter reads (inputs of a checkpointed layer). */
  private readonly adapterTensors = new Map<string, readonly tf.Tensor[]>();
  private headKernelCache: tf.Tensor2D | null = null;
  /** Default of ForwardOptions.checkpoint (the LoRA trainer turns it on for its steps). */
  gradientCheckpointing = false;

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

  /** Whether any adapter is attached. */
  get hasAdapters(): boolean {
    return this.adapters.size > 0;
  }

  /**
   * Attach (or with undefined, remove) an adapter on a linear layer. `trainable`: the tensors
   * (variables) the adapter reads that gradients are taken for; with gradient checkpointing
   * they must be listed, since a checkpointed layer returns gradients only for its inputs.
   */
  setAdapter(name: string, adapter: LinearAdapter | undefined, trainable: readonly tf.Tensor[] = []): void {
    if (!this.params.has(`${name}.weight`)) throw new Error(`no linear layer '${name}'`);
    if (adapter) {
      this.adapters.set(name, adapter);
      this.adapterTensors.set(name, [...trainable]);
    } else {
      this.adapters.delete(name);
      this.adapterTensors.delete(name);
    }
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
    const past = opts.pastKeyValues;
    const { b, t, pastLen, mask, positions } = forwardInputs(cfg, ids, opts, past && { layers: past.length, length: past[0]?.k.shape[2] ?? 0, batch: past[0]?.k.shape[0] ?? 1 });

    if (opts.checkpoint && opts.useCache) throw new SmftError('forward: gradient checkpointing does not work with useCache');
    const checkpoint = (opts.checkpoint ?? this.gradientCheckpointing) && !opts.useCache;

    return tf.tidy(() => {
      const { cos, sin } = ropeTables(this.invFreq, positions);
      const bias = attentionBias(mask, b, t, pastLen);
      const ctx: AttentionContext = { cos, sin, bias };
      const shape = { numHeads: cfg.numHeads, numKvHeads: cfg.numKvHeads, headDim: cfg.headDim };
      let x = this.embed(ids);
      const hidden: tf.Tensor3D[] = [];
      const presents: LayerKV[] = [];
      for (let i = 0; i < cfg.numLayers; i++) {
        if (opts.outputHiddenStates) hidden.push(x);
        const p = `model.layers.${i}`;
        // One scope per layer: its intermediates are freed as soon as the layer is done.
        const layer = (xin: tf.Tensor3D, c: AttentionContext) => tf.tidy(() => {
          const h1 = rmsNorm(xin, this.param(`${p}.input_layernorm.weight`), cfg.rmsNormEps);
          const { out, present } = selfAttention(this.linear, `${p}.self_attn`, shape, h1, c, past?.[i]);
          const x1 = tf.add(xin, out) as tf.Tensor3D;
          const h2 = rmsNorm(x1, this.param(`${p}.post_attention_layernorm.weight`), cfg.rmsNormEps);
          const m = mlp(this.linear, `${p}.mlp`, tf.reshape(h2, [b * t, cfg.hiddenSize]) as tf.Tensor2D);
          const y = tf.add(x1, tf.reshape(m, [b, t, cfg.hiddenSize])) as tf.Tensor3D;
          return opts.useCache ? { y, k: present.k, v: present.v } : { y };
        }) as { y: tf.Tensor3D; k?: tf.Tensor4D; v?: tf.Tensor4D };
        if (checkpoint) {
          x = this.checkpointedLayer(i, (xin, c) => layer(xin, c).y, x, ctx);
          continue;
        }
        const out = layer(x, ctx);
        if (opts.useCache) presents.push({ k: out.k!, v: out.v! });
        x = out.y;
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

  /** The trainable tensors of the adapters on decoder layer i, in linear-layer order. */
  private layerTrainables(i: number): tf.Tensor[] {
    const prefix = `model.layers.${i}.`;
    const out: tf.Tensor[] = [];
    for (const [name, ts] of this.adapterTensors) if (name.startsWith(prefix)) out.push(...ts);
    return out;
  }

  /**
   * Decoder layer i as one op with a recomputing gradient (gradient checkpointing). Its forward
   * runs inside the op, where TF.js records nothing for backprop, and saves only the layer
   * input and the shared RoPE tables and mask; the backward pass runs the layer again under a
   * gradient tape of its own and returns the gradients of the input and of the layer's adapter
   * tensors, which are inputs of the op so that their gradients reach the caller (e.g.
   * tf.variableGrads).
   */
  private checkpointedLayer(i: number, run: (x: tf.Tensor3D, ctx: AttentionContext) => tf.Tensor3D, x: tf.Tensor3D, ctx: AttentionContext): tf.Tensor3D {
    const trainable = this.layerTrainables(i);
    const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const xx = args[0] as tf.Tensor3D;
      (args[args.length - 1] as tf.GradSaveFunc)([xx, ctx.cos, ctx.sin, ctx.bias]);
      return {
        value: run(xx, ctx),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [sx, cos, sin, bias] = saved;
          return recomputeGradients(() => run(sx as tf.Tensor3D, { cos: cos as tf.Tensor4D, sin: sin as tf.Tensor4D, bias }), [sx, ...trainable], dy);
        },
      };
    });
    return op(x, ...trainable) as tf.Tensor3D;
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

/**
 * Gradients of f() w.r.t. xs (weighted by dy), computed inside another gradient's backward
 * pass. TF.js's engine keeps one active tape: a gradient computation started while none is
 * recording replaces it and, when done, frees its own saved tensors and clears it, so the
 * outer tape (whose saved tensors the outer computation frees at its end) is put back here.
 * Everything but the gradients is freed before returning. Inputs f does not reach get zeros.
 */
function recomputeGradients(f: () => tf.Tensor, xs: tf.Tensor[], dy: tf.Tensor): tf.Tensor[] {
  const engine = tf.engine();
  const outer = engine.state.activeTape;
  try {
    return tf.tidy(() => {
      const { grads } = engine.gradients(f, xs, dy, true);
      return xs.map((x, k) => grads[k] ?? tf.zerosLike(x));
    });
  } finally {
    engine.state.activeTape = outer;
  }
}

/** Additive causal + padding mask [B, 1, 1, T, S] with S = past + T. */
function attentionBias(mask: number[][], b: number, t: number, pastLen: number): tf.Tensor {
  return tf.tensor(attentionBiasData(mask, b, t, pastLen), [b, 1, 1, t, pastLen + t]);
}

/** Free a key/value cache. */
export function disposeCache(cache: PastKeyValues | undefined): void {
  if (!cache) return;
  for (const kv of cache) {
    kv.k.dispose();
    kv.v.dispose();
  }
}
