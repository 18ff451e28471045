/**
 * One decoder layer of src/lm/model.ts with LoRA, forward and backward, built from ops.ts:
 *
 *   h1 = rmsnorm(x) → q, k, v → attention → o;  x1 = x + o
 *   h2 = rmsnorm(x1) → gate, up → silu(gate)·up → down;  y = x1 + down
 *
 * and back, in reverse. One graph serves every layer of a model (the layer's weights, adapter
 * matrices and dropout masks are inputs), so a training step runs the layers one by one:
 * forward graphs upward, the head and loss (head.ts), backward graphs downward. Between the
 * two, a layer keeps either everything its backward reads ('save': the residual inputs, q/k/v
 * after RoPE, the attention probabilities, the heads' output, gate and up, each adapter's
 * low-rank activation) or only its input ('recompute': the backward graph runs the forward
 * again first — gradient checkpointing).
 */
import type { LmConfig } from '../../../lm/config.js';
import { DType } from '../../../lm/onnx/proto.js';
import { GraphBuilder } from '../../../lm/onnx/graph.js';
import type { LoraTarget } from '../config.js';
import {
  attentionBackward, attentionForward, linearBackward, linearForward, loraLow, rmsNormBackward, rmsNormForward, swigluBackward, swigluForward,
  type AttentionContext, type LoraValues,
} from './ops.js';

/** The linear layers of a decoder layer, in model order, with their HF path below `model.layers.<i>.`. */
export const LINEARS: readonly { target: LoraTarget; path: string }[] = [
  { target: 'q_proj', path: 'self_attn.q_proj' }, { target: 'k_proj', path: 'self_attn.k_proj' }, { target: 'v_proj', path: 'self_attn.v_proj' },
  { target: 'o_proj', path: 'self_attn.o_proj' }, { target: 'gate_proj', path: 'mlp.gate_proj' }, { target: 'up_proj', path: 'mlp.up_proj' },
  { target: 'down_proj', path: 'mlp.down_proj' },
];

/** What varies between layer graphs: the adapted linear layers, dropout, the LoRA rank and scale. */
export interface LayerVariant {
  /** Adapted linear layers of this layer (LINEARS order). */
  lora: LoraTarget[];
  r: number;
  scale: number;
  /** Dropout masks as inputs. */
  dropout: boolean;
}

export const layerVariantKey = (v: LayerVariant): string => `${v.lora.join('+') || 'none'}|r${v.r}|s${v.scale}|${v.dropout ? 'drop' : 'nodrop'}`;

/** Names and shapes of a layer's weight inputs ([in, out] kernels), relative to `model.layers.<i>.`. */
export function layerWeightInputs(cfg: LmConfig): Map<string, number[]> {
  const { hiddenSize: h, intermediateSize: im, numHeads: nh, numKvHeads: nkv, headDim: hd } = cfg;
  const dims: Record<LoraTarget, [number, number, boolean]> = {
    q_proj: [h, nh * hd, cfg.qkvBias], k_proj: [h, nkv * hd, cfg.qkvBias], v_proj: [h, nkv * hd, cfg.qkvBias], o_proj: [nh * hd, h, cfg.oBias],
    gate_proj: [h, im, cfg.mlpBias], up_proj: [h, im, cfg.mlpBias], down_proj: [im, h, cfg.mlpBias],
  };
  const out = new Map<string, number[]>();
  out.set('input_layernorm.weight', [h]);
  out.set('post_attention_layernorm.weight', [h]);
  for (const { target, path } of LINEARS) {
    const [inF, outF, bias] = dims[target];
    out.set(`${path}.weight`, [inF, outF]);
    if (bias) out.set(`${path}.bias`, [outF]);
  }
  return out;
}

/** In/out features of each linear layer. */
export function linearShape(cfg: LmConfig, target: LoraTarget): [number, number] {
  const w = layerWeightInputs(cfg).get(`${LINEARS.find((l) => l.target === target)!.path}.weight`)!;
  return [w[0], w[1]];
}

