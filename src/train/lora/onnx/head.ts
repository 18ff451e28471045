/**
 * The top of the model with an objective's loss (objective.ts BatchLoss), forward and backward
 * in one graph: the final RMSNorm, the rows the loss reads (a one-hot [R, N] product, whose
 * transpose scatters the gradient back), the output-embedding rows of the scored tokens, and
 *
 *  - cross-entropy to a target distribution q over the scored tokens, normalised over them
 *    ('tokens') or over the whole vocabulary ('vocab'): loss = −Σ q·(l − logZ),
 *    dl = w·(p·Σq − q) (tokens) or dl = −w·q and d l_vocab = w·Σq·p_vocab (vocab);
 *  - expected-value MSE over the scored tokens: e = Σ v·p, loss = (e − t)², dl = w·2(e − t)·p·(v − e);
 *
 * summed with row weights w. Same standard ops as ops.ts. An evaluation variant returns the
 * logits (and log Z) only.
 */
import type { LmConfig } from '../../../lm/config.js';
import { DType } from '../../../lm/onnx/proto.js';
import { GraphBuilder } from '../../../lm/onnx/graph.js';
import { rmsNormBackward, rmsNormForward } from './ops.js';

export type HeadLoss = 'ce-tokens' | 'ce-vocab' | 'expected-mse';

export interface HeadVariant {
  loss: HeadLoss;
  /** Forward and backward (loss, dx) or logits only. */
  train: boolean;
}

export const headVariantKey = (v: HeadVariant): string => `${v.loss}|${v.train ? 'train' : 'eval'}`;

/** log Σ exp over the last axis, [R, 1], with the max subtracted; also the exponentials and their sum. */
function logSumExp(g: GraphBuilder, l: string): { lse: string; e: string; sum: string } {
  const m = g.op('ReduceMax', [l], { axes: [-1], keepdims: 1 });
  const e = g.op('Exp', [g.op('Sub', [l, m])]);
  const sum = g.op('ReduceSum', [e, g.int64([-1])], { keepdims: 1 });
  return { lse: g.op('Add', [m, g.op('Log', [sum])]), e, sum };
}

/**
 * Inputs: `x` [N, hidden] (the last layer's output), `model.norm.weight`, `select` [R, N]
 * (one-hot rows), `head` [n, hidden] (output-embedding rows of the scored tokens); with 'vocab'
 * also `vocab` [V, hidden]; for training `targets` ([R, n] distributions, or [R] expectations
 * with `values` [n]) and `weights` [R].
 * Outputs: `logits` [R, n] (+ `log_z` [R] with 'vocab'); training: `loss` (scalar, weighted sum),
 * `losses` [R] and `dx` [N, hidden].
 */
export function headGraph(cfg: LmConfig, v: HeadVariant): Uint8Array {
  const h = cfg.hiddenSize;
  const f = DType.float;
  const g = new GraphBuilder(`smft_lora_head_${headVariantKey(v)}`);
  const x = g.input('x', f, ['N', h]);
  const norm = g.input('model.norm.weight', f, [h]);
  const select = g.input('select', f, ['R', 'N']);
  const head = g.input('head', f, ['n', h]);
  const vocab = v.loss === 'ce-vocab' ? g.input('vocab', f, ['V', h]) : '';
  const hsel = g.op('MatMul', [select, rmsNormForward(g, x, norm, cfg.rmsNormEps)]); // [R, hidden]
  const logits = g.op('Gemm', [hsel, head], { transB: 1 }); // [R, n]
  g.output(logits, 'logits', f, ['R', 'n']);
  let logZ: { lse: string; e: string; sum: string } | undefined;
  if (vocab) {
    logZ = logSumExp(g, g.op('Gemm', [hsel, vocab], { transB: 1 }));
    g.output(g.op('Reshape', [logZ.lse, g.int64([-1])]), 'log_z', f, ['R']);
  }
  if (!v.train) return g.build();

  const weights = g.input('weights', f, ['R']);
  const w = g.op('Unsqueeze', [weights, g.int64([1])]); // [R, 1]
  let losses: string;
  let dlogits: string;
  let dhsel: string | undefined;
  if (v.loss === 'expected-mse') {
    const values = g.input('values', f, ['n']);
    const target = g.op('Unsqueeze', [g.input('targets', f, ['R']), g.int64([1])]);
    const p = g.op('Softmax', [logits], { axis: -1 });
    const e = g.op('ReduceSum', [g.op('Mul', [p, values]), g.int64([-1])], { keepdims: 1 }); // [R, 1]
    const diff = g.op('Sub', [e, target]);
    losses = g.op('Mul', [diff, diff]);
    const de = g.op('Mul', [g.op('Mul', [diff, g.float(2)]), w]);
    dlogits = g.op('Mul', [g.op('Mul', [p, g.op('Sub', [values, e])]), de]);
  } else {
    const q = g.input('targets', f, ['R', 'n']);
    const qSum = g.op('ReduceSum', [q, g.int64([-1])], { keepdims: 1 });
    if (logZ) {
      losses = g.op('Neg', [g.op('ReduceSum', [g.op('Mul', [q, g.op('Sub', [logits, logZ.lse])]), g.int64([-1])], { keepdims: 1 })]);
      dlogits = g.op('Neg', [g.op('Mul', [q, w])]);
      const dvocab = g.op('Mul', [g.op('Div', [logZ.e, logZ.sum]), g.op('Mul', [qSum, w])]); // [R, V]
      dhsel = g.op('MatMul', [dvocab, vocab]);
    } else {
      const s = logSumExp(g, logits);
      losses = g.op('Neg', [g.op('ReduceSum', [g.op('Mul', [q, g.op('Sub', [logits, s.lse])]), g.int64([-1])], { keepdims: 1 })]);
      const p = g.op('Div', [s.e, s.sum]);
      dlogits = g.op('Mul', [g.op('Sub', [g.op('Mul', [p, qSum]), q]), w]);
    }
  }
  const lossRow = g.op('Reshape', [losses, g.int64([-1])]);
  g.output(lossRow, 'losses', f, ['R']);
  g.output(g.op('ReduceSum', [g.op('Mul', [lossRow, weights]), g.int64([0])], { keepdims: 0 }), 'loss', f, []);
  let dh = g.op('MatMul', [dlogits, head]); // [R, hidden]
  if (dhsel) dh = g.op('Add', [dh, dhsel]);
  const dfinal = g.op('Gemm', [select, dh], { transA: 1 }); // [N, hidden]
  g.output(rmsNormBackward(g, dfinal, x, norm, cfg.rmsNormEps), 'dx', f, ['N', h]);
  return g.build();
}
