/**
 * Imported first by every WebGPU test (before anything that loads the logger): the tests run
 * smft's WGSL kernels on whatever adapter Dawn finds — in CI that is Mesa's lavapipe, a software
 * Vulkan driver, which smft refuses unless SMFT_WEBGPU_ALLOW_SOFTWARE=1.
 */
process.env.SMFT_WEBGPU_ALLOW_SOFTWARE ??= '1';
process.env.SMFT_LOG_LEVEL ??= 'silent';
export {};
