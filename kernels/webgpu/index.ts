/**
 * smft's GPU kernels (WebGPU through Dawn, raw WGSL, f32). Every entry point throws SmftError
 * when no WebGPU adapter is usable; check with `probeAdapter()` / `getGpuDevice()` first and
 * fall back to kernels/cpu otherwise. See docs/gpu.md.
 */
export {
  registerWebGpu, gpuDeviceVisible, getGpuDevice, probeAdapter, releaseWebGpu, webGpuUnavailableReason, isSoftwareAdapter, READ_SYNC_MESSAGE,
  type AdapterSummary,
} from './device.js';
export { pairwiseDistances, pairwiseDistancesToGpu, prepareRows, selfDistances, type GpuMetric, type DistanceOptions } from './distances.js';
export {
  GpuRsaBootstrap, pairWords, sortItems, resampleCounts, MAX_BOOTSTRAP_N, type Convention, type BootstrapOptions,
} from './bootstrap.js';
export { condIndex, condIndexU32, planRowChunks, MAX_N_U32 } from './wgsl.js';
