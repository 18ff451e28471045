import * as tf from '@tensorflow/tfjs';
import { log } from '../util/log.js';
import { initBackend, type BackendName } from './backend.js';
import { loadOrt, ortAvailable } from './onnx/runtime.js';

/** Backends for inference (rating): the TF.js ones, or 'onnx' (ONNX Runtime's CPU kernels). */
export type InferenceBackend = BackendName | 'onnx';
export const INFERENCE_BACKENDS = ['auto', 'onnx', 'cpu', 'wasm', 'webgpu', 'tensorflow'] as const;

/**
 * Pick the runtime for inference and initialise TF.js for loading. 'onnx': the model is loaded
 * on TF.js 'cpu' (plain arrays, no copy) and run by ONNX Runtime. 'auto': a GPU or native
 * TF.js backend (tensorflow, webgpu) when one starts, else ONNX Runtime when it loads (several
 * times TF.js wasm's tokens/s on a CPU), else wasm, else cpu; the choice is logged.
 */
export async function chooseInferenceRuntime(backend: InferenceBackend): Promise<{ onnx: boolean; tfBackend: string }> {
  if (backend === 'onnx') {
    await loadOrt();
    await initBackend('cpu');
    return { onnx: true, tfBackend: 'cpu' };
  }
  if (backend !== 'auto') return { onnx: false, tfBackend: await initBackend(backend) };
  for (const b of ['tensorflow', 'webgpu'] as const) {
    try {
      return { onnx: false, tfBackend: await initBackend(b) };
    } catch {
      // not available here: try the next
    }
  }
  if (await ortAvailable()) {
    await initBackend('cpu');
    log.info({ runtime: 'onnxruntime-cpu' }, 'inference through ONNX Runtime (CPU); TF.js cpu holds the weights');
    return { onnx: true, tfBackend: tf.getBackend() };
  }
  return { onnx: false, tfBackend: await initBackend('auto') };
}

/** Inference runtime of a study next to the TF.js backend that trains: 'auto', 'onnx' or 'tfjs'. */
export type InferenceChoice = 'auto' | 'onnx' | 'tfjs';

/**
 * Whether to rate and embed on ONNX Runtime while TF.js (`tfBackend`) trains: 'auto' does when
 * TF.js runs on the CPU (wasm, cpu) and ONNX Runtime loads; 'onnx' requires it.
 */
export async function onnxForInference(choice: InferenceChoice, tfBackend: string): Promise<boolean> {
  if (choice === 'tfjs') return false;
  if (choice === 'onnx') {
    await loadOrt();
    return true;
  }
  const onnx = (tfBackend === 'wasm' || tfBackend === 'cpu') && (await ortAvailable());
  log.info({ training: `tfjs-${tfBackend}`, inference: onnx ? 'onnxruntime-cpu' : `tfjs-${tfBackend}` }, 'runtimes');
  return onnx;
}
