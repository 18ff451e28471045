/**
 * The optimiser pieces shared by the head and LoRA trainers: AdamW against reference values,
 * the warm-up + decay schedules at key steps, and clipping by global norm.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { AdamW } from '../../src/train/adamw.js';
import { learningRate, lrMultiplier, warmupFromRatio } from '../../src/train/schedule.js';
import { clipByGlobalNorm, globalNorm } from '../../src/train/clip.js';

before(async () => { await tf.setBackend('cpu'); });

function close(actual: ArrayLike<number>, expected: readonly number[], tol: number, what: string): void {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

describe('AdamW', () => {
  // Reference: NumPy (float64) with torch.optim.AdamW's update, printed by
  //
  //   import numpy as np
  //   b1,b2,eps,wd=0.9,0.999,1e-8,0.1
  //   p=np.array([0.5,-1.0,2.0,0.0]); bias=np.array([0.3,-0.2])
  //   gs=[np.array([0.1,-0.2,0.3,-0.4]),np.array([-0.05,0.5,0.0,1.0]),np.array([0.2,0.2,-0.1,0.0])]
  //   gb=[np.array([1.0,-1.0]),np.array([0.5,0.25]),np.array([-2.0,0.0])]
  //   m=np.zeros(4);v=np.zeros(4);mb=np.zeros(2);vb=np.zeros(2)
  //   for t,(g,h,lr) in enumerate(zip(gs,gb,[0.1,0.05,0.02]),1):
  //     p=p*(1-lr*wd); m=b1*m+(1-b1)*g; v=b2*v+(1-b2)*g*g
  //     p=p-lr/(1-b1**t)*m/(np.sqrt(v)/np.sqrt(1-b2**t)+eps)
  //     mb=b1*mb+(1-b1)*h; vb=b2*vb+(1-b2)*h*h          # bias: no weight decay
  //     bias=bias-lr/(1-b1**t)*mb/(np.sqrt(vb)/np.sqrt(1-b2**t)+eps)
  //     print(t, p.tolist(), bias.tolist())
  const REF_W = [
    [0.395000009999999, -0.8900000049999998, 1.8800000033333333, 0.09999999750000005],
    [0.37970815965169497, -0.9076607675836164, 1.837097092189577, 0.07738923461360751],
    [0.36578651232198967, -0.9167043056306409, 1.8276401910592217, 0.07039778264268798],
  ];
  const REF_B = [
    [0.20000000099999998, -0.10000000099999999],
    [0.15339101964908053, -0.07652659276172921],
    [0.15751816016185968, -0.06926858774356888],
  ];
  const GW = [[0.1, -0.2, 0.3, -0.4], [-0.05, 0.5, 0.0, 1.0], [0.2, 0.2, -0.1, 0.0]];
  const GB = [[1.0, -1.0], [0.5, 0.25], [-2.0, 0.0]];
  const LR = [0.1, 0.05, 0.02];

  /** The textbook form (bias-corrected moments m̂, v̂), written independently of the tf code. */
  function textbook(p0: number[], grads: number[][], lrs: number[], wd: number): number[][] {
    const out: number[][] = [];
    let p = [...p0];
    const m = p.map(() => 0), v = p.map(() => 0);
    grads.forEach((g, k) => {
      const t = k + 1;
      p = p.map((x, i) => {
        m[i] = 0.9 * m[i] + 0.1 * g[i];
        v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
        const mh = m[i] / (1 - 0.9 ** t), vh = v[i] / (1 - 0.999 ** t);
        return x - lrs[k] * wd * x - lrs[k] * mh / (Math.sqrt(vh) + 1e-8);
      });
      out.push(p);
    });
    return out;
  }

  test('three steps match the NumPy reference and the textbook formula (decay on weights only)', async () => {
    const w = tf.variable(tf.tensor1d([0.5, -1.0, 2.0, 0.0]));
    const b = tf.variable(tf.tensor1d([0.3, -0.2]));
    const opt = new AdamW([{ name: 'w', variable: w, decay: true }, { name: 'b', variable: b, decay: false }], { weightDecay: 0.1 });
    const book = textbook([0.5, -1.0, 2.0, 0.0], GW, LR, 0.1);
    for (let k = 0; k < 3; k++) {
      const g = [tf.tensor1d(GW[k]), tf.tensor1d(GB[k])];
      opt.apply(g, LR[k]);
      g.forEach((t) => t.dispose());
      close(w.dataSync(), REF_W[k], 2e-6, `w after step ${k + 1}`);
      close(b.dataSync(), REF_B[k], 2e-6, `b after step ${k + 1}`);
      close(w.dataSync(), book[k], 2e-6, `w vs textbook, step ${k + 1}`);
    }
    assert.equal(opt.step, 3);
    // State export / import continues identically.
    const state = await opt.getState();
    const w2 = tf.variable(tf.tensor1d(Array.from(w.dataSync())));
    const b2 = tf.variable(tf.tensor1d(Array.from(b.dataSync())));
    const opt2 = new AdamW([{ name: 'w', variable: w2, decay: true }, { name: 'b', variable: b2, decay: false }], { weightDecay: 0.1 });
    opt2.setState(state);
    for (const [o, vars] of [[opt, [w, b]], [opt2, [w2, b2]]] as const) {
      const g = [tf.tensor1d([0.3, 0.3, 0.3, 0.3]), tf.tensor1d([0.1, 0.1])];
      o.apply(g, 0.01);
      g.forEach((t) => t.dispose());
      void vars;
    }
    assert.deepEqual(Array.from(w2.dataSync()), Array.from(w.dataSync()));
    assert.deepEqual(Array.from(b2.dataSync()), Array.from(b.dataSync()));
    opt.dispose(); opt2.dispose();
    tf.dispose([w, b, w2, b2]);
  });

  test('shape mismatches are rejected', () => {
    const w = tf.variable(tf.zeros([2, 2]));
    const opt = new AdamW([{ name: 'w', variable: w, decay: true }]);
    const g = tf.zeros([4]);
    assert.throws(() => opt.apply([g], 0.1), /shape/);
    assert.throws(() => opt.apply([], 0.1), /0 gradients for 1 parameters/);
    tf.dispose([w, g]); opt.dispose();
  });
});

