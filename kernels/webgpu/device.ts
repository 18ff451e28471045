/// <reference types="@webgpu/types" />
/**
 * WebGPU in Node through the `webgpu` npm package (Dawn, which drives the GPU through Vulkan on
 * Linux). Two consumers:
 *
 *  - TF.js: `registerWebGpu()` sets `globalThis.navigator.gpu` (what tfjs-backend-webgpu looks
 *    for) and imports the backend, so `tf.setBackend('webgpu')` works afterwards.
 *  - smft's own WGSL kernels (kernels/webgpu/*.ts): `getGpuDevice()` gives a GPUDevice with the
 *    adapter's full buffer limits.
 *
 * Software adapters (Mesa's lavapipe/llvmpipe, SwiftShader) are refused unless
 * SMFT_WEBGPU_ALLOW_SOFTWARE=1, so nobody gets a slow CPU emulation of a GPU by accident; CI and
 * the tests set it to exercise the WGSL code on lavapipe. SMFT_WEBGPU_DAWN_FLAGS passes extra
 * options to Dawn's `create()` (space separated, e.g. `backend=vulkan adapter=NVIDIA`).
 *
 * Dawn keeps Node's event loop alive while the GPU object is reachable from a global: call
 * `releaseWebGpu()` when done (the CLI exits explicitly; tests call it in `after`).
 */
import { existsSync, readdirSync } from 'node:fs';
import { log } from '../../src/util/log.js';

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  software: boolean;
  limits: Record<string, number>;
  features: string[];
}

interface GpuState {
  gpu: GPU;
  adapter: GPUAdapter;
  summary: AdapterSummary;
}

let statePromise: Promise<GpuState | null> | undefined;
let registerPromise: Promise<boolean> | undefined;
let devicePromise: Promise<GPUDevice> | undefined;
let lastReason = '';

/**
 * Whether this machine shows a GPU that Dawn could drive, without loading Dawn: on Linux a device
 * node of a GPU driver (/dev/nvidia0, /dev/dri/renderD*, WSL's /dev/dxg); elsewhere (macOS Metal,
 * Windows D3D12) true. SMFT_WEBGPU_ALLOW_SOFTWARE=1 counts as yes (lavapipe needs no device).
 * `--backend auto` probes WebGPU only when this is true, so a GPU-less machine hears nothing of it.
 */
export function gpuDeviceVisible(env: NodeJS.ProcessEnv = process.env): boolean {
  if (envFlag('SMFT_WEBGPU_ALLOW_SOFTWARE', env) || process.platform !== 'linux') return true;
  if (existsSync('/dev/nvidia0') || existsSync('/dev/dxg')) return true;
  try {
    return readdirSync('/dev/dri').some((f) => f.startsWith('renderD'));
  } catch {
    return false;
  }
}

/** Why the last probe found no usable adapter ('' when one was found or none was tried). */
export function webGpuUnavailableReason(): string {
  return lastReason;
}

