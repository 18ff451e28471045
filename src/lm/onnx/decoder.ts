/**
 * The Llama / Qwen2 / Mistral decoder of src/lm/model.ts as an ONNX graph, op for op the same
 * computation (RMSNorm, rotate-half RoPE, grouped-query attention with the group folded into
 * the query length, SiLU-gated MLP), for inference through ONNX Runtime's CPU kernels.
 *
 * Weights are graph inputs under their Hugging Face names (linear kernels transposed to
 * [in, out], as CausalLM keeps them), so one set of host arrays serves every graph variant and
 * no model file is written; or, for a GPU execution provider, initializers whose data is in one
 * file beside the model (uploaded to the device once, not on every call). The embedding lookup, RoPE tables, attention bias and dynamic
 * shapes are computed by the caller (see session.ts).
 */
import type { LmConfig } from '../config.js';
import { DType } from './proto.js';
import { GraphBuilder } from './graph.js';

export interface DecoderVariant {
  /** Take a key/value cache of earlier tokens (batch 1, broadcast, or B). */
  past: boolean;
  /** Return this call's keys/values (past included). */
  present: boolean;
  /** Return the hidden states (embeddings, each layer's output, the final normed one). */
  hidden: boolean;
  /** Compute logits for selected rows with a given output matrix. */
  logits: boolean;
}

export const variantKey = (v: DecoderVariant): string => `${+v.past}${+v.present}${+v.hidden}${+v.logits}`;

/** Weights stored in one file beside the model (initializers), instead of graph inputs. */
export interface ExternalWeights {
  /** File name, relative to the model file. */
  file: string;
  /** Byte offset of each weight (weightInputs order and shapes, float32). */
  offsets: Map<string, number>;
}

/** Byte offsets of the weights packed in weightInputs order, and the total size. */
export function packWeights(cfg: LmConfig): { offsets: Map<string, number>; bytes: number } {
  const offsets = new Map<string, number>();
  let bytes = 0;
  for (const [name, shape] of weightInputs(cfg)) {
    offsets.set(name, bytes);
    bytes += shape.reduce((a, d) => a * d, 1) * 4;
  }
  return { offsets, bytes };
}

/** Names and shapes of the weight inputs: [in, out] for linear kernels, HF names. */
export function weightInputs(cfg: LmConfig): Map<string, number[]> {
  const { hiddenSize: h, intermediateSize: im, numHeads: nh, numKvHeads: nkv, headDim: hd } = cfg;
  const out = new Map<string, number[]>();
  const linear = (name: string, inF: number, outF: number, bias: boolean): void => {
    out.set(`${name}.weight`, [inF, outF]);
    if (bias) out.set(`${name}.bias`, [outF]);
  };
  for (let i = 0; i < cfg.numLayers; i++) {
    const p = `model.layers.${i}`;
    out.set(`${p}.input_layernorm.weight`, [h]);
    linear(`${p}.self_attn.q_proj`, h, nh * hd, cfg.qkvBias);
    linear(`${p}.self_attn.k_proj`, h, nkv * hd, cfg.qkvBias);
    linear(`${p}.self_attn.v_proj`, h, nkv * hd, cfg.qkvBias);
    linear(`${p}.self_attn.o_proj`, nh * hd, h, cfg.oBias);
    out.set(`${p}.post_attention_layernorm.weight`, [h]);
    linear(`${p}.mlp.gate_proj`, h, im, cfg.mlpBias);
    linear(`${p}.mlp.up_proj`, h, im, cfg.mlpBias);
    linear(`${p}.mlp.down_proj`, im, h, cfg.mlpBias);
  }
  out.set('model.norm.weight', [h]);
  return out;
}

/**
 * Inputs besides the weights (all per call):
 * - `inputs_embeds` [N = B·T, hidden]; `cos`, `sin` [B, 1, T, headDim];
 * - `attention_bias` [B, 1, 1, T, S] (0 or −1e9; S = past + T);
 * - `shape_q` = [B, T, kvHeads, group, headDim], `shape_kv` = [B, T, kvHeads, headDim],
 *   `shape_scores` = [B, kvHeads, group, T, S], `shape_probs` = [B, kvHeads, group·T, S];
 * - with past: `expand_b` = [B, 1, 1, 1] and `past_key_i`, `past_value_i` [1 or B, kvHeads, P, headDim];
 * - with logits: `head_rows` (int64 [R], rows of the flattened [N, hidden] final states) and
 *   `head_weight` [n, hidden] (output embedding rows): `logits` [R, n].
 * Outputs: `logits`, `present_key_i` / `present_value_i` [B, kvHeads, S, headDim], `hidden_l` [N, hidden].
 */