/** Input names of a module's adapter. */
export const loraInputNames = (t: LoraTarget): { a: string; b: string; mask: string } => ({ a: `${t}.lora_A`, b: `${t}.lora_B`, mask: `${t}.dropout_mask` });
/** Output names of a module's gradients. */
export const gradOutputNames = (t: LoraTarget): { a: string; b: string } => ({ a: `grad.${t}.lora_A`, b: `grad.${t}.lora_B` });

/** The values a layer's graph reads: weights, adapters, attention context. */
interface LayerIO {
  cfg: LmConfig;
  ctx: AttentionContext;
  weight: (name: string) => string;
  lora: Map<LoraTarget, LoraValues>;
}

/** A graph value built on first use (so that nothing unused is built). */
function once(build: () => string): () => string {
  let v: string | undefined;
  return () => (v ??= build());
}

const PATH = Object.fromEntries(LINEARS.map((l) => [l.target, l.path])) as Record<LoraTarget, string>;

function declareInputs(g: GraphBuilder, cfg: LmConfig, v: LayerVariant): LayerIO {
  const f = DType.float;
  const i64 = DType.int64;
  const { headDim: hd } = cfg;
  const cos4 = g.input('cos', f, ['B', 1, 'T', hd]);
  const sin4 = g.input('sin', f, ['B', 1, 'T', hd]);
  const ctx: AttentionContext = {
    numHeads: cfg.numHeads, numKvHeads: cfg.numKvHeads, headDim: hd,
    cos4, sin4, cos5: g.op('Unsqueeze', [cos4, g.int64([1])]), sin5: g.op('Unsqueeze', [sin4, g.int64([1])]),
    bias: g.input('attention_bias', f, ['B', 1, 1, 'T', 'T']),
    shapeQ: g.input('shape_q', i64, [5]), shapeKv: g.input('shape_kv', i64, [4]), shapeScores: g.input('shape_scores', i64, [5]),
  };
  const shapes = layerWeightInputs(cfg);
  for (const [name, shape] of shapes) g.input(name, f, shape);
  const lora = new Map<LoraTarget, LoraValues>();
  for (const t of v.lora) {
    const [inF, outF] = linearShape(cfg, t);
    const n = loraInputNames(t);
    lora.set(t, {
      a: g.input(n.a, f, [v.r, inF]), b: g.input(n.b, f, [outF, v.r]), scale: v.scale,
      ...(v.dropout ? { mask: g.input(n.mask, f, ['N', inF]) } : {}),
    });
  }
  return { cfg, ctx, lora, weight: (name) => { if (!shapes.has(name)) throw new Error(`no layer weight ${name}`); return name; } };
}

const bias = (io: LayerIO, t: LoraTarget): string | undefined => (layerWeightInputs(io.cfg).has(`${PATH[t]}.bias`) ? io.weight(`${PATH[t]}.bias`) : undefined);

function linear(g: GraphBuilder, io: LayerIO, t: LoraTarget, x: string, saved: Map<string, string>): string {
  const { y, low } = linearForward(g, x, io.weight(`${PATH[t]}.weight`), bias(io, t), io.lora.get(t));
  if (low) saved.set(`low.${t}`, low);
  return y;
}

/**
 * The layer's forward; `saved` receives what the backward reads (by name). Without `wantY`
 * (recomputation inside a backward graph) the last projection's base product is not formed.
 */
