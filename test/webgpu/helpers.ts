import assert from 'node:assert/strict';
import { getGpuDevice, webGpuUnavailableReason } from '../../kernels/webgpu/index.js';

/**
 * The WebGPU tests need an adapter: they do not skip. On a machine without a GPU, install the
 * software Vulkan driver (Debian 12: Mesa ≥ 23 from bookworm-backports, see docs/gpu.md):
 *   echo 'deb http://deb.debian.org/debian bookworm-backports main' >/etc/apt/sources.list.d/backports.list
 *   apt-get update && apt-get install -y --no-install-recommends libvulkan1 && \
 *   apt-get install -y --no-install-recommends -t bookworm-backports mesa-vulkan-drivers
 */
export async function requireGpu(): Promise<GPUDevice> {
  const device = await getGpuDevice();
  assert.ok(
    device,
    `no WebGPU adapter (${webGpuUnavailableReason()}). The WebGPU tests need one; without a GPU install ` +
      `lavapipe: libvulkan1 and mesa-vulkan-drivers ≥ 23 (Debian 12: from bookworm-backports). See docs/gpu.md.`,
  );
  return device;
}

/** Deterministic uniform [0, 1) generator (Park–Miller). */
export function lcg(seed: number): () => number {
  let s = seed % 2147483647 || 1;
  return () => (s = (s * 16807) % 2147483647) / 2147483647;
}