function envFlag(name: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env[name];
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

/** Software rasterisers that expose Vulkan: lavapipe/llvmpipe, SwiftShader. */
export function isSoftwareAdapter(info: { vendor?: string; architecture?: string; device?: string; description?: string }, isFallback = false): boolean {
  if (isFallback) return true;
  if ((info.architecture ?? '').toLowerCase() === 'software') return true;
  const text = `${info.vendor ?? ''} ${info.device ?? ''} ${info.description ?? ''}`.toLowerCase();
  return /llvmpipe|lavapipe|swiftshader|softpipe/.test(text);
}

function summarise(adapter: GPUAdapter): AdapterSummary {
  const info = adapter.info;
  const limits: Record<string, number> = {};
  // GPUSupportedLimits exposes its values as prototype getters.
  for (const k in adapter.limits) {
    const v = (adapter.limits as unknown as Record<string, unknown>)[k];
    if (typeof v === 'number') limits[k] = v;
  }
  const fallback =
    Boolean((info as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter) ||
    Boolean((adapter as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter);
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    software: isSoftwareAdapter(info, fallback),
    limits,
    features: [...adapter.features].map(String).sort(),
  };
}

async function probe(): Promise<GpuState | null> {
  let mod: { create: (flags: string[]) => GPU; globals: object };
  try {
    mod = (await import('webgpu')) as unknown as typeof mod;
  } catch (e) {
    lastReason = `the optional 'webgpu' package (Dawn) cannot be loaded: ${(e as Error).message.split('\n')[0]}`;
    return null;
  }
  const flags = (process.env.SMFT_WEBGPU_DAWN_FLAGS ?? '').split(/\s+/).filter(Boolean);
  let gpu: GPU;
  try {
    // GPUBufferUsage, GPUMapMode, GPUShaderStage … as globals, as in a browser.
    for (const [k, v] of Object.entries(mod.globals)) {
      if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
    }
    gpu = mod.create(flags);
  } catch (e) {
    lastReason = `Dawn failed to start: ${(e as Error).message.split('\n')[0]}`;
    return null;
  }
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    lastReason = `requestAdapter failed: ${(e as Error).message.split('\n')[0]}`;
    return null;
  }
  if (!adapter) {
    lastReason =
      'no WebGPU adapter: Dawn found no usable Vulkan driver (a host needs the Vulkan loader libvulkan.so.1 and a GPU ICD, e.g. NVIDIA\'s nvidia_icd.json; see docs/gpu.md)';
    return null;
  }
  const summary = summarise(adapter);
  if (summary.software && !envFlag('SMFT_WEBGPU_ALLOW_SOFTWARE')) {
    lastReason = `only a software WebGPU adapter was found (${summary.description || summary.device}); set SMFT_WEBGPU_ALLOW_SOFTWARE=1 to use it anyway`;
    return null;
  }
  lastReason = '';
  return { gpu, adapter, summary };
}

function getState(): Promise<GpuState | null> {
  statePromise ??= probe();
  return statePromise;
}

/** The adapter smft would use (after the software check), or null (then see webGpuUnavailableReason()). */
export async function probeAdapter(): Promise<AdapterSummary | null> {
  return (await getState())?.summary ?? null;
}

/**
 * Make TF.js's webgpu backend available. Returns false when there is no (acceptable) adapter,
 * with one debug line saying why (webGpuUnavailableReason()); the caller decides what to tell:
 * an explicit `--backend webgpu` fails with the reason, 'auto' moves on to the CPU backends.
 */
export function registerWebGpu(): Promise<boolean> {
  registerPromise ??= (async () => {
    const st = await getState();
    if (!st) {
      log.debug({ backend: 'webgpu' }, `WebGPU unavailable: ${lastReason}`);
      return false;
    }
    const nav = ((globalThis as { navigator?: object }).navigator ?? {}) as { gpu?: GPU };
    if (!(globalThis as { navigator?: object }).navigator) {
      Object.defineProperty(globalThis, 'navigator', { value: nav, configurable: true, writable: true });
    }
    try {
      nav.gpu = st.gpu;
    } catch {
      // Node ≥ 21 has a read-only global navigator without `gpu`.
      Object.defineProperty(nav, 'gpu', { value: st.gpu, configurable: true, writable: true });
    }
    try {
      const tf = await import('@tensorflow/tfjs');
      // Importing the backend registers its factory as a side effect (it checks navigator.gpu).
      const wg = (await import('@tensorflow/tfjs-backend-webgpu')) as unknown as {
        WebGPUBackend: new (device: GPUDevice, info?: GPUAdapterInfo) => unknown;
      };
      patchReadSync(wg.WebGPUBackend as unknown as { prototype: Record<string, unknown> });
      if (!tf.findBackendFactory('webgpu')) {
        // Registered again after releaseWebGpu(): the module's side effect ran only once.
        tf.registerBackend('webgpu', async () => {
          const L = st.adapter.limits;
          const device = await st.adapter.requestDevice({
            requiredFeatures: st.adapter.features.has('timestamp-query') ? ['timestamp-query'] : [],
            requiredLimits: {
              maxComputeWorkgroupStorageSize: L.maxComputeWorkgroupStorageSize,
              maxComputeWorkgroupsPerDimension: L.maxComputeWorkgroupsPerDimension,
              maxStorageBufferBindingSize: L.maxStorageBufferBindingSize,
              maxBufferSize: L.maxBufferSize,
              maxComputeWorkgroupSizeX: L.maxComputeWorkgroupSizeX,
              maxComputeInvocationsPerWorkgroup: L.maxComputeInvocationsPerWorkgroup,
            },
          });
          return new wg.WebGPUBackend(device, st.adapter.info) as never;
        }, 3);
      }
    } catch (e) {
      lastReason = `@tensorflow/tfjs-backend-webgpu cannot be loaded: ${(e as Error).message.split('\n')[0]}`;
      log.debug({ backend: 'webgpu' }, `WebGPU unavailable: ${lastReason}`);
      return false;
    }
    const { summary } = st;
    log.info(
      {
        backend: 'webgpu',
        adapter: summary.description || summary.device,
        vendor: summary.vendor,
        architecture: summary.architecture,
        software: summary.software,
        maxBufferSize: summary.limits.maxBufferSize,
        maxStorageBufferBindingSize: summary.limits.maxStorageBufferBindingSize,
        maxComputeWorkgroupStorageSize: summary.limits.maxComputeWorkgroupStorageSize,
        maxComputeInvocationsPerWorkgroup: summary.limits.maxComputeInvocationsPerWorkgroup,
      },
      'WebGPU adapter found',
    );
    return true;
  })();
  return registerPromise;
}

/** What dataSync()/arraySync() on a GPU-resident tensor of the webgpu backend throws in Node. */
export const READ_SYNC_MESSAGE =
  'the webgpu backend cannot read GPU tensors synchronously in Node (dataSync/arraySync/bufferSync need ' +
  'OffscreenCanvas, which Node lacks): use `await tensor.data()` / `await tensor.array()`';

/**
 * tfjs-backend-webgpu reads synchronously through OffscreenCanvas (browser only); in Node that
 * fails with a bare ReferenceError deep inside TF.js. Replace it with a message that says what
 * to do. Values still on the CPU (uploaded, not yet computed on) are read as before.
 */
function patchReadSync(backend: { prototype: Record<string, unknown> }): void {
  const proto = backend.prototype;
  if (typeof (globalThis as { OffscreenCanvas?: unknown }).OffscreenCanvas !== 'undefined' || proto.__smftReadSync) return;
  const orig = proto.readSync as (this: unknown, dataId: unknown) => unknown;
  proto.readSync = function readSync(this: unknown, dataId: unknown): unknown {
    try {
      return orig.call(this, dataId);
    } catch (e) {
      if (e instanceof ReferenceError && /OffscreenCanvas/.test(e.message)) throw new Error(READ_SYNC_MESSAGE);
      throw e;
    }
  };
  proto.__smftReadSync = true;
}

/**
 * A GPUDevice for smft's raw WGSL kernels, requesting the adapter's full buffer and workgroup
 * limits. Null when there is no acceptable adapter (see webGpuUnavailableReason()).
 */
export async function getGpuDevice(): Promise<GPUDevice | null> {
  const st = await getState();
  if (!st) return null;
  devicePromise ??= (async () => {
    const L = st.adapter.limits;
    const device = await st.adapter.requestDevice({
      requiredLimits: {
        maxBufferSize: L.maxBufferSize,
        maxStorageBufferBindingSize: L.maxStorageBufferBindingSize,
        maxStorageBuffersPerShaderStage: L.maxStorageBuffersPerShaderStage,
        maxComputeWorkgroupStorageSize: L.maxComputeWorkgroupStorageSize,
        maxComputeInvocationsPerWorkgroup: L.maxComputeInvocationsPerWorkgroup,
        maxComputeWorkgroupSizeX: L.maxComputeWorkgroupSizeX,
        maxComputeWorkgroupsPerDimension: L.maxComputeWorkgroupsPerDimension,
      },
    });
    device.lost.then((info) => {
      if (info.reason !== 'destroyed') log.error({ reason: info.reason }, `WebGPU device lost: ${info.message}`);
    });
    return device;
  })();
  return devicePromise;
}

/**
 * Drop every reference smft holds to Dawn (device, adapter, navigator.gpu) so Node can exit.
 * TF.js's webgpu backend, if it was started, is removed first.
 */
export async function releaseWebGpu(): Promise<void> {
  try {
    const tf = await import('@tensorflow/tfjs');
    if (tf.findBackend('webgpu')) {
      if (tf.getBackend() === 'webgpu') await tf.setBackend('cpu');
      tf.removeBackend('webgpu');
    }
  } catch {
    /* TF.js not loaded: nothing to remove */
  }
  if (devicePromise) {
    try {
      (await devicePromise).destroy();
    } catch {
      /* already gone */
    }
  }
  const nav = (globalThis as { navigator?: { gpu?: unknown } }).navigator;
  if (nav && 'gpu' in nav) {
    try {
      delete nav.gpu;
    } catch {
      /* read-only */
    }
  }
  devicePromise = undefined;
  statePromise = undefined;
  registerPromise = undefined;
}
