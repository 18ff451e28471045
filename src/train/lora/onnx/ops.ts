/**
 * The decoder's ops as ONNX subgraphs, each forward next to its backward (llm.c style): what a
 * forward returns is what its backward reads. The same computation as src/lm (rmsnorm.ts,
 * rope.ts, attention.ts, mlp.ts, the LoRA hook of train/lora/adapter.ts), with the base
 * weights frozen: their gradients are never formed, only the gradients flowing through them
 * (dX = dY·Wᵀ) and those of the LoRA matrices A and B.
 *
 * Standard ONNX ops only (default domain, opset 17), all implemented by ONNX Runtime's CPU,
 * CUDA and WebGPU execution providers:
 *   MatMul, Gemm (alpha, transA, transB), Add, Sub, Mul, Div, Neg, Sqrt, Reciprocal, Exp, Log,
 *   Sigmoid, ReduceMean, ReduceSum, ReduceMax, Softmax, Transpose, Reshape, Slice, Concat,
 *   Unsqueeze, Identity (graph outputs).
 * The tests build the WebGPU sessions with CPU fallback disabled, so an op the WebGPU provider
 * lacks fails there instead of silently running on the CPU.
 *
 * Layouts: activations are [N = B·T, features]; linear kernels K = Wᵀ are [in, out] (as
 * CausalLM keeps them); LoRA A [r, in] and B [out, r] (PEFT's); attention runs per key/value
 * head with the query group folded into the query length, [B, kvHeads, group·T, headDim].
 */
import type { GraphBuilder } from '../../../lm/onnx/graph.js';

/** The LoRA matrices of one linear layer (graph values) and its scale s = alpha / r. */
export interface LoraValues {
  a: string;
  b: string;
  /** Inverted-dropout mask [N, in] (training with dropout). */
  mask?: string;
  scale: number;
}

/** y = x·K (+ bias) + s·((x ⊙ mask)·Aᵀ)·Bᵀ, and `low` = (x ⊙ mask)·Aᵀ [N, r], which dB needs. */
export function linearForward(g: GraphBuilder, x: string, kernel: string, bias: string | undefined, lora?: LoraValues): { y: string; low?: string } {
  let y = g.op('MatMul', [x, kernel]);
  if (bias) y = g.op('Add', [y, bias]);
  if (!lora) return { y };
  const low = loraLow(g, x, lora);
  return { y: g.op('Gemm', [low, lora.b, y], { alpha: { float: lora.scale }, beta: { float: 1 }, transB: 1 }), low };
}

/** The adapter's low-rank activation (x ⊙ mask)·Aᵀ [N, r] alone. */
export function loraLow(g: GraphBuilder, x: string, lora: LoraValues): string {
  return g.op('Gemm', [lora.mask ? g.op('Mul', [x, lora.mask]) : x, lora.a], { transB: 1 });
}

/**
 * Backward of linearForward for dy [N, out]: dX = dy·Kᵀ (+ the adapter's path, masked), and
 * dB = s·dyᵀ·low [out, r], dA = (s·dy·B)ᵀ·(x ⊙ mask) [r, in]. `input` builds x only when an
 * adapter needs it; `needDx` false skips dX (the lowest adapted layer's inputs need none).
 */
export function linearBackward(
  g: GraphBuilder, dy: string, input: () => string, kernel: string, lora: LoraValues | undefined, low: string | undefined, needDx: boolean,
): { dx?: string; dA?: string; dB?: string } {
  const out: { dx?: string; dA?: string; dB?: string } = {};
  if (needDx) out.dx = g.op('Gemm', [dy, kernel], { transB: 1 });
  if (!lora) return out;
  if (!low) throw new Error('linearBackward: the adapter path needs the saved low-rank activation');
  out.dB = g.op('Gemm', [dy, low], { alpha: { float: lora.scale }, transA: 1 });
  const dlow = g.op('Gemm', [dy, lora.b], { alpha: { float: lora.scale } });
  const x = input();
  const xd = lora.mask ? g.op('Mul', [x, lora.mask]) : x;
  out.dA = g.op('Gemm', [dlow, xd], { transA: 1 });
  if (needDx) {
    let dxd = g.op('MatMul', [dlow, lora.a]);
    if (lora.mask) dxd = g.op('Mul', [dxd, lora.mask]);
    out.dx = g.op('Add', [out.dx!, dxd]);
  }
  return out;
}

/** 1 / sqrt(mean(x², −1) + eps): [N, 1]. */
function rmsInverse(g: GraphBuilder, x: string, eps: number): string {
  const variance = g.op('ReduceMean', [g.op('Mul', [x, x])], { axes: [-1], keepdims: 1 });
  return g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [variance, g.float(eps)])])]);
}

