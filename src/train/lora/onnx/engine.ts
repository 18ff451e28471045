/**
 * The ONNX Runtime LoRA engine: one micro-batch's loss and every LoRA gradient from explicit
 * forward and backward graphs (layer.ts, head.ts), run layer by layer on ONNX Runtime's CPU or
 * WebGPU execution provider.
 *
 *   forward:  x₀ = embeddings; layers 0 … L−1 (each keeps its saved tensors, or only its input
 *             with gradient checkpointing); below the lowest adapted layer, inference only
 *   head:     final norm, the objective's rows and loss → loss, dx_L
 *   backward: layers L−1 … lowest adapted → dx, dA, dB
 *
 * One graph per layer variant serves every layer (weights, adapters, masks are inputs; on the
 * CPU they are the model's and the adapters' own arrays, passed without a copy). Dropout masks
 * come from dropout.ts, the same seeds and masks as the TF.js engine. The gradients return as
 * TF.js tensors for the trainer's accumulation, clipping and AdamW.
 */
import { totalmem } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import type * as Ort from 'onnxruntime-node';
import { SmftError } from '../../../util/errors.js';
import { log } from '../../../util/log.js';
import type { CausalLM } from '../../../lm/model.js';
import { ropeInvFreq, ropeTableData } from '../../../lm/rope.js';
import { attentionBiasData, defaultPositions } from '../../../lm/forward-inputs.js';
import { loadOrt } from '../../../lm/onnx/runtime.js';
import type { LoraTarget } from '../config.js';
import type { LoraAdapters } from '../adapter.js';
import { dropoutMask, moduleDropoutSeed } from '../dropout.js';
import type { LoraEngine, MicroGradients, TrainDevice } from '../engine.js';
import type { ObjectiveBatch, RowScorer, RowScores, RowsRequest, TrainObjective } from '../objective.js';
import { LINEARS, gradOutputNames, layerBackwardGraph, layerForwardGraph, layerVariantKey, layerWeightInputs, loraInputNames, savedDims, savedNames, type LayerVariant } from './layer.js';
import { headGraph, headVariantKey, type HeadVariant } from './head.js';

export interface OnnxEngineOptions {
  device?: TrainDevice;
  /**
   * Recompute each layer's forward in its backward instead of keeping its activations; 'auto'
   * (default): only when a micro-batch's kept activations would exceed `memoryBudget`.
   */
  gradientCheckpointing?: boolean | 'auto';
  /** Bytes of kept activations (and dropout masks) allowed with 'auto' (default: a quarter of the machine's memory). */
  memoryBudget?: number;
  /** Intra-op threads (default: ONNX Runtime's, one per physical core). */
  threads?: number;
  /** Refuse to place any node on the CPU when the device is webgpu (tests: every op runs on the GPU provider). */
  strictDevice?: boolean;
  /** ONNX Runtime profiles (JSON traces, one per graph) written with this path prefix when the engine is disposed. */
  profile?: string;
}

type Feeds = Record<string, Ort.Tensor>;

/**
 * Session options of the engine's graphs: all graph optimisations, sequential execution, the
 * thread count; on webgpu (or cuda: onnxruntime-node installed with its CUDA files; untested
 * in this project) that execution provider, with `strictDevice` refusing any node it does not
 * implement (instead of ONNX Runtime's silent CPU fallback).
 */
export function sessionOptions(opts: Pick<OnnxEngineOptions, 'device' | 'threads' | 'strictDevice'>): Ort.InferenceSession.SessionOptions {
  const options: Ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    ...(opts.threads ? { intraOpNumThreads: opts.threads } : {}),
  };
  if (opts.device === 'webgpu' || opts.device === 'cuda') {
    options.executionProviders = [opts.device];
    if (opts.strictDevice) options.extra = { session: { disable_cpu_ep_fallback: '1' } };
  }
  return options;
}

/**
 * Host buffers reused from one micro-batch to the next (activations, masks, gradients flowing
 * between layers), so that a step neither allocates nor page-faults its way through a few GiB
 * of fresh memory. A slot grows to the largest size asked for.
 */
class BufferPool {
  private readonly slots = new Map<string, Float32Array>();

  take(key: string, count: number): Float32Array {
    let b = this.slots.get(key);
    if (!b || b.length < count) {
      b = new Float32Array(count);
      this.slots.set(key, b);
    }
    return b.subarray(0, count);
  }

  clear(): void {
    this.slots.clear();
  }
}

