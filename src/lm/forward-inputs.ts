/**
 * The inputs of a forward pass besides the weights, checked and completed as plain arrays:
 * token ids, attention mask, positions and the additive causal + padding mask. Shared by the
 * TF.js model and the ONNX Runtime graph, so both accept and compute exactly the same.
 */
import { SmftError } from '../util/errors.js';
import type { LmConfig } from './config.js';

/** The additive value for a masked key (finite, so an all-masked padding row stays finite). */
export const MASKED = -1e9;

/** transformers' generate(): position = cumsum(mask) − 1, padding set to 1; last T columns. */
export function defaultPositions(mask: number[][], t: number): number[][] {
  return mask.map((row) => {
    const pos: number[] = [];
    let c = 0;
    for (const m of row) {
      c += m;
      pos.push(m ? c - 1 : 1);
    }
    return pos.slice(row.length - t);
  });
}

/**
 * Causal + padding mask, [B][T][S] flattened with S = past + T: 0 where query q of row i may
 * attend to key k (k ≤ past + q and mask[i][k] = 1), MASKED elsewhere.
 */
export function attentionBiasData(mask: number[][], b: number, t: number, pastLen: number): Float32Array {
  const s = pastLen + t;
  const data = new Float32Array(b * t * s);
  for (let i = 0; i < b; i++) {
    for (let q = 0; q < t; q++) {
      const o = (i * t + q) * s;
      for (let k = 0; k < s; k++) data[o + k] = k <= pastLen + q && mask[i][k] ? 0 : MASKED;
    }
  }
  return data;
}

export interface ForwardInputOptions {
  attentionMask?: number[][];
  positionIds?: number[][];
  logitsAt?: number[];
}

export interface ForwardInputs {
  b: number;
  t: number;
  pastLen: number;
  /** [B][past + T]. */
  mask: number[][];
  /** [B][T]. */
  positions: number[][];
}

/**
 * Check ids [B][T] (same non-zero length, inside the vocabulary), a key/value cache of
 * `past.layers` layers, `past.length` tokens and batch `past.batch` (1 or B), the mask, the
 * positions and `logitsAt`; fill in the default mask (all ones) and positions. One SmftError
 * naming the problem otherwise.
 */
export function forwardInputs(cfg: LmConfig, ids: number[][], opts: ForwardInputOptions, past?: { layers: number; length: number; batch: number }): ForwardInputs {
  const b = ids.length;
  if (b === 0) throw new SmftError('forward: empty batch');
  const t = ids[0].length;
  if (t === 0 || ids.some((r) => r.length !== t)) throw new SmftError('forward: every row needs the same, non-zero length (pad and mask)');
  for (const r of ids) for (const id of r) {
    if (!Number.isInteger(id) || id < 0 || id >= cfg.vocabSize) throw new SmftError(`forward: token id ${id} outside the vocabulary [0, ${cfg.vocabSize})`);
  }
  if (past && past.layers !== cfg.numLayers) throw new SmftError(`forward: pastKeyValues has ${past.layers} layers, model has ${cfg.numLayers}`);
  if (past && past.batch !== 1 && past.batch !== b) throw new SmftError('forward: pastKeyValues batch must be 1 or match ids');
  const pastLen = past ? past.length : 0;
  const s = pastLen + t;
  if (cfg.slidingWindow !== null && s > cfg.slidingWindow) {
    throw new SmftError(`sequence of ${s} tokens exceeds the model's sliding_window ${cfg.slidingWindow} (sliding-window attention is not implemented)`);
  }
  const mask = opts.attentionMask ?? Array.from({ length: b }, () => new Array<number>(s).fill(1));
  if (mask.length !== b || mask.some((r) => r.length !== s)) throw new SmftError(`forward: attentionMask must be [${b}, ${s}] (past + current)`);
  const positions = opts.positionIds ?? defaultPositions(mask, t);
  if (positions.length !== b || positions.some((r) => r.length !== t)) throw new SmftError(`forward: positionIds must be [${b}, ${t}]`);
  if (opts.logitsAt && (opts.logitsAt.length !== b || opts.logitsAt.some((p) => !Number.isInteger(p) || p < 0 || p >= t))) {
    throw new SmftError(`forward: logitsAt needs one position in [0, ${t}) per row`);
  }
  return { b, t, pastLen, mask, positions };
}
