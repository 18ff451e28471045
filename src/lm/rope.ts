import * as tf from '@tensorflow/tfjs';
import type { LmConfig } from './config.js';

/**
 * Rotary position embedding, as transformers does it: inv_freq = 1 / theta^(2i/d), Llama-3
 * frequency scaling when configured, cos/sin of position × inv_freq duplicated to the full
 * head dimension, and the rotate-half form x·cos + rotate_half(x)·sin.
 */
export function ropeInvFreq(cfg: Pick<LmConfig, 'headDim' | 'ropeTheta' | 'ropeScaling'>): Float64Array {
  const d = cfg.headDim;
  const inv = new Float64Array(d / 2);
  for (let i = 0; i < d / 2; i++) inv[i] = 1 / Math.pow(cfg.ropeTheta, (2 * i) / d);
  const rs = cfg.ropeScaling;
  if (rs?.type === 'llama3') {
    const lowWavelen = rs.originalMaxPositionEmbeddings / rs.lowFreqFactor;
    const highWavelen = rs.originalMaxPositionEmbeddings / rs.highFreqFactor;
    for (let i = 0; i < inv.length; i++) {
      const wavelen = (2 * Math.PI) / inv[i];
      const scaled = wavelen > lowWavelen ? inv[i] / rs.factor : inv[i];
      if (wavelen >= highWavelen && wavelen <= lowWavelen) {
        const smooth = (rs.originalMaxPositionEmbeddings / wavelen - rs.lowFreqFactor) / (rs.highFreqFactor - rs.lowFreqFactor);
        inv[i] = (1 - smooth) * (scaled / rs.factor) + smooth * scaled;
      } else {
        inv[i] = scaled;
      }
    }
  }
  return inv;
}

/** cos and sin of position × inv_freq, duplicated to the head dimension: [B][T][headDim] flattened. */
export function ropeTableData(invFreq: Float64Array, positions: ArrayLike<number>[]): { cos: Float32Array; sin: Float32Array } {
  const b = positions.length;
  const t = b ? positions[0].length : 0;
  const half = invFreq.length;
  const d = half * 2;
  const cos = new Float32Array(b * t * d);
  const sin = new Float32Array(b * t * d);
  for (let i = 0; i < b; i++) {
    for (let j = 0; j < t; j++) {
      const p = positions[i][j];
      const o = (i * t + j) * d;
      for (let k = 0; k < half; k++) {
        const a = p * invFreq[k];
        const c = Math.cos(a);
        const s = Math.sin(a);
        cos[o + k] = c; cos[o + k + half] = c;
        sin[o + k] = s; sin[o + k + half] = s;
      }
    }
  }
  return { cos, sin };
}

/** cos and sin tables, shape [B, T, 1, headDim], for integer positions [B][T]. */
export function ropeTables(invFreq: Float64Array, positions: ArrayLike<number>[]): { cos: tf.Tensor4D; sin: tf.Tensor4D } {
  const b = positions.length;
  const t = b ? positions[0].length : 0;
  const d = invFreq.length * 2;
  const { cos, sin } = ropeTableData(invFreq, positions);
  return { cos: tf.tensor4d(cos, [b, t, 1, d]), sin: tf.tensor4d(sin, [b, t, 1, d]) };
}

/** x·cos + rotate_half(x)·sin for x of shape [B, T, heads, headDim]. */
export function applyRope(x: tf.Tensor4D, cos: tf.Tensor4D, sin: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const half = x.shape[3] / 2;
    const [x1, x2] = tf.split(x, [half, half], 3);
    const rotated = tf.concat([tf.neg(x2), x1], 3);
    return tf.add(tf.mul(x, cos), tf.mul(rotated, sin)) as tf.Tensor4D;
  });
}
