import * as tf from '@tensorflow/tfjs';

/** RMSNorm as in transformers: x · 1/sqrt(mean(x², -1) + eps) · weight (all float32). */
export function rmsNorm<T extends tf.Tensor>(x: T, weight: tf.Tensor1D, eps: number): T {
  return tf.tidy(() => {
    const variance = tf.mean(tf.square(x), -1, true);
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(variance, eps))), weight) as T;
  });
}
