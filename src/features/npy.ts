/**
 * Reader (and a small writer, for tests and exports) for NumPy's .npy format, versions 1–3:
 *
 *   "\x93NUMPY" | major | minor | header length (u16 for v1, u32 for v2/3) | Python dict literal
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), } padded with spaces + "\n" | data
 *
 * Only numeric little-endian (or byte-order-free) dtypes are accepted; values come back as
 * float32 in C order (Fortran-ordered arrays are transposed).
 */
import { readFileSync } from 'node:fs';
import { SmftError } from '../util/errors.js';
import { f16ToNumber } from '../util/half.js';

export interface NpyArray {
  descr: string;
  shape: number[];
  /** Values as float32, C (row-major) order. */
  data: Float32Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** Parse the header dict literal (a restricted Python literal; parsed with regexes, never eval). */
function parseHeaderDict(text: string, path: string): { descr: string; fortran: boolean; shape: number[] } {
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(text)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new SmftError(`corrupt .npy header: ${JSON.stringify(text.trim().slice(0, 120))}`, path);
  }
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map((s) => Number(s.replace(/L$/, '')));
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new SmftError(`corrupt .npy shape (${shapeText})`, path);
  return { descr, fortran: fortran === 'True', shape };
}

export function decodeNpy(bytes: Uint8Array, path = '<npy>'): NpyArray {
  if (bytes.length < 10 || !MAGIC.every((b, i) => bytes[i] === b)) throw new SmftError('not a .npy file (bad magic)', path);
  const major = bytes[6];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let hlen: number; let start: number;
  if (major === 1) { hlen = dv.getUint16(8, true); start = 10; } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new SmftError('truncated .npy file', path);
    hlen = dv.getUint32(8, true); start = 12;
  } else throw new SmftError(`unsupported .npy version ${major}`, path);
  if (start + hlen > bytes.length) throw new SmftError('truncated .npy header', path);
  const header = Buffer.from(bytes.subarray(start, start + hlen)).toString(major === 3 ? 'utf8' : 'latin1');
  const { descr, fortran, shape } = parseHeaderDict(header, path);
  const m = /^([<>|=]?)([fiub])(\d+)$/.exec(descr);
  if (!m) throw new SmftError(`unsupported .npy dtype '${descr}' (need a numeric dtype)`, path);
  const [, order, kind, sizeText] = m;
  const size = Number(sizeText);
  if (order === '>' && size > 1) throw new SmftError(`big-endian .npy dtype '${descr}' is not supported`, path);
  const n = shape.reduce((a, b) => a * b, 1);
  const off = start + hlen;
  if (off + n * size > bytes.length) {
    throw new SmftError(`truncated .npy data (needs ${n * size} bytes, has ${bytes.length - off})`, path);
  }
  const get = ((): ((i: number) => number) => {
    const p = (i: number): number => off + i * size;
    if (kind === 'f' && size === 4) return (i) => dv.getFloat32(p(i), true);
    if (kind === 'f' && size === 8) return (i) => dv.getFloat64(p(i), true);
    if (kind === 'f' && size === 2) return (i) => f16ToNumber(dv.getUint16(p(i), true));
    if (kind === 'i' && size === 1) return (i) => dv.getInt8(p(i));
    if (kind === 'i' && size === 2) return (i) => dv.getInt16(p(i), true);
    if (kind === 'i' && size === 4) return (i) => dv.getInt32(p(i), true);
    if (kind === 'i' && size === 8) return (i) => Number(dv.getBigInt64(p(i), true));
    if ((kind === 'u' || kind === 'b') && size === 1) return (i) => dv.getUint8(p(i));
    if (kind === 'u' && size === 2) return (i) => dv.getUint16(p(i), true);
    if (kind === 'u' && size === 4) return (i) => dv.getUint32(p(i), true);
    throw new SmftError(`unsupported .npy dtype '${descr}'`, path);
  })();
  const data = new Float32Array(n);
  if (!fortran || shape.length < 2) {
    for (let i = 0; i < n; i++) data[i] = get(i);
  } else {
    // Fortran order: the first index varies fastest. Map each C-order position to its F offset.
    const nd = shape.length;
    const idx = new Array<number>(nd).fill(0);
    const fStride = new Array<number>(nd);
    fStride[0] = 1;
    for (let d = 1; d < nd; d++) fStride[d] = fStride[d - 1] * shape[d - 1];
    for (let i = 0; i < n; i++) {
      let fo = 0;
      for (let d = 0; d < nd; d++) fo += idx[d] * fStride[d];
      data[i] = get(fo);
      for (let d = nd - 1; d >= 0; d--) { if (++idx[d] < shape[d]) break; idx[d] = 0; }
    }
  }
  return { descr, shape, data };
}

export function readNpy(path: string): NpyArray {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new SmftError(`cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, path);
  }
  return decodeNpy(bytes, path);
}

/** Encode a float32 C-order array as .npy version 1.0. */
export function encodeNpy(shape: number[], data: Float32Array): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const total = 10 + dict.length + 1;
  dict += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.from(dict, 'latin1');
  const out = new Uint8Array(10 + head.length + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1; out[7] = 0;
  new DataView(out.buffer).setUint16(8, head.length, true);
  out.set(head, 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + head.length);
  return out;
}
