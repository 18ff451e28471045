/**
 * Minimal reader/writer for the safetensors format (https://github.com/huggingface/safetensors):
 *
 *   u64 little-endian N | N bytes of UTF-8 JSON header (space-padded) | raw tensor bytes
 *
 * The header maps tensor names to {dtype, shape, data_offsets: [begin, end]} (offsets relative to
 * the start of the data section) plus an optional "__metadata__" object of string → string.
 * Parsed by hand: the format is small and fully specified, and every check below turns a
 * corrupt or truncated file into a one-line SmftError instead of garbage numbers.
 */
import { checkInputFile } from '../util/input.js';
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { SmftError } from '../util/errors.js';
import { f16ToNumber } from '../util/half.js';

export type SafetensorsDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

const DTYPE_BYTES: Record<SafetensorsDType, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
};

/** Largest header accepted (the reference implementation uses 100 MB). */
const MAX_HEADER_BYTES = 100_000_000;

export interface TensorInfo {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  /** Byte offsets relative to the start of the data section. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  metadata: Record<string, string>;
  /** Tensors in file order (sorted by offset). */
  tensors: TensorInfo[];
  /** Absolute byte offset of the data section. */
  dataOffset: number;
  /** Size of the data section the header describes (max end offset). */
  dataBytes: number;
}

export interface SafetensorsFile extends SafetensorsHeader {
  path: string;
  /** The whole file. */
  bytes: Uint8Array;
}

/** Tensor to write: Float32Array data is stored as F32; Uint8Array as U8; Int32Array as I32. */
export interface TensorToWrite {
  shape: number[];
  data: Float32Array | Uint8Array | Int32Array | Float64Array;
}

function dtypeOfArray(a: TensorToWrite['data']): SafetensorsDType {
  if (a instanceof Float32Array) return 'F32';
  if (a instanceof Float64Array) return 'F64';
  if (a instanceof Int32Array) return 'I32';
  return 'U8';
}

/**
 * Encode tensors and string metadata as a safetensors file. Tensors are laid out in the order
 * given, back to back (the header is space-padded to a multiple of 8 bytes, as the reference
 * writer does).
 */
export function encodeSafetensors(tensors: Record<string, TensorToWrite>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  // Tensors are contiguous, without gaps: the reference reader rejects holes in the data section.
  let offset = 0;
  const layout: { data: TensorToWrite['data']; at: number }[] = [];
  for (const [name, t] of Object.entries(tensors)) {
    if (name === '__metadata__') throw new Error('tensor name __metadata__ is reserved');
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new Error(`tensor ${name}: shape [${t.shape}] needs ${n} values, got ${t.data.length}`);
    header[name] = { dtype: dtypeOfArray(t.data), shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    layout.push({ data: t.data, at: offset });
    offset += t.data.byteLength;
  }
  const dataEnd = offset;
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const out = new Uint8Array(8 + json.length + dataEnd);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  for (const { data, at } of layout) {
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 8 + json.length + at);
  }
  return out;
}

/** Parse and validate a safetensors header from the first bytes of a file of `fileSize` bytes. */
function parseHeader(path: string, readBytes: (pos: number, len: number) => Uint8Array, fileSize: number): SafetensorsHeader {
  if (fileSize < 8) throw new SmftError(`not a safetensors file (only ${fileSize} bytes)`, path);
  const lenBytes = readBytes(0, 8);
  const n = Number(new DataView(lenBytes.buffer, lenBytes.byteOffset, 8).getBigUint64(0, true));
  if (!Number.isSafeInteger(n) || n < 2 || n > MAX_HEADER_BYTES) {
    throw new SmftError(`not a safetensors file (header length ${n} is implausible)`, path);
  }
  if (8 + n > fileSize) throw new SmftError(`truncated safetensors file (header needs ${8 + n} bytes, file has ${fileSize})`, path);
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(readBytes(8, n)).toString('utf8'));
  } catch (e) {
    throw new SmftError(`corrupt safetensors header (${(e as Error).message})`, path);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new SmftError('corrupt safetensors header (not a JSON object)', path);
  const metadata: Record<string, string> = {};
  const tensors: TensorInfo[] = [];
  for (const [name, v] of Object.entries(raw as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof v !== 'object' || v === null) throw new SmftError('corrupt safetensors header (__metadata__ is not an object)', path);
      for (const [k, s] of Object.entries(v as Record<string, unknown>)) {
        if (typeof s !== 'string') throw new SmftError(`corrupt safetensors header (__metadata__.${k} is not a string)`, path);
        metadata[k] = s;
      }
      continue;
    }
    const t = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof t !== 'object' || t === null || typeof t.dtype !== 'string' || !(t.dtype in DTYPE_BYTES)) {
      throw new SmftError(`tensor '${name}': unsupported or missing dtype ${JSON.stringify(t?.dtype)}`, path);
    }
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new SmftError(`tensor '${name}': bad shape ${JSON.stringify(t.shape)}`, path);
    }
    const off = t.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0) || off[1] < off[0]) {
      throw new SmftError(`tensor '${name}': bad data_offsets ${JSON.stringify(off)}`, path);
    }
    const dtype = t.dtype as SafetensorsDType;
    const shape = t.shape as number[];
    const want = shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
    if (off[1] - off[0] !== want) {
      throw new SmftError(`tensor '${name}': ${dtype}[${shape}] needs ${want} bytes, data_offsets span ${off[1] - off[0]}`, path);
    }
    tensors.push({ name, dtype, shape, begin: off[0], end: off[1] });
  }
  tensors.sort((a, b) => a.begin - b.begin);
  const dataBytes = tensors.reduce((m, t) => Math.max(m, t.end), 0);
  const dataOffset = 8 + n;
  if (dataOffset + dataBytes > fileSize) {
    throw new SmftError(`truncated safetensors file (tensors need ${dataOffset + dataBytes} bytes, file has ${fileSize})`, path);
  }
  return { metadata, tensors, dataOffset, dataBytes };
}

