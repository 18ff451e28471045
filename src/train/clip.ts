/**
 * Gradient clipping by global norm, as torch.nn.utils.clip_grad_norm_: with
 * n = ‖(g₁, …, gₖ)‖₂ over all gradients together, every gradient is scaled by
 * min(1, maxNorm / (n + 1e-6)). The scale is computed on the device (no sync), so it costs no
 * round trip on GPU backends; the norm comes back as a scalar tensor.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * Inputs per addN: the webgpu backend binds every input as a storage buffer, and a WebGPU device
 * guarantees only 8 per shader stage (output included); TF.js's webgpu addN does not split.
 */
const ADDN_MAX = 7;

/** ‖g‖₂ over all gradients (a scalar tensor). */
export function globalNorm(grads: readonly tf.Tensor[]): tf.Scalar {
  return tf.tidy(() => {
    if (grads.length === 0) return tf.scalar(0);
    const sq = grads.map((g) => tf.sum(tf.square(g)));
    // Left to right in chunks, the running sum first: the same additions in the same order as one addN.
    let total = tf.addN(sq.slice(0, ADDN_MAX));
    for (let i = ADDN_MAX; i < sq.length; i += ADDN_MAX - 1) total = tf.addN([total, ...sq.slice(i, i + ADDN_MAX - 1)]);
    return tf.sqrt(total) as tf.Scalar;
  });
}

/**
 * Clipped copies of `grads` (the inputs are not disposed) and the norm before clipping. With
 * maxNorm ≤ 0 or Infinity the copies are unscaled. A non-finite norm propagates NaN into the
 * gradients, which the trainer's loss check then reports.
 */
export function clipByGlobalNorm(grads: readonly tf.Tensor[], maxNorm: number): { grads: tf.Tensor[]; norm: tf.Scalar } {
  const norm = globalNorm(grads);
  if (!(maxNorm > 0) || maxNorm === Infinity) return { grads: grads.map((g) => tf.clone(g)), norm };
  const clipped = tf.tidy(() => {
    const coef = tf.minimum(tf.div(maxNorm, tf.add(norm, 1e-6)), 1);
    return grads.map((g) => tf.mul(g, coef));
  });
  return { grads: clipped, norm };
}
