import * as tf from '@tensorflow/tfjs';
import { log } from '../util/log.js';
import { initBackend, initNativeOrGpuBackend, type BackendName } from './backend.js';
import { loadOrt, ortAvailable } from './onnx/runtime.js';

/**
 * Backends for inference (rating, hidden states): the TF.js ones, 'onnx' (ONNX Runtime's CPU
 * kernels) or 'onnx-webgpu' (ONNX Runtime's WebGPU execution provider).
 */
export type InferenceBackend = BackendName | 'onnx' | 'onnx-webgpu';
export const INFERENCE_BACKENDS = ['auto', 'onnx', 'onnx-webgpu', 'cpu', 'wasm', 'webgpu', 'tensorflow'] as const;
/** Where ONNX Runtime runs the model, or false for TF.js. */
export type OnnxDevice = 'cpu' | 'webgpu';

/**
 * Pick the runtime for inference and initialise TF.js for loading. 'onnx': the model is loaded
 * on TF.js 'cpu' (plain arrays, no copy) and run by ONNX Runtime. 'auto': a GPU or native
 * TF.js backend (tensorflow, webgpu) when one starts, else ONNX Runtime when it loads (several
 * times TF.js wasm's tokens/s on a CPU), else wasm, else cpu; the choice is logged.
 */
export async function chooseInferenceRuntime(backend: InferenceBackend): Promise<{ onnx: OnnxDevice | false; tfBackend: string }> {
  if (backend === 'onnx' || backend === 'onnx-webgpu') {
    await loadOrt();
    await initBackend('cpu');
    return { onnx: backend === 'onnx' ? 'cpu' : 'webgpu', tfBackend: 'cpu' };
  }
  if (backend !== 'auto') return { onnx: false, tfBackend: await initBackend(backend) };
  const gpu = await initNativeOrGpuBackend();
  if (gpu) return { onnx: false, tfBackend: gpu };
  if (await ortAvailable()) {
    await initBackend('cpu');
    log.debug({ runtime: 'onnxruntime-cpu' }, 'inference through ONNX Runtime (CPU); TF.js cpu holds the weights');
    return { onnx: 'cpu', tfBackend: tf.getBackend() };
  }
  return { onnx: false, tfBackend: await initBackend('auto') };
}

/** Inference runtime of a study next to the TF.js backend that trains: 'auto', 'onnx', 'onnx-webgpu' or 'tfjs'. */
export type InferenceChoice = 'auto' | 'onnx' | 'onnx-webgpu' | 'tfjs';
export const INFERENCE_CHOICES: readonly InferenceChoice[] = ['auto', 'onnx', 'onnx-webgpu', 'tfjs'];

/**
 * Where to rate and embed while TF.js (`tfBackend`) trains: 'auto' picks ONNX Runtime on the
 * CPU when TF.js runs on the CPU (wasm, cpu) and ONNX Runtime loads; 'onnx' and 'onnx-webgpu'
 * require ONNX Runtime; false means TF.js.
 */
export async function onnxForInference(choice: InferenceChoice, tfBackend: string): Promise<OnnxDevice | false> {
  if (choice === 'tfjs') return false;
  if (choice === 'onnx' || choice === 'onnx-webgpu') {
    await loadOrt();
    return choice === 'onnx' ? 'cpu' : 'webgpu';
  }
  const onnx = (tfBackend === 'wasm' || tfBackend === 'cpu') && (await ortAvailable());
  log.info({ training: `tfjs-${tfBackend}`, inference: onnx ? 'onnxruntime-cpu' : `tfjs-${tfBackend}` }, 'runtimes');
  return onnx ? 'cpu' : false;
}
