import { openSync, readSync, closeSync, fstatSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SmftError } from '../util/errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import { pathInside } from '../util/names.js';
import { checkInputFile } from '../util/input.js';

/**
 * safetensors: 8-byte little-endian header length N, N bytes of JSON header
 * `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {str: str}}`, then the
 * raw little-endian tensor bytes (offsets relative to the end of the header).
 *
 * Tensors are read one at a time straight from the file into a Float32Array, so loading a
 * model never holds more than one tensor's bytes besides the converted weights.
 */

const DTYPE_SIZE: Record<string, number> = {
  BOOL: 1, U8: 1, I8: 1, F8_E4M3: 1, F8_E5M2: 1, I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8,
};
const READABLE = ['F32', 'F16', 'BF16'];
const MAX_HEADER = 100 * 1024 * 1024;

export interface TensorInfo {
  name: string;
  dtype: string;
  shape: number[];
  /** Absolute byte range in the file. */
  begin: number;
  end: number;
  file: string;
}

export interface F32Tensor {
  shape: number[];
  data: Float32Array;
}

/** One .safetensors file, opened for random access. */
export class SafetensorsFile {
  readonly tensors = new Map<string, TensorInfo>();
  readonly metadata: Record<string, string> = {};
  private fd: number | null;

  private constructor(readonly path: string, fd: number) {
    this.fd = fd;
  }

  static open(path: string): SafetensorsFile {
    checkInputFile(path, { what: 'safetensors' });
    const fd = openSync(path, 'r');
    const f = new SafetensorsFile(path, fd);
    try {
      f.parseHeader();
    } catch (e) {
      f.close();
      throw e;
    }
    return f;
  }

