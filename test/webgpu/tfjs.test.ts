/**
 * TF.js on its webgpu backend through Dawn: a small transformer-like graph (matmul, bias, GELU,
 * layer norm, softmax, and its gradient) gives the cpu backend's numbers within 1e-5 relative.
 */
import './env.js';
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { registerWebGpu, releaseWebGpu } from '../../kernels/webgpu/index.js';
import { READ_SYNC_MESSAGE } from '../../kernels/webgpu/device.js';
import { requireGpu, lcg } from './helpers.js';

after(releaseWebGpu);

function graph(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D, v: tf.Tensor2D): { out: tf.Tensor; grad: tf.Tensor } {
  const f = (ww: tf.Tensor): tf.Scalar =>
    tf.tidy(() => {
      const h = tf.add(tf.matMul(x, ww as tf.Tensor2D), b);
      const g = tf.mul(h, tf.sigmoid(tf.mul(h, 1.702))); // GELU (sigmoid approximation)
      const { mean, variance } = tf.moments(g, -1, true);
      const ln = tf.div(tf.sub(g, mean), tf.sqrt(tf.add(variance, 1e-5)));
      const logits = tf.matMul(ln, v);
      const p = tf.softmax(logits);
      return tf.sum(tf.mul(p, tf.log(tf.add(p, 1e-6)))) as tf.Scalar;
    });
  const out = tf.tidy(() => {
    const h = tf.add(tf.matMul(x, w), b);
    return tf.softmax(tf.matMul(h, v));
  });
  const grad = tf.grad(f)(w);
  return { out, grad };
}

async function run(backend: string, seed: number): Promise<{ out: Float32Array; grad: Float32Array }> {
  assert.ok(await tf.setBackend(backend), `backend ${backend} did not start`);
  await tf.ready();
  const r = lcg(seed);
  const arr = (k: number): Float32Array => Float32Array.from({ length: k }, () => r() * 2 - 1);
  const x = tf.tensor2d(arr(24 * 48), [24, 48]);
  const w = tf.tensor2d(arr(48 * 64), [48, 64]);
  const b = tf.tensor1d(arr(64));
  const v = tf.tensor2d(arr(64 * 32), [64, 32]);
  const { out, grad } = graph(x, w, b, v);
  const res = { out: (await out.data()) as Float32Array, grad: (await grad.data()) as Float32Array };
  tf.dispose([x, w, b, v, out, grad]);
  return res;
}

test('matmul/softmax graph and its gradient: webgpu equals cpu', async () => {
  await requireGpu();
  assert.ok(await registerWebGpu(), 'registerWebGpu() returned false');
  const gpu = await run('webgpu', 42);
  assert.equal(tf.getBackend(), 'webgpu');
  const cpu = await run('cpu', 42);
  for (const key of ['out', 'grad'] as const) {
    const a = gpu[key];
    const c = cpu[key];
    assert.equal(a.length, c.length);
    let scale = 0;
    for (const x of c) scale = Math.max(scale, Math.abs(x));
    for (let k = 0; k < c.length; k++) {
      assert.ok(Number.isFinite(a[k]), `${key}[${k}] not finite`);
      assert.ok(Math.abs(a[k] - c[k]) <= 1e-5 * scale + 1e-5 * Math.abs(c[k]), `${key}[${k}]: webgpu ${a[k]} vs cpu ${c[k]}`);
    }
  }
});

test('synchronous reads of GPU tensors fail with a clear message; async reads work', async () => {
  await requireGpu();
  assert.ok(await registerWebGpu());
  await tf.setBackend('webgpu');
  // Small tensors are computed on the CPU (WEBGPU_CPU_FORWARD): their dataSync() works.
  const x = tf.tensor1d([1, 2, 3]);
  assert.deepEqual(Array.from(tf.mul(x, 2).dataSync()), [2, 4, 6]);
  // Above the hand-off size (1000 elements) the result lives on the GPU.
  const big = tf.fill([64, 64], 0.5);
  const y = tf.matMul(big, big);
  assert.throws(() => y.dataSync(), (e: Error) => e.message === READ_SYNC_MESSAGE);
  const v = await y.data();
  assert.equal(v.length, 4096);
  assert.ok(v.every((a) => Math.abs(a - 16) < 1e-5));
  tf.dispose(big);
  tf.dispose([x, y]);
});
