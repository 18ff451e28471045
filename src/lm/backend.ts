import * as tf from '@tensorflow/tfjs';
import { log } from '../util/log.js';
import { SmftError } from '../util/errors.js';

export type BackendName = 'auto' | 'cpu' | 'wasm' | 'webgpu' | 'tensorflow';

/**
 * Initialise a TF.js backend by name and return the one in use. 'auto' tries, in order,
 * tensorflow (tfjs-node / tfjs-node-gpu when installed), webgpu (Dawn), wasm, cpu, and logs
 * the choice. An explicit name that cannot start is an error.
 */
export async function initBackend(name: BackendName = 'auto'): Promise<string> {
  const order: BackendName[] = name === 'auto' ? ['tensorflow', 'webgpu', 'wasm', 'cpu'] : [name];
  const failures: string[] = [];
  for (const b of order) {
    try {
      if (await tryBackend(b)) {
        log.info({ backend: tf.getBackend(), requested: name }, 'TF.js backend ready');
        return tf.getBackend();
      }
      failures.push(`${b}: not available`);
    } catch (e) {
      failures.push(`${b}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  throw new SmftError(`cannot start TF.js backend '${name}' (${failures.join('; ')})`);
}

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
