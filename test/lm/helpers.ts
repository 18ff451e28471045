import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
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