/** An adapted module: its index in adapters.modules (dropout seed, variable order) and layer. */
interface ModuleRef {
  index: number;
  layer: number;
  target: LoraTarget;
  inFeatures: number;
}

/** The per-batch inputs every layer graph shares, and the batch's geometry. */
interface BatchContext {
  b: number;
  t: number;
  n: number;
  feeds: Feeds;
}

export class OnnxLoraEngine implements LoraEngine, RowScorer {
  readonly name: string;
  private readonly sessions = new Map<string, Promise<Ort.InferenceSession>>();
  private readonly pool = new BufferPool();
  private readonly invFreq: Float64Array;
  private readonly variants: LayerVariant[];
  private readonly modules: ModuleRef[][];
  /** The lowest layer with an adapter: no backward below it. */
  private readonly first: number;

  private constructor(
    private readonly ort: typeof Ort,
    private readonly model: CausalLM,
    private readonly adapters: LoraAdapters,
    private readonly objective: TrainObjective | undefined,
    private readonly layerWeights: Feeds[],
    private readonly normWeight: Ort.Tensor,
    private readonly opts: OnnxEngineOptions,
  ) {
    const cfg = model.config;
    this.name = `onnxruntime-${opts.device ?? 'cpu'}`;
    this.invFreq = ropeInvFreq(cfg);
    const byName = new Map(LINEARS.map((l) => [l.path, l.target]));
    this.modules = Array.from({ length: cfg.numLayers }, () => []);
    adapters.modules.forEach((m, index) => {
      const match = /^model\.layers\.(\d+)\.(.+)$/.exec(m.name);
      const target = match && byName.get(match[2]);
      if (!match || !target) throw new SmftError(`the ONNX Runtime engine does not know the adapted layer ${m.name}`);
      this.modules[Number(match[1])].push({ index, layer: Number(match[1]), target, inFeatures: m.inFeatures });
    });
    const { r, dropout } = adapters.config;
    this.variants = this.modules.map((ms) => ({ lora: ms.map((m) => m.target), r, scale: adapters.scale, dropout: dropout > 0 && ms.length > 0 }));
    this.first = this.modules.findIndex((ms) => ms.length > 0);
    if (this.first < 0) throw new SmftError('no adapted layers to train');
  }

  /**
   * An engine for `adapters` attached to `model` (the model's weights are read once: on the
   * TF.js cpu backend they are its own arrays, elsewhere host copies). `objective` supplies the
   * training batches (objective.batch); without it the engine only scores rows.
   */
  static async create(model: CausalLM, adapters: LoraAdapters, objective: TrainObjective | undefined, opts: OnnxEngineOptions = {}): Promise<OnnxLoraEngine> {
    if (objective && !objective.batch) throw new SmftError(`the ONNX Runtime engine cannot train the '${objective.kind}' objective (it has no batch description); use the TF.js engine`);
    const ort = await loadOrt();
    const cfg = model.config;
    if (tf.getBackend() !== 'cpu') log.info({ backend: tf.getBackend() }, 'ONNX Runtime training engine: copying the weights out of the TF.js backend (the cpu backend shares them without a copy)');
    const read = async (name: string, shape: number[]): Promise<Ort.Tensor> => {
      const t = model.params.get(name);
      if (!t) throw new SmftError(`missing parameter ${name}`);
      if (t.shape.join(',') !== shape.join(',')) throw new SmftError(`parameter ${name} has shape [${t.shape}], expected [${shape}]`);
      return new ort.Tensor('float32', (await t.data()) as Float32Array, shape);
    };
    const layerWeights: Feeds[] = [];
    for (let l = 0; l < cfg.numLayers; l++) {
      const feeds: Feeds = {};
      for (const [name, shape] of layerWeightInputs(cfg)) feeds[name] = await read(`model.layers.${l}.${name}`, shape);
      layerWeights.push(feeds);
    }
    const norm = await read('model.norm.weight', [cfg.hiddenSize]);
    return new OnnxLoraEngine(ort, model, adapters, objective, layerWeights, norm, opts);
  }

  private session(key: string, build: () => Uint8Array): Promise<Ort.InferenceSession> {
    let s = this.sessions.get(key);
    if (!s) {
      const options = sessionOptions(this.opts);
      if (this.opts.profile) Object.assign(options, { enableProfiling: true, profileFilePrefix: `${this.opts.profile}-${key.replace(/[^a-z0-9]+/gi, '_')}` });
      s = this.ort.InferenceSession.create(build(), options);
      this.sessions.set(key, s);
      s.catch(() => this.sessions.delete(key));
    }
    return s;
  }