function layerForward(g: GraphBuilder, io: LayerIO, x: string, wantY = true): { y?: string; saved: Map<string, string> } {
  const eps = io.cfg.rmsNormEps;
  const saved = new Map<string, string>([['x', x]]);
  const h1 = rmsNormForward(g, x, io.weight('input_layernorm.weight'), eps);
  const q = linear(g, io, 'q_proj', h1, saved);
  const k = linear(g, io, 'k_proj', h1, saved);
  const v = linear(g, io, 'v_proj', h1, saved);
  const att = attentionForward(g, io.ctx, q, k, v);
  for (const [name, value] of Object.entries(att.saved)) saved.set(name, value);
  saved.set('merged', att.merged);
  const x1 = g.op('Add', [x, linear(g, io, 'o_proj', att.merged, saved)]);
  saved.set('x1', x1);
  const h2 = rmsNormForward(g, x1, io.weight('post_attention_layernorm.weight'), eps);
  const gate = linear(g, io, 'gate_proj', h2, saved);
  const up = linear(g, io, 'up_proj', h2, saved);
  saved.set('gate', gate);
  saved.set('up', up);
  if (!wantY) {
    const down = io.lora.get('down_proj');
    if (down) saved.set('low.down_proj', loraLow(g, swigluForward(g, gate, up), down));
    return { saved };
  }
  const y = g.op('Add', [x1, linear(g, io, 'down_proj', swigluForward(g, gate, up), saved)]);
  return { y, saved };
}

/**
 * The layer's backward for dy [N, hidden]: the residual stream's gradient, and dA, dB of each
 * adapter. With `needDx` false the gradient of the layer's input is not formed.
 */
function layerBackward(g: GraphBuilder, io: LayerIO, dy: string, s: Map<string, string>, needDx: boolean): { dx?: string; grads: Map<LoraTarget, { dA: string; dB: string }> } {
  const eps = io.cfg.rmsNormEps;
  const get = (name: string): string => {
    const v = s.get(name);
    if (!v) throw new Error(`layer backward: ${name} was not saved`);
    return v;
  };
  const grads = new Map<LoraTarget, { dA: string; dB: string }>();
  const back = (t: LoraTarget, d: string, x: () => string, wantDx: boolean): string | undefined => {
    const r = linearBackward(g, d, x, io.weight(`${PATH[t]}.weight`), io.lora.get(t), s.get(`low.${t}`), wantDx);
    if (r.dA && r.dB) grads.set(t, { dA: r.dA, dB: r.dB });
    return r.dx;
  };
  const sum = (a: string, b: string): string => g.op('Add', [a, b]);
  // MLP: y = x1 + down(silu(gate)·up)
  const x1 = get('x1');
  const gate = get('gate');
  const up = get('up');
  const h2 = once(() => rmsNormForward(g, x1, io.weight('post_attention_layernorm.weight'), eps));
  const da = back('down_proj', dy, () => swigluForward(g, gate, up), true)!;
  const { dgate, dup } = swigluBackward(g, da, gate, up);
  const dh2 = sum(back('gate_proj', dgate, h2, true)!, back('up_proj', dup, h2, true)!);
  const dx1 = sum(dy, rmsNormBackward(g, dh2, x1, io.weight('post_attention_layernorm.weight'), eps));
  // Attention: x1 = x + o(attention(q, k, v))
  const dmerged = back('o_proj', dx1, () => get('merged'), true)!;
  const { dq, dk, dv } = attentionBackward(g, io.ctx, dmerged, { qr: get('qr'), kr: get('kr'), v4: get('v4'), probs: get('probs') });
  const x = get('x');
  const h1 = once(() => rmsNormForward(g, x, io.weight('input_layernorm.weight'), eps));
  const dxq = back('q_proj', dq, h1, needDx);
  const dxk = back('k_proj', dk, h1, needDx);
  const dxv = back('v_proj', dv, h1, needDx);
  if (!needDx) return { grads };
  const dh1 = sum(sum(dxq!, dxk!), dxv!);
  return { dx: sum(dx1, rmsNormBackward(g, dh1, x, io.weight('input_layernorm.weight'), eps)), grads };
}