export function decoderGraph(cfg: LmConfig, v: DecoderVariant, external?: ExternalWeights): Uint8Array {
  const { hiddenSize: h, numHeads: nh, numKvHeads: nkv, headDim: hd } = cfg;
  const half = hd / 2;
  const g = new GraphBuilder(`smft_${cfg.modelType}_${variantKey(v)}`);
  const f = DType.float;
  const i64 = DType.int64;

  let x = g.input('inputs_embeds', f, ['N', h]);
  const cos4 = g.input('cos', f, ['B', 1, 'T', hd]);
  const sin4 = g.input('sin', f, ['B', 1, 'T', hd]);
  const bias = g.input('attention_bias', f, ['B', 1, 1, 'T', 'S']);
  const shapeQ = g.input('shape_q', i64, [5]);
  const shapeKv = g.input('shape_kv', i64, [4]);
  const shapeScores = g.input('shape_scores', i64, [5]);
  const shapeProbs = g.input('shape_probs', i64, [4]);
  const expandB = v.past ? g.input('expand_b', i64, [4]) : '';
  for (const [name, shape] of weightInputs(cfg)) {
    if (external) g.externalFloat(name, shape, external.file, external.offsets.get(name)!);
    else g.input(name, f, shape);
  }
  const cos5 = g.op('Unsqueeze', [cos4, g.int64([1])]);
  const sin5 = g.op('Unsqueeze', [sin4, g.int64([1])]);

  const rms = (t: string, w: string): string => {
    const variance = g.op('ReduceMean', [g.op('Mul', [t, t])], { axes: [-1], keepdims: 1 });
    const inv = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [variance, g.float(cfg.rmsNormEps)])])]);
    return g.op('Mul', [g.op('Mul', [t, inv]), w]);
  };
  const linear = (t: string, name: string, hasBias: boolean): string => {
    const y = g.op('MatMul', [t, `${name}.weight`]);
    return hasBias ? g.op('Add', [y, `${name}.bias`]) : y;
  };
  // x·cos + rotate_half(x)·sin over the last axis.
  const rope = (t: string, c: string, s: string): string => {
    const x1 = g.op('Slice', [t, g.int64([0]), g.int64([half]), g.int64([-1])]);
    const x2 = g.op('Slice', [t, g.int64([half]), g.int64([hd]), g.int64([-1])]);
    const rotated = g.op('Concat', [g.op('Neg', [x2]), x1], { axis: -1 });
    return g.op('Add', [g.op('Mul', [t, c]), g.op('Mul', [rotated, s])]);
  };

  const hidden: string[] = [];
  for (let i = 0; i < cfg.numLayers; i++) {
    g.scope(`layers.${i}/`);
    if (v.hidden) hidden.push(x);
    const p = `model.layers.${i}`;
    const a = `${p}.self_attn`;
    const h1 = rms(x, `${p}.input_layernorm.weight`);
    // [N, nh·hd] → [B, T, nkv, group, hd] → [B, nkv, group, T, hd]
    const q5 = g.op('Transpose', [g.op('Reshape', [linear(h1, `${a}.q_proj`, cfg.qkvBias), shapeQ])], { perm: [0, 2, 3, 1, 4] });
    const k4 = g.op('Transpose', [g.op('Reshape', [linear(h1, `${a}.k_proj`, cfg.qkvBias), shapeKv])], { perm: [0, 2, 1, 3] });
    const v4 = g.op('Transpose', [g.op('Reshape', [linear(h1, `${a}.v_proj`, cfg.qkvBias), shapeKv])], { perm: [0, 2, 1, 3] });
    const qr = g.op('Reshape', [rope(q5, cos5, sin5), g.int64([0, nkv, -1, hd])]); // [B, nkv, group·T, hd]
    let kAll = rope(k4, cos4, sin4);
    let vAll = v4;
    if (v.past) {
      const pk = g.input(`past_key_${i}`, f, ['Bp', nkv, 'P', hd]);
      const pv = g.input(`past_value_${i}`, f, ['Bp', nkv, 'P', hd]);
      kAll = g.op('Concat', [g.op('Expand', [pk, expandB]), kAll], { axis: 2 });
      vAll = g.op('Concat', [g.op('Expand', [pv, expandB]), vAll], { axis: 2 });
    }
    if (v.present) {
      g.output(kAll, `present_key_${i}`, f, ['B', nkv, 'S', hd]);
      g.output(vAll, `present_value_${i}`, f, ['B', nkv, 'S', hd]);
    }
    const scores = g.op('Mul', [g.op('MatMul', [qr, g.op('Transpose', [kAll], { perm: [0, 1, 3, 2] })]), g.float(1 / Math.sqrt(hd))]);
    const masked = g.op('Add', [g.op('Reshape', [scores, shapeScores]), bias]);
    const probs = g.op('Reshape', [g.op('Softmax', [masked], { axis: -1 }), shapeProbs]);
    const ctx = g.op('MatMul', [probs, vAll]); // [B, nkv, group·T, hd]
    const merged = g.op('Reshape', [
      g.op('Transpose', [g.op('Reshape', [ctx, g.int64([0, nkv, nh / nkv, -1, hd])])], { perm: [0, 3, 1, 2, 4] }),
      g.int64([-1, nh * hd]),
    ]);
    const x1 = g.op('Add', [x, linear(merged, `${a}.o_proj`, cfg.oBias)]);
    const h2 = rms(x1, `${p}.post_attention_layernorm.weight`);
    const gate = linear(h2, `${p}.mlp.gate_proj`, cfg.mlpBias);
    const up = linear(h2, `${p}.mlp.up_proj`, cfg.mlpBias);
    const act = g.op('Mul', [g.op('Mul', [gate, g.op('Sigmoid', [gate])]), up]);
    x = g.op('Add', [x1, linear(act, `${p}.mlp.down_proj`, cfg.mlpBias)]);
  }
  g.scope('');
  const final = rms(x, 'model.norm.weight');
  if (v.hidden) {
    hidden.push(final);
    hidden.forEach((t, l) => g.output(t, `hidden_${l}`, f, ['N', h]));
  }
  if (v.logits) {
    const rows = g.input('head_rows', i64, ['R']);
    const w = g.input('head_weight', f, ['V', h]);
    const sel = g.op('Gather', [final, rows], { axis: 0 });
    g.output(g.op('Gemm', [sel, w], { transB: 1 }), 'logits', f, ['R', 'V']);
  }
  return g.build();
}