  /** Run a graph on the inputs it declares (taken from `feeds` by name), pooled outputs written in place. */
  private async run(key: string, build: () => Uint8Array, feeds: Feeds, fetches?: Record<string, Ort.Tensor | null>): Promise<Ort.InferenceSession.OnnxValueMapType> {
    const s = await this.session(key, build);
    const used: Feeds = {};
    for (const name of s.inputNames) {
      const v = feeds[name];
      if (!v) throw new Error(`ONNX Runtime engine: no value for graph input ${name} (${key})`);
      used[name] = v;
    }
    if (!fetches) return s.run(used);
    // Pre-allocated outputs are returned as the tensors given.
    return { ...(await s.run(used, fetches)), ...Object.fromEntries(Object.entries(fetches).filter(([, t]) => t)) } as Ort.InferenceSession.OnnxValueMapType;
  }

  /** A tensor over pool slot `key`. */
  private pooled(key: string, dims: number[]): Ort.Tensor {
    return this.f32(this.pool.take(key, dims.reduce((a, d) => a * d, 1)), dims);
  }

  /** Layer l's forward into pool slot `${prefix}x.${l + 1}` (and with `save` its saved tensors into `saved.${l}.*`). */
  private forwardLayer(l: number, variant: LayerVariant, save: boolean, feeds: Feeds, ctx: BatchContext, prefix = ''): Promise<Ort.InferenceSession.OnnxValueMapType> {
    const cfg = this.model.config;
    const fetches: Record<string, Ort.Tensor> = { y: this.pooled(`${prefix}x.${l + 1}`, [ctx.n, cfg.hiddenSize]) };
    if (save) {
      const dims: Record<string, number> = { N: ctx.n, B: ctx.b, T: ctx.t, GT: (cfg.numHeads / cfg.numKvHeads) * ctx.t };
      for (const name of savedNames(variant).filter((x) => x !== 'x')) {
        fetches[`saved.${name}`] = this.pooled(`saved.${l}.${name}`, savedDims(cfg, variant, name).map((d) => (typeof d === 'number' ? d : dims[d])));
      }
    }
    return this.run(`fwd|${layerVariantKey(variant)}|${save ? 'save' : 'plain'}`, () => layerForwardGraph(cfg, variant, save), { ...feeds, ...this.layerWeights[l] }, fetches);
  }

  private f32(data: Float32Array, dims: number[]): Ort.Tensor {
    return new this.ort.Tensor('float32', data, dims);
  }

  private i64(v: number[]): Ort.Tensor {
    return new this.ort.Tensor('int64', BigInt64Array.from(v.map(BigInt)), [v.length]);
  }

  /** Embeddings, RoPE tables, mask and reshape targets of a batch. */
  private context(req: RowsRequest, prefix = ''): BatchContext {
    const cfg = this.model.config;
    const { hiddenSize: h, numKvHeads: nkv, numHeads: nh, headDim: hd } = cfg;
    const b = req.ids.length;
    const t = req.ids[0].length;
    if (req.mask.length !== b || req.mask.some((m, i) => m.length !== t || req.ids[i].length !== t)) throw new SmftError('batch: ids and mask must be [B][T] alike');
    const group = nh / nkv;
    const { cos, sin } = ropeTableData(this.invFreq, defaultPositions(req.mask, t));
    const x = this.pool.take(`${prefix}x.0`, b * t * h);
    const embed = this.model.embedTokens;
    req.ids.forEach((row, i) => row.forEach((id, j) => {
      if (!Number.isInteger(id) || id < 0 || id >= cfg.vocabSize) throw new SmftError(`token id ${id} outside the vocabulary`);
      x.set(embed.subarray(id * h, (id + 1) * h), (i * t + j) * h);
    }));
    return {
      b, t, n: b * t,
      feeds: {
        x: this.f32(x, [b * t, h]),
        cos: this.f32(cos, [b, 1, t, hd]),
        sin: this.f32(sin, [b, 1, t, hd]),
        attention_bias: this.f32(attentionBiasData(req.mask, b, t, 0), [b, 1, 1, t, t]),
        shape_q: this.i64([b, t, nkv, group, hd]),
        shape_kv: this.i64([b, t, nkv, hd]),
        shape_scores: this.i64([b, nkv, group, t, t]),
      },
    };
  }

