/**
 * What rating needs from a language model, whichever runtime computes it: a key/value cache of
 * a shared prompt prefix, then logits of a few tokens at one position of each batched suffix.
 * CausalLM (TF.js, differentiable, any TF.js backend) and OnnxCausalLM (ONNX Runtime's CPU
 * kernels, inference only) both provide it.
 */
import * as tf from '@tensorflow/tfjs';
import type { LmConfig } from './config.js';
import { disposeCache, type CausalLM, type PastKeyValues } from './model.js';

/** A key/value cache of a prompt prefix (batch 1), broadcast over later batches. */
export interface KvPrefix {
  readonly length: number;
  dispose(): void;
}

export interface SelectedLogitsRequest {
  /** [B][T] token ids, right-padded. */
  ids: number[][];
  /** [B][past + T]. */
  attentionMask: number[][];
  /** [B][T]. */
  positionIds: number[][];
  /** One position per row (index into T). */
  logitsAt: number[];
  /** The n token ids whose logits are returned (omitted: the whole vocabulary). */
  tokenIds?: number[];
}

export interface LmEngine {
  readonly config: LmConfig;
  /** Where it runs, for logs (e.g. 'tfjs-wasm', 'onnxruntime-cpu'). */
  readonly runtime: string;
  prefill(ids: number[]): Promise<KvPrefix>;
  /** Logits [B, n] (row-major) of `tokenIds` at `logitsAt` of each row. */
  selectedLogits(req: SelectedLogitsRequest, prefix?: KvPrefix): Promise<Float32Array>;
  /** Hidden states (embeddings, each layer's output, the final normed one), each [B·T, hidden]. */
  hiddenStates(ids: number[][], attentionMask: number[][]): Promise<Float32Array[]>;
}

export function isEngine(m: CausalLM | LmEngine): m is LmEngine {
  return 'selectedLogits' in m;
}

class TfPrefix implements KvPrefix {
  constructor(readonly past: PastKeyValues, readonly length: number) {}
  dispose(): void {
    disposeCache(this.past);
  }
}

/** The LmEngine view of a TF.js CausalLM (its adapters, if any, included) on the current backend. */
export function tfEngine(model: CausalLM): LmEngine {
  return {
    config: model.config,
    runtime: `tfjs-${tf.getBackend()}`,
    async prefill(ids: number[]): Promise<KvPrefix> {
      const out = model.forward([ids], { useCache: true, logits: 'none' });
      return new TfPrefix(out.pastKeyValues!, ids.length);
    },
    async selectedLogits(req: SelectedLogitsRequest, prefix?: KvPrefix): Promise<Float32Array> {
      const out = model.forward(req.ids, {
        attentionMask: req.attentionMask,
        positionIds: req.positionIds,
        pastKeyValues: (prefix as TfPrefix | undefined)?.past,
        logitsAt: req.logitsAt,
        logitsTokenIds: req.tokenIds,
      });
      const logits = out.logits as tf.Tensor;
      // Asynchronous read: on the webgpu backend in Node a synchronous read is not possible.
      const data = (await logits.data()) as Float32Array;
      logits.dispose();
      return data;
    },
    async hiddenStates(ids: number[][], attentionMask: number[][]): Promise<Float32Array[]> {
      const out = model.forward(ids, { attentionMask, outputHiddenStates: true, logits: 'none' });
      try {
        return await Promise.all(out.hiddenStates!.map(async (h) => (await h.data()) as Float32Array));
      } finally {
        for (const h of out.hiddenStates!) h.dispose();
      }
    },
  };
}