/** RMSNorm: y = x · r · w with r = 1/√(mean(x²) + eps). */
export function rmsNormForward(g: GraphBuilder, x: string, w: string, eps: number): string {
  return g.op('Mul', [g.op('Mul', [x, rmsInverse(g, x, eps)]), w]);
}

/** dx = r · (dn − n · mean(dn · n)) with n = x · r and dn = dy · w. */
export function rmsNormBackward(g: GraphBuilder, dy: string, x: string, w: string, eps: number): string {
  const r = rmsInverse(g, x, eps);
  const n = g.op('Mul', [x, r]);
  const dn = g.op('Mul', [dy, w]);
  const proj = g.op('ReduceMean', [g.op('Mul', [dn, n])], { axes: [-1], keepdims: 1 });
  return g.op('Mul', [r, g.op('Sub', [dn, g.op('Mul', [n, proj])])]);
}

/** [x1, x2] → [−x2, x1] over the last axis (head dimension `hd`). */
function rotateHalf(g: GraphBuilder, t: string, hd: number): string {
  const x1 = g.op('Slice', [t, g.int64([0]), g.int64([hd / 2]), g.int64([-1])]);
  const x2 = g.op('Slice', [t, g.int64([hd / 2]), g.int64([hd]), g.int64([-1])]);
  return g.op('Concat', [g.op('Neg', [x2]), x1], { axis: -1 });
}

/** The transposed rotation: [z1, z2] → [z2, −z1]. */
function rotateHalfT(g: GraphBuilder, t: string, hd: number): string {
  const z1 = g.op('Slice', [t, g.int64([0]), g.int64([hd / 2]), g.int64([-1])]);
  const z2 = g.op('Slice', [t, g.int64([hd / 2]), g.int64([hd]), g.int64([-1])]);
  return g.op('Concat', [z2, g.op('Neg', [z1])], { axis: -1 });
}

/** Rotary embedding: x·cos + rotate_half(x)·sin. */
export function ropeForward(g: GraphBuilder, x: string, cos: string, sin: string, hd: number): string {
  return g.op('Add', [g.op('Mul', [x, cos]), g.op('Mul', [rotateHalf(g, x, hd), sin])]);
}

/** Backward of the rotation: dx = dy·cos + rotate_halfᵀ(dy·sin). */
export function ropeBackward(g: GraphBuilder, dy: string, cos: string, sin: string, hd: number): string {
  return g.op('Add', [g.op('Mul', [dy, cos]), rotateHalfT(g, g.op('Mul', [dy, sin]), hd)]);
}

/** The per-call inputs attention reads: RoPE tables, the additive mask and reshape targets. */
export interface AttentionContext {
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  /** [B, 1, 1, T, hd] and [B, 1, T, hd]: the tables for queries (group axis) and keys. */
  cos5: string; sin5: string; cos4: string; sin4: string;
  /** Additive causal + padding mask [B, 1, 1, T, T] (0 or −1e9). */
  bias: string;
  /** [B, T, kvHeads, group, hd], [B, T, kvHeads, hd], [B, kvHeads, group, T, T]. */
  shapeQ: string; shapeKv: string; shapeScores: string;
}

/** What attention's backward reads: queries and keys after RoPE, values, probabilities. */
export interface AttentionSaved {
  /** [B, kvHeads, group·T, hd] */
  qr: string;
  /** [B, kvHeads, T, hd] */
  kr: string;
  v4: string;
  /** [B, kvHeads, group·T, T] */
  probs: string;
}

/**
 * Grouped-query attention of q [N, heads·hd], k, v [N, kvHeads·hd]: RoPE, scaled scores, mask,
 * softmax, weighted values, heads merged back to [N, heads·hd].
 */
