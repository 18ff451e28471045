/**
 * The few ONNX protobuf messages smft writes (ModelProto, GraphProto, NodeProto, AttributeProto,
 * TensorProto, ValueInfoProto), encoded by hand: field numbers from onnx/onnx.proto (IR 8).
 * Only what a decoder graph built in memory needs; weights are not serialised here (they are
 * fed as inputs), so models stay a few hundred kilobytes and far from protobuf's 2 GB limit.
 */

/** ONNX TensorProto.DataType values used by smft. */
export const DType = { float: 1, int64: 7 } as const;
export type DTypeCode = (typeof DType)[keyof typeof DType];

/** A protobuf writer: wire types 0 (varint), 2 (length-delimited) and 5 (fixed32). */
export class ProtoWriter {
  private readonly parts: Uint8Array[] = [];
  private bytes: number[] = [];

  private flush(): void {
    if (this.bytes.length) {
      this.parts.push(Uint8Array.from(this.bytes));
      this.bytes = [];
    }
  }

  private varint(value: number | bigint): void {
    let v = BigInt(value);
    if (v < 0n) v += 1n << 64n; // two's complement, as protobuf encodes negative int64
    while (v >= 0x80n) {
      this.bytes.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.bytes.push(Number(v));
  }

  private key(field: number, wire: 0 | 2 | 5): void {
    this.varint((field << 3) | wire);
  }

  int(field: number, value: number | bigint): this {
    this.key(field, 0);
    this.varint(value);
    return this;
  }

  float(field: number, value: number): this {
    this.key(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.bytes.push(...b);
    return this;
  }

  raw(field: number, data: Uint8Array): this {
    this.key(field, 2);
    this.varint(data.length);
    this.flush();
    this.parts.push(data);
    return this;
  }

  string(field: number, s: string): this {
    return this.raw(field, new TextEncoder().encode(s));
  }

  message(field: number, m: ProtoWriter): this {
    return this.raw(field, m.finish());
  }

  finish(): Uint8Array {
    this.flush();
    const n = this.parts.reduce((a, p) => a + p.length, 0);
    const out = new Uint8Array(n);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

/** A dimension: a size, or a symbolic name (dynamic). */
export type Dim = number | string;

/** ValueInfoProto of a tensor graph input or output. */
export function valueInfo(name: string, dtype: DTypeCode, dims: Dim[]): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of dims) {
    const dim = new ProtoWriter();
    if (typeof d === 'number') dim.int(1, d);
    else dim.string(2, d);
    shape.message(1, dim);
  }
  const tensorType = new ProtoWriter().int(1, dtype).message(2, shape);
  return new ProtoWriter().string(1, name).message(2, new ProtoWriter().message(1, tensorType));
}

/** TensorProto with raw little-endian data (constants and small initializers). */
export function tensorProto(name: string, dtype: DTypeCode, dims: number[], data: Float32Array | BigInt64Array): ProtoWriter {
  const t = new ProtoWriter();
  for (const d of dims) t.int(1, d);
  t.int(2, dtype);
  t.string(8, name);
  t.raw(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return t;
}

/**
 * TensorProto whose data lives in a file beside the model (data_location EXTERNAL): `location`
 * relative to the model file, at byte `offset`, `length` bytes.
 */
export function externalTensorProto(name: string, dtype: DTypeCode, dims: number[], location: string, offset: number, length: number): ProtoWriter {
  const t = new ProtoWriter();
  for (const d of dims) t.int(1, d);
  t.int(2, dtype);
  t.string(8, name);
  for (const [k, v] of [['location', location], ['offset', String(offset)], ['length', String(length)]]) {
    t.message(13, new ProtoWriter().string(1, k).string(2, v));
  }
  t.int(14, 1);
  return t;
}

export type AttributeValue = number | number[] | { float: number };

/** AttributeProto: an int, a list of ints, or a float. */
export function attribute(name: string, value: AttributeValue): ProtoWriter {
  const a = new ProtoWriter().string(1, name);
  if (typeof value === 'number') return a.int(3, value).int(20, 2);
  if (Array.isArray(value)) {
    for (const v of value) a.int(8, v);
    return a.int(20, 7);
  }
  return a.float(2, value.float).int(20, 1);
}

export function nodeProto(op: string, inputs: string[], outputs: string[], attrs: Record<string, AttributeValue> = {}, name?: string): ProtoWriter {
  const n = new ProtoWriter();
  for (const i of inputs) n.string(1, i);
  for (const o of outputs) n.string(2, o);
  if (name) n.string(3, name);
  n.string(4, op);
  for (const [k, v] of Object.entries(attrs)) n.message(5, attribute(k, v));
  return n;
}

export interface GraphParts {
  name: string;
  nodes: ProtoWriter[];
  initializers: ProtoWriter[];
  inputs: ProtoWriter[];
  outputs: ProtoWriter[];
}

/** ModelProto (IR version 8) of one graph with the default-domain opset `opset`. */
export function modelProto(g: GraphParts, opset: number, producer = 'smft'): Uint8Array {
  const graph = new ProtoWriter();
  for (const n of g.nodes) graph.message(1, n);
  graph.string(2, g.name);
  for (const t of g.initializers) graph.message(5, t);
  for (const i of g.inputs) graph.message(11, i);
  for (const o of g.outputs) graph.message(12, o);
  const model = new ProtoWriter().int(1, 8).string(2, producer);
  model.message(7, graph);
  model.message(8, new ProtoWriter().string(1, '').int(2, opset));
  return model.finish();
}