/** Read only the header of a safetensors file (cheap even for large files). */
export function readSafetensorsHeader(path: string): SafetensorsHeader {
  checkInputFile(path, { what: 'safetensors' });
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new SmftError(`cannot open (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, path);
  }
  try {
    const size = fstatSync(fd).size;
    return parseHeader(path, (pos, len) => {
      const b = new Uint8Array(len);
      let got = 0;
      while (got < len) {
        const r = readSync(fd, b, got, len - got, pos + got);
        if (r === 0) break;
        got += r;
      }
      return b;
    }, size);
  } finally {
    closeSync(fd);
  }
}

/** Read a whole safetensors file and validate its header against its size. */
export function readSafetensors(path: string): SafetensorsFile {
  // Read whole into one buffer: Node's limit for one read is 2 GiB.
  checkInputFile(path, { what: 'whole safetensors files', maxBytes: 2 ** 31 - 1 });
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new SmftError(`cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, path);
  }
  const h = parseHeader(path, (pos, len) => bytes.subarray(pos, pos + len), bytes.length);
  return { ...h, path, bytes };
}

/** Raw bytes of one tensor. */
export function tensorBytes(f: SafetensorsFile, t: TensorInfo): Uint8Array {
  return f.bytes.subarray(f.dataOffset + t.begin, f.dataOffset + t.end);
}

export function findTensor(f: SafetensorsHeader & { path?: string }, name: string): TensorInfo {
  const t = f.tensors.find((x) => x.name === name);
  if (!t) throw new SmftError(`no tensor '${name}' (has: ${f.tensors.map((x) => x.name).join(', ') || 'none'})`, f.path);
  return t;
}

/** Tensor values converted to float32 (copy; little-endian file order). */
export function tensorToFloat32(f: SafetensorsFile, t: TensorInfo): Float32Array {
  const b = tensorBytes(f, t);
  const n = t.shape.reduce((a, c) => a * c, 1);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out = new Float32Array(n);
  switch (t.dtype) {
    case 'F32':
      if (b.byteOffset % 4 === 0) out.set(new Float32Array(b.buffer, b.byteOffset, n));
      else for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true);
      break;
    case 'F64': for (let i = 0; i < n; i++) out[i] = dv.getFloat64(i * 8, true); break;
    case 'F16': for (let i = 0; i < n; i++) out[i] = f16ToNumber(dv.getUint16(i * 2, true)); break;
    case 'BF16': {
      const u = new Uint32Array(1);
      const fv = new Float32Array(u.buffer);
      for (let i = 0; i < n; i++) { u[0] = dv.getUint16(i * 2, true) << 16; out[i] = fv[0]; }
      break;
    }
    case 'I64': for (let i = 0; i < n; i++) out[i] = Number(dv.getBigInt64(i * 8, true)); break;
    case 'I32': for (let i = 0; i < n; i++) out[i] = dv.getInt32(i * 4, true); break;
    case 'I16': for (let i = 0; i < n; i++) out[i] = dv.getInt16(i * 2, true); break;
    case 'I8': for (let i = 0; i < n; i++) out[i] = dv.getInt8(i); break;
    case 'U8': case 'BOOL': for (let i = 0; i < n; i++) out[i] = b[i]; break;
  }
  return out;
}