  /** The adapter matrices of layer l (current values) and, with a seed, its dropout masks for N rows. */
  private async loraFeeds(l: number, n: number, seed?: number): Promise<Feeds> {
    const feeds: Feeds = {};
    const p = this.adapters.config.dropout;
    for (const m of this.modules[l]) {
      const mod = this.adapters.modules[m.index];
      const names = loraInputNames(m.target);
      feeds[names.a] = this.f32((await mod.a.data()) as Float32Array, [...mod.a.shape]);
      feeds[names.b] = this.f32((await mod.b.data()) as Float32Array, [...mod.b.shape]);
      if (seed !== undefined && p > 0) {
        const mask = this.pool.take(`mask.${l}.${m.target}`, n * m.inFeatures);
        dropoutMask(moduleDropoutSeed(seed, m.index), n * m.inFeatures, p, mask);
        feeds[names.mask] = this.f32(mask, [n, m.inFeatures]);
      }
    }
    return feeds;
  }

  /** The head's inputs for a batch: row selector, output-embedding rows, and the loss's targets. */
  private headFeeds(req: RowsRequest, ctx: BatchContext, x: Ort.Tensor, loss?: { batch: ObjectiveBatch; terms: number }): { variant: HeadVariant; feeds: Feeds } {
    const cfg = this.model.config;
    const h = cfg.hiddenSize;
    const rows = req.rows.length;
    const nTok = req.tokenIds.length;
    const select = new Float32Array(rows * ctx.n);
    req.rows.forEach((row, r) => {
      if (!Number.isInteger(row) || row < 0 || row >= ctx.n) throw new SmftError(`batch row ${row} outside the ${ctx.n} token positions`);
      select[r * ctx.n + row] = 1;
    });
    const table = this.model.outputEmbeddings;
    const head = new Float32Array(nTok * h);
    req.tokenIds.forEach((id, c) => {
      if (!Number.isInteger(id) || id < 0 || id >= cfg.vocabSize) throw new SmftError(`token id ${id} outside the vocabulary`);
      head.set(table.subarray(id * h, (id + 1) * h), c * h);
    });
    const feeds: Feeds = { x, 'model.norm.weight': this.normWeight, select: this.f32(select, [rows, ctx.n]), head: this.f32(head, [nTok, h]) };
    const spec = loss?.batch.loss;
    const vocab = spec ? spec.kind === 'cross-entropy' && spec.normalize === 'vocab' : !!req.logZ;
    if (vocab) feeds.vocab = this.f32(table, [cfg.vocabSize, h]);
    const variant: HeadVariant = { loss: spec?.kind === 'expected-mse' ? 'expected-mse' : vocab ? 'ce-vocab' : 'ce-tokens', train: !!loss };
    if (loss && spec) {
      const w = new Float32Array(rows);
      for (let r = 0; r < rows; r++) w[r] = (loss.batch.weights ? loss.batch.weights[r] : 1) / loss.terms;
      feeds.weights = this.f32(w, [rows]);
      if (spec.kind === 'expected-mse') {
        feeds.values = this.f32(Float32Array.from(spec.values), [nTok]);
        feeds.targets = this.f32(Float32Array.from(spec.targets), [rows]);
      } else {
        if (spec.targets.length !== rows * nTok) throw new SmftError(`batch targets: ${spec.targets.length} values for ${rows} rows × ${nTok} tokens`);
        feeds.targets = this.f32(Float32Array.from(spec.targets), [rows, nTok]);
      }
    }
    return { variant, feeds };
  }

