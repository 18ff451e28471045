/// <reference types="@webgpu/types" />
/**
 * Small helpers around raw WebGPU: uploads, read-backs, a pipeline cache. The usage flags are
 * spelled as numbers (the WebGPU spec's values) so this module needs no browser globals.
 */
export const BufferUsage = {
  MAP_READ: 0x0001,
  MAP_WRITE: 0x0002,
  COPY_SRC: 0x0004,
  COPY_DST: 0x0008,
  UNIFORM: 0x0040,
  STORAGE: 0x0080,
} as const;
const MAP_MODE_READ = 0x0001;

/** Storage buffer with the given contents (padded to 4 bytes, at least 4 bytes). */
export function uploadBuffer(device: GPUDevice, data: ArrayBufferView, label: string, extraUsage = 0): GPUBuffer {
  const size = Math.max(4, Math.ceil(data.byteLength / 4) * 4);
  const buf = device.createBuffer({
    label,
    size,
    usage: BufferUsage.STORAGE | BufferUsage.COPY_DST | BufferUsage.COPY_SRC | extraUsage,
    mappedAtCreation: true,
  });
  new Uint8Array(buf.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  buf.unmap();
  return buf;
}

export function storageBuffer(device: GPUDevice, byteLength: number, label: string): GPUBuffer {
  return device.createBuffer({
    label,
    size: Math.max(4, Math.ceil(byteLength / 4) * 4),
    usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST,
  });
}

export function uniformBuffer(device: GPUDevice, data: ArrayBuffer, label: string): GPUBuffer {
  const size = Math.max(16, Math.ceil(data.byteLength / 16) * 16);
  const buf = device.createBuffer({ label, size, usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST, mappedAtCreation: true });
  new Uint8Array(buf.getMappedRange()).set(new Uint8Array(data));
  buf.unmap();
  return buf;
}

export function stagingBuffer(device: GPUDevice, byteLength: number, label: string): GPUBuffer {
  return device.createBuffer({ label, size: Math.max(4, byteLength), usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
}

/** Copy `byteLength` bytes of `src` (from `srcOffset`) back to the host. */
export async function readBuffer(device: GPUDevice, src: GPUBuffer, byteLength: number, srcOffset = 0): Promise<ArrayBuffer> {
  const staging = stagingBuffer(device, byteLength, 'readback');
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(src, srcOffset, staging, 0, byteLength);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(MAP_MODE_READ, 0, byteLength);
  const out = staging.getMappedRange(0, byteLength).slice(0);
  staging.unmap();
  staging.destroy();
  return out;
}

export async function mapRead(buf: GPUBuffer, byteLength: number): Promise<ArrayBuffer> {
  await buf.mapAsync(MAP_MODE_READ, 0, byteLength);
  return buf.getMappedRange(0, byteLength);
}

const pipelines = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();

/** Compute pipeline for WGSL `code` (entry point `main`), cached per device and source. */
export function pipelineFor(device: GPUDevice, code: string, label: string): GPUComputePipeline {
  let cache = pipelines.get(device);
  if (!cache) {
    cache = new Map();
    pipelines.set(device, cache);
  }
  let p = cache.get(code);
  if (!p) {
    const module = device.createShaderModule({ code, label });
    p = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label });
    cache.set(code, p);
  }
  return p;
}

export function bindGroup(device: GPUDevice, pipeline: GPUComputePipeline, buffers: GPUBuffer[], label: string): GPUBindGroup {
  return device.createBindGroup({
    label,
    layout: pipeline.getBindGroupLayout(0),
    entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
}

/** Run `fn` inside a validation + out-of-memory error scope and throw the first error. */
export async function withErrorScope<T>(device: GPUDevice, what: string, fn: () => T | Promise<T>): Promise<T> {
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let result: T;
  try {
    result = await fn();
  } finally {
    const v = await device.popErrorScope();
    const o = await device.popErrorScope();
    const err = v ?? o;
    if (err) throw new Error(`WebGPU ${what}: ${err.message}`);
  }
  return result;
}
