import * as tf from '@tensorflow/tfjs';
import { applyRope } from './rope.js';

/** A named linear layer y = x·Wᵀ + b (plus any adapter), x of shape [N, in]. */
export type LinearFn = (name: string, x: tf.Tensor2D) => tf.Tensor2D;

/** Keys and values of one layer after RoPE, before repeat_kv: [B, kvHeads, S, headDim]. */
export interface LayerKV {
  k: tf.Tensor4D;
  v: tf.Tensor4D;
}

export interface AttentionShape {
  numHeads: number;
  numKvHeads: number;
  headDim: number;
}

export interface AttentionContext {
  cos: tf.Tensor4D; // [B, T, 1, hd]
  sin: tf.Tensor4D;
  /** Additive mask, [B, 1, 1, T, S]: 0 where a query may attend to a key, -1e9 elsewhere. */
  bias: tf.Tensor;
}

/**
 * Grouped-query self-attention for x of shape [B, T, hidden]. Query head h uses kv head
 * h / (numHeads / numKvHeads) (transformers' repeat_kv), computed without materialising the
 * repeated keys by folding the group into the query length. `past` (batch 1 or B) is
 * prepended to this step's keys/values; the returned `present` includes it.
 */
export function selfAttention(
  linear: LinearFn,
  prefix: string,
  shape: AttentionShape,
  x: tf.Tensor3D,
  ctx: AttentionContext,
  past?: LayerKV,
): { out: tf.Tensor3D; present: LayerKV } {
  return tf.tidy(() => {
    const [b, t, hidden] = x.shape;
    const { numHeads: nh, numKvHeads: nkv, headDim: hd } = shape;
    const g = nh / nkv;
    const x2 = tf.reshape(x, [b * t, hidden]) as tf.Tensor2D;
    let q = tf.reshape(linear(`${prefix}.q_proj`, x2), [b, t, nh, hd]) as tf.Tensor4D;
    let k = tf.reshape(linear(`${prefix}.k_proj`, x2), [b, t, nkv, hd]) as tf.Tensor4D;
    const v0 = tf.reshape(linear(`${prefix}.v_proj`, x2), [b, t, nkv, hd]) as tf.Tensor4D;
    q = applyRope(q, ctx.cos, ctx.sin);
    k = applyRope(k, ctx.cos, ctx.sin);
    let kAll = tf.transpose(k, [0, 2, 1, 3]) as tf.Tensor4D; // [B, nkv, T, hd]
    let vAll = tf.transpose(v0, [0, 2, 1, 3]) as tf.Tensor4D;
    if (past) {
      const pk = past.k.shape[0] === b ? past.k : tf.tile(past.k, [b, 1, 1, 1]);
      const pv = past.v.shape[0] === b ? past.v : tf.tile(past.v, [b, 1, 1, 1]);
      kAll = tf.concat([pk, kAll], 2);
      vAll = tf.concat([pv, vAll], 2);
    }
    const s = kAll.shape[2];
    // [B, T, nkv, g, hd] -> [B, nkv, g, T, hd] -> [B, nkv, g·T, hd]
    const qg = tf.reshape(tf.transpose(tf.reshape(q, [b, t, nkv, g, hd]), [0, 2, 3, 1, 4]), [b, nkv, g * t, hd]);
    const scores = tf.mul(tf.matMul(qg, kAll, false, true), 1 / Math.sqrt(hd)); // [B, nkv, g·T, S]
    const masked = tf.add(tf.reshape(scores, [b, nkv, g, t, s]), ctx.bias);
    const probs = tf.reshape(tf.softmax(masked), [b, nkv, g * t, s]);
    const ctxv = tf.matMul(probs, vAll); // [B, nkv, g·T, hd]
    const merged = tf.reshape(tf.transpose(tf.reshape(ctxv, [b, nkv, g, t, hd]), [0, 3, 1, 2, 4]), [b * t, nh * hd]) as tf.Tensor2D;
    const out = tf.reshape(linear(`${prefix}.o_proj`, merged), [b, t, hidden]) as tf.Tensor3D;
    return { out, present: { k: kAll, v: vAll } };
  });
}
