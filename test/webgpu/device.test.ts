/**
 * WebGPU start-up: an adapter is found (lavapipe in CI, a real GPU elsewhere) and described;
 * without a usable adapter registerWebGpu() returns false, the 'auto' backend falls back to the
 * CPU backends with exactly one warning line where a GPU shows, and says nothing (debug only)
 * where none does. The fallbacks run in child processes so that
 * each starts Dawn under its own environment.
 */
import './env.js';
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { probeAdapter, releaseWebGpu } from '../../kernels/webgpu/index.js';
import { requireGpu } from './helpers.js';

after(releaseWebGpu);

const child = fileURLToPath(new URL('./fixtures/register-child.ts', import.meta.url));

function runChild(env: Record<string, string | undefined>): { result: { registered: boolean; backend: string; gpuVisible: boolean }; logs: Array<Record<string, unknown>> } {
  const full: NodeJS.ProcessEnv = { ...process.env, SMFT_LOG_LEVEL: 'info', ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete full[k];
  const r = spawnSync(process.execPath, ['--import', 'tsx', child], { env: full, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `child failed: ${r.stderr}`);
  const logs = r.stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((o) => o.name === 'smft');
  return { result: JSON.parse(r.stdout.trim().split('\n').pop()!), logs };
}

test('an adapter is available and described (name, limits)', async () => {
  await requireGpu();
  const a = await probeAdapter();
  assert.ok(a);
  assert.ok((a.description || a.device).length > 0);
  assert.ok(a.limits.maxStorageBufferBindingSize >= 128 * 2 ** 20, 'binding limit ≥ 128 MiB');
  assert.ok(a.limits.maxComputeInvocationsPerWorkgroup >= 256);
  assert.ok(a.limits.maxComputeWorkgroupsPerDimension >= 65535);
});

test('no Vulkan driver: registerWebGpu() is false, auto falls back with one warning line', () => {
  const { result, logs } = runChild({ VK_ICD_FILENAMES: '/nonexistent/icd.json', VK_DRIVER_FILES: '/nonexistent/icd.json' });
  assert.equal(result.registered, false);
  assert.notEqual(result.backend, 'webgpu');
  const webgpuLines = logs.filter((o) => o.backend === 'webgpu');
  assert.equal(webgpuLines.length, 1, JSON.stringify(logs));
  assert.match(String(webgpuLines[0].msg), /WebGPU unavailable, falling back to CPU backends: no WebGPU adapter/);
  assert.equal(webgpuLines[0].level, 40);
});

test('a software adapter is refused unless SMFT_WEBGPU_ALLOW_SOFTWARE=1', async () => {
  const a = await probeAdapter();
  const refused = runChild({ SMFT_WEBGPU_ALLOW_SOFTWARE: undefined, SMFT_LOG_LEVEL: 'debug' });
  const allowed = runChild({ SMFT_WEBGPU_ALLOW_SOFTWARE: '1' });
  assert.equal(allowed.result.registered, true);
  assert.ok(['tensorflow', 'webgpu'].includes(allowed.result.backend), allowed.result.backend);
  assert.ok(allowed.logs.some((o) => o.msg === 'WebGPU adapter found' && typeof o.maxStorageBufferBindingSize === 'number'));
  if (a?.software) {
    assert.equal(refused.result.registered, false);
    assert.notEqual(refused.result.backend, 'webgpu');
    const lines = refused.logs.filter((o) => o.backend === 'webgpu');
    assert.ok(lines.some((o) => o.level === 20 && /only a software WebGPU adapter .*SMFT_WEBGPU_ALLOW_SOFTWARE=1/.test(String(o.msg))), JSON.stringify(lines));
    // 'auto' warns only where a GPU device shows; on a GPU-less machine (CI) nothing above debug.
    const warnings = lines.filter((o) => Number(o.level) >= 40);
    assert.equal(warnings.length, refused.result.gpuVisible ? 1 : 0, JSON.stringify(lines));
  } else {
    assert.equal(refused.result.registered, true); // a hardware adapter needs no opt-in
  }
});