export function attentionForward(g: GraphBuilder, c: AttentionContext, q: string, k: string, v: string): { merged: string; saved: AttentionSaved } {
  const { numHeads: nh, numKvHeads: nkv, headDim: hd } = c;
  const q5 = g.op('Transpose', [g.op('Reshape', [q, c.shapeQ])], { perm: [0, 2, 3, 1, 4] }); // [B, nkv, g, T, hd]
  const k4 = g.op('Transpose', [g.op('Reshape', [k, c.shapeKv])], { perm: [0, 2, 1, 3] }); // [B, nkv, T, hd]
  const v4 = g.op('Transpose', [g.op('Reshape', [v, c.shapeKv])], { perm: [0, 2, 1, 3] });
  const qr = g.op('Reshape', [ropeForward(g, q5, c.cos5, c.sin5, hd), g.int64([0, nkv, -1, hd])]);
  const kr = ropeForward(g, k4, c.cos4, c.sin4, hd);
  const scores = g.op('Mul', [g.op('MatMul', [qr, g.op('Transpose', [kr], { perm: [0, 1, 3, 2] })]), g.float(1 / Math.sqrt(hd))]);
  const masked = g.op('Add', [g.op('Reshape', [scores, c.shapeScores]), c.bias]);
  const probs = g.op('Reshape', [g.op('Softmax', [masked], { axis: -1 }), g.int64([0, nkv, -1, 0])]);
  const ctx = g.op('MatMul', [probs, v4]); // [B, nkv, g·T, hd]
  const merged = g.op('Reshape', [
    g.op('Transpose', [g.op('Reshape', [ctx, g.int64([0, nkv, nh / nkv, -1, hd])])], { perm: [0, 3, 1, 2, 4] }),
    g.int64([-1, nh * hd]),
  ]);
  return { merged, saved: { qr, kr, v4, probs } };
}

/**
 * Backward of attentionForward for dmerged [N, heads·hd]: through the weighted sum (dP, dV),
 * the softmax (dS = P ⊙ (dP − Σ dP ⊙ P)), the scale, the scores (dQ, dK; the group's queries
 * sum into their shared key and value head) and the transposed rotation.
 */
export function attentionBackward(g: GraphBuilder, c: AttentionContext, dmerged: string, s: AttentionSaved): { dq: string; dk: string; dv: string } {
  const { numHeads: nh, numKvHeads: nkv, headDim: hd } = c;
  const dctx = g.op('Reshape', [g.op('Transpose', [g.op('Reshape', [dmerged, c.shapeQ])], { perm: [0, 2, 3, 1, 4] }), g.int64([0, nkv, -1, hd])]);
  const dprobs = g.op('MatMul', [dctx, g.op('Transpose', [s.v4], { perm: [0, 1, 3, 2] })]); // [B, nkv, g·T, T]
  const dv4 = g.op('MatMul', [g.op('Transpose', [s.probs], { perm: [0, 1, 3, 2] }), dctx]); // [B, nkv, T, hd]
  const rowDot = g.op('ReduceSum', [g.op('Mul', [dprobs, s.probs]), g.int64([-1])], { keepdims: 1 });
  const dscores = g.op('Mul', [g.op('Mul', [s.probs, g.op('Sub', [dprobs, rowDot])]), g.float(1 / Math.sqrt(hd))]);
  const dqr = g.op('MatMul', [dscores, s.kr]); // [B, nkv, g·T, hd]
  const dkr = g.op('MatMul', [g.op('Transpose', [dscores], { perm: [0, 1, 3, 2] }), s.qr]); // [B, nkv, T, hd]
  const dq5 = ropeBackward(g, g.op('Reshape', [dqr, g.int64([0, nkv, nh / nkv, -1, hd])]), c.cos5, c.sin5, hd);
  const dk4 = ropeBackward(g, dkr, c.cos4, c.sin4, hd);
  return {
    dq: g.op('Reshape', [g.op('Transpose', [dq5], { perm: [0, 3, 1, 2, 4] }), g.int64([-1, nh * hd])]),
    dk: g.op('Reshape', [g.op('Transpose', [dk4], { perm: [0, 2, 1, 3] }), g.int64([-1, nkv * hd])]),
    dv: g.op('Reshape', [g.op('Transpose', [dv4], { perm: [0, 2, 1, 3] }), g.int64([-1, nkv * hd])]),
  };
}

/** SiLU-gated product silu(gate) · up = gate · σ(gate) · up. */
export function swigluForward(g: GraphBuilder, gate: string, up: string): string {
  return g.op('Mul', [g.op('Mul', [gate, g.op('Sigmoid', [gate])]), up]);
}

/** d up = da · silu(gate); d gate = da · up · σ(gate) · (1 + gate · (1 − σ(gate))). */
export function swigluBackward(g: GraphBuilder, da: string, gate: string, up: string): { dgate: string; dup: string } {
  const sg = g.op('Sigmoid', [gate]);
  const dup = g.op('Mul', [da, g.op('Mul', [gate, sg])]);
  const dsilu = g.op('Mul', [sg, g.op('Add', [g.float(1), g.op('Mul', [gate, g.op('Sub', [g.float(1), sg])])])]);
  return { dgate: g.op('Mul', [g.op('Mul', [da, up]), dsilu]), dup };
}
