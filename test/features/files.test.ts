/**
 * Feature files: safetensors and .npy readers (round trips, dtypes, corrupt files) and the
 * feature-matrix loader (words from __metadata__ or a sidecar, layer stacks).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SmftError } from '../../src/util/errors.js';
import { encodeSafetensors, readSafetensors, readSafetensorsHeader, tensorToFloat32 } from '../../src/features/safetensors.js';
import { decodeNpy, encodeNpy, readNpy } from '../../src/features/npy.js';
import { layerOf, loadFeatureMatrix, readFeatureFile, writeFeatureFile } from '../../src/features/load.js';
import { columnStats, selectRows } from '../../src/features/matrix.js';

let tmp = '';
before(() => { tmp = mkdtempSync(join(tmpdir(), 'smft-features-')); });
after(() => { rmSync(tmp, { recursive: true, force: true }); });

/** Raw safetensors bytes from a header object and a data buffer (for hand-made dtypes). */
function rawSafetensors(header: object, data: Uint8Array): Uint8Array {
  const json = Buffer.from(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

describe('safetensors', () => {
  test('round trip with metadata; header 8-aligned; tensors back to back', () => {
    const a = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const b = Int32Array.from([7, -8]);
    const bytes = encodeSafetensors({ a: { shape: [2, 3], data: a }, b: { shape: [2], data: b } }, { words: '["x","y"]' });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    assert.equal(n % 8, 0);
    const p = join(tmp, 'rt.safetensors');
    writeFileSync(p, bytes);
    const f = readSafetensors(p);
    assert.deepEqual(f.metadata, { words: '["x","y"]' });
    assert.deepEqual(f.tensors.map((t) => [t.name, t.dtype, t.shape, t.begin, t.end]), [['a', 'F32', [2, 3], 0, 24], ['b', 'I32', [2], 24, 32]]);
    assert.deepEqual(Array.from(tensorToFloat32(f, f.tensors[0])), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(Array.from(tensorToFloat32(f, f.tensors[1])), [7, -8]);
    assert.equal(readSafetensorsHeader(p).dataBytes, 32);
  });

  test('F16, BF16 and F64 are converted to float32', () => {
    // 1.0, -2.0, 0.5 in half precision; 1.0, -2.0, 0.5 in bfloat16.
    const f16 = Uint16Array.from([0x3c00, 0xc000, 0x3800]);
    const bf16 = Uint16Array.from([0x3f80, 0xc000, 0x3f00]);
    const f64 = Float64Array.from([0.25, -1e-3]);
    const data = new Uint8Array(6 + 6 + 16);
    data.set(new Uint8Array(f16.buffer), 0);
    data.set(new Uint8Array(bf16.buffer), 6);
    data.set(new Uint8Array(f64.buffer), 12);
    const p = join(tmp, 'dtypes.safetensors');
    writeFileSync(p, rawSafetensors({
      h: { dtype: 'F16', shape: [3], data_offsets: [0, 6] },
      bf: { dtype: 'BF16', shape: [3], data_offsets: [6, 12] },
      d: { dtype: 'F64', shape: [2], data_offsets: [12, 28] },
    }, data));
    const f = readSafetensors(p);
    const get = (name: string) => Array.from(tensorToFloat32(f, f.tensors.find((t) => t.name === name)!));
    assert.deepEqual(get('h'), [1, -2, 0.5]);
    assert.deepEqual(get('bf'), [1, -2, 0.5]);
    assert.deepEqual(get('d'), [0.25, Math.fround(-1e-3)]);
  });

  test('truncated, garbage and inconsistent files give a clear SmftError', () => {
    const p = join(tmp, 'trunc.safetensors');
    writeFileSync(p, encodeSafetensors({ a: { shape: [100], data: new Float32Array(100) } }));
    truncateSync(p, 200);
    assert.throws(() => readSafetensors(p), (e: unknown) => e instanceof SmftError && /truncated/.test(e.message) && e.message.includes(p));
    const g = join(tmp, 'garbage.safetensors');
    writeFileSync(g, Buffer.from('hello world, not a safetensors file at all'));
    assert.throws(() => readSafetensors(g), (e: unknown) => e instanceof SmftError && /not a safetensors file|corrupt/.test(e.message));
    const bad = join(tmp, 'badshape.safetensors');
    writeFileSync(bad, rawSafetensors({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)));
    assert.throws(() => readSafetensors(bad), /needs 12 bytes/);
    assert.throws(() => readSafetensors(join(tmp, 'missing.safetensors')), (e: unknown) => e instanceof SmftError && /missing\.safetensors: file not found$/.test(e.message));
  });
});

describe('.npy', () => {
  test('round trip, float64 and Fortran order', () => {
    const a = Float32Array.from({ length: 6 }, (_, i) => i + 0.5);
    const dec = decodeNpy(encodeNpy([2, 3], a));
    assert.deepEqual(dec.shape, [2, 3]);
    assert.deepEqual(Array.from(dec.data), Array.from(a));
    // Hand-made v1.0 float64 Fortran-ordered 2×3 array [[0,1,2],[3,4,5]] (column-major bytes).
    let header = "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }";
    header += ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\n';
    const h = Buffer.from(header, 'latin1');
    const colMajor = Float64Array.from([0, 3, 1, 4, 2, 5]);
    const bytes = new Uint8Array(10 + h.length + 48);
    bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    new DataView(bytes.buffer).setUint16(8, h.length, true);
    bytes.set(h, 10);
    bytes.set(new Uint8Array(colMajor.buffer), 10 + h.length);
    const f = decodeNpy(bytes);
    assert.deepEqual(Array.from(f.data), [0, 1, 2, 3, 4, 5]);
  });

  test('bad magic, truncated data and unsupported dtypes are errors', () => {
    assert.throws(() => decodeNpy(new Uint8Array(20)), /bad magic/);
    const full = encodeNpy([10, 10], new Float32Array(100));
    assert.throws(() => decodeNpy(full.subarray(0, full.length - 4)), /truncated/);
    const s = Buffer.from(encodeNpy([2], new Float32Array(2))).toString('latin1').replace("'<f4'", "'<U1'");
    assert.throws(() => decodeNpy(Buffer.from(s, 'latin1')), /unsupported .npy dtype/);
  });
});

describe('feature files', () => {
  test('layer stack in safetensors with words and layer labels in __metadata__', () => {
    const words = ['APPLE', 'bell', 'Cat'];
    const L = 2, W = 3, H = 4;
    const values = Float32Array.from({ length: L * W * H }, (_, i) => i);
    const p = join(tmp, 'hidden.safetensors');
    writeFeatureFile(p, { words, layers: L, dim: H, values, source: 'tiny-lm', layerLabels: ['6', '12'], metadata: {} });
    const s = readFeatureFile(p);
    assert.equal(s.layers, 2);
    assert.deepEqual(s.words, words);
    assert.deepEqual(s.layerLabels, ['6', '12']);
    const last = layerOf(s);
    assert.equal(last.source, 'tiny-lm:layer12');
    assert.deepEqual(Array.from(last.values.subarray(0, 4)), [12, 13, 14, 15]);
    const first = loadFeatureMatrix(p, { layer: 0 });
    assert.deepEqual(Array.from(first.values.subarray(8, 12)), [8, 9, 10, 11]);
    assert.throws(() => loadFeatureMatrix(p, { layer: 2 }), /layer 2 out of range/);
    // Case-insensitive selection, missing words reported.
    const sel = selectRows(first, ['cat', 'dog', 'apple']);
    assert.deepEqual(sel.matrix.words, ['cat', 'apple']);
    assert.deepEqual(sel.missing, ['dog']);
    assert.deepEqual(Array.from(sel.matrix.values.subarray(0, 4)), [8, 9, 10, 11]);
  });

  test('npy with a sidecar word list; missing or wrong-length word lists are errors', () => {
    const p = join(tmp, 'feats.npy');
    writeFileSync(p, encodeNpy([2, 3], Float32Array.from([1, 2, 3, 4, 5, 6])));
    assert.throws(() => loadFeatureMatrix(p), /no word list/);
    writeFileSync(join(tmp, 'feats.words.txt'), 'one\ntwo\n');
    const m = loadFeatureMatrix(p);
    assert.deepEqual(m.words, ['one', 'two']);
    assert.equal(m.dim, 3);
    assert.equal(m.source, 'feats');
    assert.throws(() => loadFeatureMatrix(p, { words: ['a', 'b', 'c'] }), /3 entries but the features have 2 rows/);
    assert.equal(readNpy(p).shape.length, 2);
  });

  test('several tensors need a name; bad words metadata is an error', () => {
    const p = join(tmp, 'multi.safetensors');
    writeFileSync(p, encodeSafetensors({ x: { shape: [1, 2], data: new Float32Array(2) }, y: { shape: [1, 2], data: new Float32Array(2) } }, { words: '["a"]' }));
    assert.throws(() => loadFeatureMatrix(p), /several tensors \(x, y\)/);
    assert.deepEqual(loadFeatureMatrix(p, { tensor: 'y' }).words, ['a']);
    const q = join(tmp, 'badwords.safetensors');
    writeFileSync(q, encodeSafetensors({ hidden_states: { shape: [1, 2], data: new Float32Array(2) } }, { words: 'not json' }));
    assert.throws(() => loadFeatureMatrix(q), (e: unknown) => e instanceof SmftError && /__metadata__.words is not valid JSON/.test(e.message));
    assert.ok(readFileSync(q).length > 0);
  });

  test('columnStats skips NaN', () => {
    const s = columnStats(Float32Array.from([1, NaN, 3, 4]), 2, 2);
    assert.deepEqual(Array.from(s.mean), [2, 4]);
    assert.deepEqual(Array.from(s.std), [1, 1e-6].map(Math.fround));
  });
});
