import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture } from './helpers.js';
import { SafetensorsFile, WeightSource, writeSafetensors, readSafetensors } from '../../src/lm/safetensors.js';

function bf16Round(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer);
  const r = (u[0] + 0x7fff + ((u[0] >>> 16) & 1)) >>> 16;
  u[0] = (r << 16) >>> 0;
  return f[0];
}

test('dtypes.safetensors: F32, F16 and BF16 decode to the expected float32 values', () => {
  const f = SafetensorsFile.open(join(fixture('safetensors'), 'dtypes.safetensors'));
  try {
    const vals = [0, 1, -2.5, 0.15625, -1e-3, 65504];
    assert.deepEqual(f.read('f32').shape, [2, 3]);
    assert.deepEqual([...f.read('f32').data], [...new Float32Array(vals)]);
    const f16 = [...f.read('f16').data];
    assert.deepEqual(f16.filter((_, i) => i !== 4), [0, 1, -2.5, 0.15625, 65504]);
    assert.equal(f16[4], -0.0010004043579101562); // nearest half to -1e-3
    assert.deepEqual([...f.read('bf16').data], vals.map(bf16Round));
    assert.equal(f.metadata.format, 'pt');
  } finally {
    f.close();
  }
});

test('bf16 checkpoint loads as the bf16-rounded float32 weights', () => {
  const a = WeightSource.open(fixture('tiny-llama'));
  const b = WeightSource.open(fixture('tiny-llama-bf16'));
  try {
    assert.deepEqual(b.names().sort(), a.names().sort());
    for (const name of a.names()) {
      assert.equal(b.info(name)!.dtype, 'BF16');
      const x = a.read(name);
      const y = b.read(name);
      assert.deepEqual(y.shape, x.shape);
      for (let i = 0; i < x.data.length; i++) {
        if (y.data[i] !== bf16Round(x.data[i])) assert.fail(`${name}[${i}]: ${y.data[i]} != bf16(${x.data[i]})`);
      }
    }
  } finally {
    a.close();
    b.close();
  }
});

test('sharded index loads exactly the tensors of the single file', () => {
  const a = WeightSource.open(fixture('tiny-qwen2'));
  const b = WeightSource.open(fixture('tiny-qwen2-sharded'));
  try {
    assert.deepEqual(b.names().sort(), a.names().sort());
    const files = new Set(b.names().map((n) => b.info(n)!.file));
    assert.equal(files.size, 2);
    for (const name of a.names()) {
      const x = a.read(name);
      const y = b.read(name);
      assert.deepEqual(y.shape, x.shape);
      assert.deepEqual(y.data, x.data, name);
    }
  } finally {
    a.close();
    b.close();
  }
});

test('writeSafetensors round-trips tensors and metadata', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smft-st-'));
  try {
    const p = join(dir, 'x.safetensors');
    const data = new Float32Array([1, 2, 3, 4, 5, 6]);
    writeSafetensors(p, { b: { shape: [2, 3], data }, a: { shape: [1], data: new Float32Array([7]) } }, { words: '["x","y"]' });
    const r = readSafetensors(p);
    assert.deepEqual(r.metadata, { words: '["x","y"]' });
    assert.deepEqual(r.tensors.get('b'), { shape: [2, 3], data });
    assert.deepEqual([...r.tensors.get('a')!.data], [7]);
    assert.equal(existsSync(p), true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