  private parseHeader(): void {
    const size = fstatSync(this.fd!).size;
    if (size < 8) throw new SmftError(`truncated safetensors file (${size} bytes, no header)`, this.path);
    const lenBuf = Buffer.alloc(8);
    readFully(this.fd!, lenBuf, 0);
    const n = Number(lenBuf.readBigUInt64LE(0));
    if (n > MAX_HEADER) throw new SmftError(`bad safetensors header: header length ${n} is implausible (not a safetensors file?)`, this.path);
    if (8 + n > size) throw new SmftError(`truncated safetensors file: header needs ${n} bytes, file has ${size - 8}`, this.path);
    const hb = Buffer.alloc(n);
    readFully(this.fd!, hb, 8);
    let header: unknown;
    try {
      header = JSON.parse(hb.toString('utf8'));
    } catch (e) {
      throw new SmftError(`bad safetensors header: not JSON (${(e as Error).message.split('\n')[0]})`, this.path);
    }
    if (typeof header !== 'object' || header === null || Array.isArray(header)) {
      throw new SmftError('bad safetensors header: not a JSON object', this.path);
    }
    const base = 8 + n;
    const dataSize = size - base;
    for (const [name, v] of Object.entries(header as Record<string, unknown>)) {
      if (name === '__metadata__') {
        if (v && typeof v === 'object') for (const [k, s] of Object.entries(v)) this.metadata[k] = String(s);
        continue;
      }
      const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      const bad = (msg: string): never => {
        throw new SmftError(`bad safetensors header: tensor '${name}' ${msg}`, this.path);
      };
      if (!e || typeof e !== 'object') bad('has no entry');
      if (typeof e.dtype !== 'string' || !(e.dtype in DTYPE_SIZE)) bad(`has unknown dtype ${JSON.stringify(e.dtype)}`);
      if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) bad(`has invalid shape ${JSON.stringify(e.shape)}`);
      const off = e.data_offsets;
      if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isInteger(d) && d >= 0) || off[0] > off[1]) {
        bad(`has invalid data_offsets ${JSON.stringify(off)}`);
      }
      const shape = e.shape as number[];
      const [b, en] = off as [number, number];
      const need = shape.reduce((a, d) => a * d, 1) * DTYPE_SIZE[e.dtype as string];
      if (en - b !== need) bad(`has ${en - b} data bytes but dtype ${String(e.dtype)} × shape [${shape.join(', ')}] needs ${need}`);
      if (en > dataSize) {
        throw new SmftError(`truncated safetensors file: tensor '${name}' ends at data byte ${en}, file has ${dataSize}`, this.path);
      }
      this.tensors.set(name, { name, dtype: e.dtype as string, shape, begin: base + b, end: base + en, file: this.path });
    }
  }

  /** Read one tensor as float32 (F32, F16 and BF16 are converted). */
  read(name: string): F32Tensor {
    const info = this.tensors.get(name);
    if (!info) throw new SmftError(`tensor '${name}' not found`, this.path);
    if (this.fd === null) throw new Error(`SafetensorsFile ${this.path} is closed`);
    return readTensor(this.fd, info);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/** The weights of a model folder: model.safetensors or model.safetensors.index.json + shards. */
export class WeightSource {
  private readonly files: SafetensorsFile[] = [];
  private readonly where = new Map<string, SafetensorsFile>();

  private constructor(readonly dir: string) {}

  static open(dir: string): WeightSource {
    const ws = new WeightSource(dir);
    try {
      const index = join(dir, 'model.safetensors.index.json');
      const single = join(dir, 'model.safetensors');
      if (existsSync(index)) {
        let json: { weight_map?: Record<string, string> };
        try {
          json = JSON.parse(readFileSync(index, 'utf8'));
        } catch (e) {
          throw new SmftError(`invalid JSON (${(e as Error).message.split('\n')[0]})`, index);
        }
        const map = json.weight_map;
        if (!map || typeof map !== 'object') throw new SmftError('no weight_map', index);
        const byFile = new Map<string, SafetensorsFile>();
        for (const [name, file] of Object.entries(map)) {
          let f = byFile.get(file);
          if (!f) {
            const p = pathInside(dir, file, 'shard name in model.safetensors.index.json', index);
            if (!existsSync(p)) throw new SmftError(`shard '${file}' listed in model.safetensors.index.json is missing`, dir);
            f = SafetensorsFile.open(p);
            byFile.set(file, f);
            ws.files.push(f);
          }
          if (!f.tensors.has(name)) throw new SmftError(`tensor '${name}' is listed in the index but not in the shard`, f.path);
          ws.where.set(name, f);
        }
      } else if (existsSync(single)) {
        const f = SafetensorsFile.open(single);
        ws.files.push(f);
        for (const name of f.tensors.keys()) ws.where.set(name, f);
      } else {
        throw new SmftError('no model.safetensors or model.safetensors.index.json (only safetensors weights are supported)', dir);
      }
    } catch (e) {
      ws.close();
      throw e;
    }
    return ws;
  }

  names(): string[] {
    return [...this.where.keys()];
  }

  info(name: string): TensorInfo | undefined {
    return this.where.get(name)?.tensors.get(name);
  }

  read(name: string): F32Tensor {
    const f = this.where.get(name);
    if (!f) throw new SmftError(`tensor '${name}' not found in the model weights`, this.dir);
    return f.read(name);
  }

  close(): void {
    for (const f of this.files) f.close();
    this.files.length = 0;
  }
}

function readFully(fd: number, buf: Uint8Array, position: number): void {
  const CHUNK = 1 << 30;
  let done = 0;
  while (done < buf.length) {
    const len = Math.min(CHUNK, buf.length - done);
    const n = readSync(fd, buf, done, len, position + done);
    if (n <= 0) throw new SmftError('unexpected end of file while reading tensor data');
    done += n;
  }
}

function readTensor(fd: number, info: TensorInfo): F32Tensor {
  if (!READABLE.includes(info.dtype)) {
    throw new SmftError(`tensor '${info.name}' has dtype ${info.dtype}; supported: ${READABLE.join(', ')}`, info.file);
  }
  const n = info.shape.reduce((a, d) => a * d, 1);
  const out = new Float32Array(n);
  try {
    if (info.dtype === 'F32') {
      readFully(fd, new Uint8Array(out.buffer), info.begin);
    } else {
      const half = new Uint16Array(n);
      readFully(fd, new Uint8Array(half.buffer), info.begin);
      if (info.dtype === 'BF16') bf16ToF32(half, out);
      else f16ToF32(half, out);
    }
  } catch (e) {
    if (e instanceof SmftError) throw new SmftError(`${e.message} (tensor '${info.name}')`, info.file);
    throw e;
  }
  return { shape: info.shape.slice(), data: out };
}

/** bfloat16 bits → float32 (exact). */
export function bf16ToF32(src: Uint16Array, dst: Float32Array): void {
  const u = new Uint32Array(dst.buffer, dst.byteOffset, dst.length);
  for (let i = 0; i < src.length; i++) u[i] = src[i] << 16;
}

/** IEEE half bits → float32 (exact, subnormals and inf/nan included). */
export function f16ToF32(src: Uint16Array, dst: Float32Array): void {
  const u = new Uint32Array(dst.buffer, dst.byteOffset, dst.length);
  for (let i = 0; i < src.length; i++) {
    const h = src[i];
    const sign = (h & 0x8000) << 16;
    const exp = (h >> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) {
      // zero or subnormal: mant * 2^-24
      dst[i] = (sign ? -1 : 1) * mant * 5.960464477539063e-8;
    } else if (exp === 31) {
      u[i] = sign | 0x7f800000 | (mant << 13);
    } else {
      u[i] = sign | ((exp + 112) << 23) | (mant << 13);
    }
  }
}

/** Write float32 tensors (and string metadata) as one safetensors file, atomically. */
export function writeSafetensors(path: string, tensors: Record<string, F32Tensor>, metadata: Record<string, string> = {}): void {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  const names = Object.keys(tensors).sort();
  for (const name of names) {
    const t = tensors[name];
    const n = t.shape.reduce((a, d) => a * d, 1);
    if (n !== t.data.length) throw new Error(`writeSafetensors: '${name}' has ${t.data.length} values for shape [${t.shape}]`);
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + n * 4] };
    offset += n * 4;
  }
  let hjson = Buffer.from(JSON.stringify(header), 'utf8');
  const padLen = (8 - (hjson.length % 8)) % 8;
  if (padLen) hjson = Buffer.concat([hjson, Buffer.alloc(padLen, 0x20)]);
  const out = new Uint8Array(8 + hjson.length + offset);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(hjson.length), true);
  out.set(hjson, 8);
  let pos = 8 + hjson.length;
  for (const name of names) {
    const d = tensors[name].data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), pos);
    pos += d.byteLength;
  }
  writeFileAtomic(path, out);
}

/** Read every tensor of a safetensors file as float32, with its metadata. */
export function readSafetensors(path: string): { tensors: Map<string, F32Tensor>; metadata: Record<string, string> } {
  const f = SafetensorsFile.open(path);
  try {
    const tensors = new Map<string, F32Tensor>();
    for (const name of f.tensors.keys()) tensors.set(name, f.read(name));
    return { tensors, metadata: { ...f.metadata } };
  } finally {
    f.close();
  }
}