  async gradients(micro: Int32Array, terms: number, dropoutSeed: number): Promise<MicroGradients> {
    if (!this.objective?.batch) throw new Error('OnnxLoraEngine.gradients: no objective batches');
    const batch = this.objective.batch(micro);
    const cfg = this.model.config;
    const ctx = this.context(batch);
    const recompute = this.recompute(ctx);
    // Forward, keeping what each adapted layer's backward needs (in the pool).
    const kept: { x: Ort.Tensor; saved: Feeds; masks?: Feeds }[] = [];
    let x = ctx.feeds.x;
    for (let l = 0; l < cfg.numLayers; l++) {
      const v = this.variants[l];
      const lora = l < this.first ? {} : await this.loraFeeds(l, ctx.n, dropoutSeed);
      const out = await this.forwardLayer(l, v, l >= this.first && !recompute, { ...ctx.feeds, ...lora, x }, ctx);
      if (l >= this.first) {
        const saved: Feeds = {};
        if (!recompute) for (const name of savedNames(v).filter((s) => s !== 'x')) saved[`saved.${name}`] = out[`saved.${name}`] as Ort.Tensor;
        kept[l] = { x, saved, masks: recompute ? undefined : lora };
      }
      x = out.y as Ort.Tensor;
    }
    // Head and loss.
    const { variant: hv, feeds: hf } = this.headFeeds(batch, ctx, x, { batch, terms });
    const top = await this.run(`head|${headVariantKey(hv)}`, () => headGraph(cfg, hv), hf, { dx: this.pooled(`dx.${cfg.numLayers}`, [ctx.n, cfg.hiddenSize]), loss: null, losses: null, logits: null });
    const loss = (top.loss.data as Float32Array)[0];
    // Backward, top layer first.
    const grads = new Map<number, { a: Float32Array; b: Float32Array }>();
    let dy = top.dx as Ort.Tensor;
    for (let l = cfg.numLayers - 1; l >= this.first; l--) {
      const v = this.variants[l];
      const needDx = l > this.first;
      const k = kept[l];
      const lora = k.masks ?? (await this.loraFeeds(l, ctx.n, dropoutSeed));
      const fetches: Record<string, Ort.Tensor | null> = needDx ? { dx: this.pooled(`dx.${l}`, [ctx.n, cfg.hiddenSize]) } : {};
      for (const m of this.modules[l]) {
        const names = gradOutputNames(m.target);
        fetches[names.a] = null;
        fetches[names.b] = null;
      }
      const key = `bwd|${layerVariantKey(v)}|${recompute ? 'recompute' : 'saved'}|${needDx ? 'dx' : 'nodx'}`;
      const out = await this.run(key, () => layerBackwardGraph(cfg, v, recompute, needDx), { ...ctx.feeds, ...this.layerWeights[l], ...lora, ...k.saved, x: k.x, dy }, fetches);
      for (const m of this.modules[l]) {
        const names = gradOutputNames(m.target);
        grads.set(m.index, { a: out[names.a].data as Float32Array, b: out[names.b].data as Float32Array });
      }
      if (needDx) dy = out.dx as Ort.Tensor;
    }
    const list: tf.Tensor[] = [];
    this.adapters.modules.forEach((mod, i) => {
      const gr = grads.get(i)!;
      list.push(tf.tensor2d(gr.a, mod.a.shape as [number, number]), tf.tensor2d(gr.b, mod.b.shape as [number, number]));
    });
    return { loss: tf.scalar(loss), grads: list };
  }

  /** Bytes the forward keeps for the backward (saved tensors and dropout masks of the adapted layers). */
  keptBytes(ctx: Pick<BatchContext, 'n' | 'b' | 't'>): number {
    const { hiddenSize: h, intermediateSize: im, numHeads: nh, numKvHeads: nkv, headDim: hd } = this.model.config;
    let floats = 0;
    for (let l = this.first; l < this.variants.length; l++) {
      const v = this.variants[l];
      floats += ctx.n * (2 * h + 2 * nh * hd + 2 * nkv * hd + 2 * im + v.r * v.lora.length) + ctx.b * nh * ctx.t * ctx.t;
      if (v.dropout) for (const m of this.modules[l]) floats += ctx.n * m.inFeatures;
    }
    return 4 * floats;
  }

  private recompute(ctx: BatchContext): boolean {
    const c = this.opts.gradientCheckpointing ?? 'auto';
    if (c !== 'auto') return c;
    return this.keptBytes(ctx) > (this.opts.memoryBudget ?? totalmem() / 4);
  }

  /** Logits of the requested rows (and log Z) with the adapters as they are, no dropout. */
  async scoreRows(req: RowsRequest): Promise<RowScores> {
    const cfg = this.model.config;
    const ctx = this.context(req, 'eval.');
    let x = ctx.feeds.x;
    for (let l = 0; l < cfg.numLayers; l++) {
      const v = { ...this.variants[l], dropout: false };
      const lora = await this.loraFeeds(l, ctx.n);
      x = (await this.forwardLayer(l, v, false, { ...ctx.feeds, ...lora, x }, ctx, `eval.${l % 2}.`)).y as Ort.Tensor;
    }
    const { variant, feeds } = this.headFeeds(req, ctx, x);
    const out = await this.run(`head|${headVariantKey(variant)}`, () => headGraph(cfg, variant), feeds);
    return { logits: out.logits.data as Float32Array, ...(out.log_z ? { logZ: out.log_z.data as Float32Array } : {}) };
  }

  get scorer(): RowScorer {
    return this;
  }

  async dispose(): Promise<void> {
    for (const s of this.sessions.values()) {
      try {
        if (this.opts.profile) (await s).endProfiling();
        await (await s).release();
      } catch {
        // a session that failed to build has nothing to release
      }
    }
    this.sessions.clear();
    this.pool.clear();
  }
}

