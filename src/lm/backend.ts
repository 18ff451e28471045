import * as tf from '@tensorflow/tfjs';
import { log } from '../util/log.js';
import { SmftError } from '../util/errors.js';

export type BackendName = 'auto' | 'cpu' | 'wasm' | 'webgpu' | 'tensorflow';

/**
 * Initialise a TF.js backend by name and return the one in use. 'auto' tries, in order,
 * tensorflow (tfjs-node / tfjs-node-gpu when installed), webgpu (Dawn), wasm, cpu, and logs
 * the choice. An explicit name that cannot start is an error that says why.
 */
export async function initBackend(name: BackendName = 'auto'): Promise<string> {
  quietTfjs();
  if (name === 'auto') {
    const gpu = await initNativeOrGpuBackend();
    if (gpu) return gpu;
  }
  const order: BackendName[] = name === 'auto' ? ['wasm', 'cpu'] : [name];
  const failures: string[] = [];
  for (const b of order) {
    try {
      if (await tryBackend(b)) {
        (name === 'auto' ? log.info : log.debug).call(log, { backend: tf.getBackend(), requested: name }, 'TF.js backend ready');
        return tf.getBackend();
      }
      failures.push(`${b}: not available`);
    } catch (e) {
      failures.push(`${b}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  throw new SmftError(`cannot start TF.js backend '${name}' (${failures.join('; ')})`);
}

/**
 * 'auto''s first choices: tensorflow (tfjs-node[-gpu], when installed), then webgpu — probed only
 * when the machine shows a GPU (gpuDeviceVisible(): a GPU device node, or
 * SMFT_WEBGPU_ALLOW_SOFTWARE=1), so a GPU-less machine loads no Dawn and prints nothing about it.
 * A GPU that is there but does not start gets one warning line saying why. Returns the backend
 * started, or null.
 */
export async function initNativeOrGpuBackend(): Promise<string | null> {
  quietTfjs();
  try {
    if (await tryBackend('tensorflow')) {
      log.info({ backend: tf.getBackend(), requested: 'auto' }, 'TF.js backend ready');
      return tf.getBackend();
    }
  } catch (e) {
    log.debug({ backend: 'tensorflow' }, `tfjs-node does not start: ${(e as Error).message.split('\n')[0]}`);
  }
  const { gpuDeviceVisible, registerWebGpu, webGpuUnavailableReason } = await import('../../kernels/webgpu/device.js');
  if (!gpuDeviceVisible()) {
    log.debug({ backend: 'webgpu' }, 'no GPU device on this machine: WebGPU not probed');
    return null;
  }
  let why = '';
  try {
    if ((await registerWebGpu()) && (await tf.setBackend('webgpu'))) {
      log.info({ backend: 'webgpu', requested: 'auto' }, 'TF.js backend ready');
      return 'webgpu';
    }
  } catch (e) {
    why = (e as Error).message.split('\n')[0];
  }
  if (!warnedNoGpu) {
    warnedNoGpu = true;
    log.warn({ backend: 'webgpu' }, `WebGPU unavailable, falling back to CPU backends: ${webGpuUnavailableReason() || why || 'the webgpu backend did not start'}`);
  }
  return null;
}
let warnedNoGpu = false;

/**
 * TF.js prints its own console warnings (the "looks like you are running TensorFlow.js in
 * Node.js" banner of the cpu backend among them) unless its PROD flag is set, which changes
 * nothing else in TF.js. They show with --verbose (log level debug).
 */
export function quietTfjs(): void {
  tf.env().set('PROD', !log.isLevelEnabled('debug'));
}
quietTfjs();

async function tryBackend(b: BackendName): Promise<boolean> {
  switch (b) {
    case 'cpu':
      return tf.setBackend('cpu');
    case 'wasm': {
      await import('@tensorflow/tfjs-backend-wasm');
      return tf.setBackend('wasm');
    }
    case 'tensorflow': {
      // Optional native bindings: never required, used when the user installed them.
      const gpu = await importOptional('@tensorflow/tfjs-node-gpu');
      const cpu = gpu ? undefined : await importOptional('@tensorflow/tfjs-node');
      if (!gpu && !cpu) return false;
      return tf.setBackend('tensorflow');
    }
    case 'webgpu': {
      // Dawn (Vulkan) adapter check; without one registerWebGpu() logs one line saying why.
      const { registerWebGpu, webGpuUnavailableReason } = await import('../../kernels/webgpu/device.js');
      if (!(await registerWebGpu())) throw new Error(webGpuUnavailableReason() || 'no WebGPU adapter');
      return tf.setBackend('webgpu');
    }
    default:
      return false;
  }
}

async function importOptional(spec: string): Promise<unknown> {
  try {
    return await import(spec);
  } catch {
    return undefined;
  }
}
