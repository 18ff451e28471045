import * as tf from '@tensorflow/tfjs';
import type { LinearFn } from './attention.js';

/** SiLU-gated MLP: down_proj(silu(gate_proj(x)) · up_proj(x)), x of shape [N, hidden]. */
export function mlp(linear: LinearFn, prefix: string, x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const gate = linear(`${prefix}.gate_proj`, x);
    const up = linear(`${prefix}.up_proj`, x);
    const act = tf.mul(tf.mul(gate, tf.sigmoid(gate)), up) as tf.Tensor2D;
    return linear(`${prefix}.down_proj`, act);
  });
}
