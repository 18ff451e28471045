import { DType, externalTensorProto, modelProto, nodeProto, tensorProto, valueInfo, type AttributeValue, type Dim, type DTypeCode, type ProtoWriter } from './proto.js';

/** ONNX opset of the graphs smft builds (ReduceMean with an `axes` attribute: ≤ 17). */
export const OPSET = 17;

/**
 * Builds an ONNX graph op by op with generated value names: `op('MatMul', [a, b])` returns the
 * output name, so graph code reads like the tensor code it mirrors.
 */
interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, AttributeValue>;
  name: string;
}

export class GraphBuilder {
  private readonly nodes: NodeSpec[] = [];
  /** Outputs of the nodes built here (renamable), and the graph output name each one became. */
  private readonly produced = new Set<string>();
  private readonly renamed = new Map<string, string>();
  private readonly initializers: ProtoWriter[] = [];
  private readonly inputs: ProtoWriter[] = [];
  private readonly outputs: ProtoWriter[] = [];
  private readonly consts = new Map<string, string>();
  private counter = 0;
  private prefix = '';

  constructor(private readonly name: string) {}

  /** Name values created until the next call with this scope (e.g. `layers.3/`), for readable graphs. */
  scope(prefix: string): void {
    this.prefix = prefix;
  }

  input(name: string, dtype: DTypeCode, dims: Dim[]): string {
    this.inputs.push(valueInfo(name, dtype, dims));
    return name;
  }

  /** A float32 initializer named `name` whose data is in `location` (beside the model file). */
  externalFloat(name: string, dims: number[], location: string, offset: number): string {
    this.initializers.push(externalTensorProto(name, DType.float, dims, location, offset, dims.reduce((a, d) => a * d, 1) * 4));
    return name;
  }

  /**
   * Declare `value` as a graph output named `name`: the value of a node built here is renamed
   * (no copy); a graph input, or a value already output under another name, goes through an
   * Identity node.
   */
  output(value: string, name: string, dtype: DTypeCode, dims: Dim[]): void {
    if (this.produced.has(value) && !this.renamed.has(value)) this.renamed.set(value, name);
    else this.nodes.push({ op: 'Identity', inputs: [value], outputs: [name], attrs: {}, name: `output_${name}` });
    this.outputs.push(valueInfo(name, dtype, dims));
  }

  op(type: string, inputs: string[], attrs: Record<string, AttributeValue> = {}): string {
    return this.opN(type, inputs, 1, attrs)[0];
  }

  opN(type: string, inputs: string[], outputs: number, attrs: Record<string, AttributeValue> = {}): string[] {
    const id = this.counter++;
    const names = Array.from({ length: outputs }, (_, i) => `${this.prefix}${type}_${id}${outputs > 1 ? `_${i}` : ''}`);
    this.nodes.push({ op: type, inputs, outputs: names, attrs, name: `${this.prefix}${type}_${id}` });
    for (const n of names) this.produced.add(n);
    return names;
  }

  /** An int64 constant (1-D, or a scalar with `scalar`), shared between uses. */
  int64(values: number[], scalar = false): string {
    const key = `i${scalar ? 's' : ''}:${values.join(',')}`;
    let name = this.consts.get(key);
    if (!name) {
      name = `const_${this.consts.size}`;
      this.initializers.push(tensorProto(name, DType.int64, scalar ? [] : [values.length], BigInt64Array.from(values.map(BigInt))));
      this.consts.set(key, name);
    }
    return name;
  }

  /** A float32 scalar constant, shared between uses. */
  float(value: number): string {
    const key = `f:${value}`;
    let name = this.consts.get(key);
    if (!name) {
      name = `const_${this.consts.size}`;
      this.initializers.push(tensorProto(name, DType.float, [], Float32Array.of(value)));
      this.consts.set(key, name);
    }
    return name;
  }

  build(): Uint8Array {
    const v = (x: string): string => this.renamed.get(x) ?? x;
    const nodes = this.nodes.map((n) => nodeProto(n.op, n.inputs.map(v), n.outputs.map(v), n.attrs, n.name));
    return modelProto({ name: this.name, nodes, initializers: this.initializers, inputs: this.inputs, outputs: this.outputs }, OPSET);
  }
}
