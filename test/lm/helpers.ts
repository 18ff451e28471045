import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { log } from '../../src/util/log.js';
import { initBackend } from '../../src/lm/backend.js';

log.level = 'silent';

export const MODELS = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'models');
export const fixture = (name: string): string => join(MODELS, name);

export interface Golden {
  model: string;
  cases: {
    name: string;
    input_ids: number[][];
    attention_mask: number[][];
    position_ids: number[][];
    logits?: { shape: number[]; data: number[] };
    hidden_states?: { shape: number[]; data: number[] };
    last_logits?: { shape: number[]; data: number[] };
  }[];
}

export function readGolden(name: string): Golden {
  return JSON.parse(readFileSync(join(fixture(name), 'golden.json'), 'utf8')) as Golden;
}

/** max |a − b| / max |b| over the entries where `keep(i)` holds. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>, keep: (i: number) => boolean = () => true): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    if (!keep(i)) continue;
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return m === 0 ? d : d / m;
}

/** Backends to test: cpu and wasm (SMFT_TEST_BACKENDS=cpu,wasm,... overrides). */
export const BACKENDS = (process.env.SMFT_TEST_BACKENDS ?? 'cpu,wasm').split(',') as ('cpu' | 'wasm')[];

export async function useBackend(name: 'cpu' | 'wasm'): Promise<void> {
  await initBackend(name);
  tf.engine().startScope();
  tf.engine().endScope();
}

/**
 * Compare one golden case with a forward pass: `logits` [B·T·V] at every position and the
 * `hidden` states (numLayers + 1 arrays of [B·T·hidden]); padded positions are not compared.
 */
export function assertGolden(c: Golden['cases'][number], vocab: number, logits: ArrayLike<number>, hidden: ArrayLike<number>[], tol: number): void {
  const [b, t] = [c.input_ids.length, c.input_ids[0].length];
  const real = (width: number) => (i: number): boolean => c.attention_mask[Math.floor(i / (t * width))][Math.floor(i / width) % t] === 1;
  assert.equal(logits.length, b * t * vocab);
  if (c.logits) {
    const e = relErr(logits, c.logits.data, real(vocab));
    assert.ok(e < tol, `logits relative error ${e}`);
  }
  if (c.last_logits) {
    const last = new Float32Array(b * vocab);
    for (let r = 0; r < b; r++) for (let k = 0; k < vocab; k++) last[r * vocab + k] = logits[(r * t + t - 1) * vocab + k];
    const e = relErr(last, c.last_logits.data);
    assert.ok(e < tol, `last-token logits relative error ${e}`);
  }
  if (c.hidden_states) {
    const [nl, , , h] = c.hidden_states.shape;
    assert.equal(hidden.length, nl);
    for (let l = 0; l < nl; l++) {
      const e = relErr(hidden[l], c.hidden_states.data.slice(l * b * t * h, (l + 1) * b * t * h), real(h));
      assert.ok(e < tol, `hidden state ${l} relative error ${e}`);
    }
  }
}

/**
 * A shared prompt prefix and three suffixes of different lengths, right-padded into one batch
 * whose positions continue after the prefix: the rating workload with a prefix cache.
 */
export const PREFIX_CASE = (() => {
  const prefix = [7, 120, 44, 300, 18, 250];
  const suffixes = [[65, 66, 67, 34, 46], [90, 34], [11, 12, 13]];
  const tmax = Math.max(...suffixes.map((s) => s.length));
  return {
    prefix,
    suffixes,
    ids: suffixes.map((s) => [...s, ...new Array<number>(tmax - s.length).fill(0)]),
    attentionMask: suffixes.map((s) => [...prefix.map(() => 1), ...s.map(() => 1), ...new Array<number>(tmax - s.length).fill(0)]),
    positionIds: suffixes.map(() => Array.from({ length: tmax }, (_, i) => prefix.length + i)),
    logitsAt: suffixes.map((s) => s.length - 1),
    tokenIds: [48, 49, 50, 51, 52, 53],
  };
})();