describe('learning-rate schedule', () => {
  const s = { kind: 'cosine' as const, warmupSteps: 10, totalSteps: 110 };
  test('linear warm-up from 0, cosine to 0 (Hugging Face formulas)', () => {
    assert.equal(lrMultiplier(0, s), 0);
    assert.equal(lrMultiplier(5, s), 0.5);
    assert.equal(lrMultiplier(10, s), 1);
    assert.ok(Math.abs(lrMultiplier(60, s) - 0.5) < 1e-12);
    assert.ok(Math.abs(lrMultiplier(35, s) - 0.5 * (1 + Math.cos(Math.PI * 0.25))) < 1e-12);
    assert.ok(Math.abs(lrMultiplier(110, s)) < 1e-12);
    assert.ok(Math.abs(lrMultiplier(500, s)) < 1e-12);
    assert.ok(Math.abs(learningRate(60, 3e-3, s) - 1.5e-3) < 1e-15);
  });
  test('floor, linear and constant', () => {
    assert.ok(Math.abs(lrMultiplier(110, { ...s, minLrRatio: 0.1 }) - 0.1) < 1e-12);
    assert.ok(Math.abs(lrMultiplier(60, { ...s, minLrRatio: 0.1 }) - 0.55) < 1e-12);
    assert.ok(Math.abs(lrMultiplier(35, { ...s, kind: 'linear' }) - 0.75) < 1e-12);
    assert.equal(lrMultiplier(3, { ...s, kind: 'constant' }), 0.3);
    assert.equal(lrMultiplier(99, { ...s, kind: 'constant' }), 1);
    assert.equal(lrMultiplier(0, { kind: 'cosine', warmupSteps: 0, totalSteps: 10 }), 1);
    assert.equal(warmupFromRatio(0.05, 1000), 50);
    assert.equal(warmupFromRatio(0.05, 10), 1);
  });
});

describe('clipping by global norm', () => {
  test('scales every gradient by maxNorm / (norm + 1e-6) when over the limit', () => {
    const g = [tf.tensor1d([3, 4]), tf.tensor2d([[12]])];
    const n = globalNorm(g);
    assert.equal(n.dataSync()[0], 13);
    const { grads, norm } = clipByGlobalNorm(g, 6.5);
    assert.equal(norm.dataSync()[0], 13);
    const c = 6.5 / (13 + 1e-6);
    close(grads[0].dataSync(), [3 * c, 4 * c], 1e-6, 'clipped[0]');
    close(grads[1].dataSync(), [12 * c], 1e-6, 'clipped[1]');
    const total = Math.hypot(...grads[0].dataSync(), ...grads[1].dataSync());
    assert.ok(Math.abs(total - 6.5) < 1e-5);
    tf.dispose([n, norm, ...grads]);
  });
  test('unchanged below the limit or when off', () => {
    const g = [tf.tensor1d([0.3, 0.4])];
    for (const max of [1, 0]) {
      const { grads, norm } = clipByGlobalNorm(g, max);
      close(grads[0].dataSync(), [0.3, 0.4], 1e-7, `max ${max}`);
      assert.ok(Math.abs(norm.dataSync()[0] - 0.5) < 1e-7);
      tf.dispose([norm, ...grads]);
    }
    // Inputs are not disposed.
    assert.equal(g[0].isDisposed, false);
    tf.dispose(g);
  });
});