/** The names of the tensors a 'save' forward returns for its backward (besides y). */
export function savedNames(v: LayerVariant): string[] {
  return ['x', 'qr', 'kr', 'v4', 'probs', 'merged', 'x1', 'gate', 'up', ...v.lora.map((t) => `low.${t}`)];
}

/** Symbolic shapes of the saved tensors. */
export function savedDims(cfg: LmConfig, v: LayerVariant, name: string): (number | string)[] {
  const { hiddenSize: h, intermediateSize: im, numHeads: nh, numKvHeads: nkv, headDim: hd } = cfg;
  switch (name) {
    case 'x': case 'x1': return ['N', h];
    case 'qr': return ['B', nkv, 'GT', hd];
    case 'kr': case 'v4': return ['B', nkv, 'T', hd];
    case 'probs': return ['B', nkv, 'GT', 'T'];
    case 'merged': return ['N', nh * hd];
    case 'gate': case 'up': return ['N', im];
    default: return ['N', v.r];
  }
}

/**
 * Forward graph of a layer. Inputs: `x` [N, hidden], `cos`/`sin` [B, 1, T, hd],
 * `attention_bias` [B, 1, 1, T, T], `shape_q`/`shape_kv`/`shape_scores`, the layer's weights
 * (layerWeightInputs), each adapter's `<t>.lora_A`/`.lora_B` (and `.dropout_mask` [N, in]).
 * Output `y`, and with `save` every tensor of savedNames as `saved.<name>`.
 */
export function layerForwardGraph(cfg: LmConfig, v: LayerVariant, save: boolean): Uint8Array {
  const g = new GraphBuilder(`smft_lora_layer_forward_${layerVariantKey(v)}`);
  const io = declareInputs(g, cfg, v);
  const x = g.input('x', DType.float, ['N', cfg.hiddenSize]);
  const { y, saved } = layerForward(g, io, x);
  g.output(y!, 'y', DType.float, ['N', cfg.hiddenSize]);
  if (save) for (const name of savedNames(v).filter((n) => n !== 'x')) g.output(saved.get(name)!, `saved.${name}`, DType.float, savedDims(cfg, v, name));
  return g.build();
}

/**
 * Backward graph of a layer: inputs `dy` [N, hidden], the forward's inputs (weights, adapters,
 * masks, context), and either `x` (recompute: the forward runs again inside) or `saved.<name>`
 * for each tensor the 'save' forward returned. Outputs `dx` (with needDx) and
 * `grad.<t>.lora_A` [r, in], `grad.<t>.lora_B` [out, r] of each adapter.
 */
export function layerBackwardGraph(cfg: LmConfig, v: LayerVariant, recompute: boolean, needDx: boolean): Uint8Array {
  const g = new GraphBuilder(`smft_lora_layer_backward_${layerVariantKey(v)}_${recompute ? 'recompute' : 'saved'}${needDx ? '' : '_nodx'}`);
  const io = declareInputs(g, cfg, v);
  const x = g.input('x', DType.float, ['N', cfg.hiddenSize]);
  const dy = g.input('dy', DType.float, ['N', cfg.hiddenSize]);
  let saved: Map<string, string>;
  if (recompute) {
    saved = layerForward(g, io, x, false).saved;
  } else {
    saved = new Map([['x', x]]);
    for (const name of savedNames(v).filter((n) => n !== 'x')) saved.set(name, g.input(`saved.${name}`, DType.float, savedDims(cfg, v, name)));
  }
  const { dx, grads } = layerBackward(g, io, dy, saved, needDx);
  if (dx) g.output(dx, 'dx', DType.float, ['N', cfg.hiddenSize]);
  for (const t of v.lora) {
    const [inF, outF] = linearShape(cfg, t);
    const gr = grads.get(t)!;
    const names = gradOutputNames(t);
    g.output(gr.dA, names.a, DType.float, [v.r, inF]);
    g.output(gr.dB, names.b, DType.float, [outF, v.r]);
  }
  return g.build();
}
