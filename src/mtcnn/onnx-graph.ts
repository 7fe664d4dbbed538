import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { weight, type MtcnnWeights } from './weights.js';

/**
 * P-Net, R-Net and O-Net as ONNX models (serialized ModelProto bytes) for the native engine, built
 * in memory from the same pinned weights the TF.js networks use (weights.ts), so there is one source
 * of the numbers and nothing else to pin. The graphs take and give the TF.js networks' layouts
 * (nets.ts), so the detector reads both engines' outputs the same way:
 * - pnet: NHWC `[B, H, W, 3]` -> `[B, Ho, Wo, 6]` (logit 0, logit 1, 4 regressions);
 * - rnet: `[N, 24, 24, 3]` -> `[N, 6]`; onet: `[N, 48, 48, 3]` -> `[N, 16]`.
 * Inside, convolutions run NCHW (ONNX's layout): a Transpose at the input, and before each
 * flatten a Transpose back to NHWC so that the dense rows keep the (H, W, C) order of weights.ts.
 * Max pooling is ONNX MaxPool with ceil_mode, which like PyTorch takes the max of the pixels a
 * partial last window has. The output heads are merged as in nets.ts (one Gemm/1x1 Conv).
 * Only the handful of ONNX protobuf fields these graphs use are written (field numbers of onnx.proto).
 */

export type NetName = 'pnet' | 'rnet' | 'onet';

/** ONNX TensorProto.DataType values used here. */
const FLOAT = 1;
const INT64 = 7;
/** ONNX AttributeProto.AttributeType values used here. */
const ATTR_INT = 2;
const ATTR_INTS = 7;

/** Opset the graphs are written against (every op used here is unchanged since). */
const opsetVersion = 13;
/** ONNX IR version 7 goes with opset 13. */
const irVersion = 7;

interface Initializer {
  name: string;
  dims: number[];
  dataType: typeof FLOAT | typeof INT64;
  raw: Uint8Array;
}

interface Node {
  op: string;
  inputs: string[];
  output: string;
  attributes?: Record<string, number | number[]>;
}

/** A graph under construction: nodes in order, named constants, and a running output name. */
class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly initializers: Initializer[] = [];
  private counter = 0;

  constant(name: string, dims: number[], values: Float32Array): string {
    const copy = Float32Array.from(values);
    this.initializers.push({ name, dims, dataType: FLOAT, raw: new Uint8Array(copy.buffer) });
    return name;
  }

  int64Constant(name: string, values: number[]): string {
    const data = BigInt64Array.from(values, (v) => BigInt(v));
    this.initializers.push({ name, dims: [values.length], dataType: INT64, raw: new Uint8Array(data.buffer) });
    return name;
  }

  node(op: string, inputs: string[], attributes?: Record<string, number | number[]>, output?: string): string {
    const name = output ?? `${op.toLowerCase()}_${this.counter++}`;
    this.nodes.push({ op, inputs, output: name, ...(attributes ? { attributes } : {}) });
    return name;
  }
}

/** `[kh, kw, in, out]` (TF.js layout) -> `[out, in, kh, kw]` (ONNX Conv's). */
export function kernelHwioToOihw(values: Float32Array, shape: readonly number[]): { dims: number[]; values: Float32Array } {
  const [kh, kw, cin, cout] = shape as [number, number, number, number];
  const out = new Float32Array(values.length);
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      for (let i = 0; i < cin; i++) {
        for (let o = 0; o < cout; o++) {
          out[((o * cin + i) * kh + y) * kw + x] = values[((y * kw + x) * cin + i) * cout + o]!;
        }
      }
    }
  }
  return { dims: [cout, cin, kh, kw], values: out };
}

/** Output heads side by side, as nets.ts merges them: `[in, sum(out)]` and the biases. */
function mergedHead(weights: MtcnnWeights, net: NetName, names: string[]): { shape: number[]; values: Float32Array; bias: Float32Array } {
  const parts = names.map((name) => weight(weights, `${net}/${name}/weights`));
  const inputs = parts[0]!.shape[parts[0]!.shape.length - 2]!;
  const outputs = parts.reduce((sum, w) => sum + w.shape[w.shape.length - 1]!, 0);
  const values = new Float32Array(inputs * outputs);
  const bias = new Float32Array(outputs);
  let column = 0;
  names.forEach((name, k) => {
    const w = parts[k]!;
    const cols = w.shape[w.shape.length - 1]!;
    for (let i = 0; i < inputs; i++) values.set(w.values.subarray(i * cols, (i + 1) * cols), i * outputs + column);
    bias.set(weight(weights, `${net}/${name}/bias`).values, column);
    column += cols;
  });
  return { shape: [inputs, outputs], values, bias };
}

function conv(g: GraphBuilder, weights: MtcnnWeights, x: string, net: NetName, layer: string, prelu: number | null): string {
  const w = weight(weights, `${net}/${layer}/weights`);
  const kernel = kernelHwioToOihw(w.values, w.shape);
  const bias = weight(weights, `${net}/${layer}/bias`).values;
  let y = g.node('Conv', [x, g.constant(`${net}/${layer}/W`, kernel.dims, kernel.values), g.constant(`${net}/${layer}/B`, [bias.length], bias)], {
    kernel_shape: kernel.dims.slice(2),
    strides: [1, 1],
  });
  if (prelu !== null) {
    const alpha = weight(weights, `${net}/prelu${prelu}_alpha`).values;
    // Per channel of NCHW: the slope broadcasts as [C, 1, 1].
    y = g.node('PRelu', [y, g.constant(`${net}/prelu${prelu}`, [alpha.length, 1, 1], alpha)]);
  }
  return y;
}

function maxPoolCeil(g: GraphBuilder, x: string, kernel: number, stride: number): string {
  return g.node('MaxPool', [x], { kernel_shape: [kernel, kernel], strides: [stride, stride], ceil_mode: 1 });
}

function dense(g: GraphBuilder, weights: MtcnnWeights, x: string, net: NetName, layer: string, prelu: number): string {
  const w = weight(weights, `${net}/${layer}/weights`);
  const bias = weight(weights, `${net}/${layer}/bias`).values;
  const y = g.node('Gemm', [x, g.constant(`${net}/${layer}/W`, [...w.shape], w.values), g.constant(`${net}/${layer}/B`, [bias.length], bias)]);
  const alpha = weight(weights, `${net}/prelu${prelu}_alpha`).values;
  return g.node('PRelu', [y, g.constant(`${net}/prelu${prelu}`, [alpha.length], alpha)]);
}

function head(g: GraphBuilder, weights: MtcnnWeights, x: string, net: NetName, names: string[], output: string): string {
  const merged = mergedHead(weights, net, names);
  const w = g.constant(`${net}/head/W`, merged.shape, merged.values);
  return g.node('Gemm', [x, w, g.constant(`${net}/head/B`, [merged.bias.length], merged.bias)], undefined, output);
}

/** NCHW conv output -> NHWC -> `[N, H*W*C]`, the row order of the first dense layer. */
function flattenHwc(g: GraphBuilder, x: string, net: NetName): string {
  const nhwc = g.node('Transpose', [x], { perm: [0, 2, 3, 1] });
  return g.node('Reshape', [nhwc, g.int64Constant(`${net}/flat`, [0, -1])]);
}

function pnetGraph(g: GraphBuilder, w: MtcnnWeights): void {
  let y = g.node('Transpose', ['input'], { perm: [0, 3, 1, 2] });
  y = conv(g, w, y, 'pnet', 'conv1', 1);
  y = maxPoolCeil(g, y, 2, 2);
  y = conv(g, w, y, 'pnet', 'conv2', 2);
  y = conv(g, w, y, 'pnet', 'conv3', 3);
  const merged = mergedHead(w, 'pnet', ['conv4_1', 'conv4_2']);
  const kernel = kernelHwioToOihw(merged.values, [1, 1, ...merged.shape]);
  y = g.node('Conv', [y, g.constant('pnet/head/W', kernel.dims, kernel.values), g.constant('pnet/head/B', [merged.bias.length], merged.bias)], {
    kernel_shape: [1, 1],
    strides: [1, 1],
  });
  g.node('Transpose', [y], { perm: [0, 2, 3, 1] }, 'output');
}

function rnetGraph(g: GraphBuilder, w: MtcnnWeights): void {
  let y = g.node('Transpose', ['input'], { perm: [0, 3, 1, 2] });
  y = maxPoolCeil(g, conv(g, w, y, 'rnet', 'conv1', 1), 3, 2);
  y = maxPoolCeil(g, conv(g, w, y, 'rnet', 'conv2', 2), 3, 2);
  y = conv(g, w, y, 'rnet', 'conv3', 3);
  y = dense(g, w, flattenHwc(g, y, 'rnet'), 'rnet', 'fc1', 4);
  head(g, w, y, 'rnet', ['fc2_1', 'fc2_2'], 'output');
}

function onetGraph(g: GraphBuilder, w: MtcnnWeights): void {
  let y = g.node('Transpose', ['input'], { perm: [0, 3, 1, 2] });
  y = maxPoolCeil(g, conv(g, w, y, 'onet', 'conv1', 1), 3, 2);
  y = maxPoolCeil(g, conv(g, w, y, 'onet', 'conv2', 2), 3, 2);
  y = maxPoolCeil(g, conv(g, w, y, 'onet', 'conv3', 3), 2, 2);
  y = conv(g, w, y, 'onet', 'conv4', 4);
  y = dense(g, w, flattenHwc(g, y, 'onet'), 'onet', 'fc1', 5);
  head(g, w, y, 'onet', ['fc2_1', 'fc2_2', 'fc2_3'], 'output');
}

/** Input sizes: P-Net takes any batch and size, R-Net and O-Net fixed crops. */
const inputShape: Record<NetName, (number | string)[]> = {
  pnet: ['batch', 'height', 'width', 3],
  rnet: ['batch', 24, 24, 3],
  onet: ['batch', 48, 48, 3],
};
const outputShape: Record<NetName, (number | string)[]> = {
  pnet: ['batch', 'out_height', 'out_width', 6],
  rnet: ['batch', 6],
  onet: ['batch', 16],
};

/** The ONNX model (ModelProto bytes) of one network, with the weights inside. */
export function mtcnnOnnxModel(weights: MtcnnWeights, net: NetName): Uint8Array {
  const g = new GraphBuilder();
  ({ pnet: pnetGraph, rnet: rnetGraph, onet: onetGraph })[net](g, weights);
  return encodeModel(net, g, inputShape[net], outputShape[net]);
}

// --- ONNX protobuf (onnx.proto field numbers) ---

function encodeModel(name: string, g: GraphBuilder, input: (number | string)[], output: (number | string)[]): Uint8Array {
  const w = new BinaryWriter();
  w.tag(1, WireType.Varint).int64(irVersion);
  w.tag(2, WireType.LengthDelimited).string('dfdc');
  w.tag(7, WireType.LengthDelimited).fork();
  encodeGraph(w, name, g, input, output);
  w.join();
  w.tag(8, WireType.LengthDelimited).fork();
  w.tag(1, WireType.LengthDelimited).string('');
  w.tag(2, WireType.Varint).int64(opsetVersion);
  w.join();
  return w.finish();
}

function encodeGraph(w: BinaryWriter, name: string, g: GraphBuilder, input: (number | string)[], output: (number | string)[]): void {
  for (const node of g.nodes) {
    w.tag(1, WireType.LengthDelimited).fork();
    for (const i of node.inputs) w.tag(1, WireType.LengthDelimited).string(i);
    w.tag(2, WireType.LengthDelimited).string(node.output);
    w.tag(3, WireType.LengthDelimited).string(node.output);
    w.tag(4, WireType.LengthDelimited).string(node.op);
    for (const [attribute, value] of Object.entries(node.attributes ?? {})) {
      w.tag(5, WireType.LengthDelimited).fork();
      w.tag(1, WireType.LengthDelimited).string(attribute);
      if (Array.isArray(value)) {
        for (const v of value) w.tag(8, WireType.Varint).int64(v);
        w.tag(20, WireType.Varint).int32(ATTR_INTS);
      } else {
        w.tag(3, WireType.Varint).int64(value);
        w.tag(20, WireType.Varint).int32(ATTR_INT);
      }
      w.join();
    }
    w.join();
  }
  w.tag(2, WireType.LengthDelimited).string(name);
  for (const t of g.initializers) {
    w.tag(5, WireType.LengthDelimited).fork();
    for (const d of t.dims) w.tag(1, WireType.Varint).int64(d);
    w.tag(2, WireType.Varint).int32(t.dataType);
    w.tag(8, WireType.LengthDelimited).string(t.name);
    w.tag(9, WireType.LengthDelimited).bytes(t.raw);
    w.join();
  }
  encodeValueInfo(w, 11, 'input', input);
  encodeValueInfo(w, 12, 'output', output);
}

function encodeValueInfo(w: BinaryWriter, field: number, name: string, dims: (number | string)[]): void {
  w.tag(field, WireType.LengthDelimited).fork();
  w.tag(1, WireType.LengthDelimited).string(name);
  w.tag(2, WireType.LengthDelimited).fork(); // TypeProto
  w.tag(1, WireType.LengthDelimited).fork(); // TypeProto.Tensor
  w.tag(1, WireType.Varint).int32(FLOAT);
  w.tag(2, WireType.LengthDelimited).fork(); // TensorShapeProto
  for (const d of dims) {
    w.tag(1, WireType.LengthDelimited).fork();
    if (typeof d === 'number') w.tag(1, WireType.Varint).int64(d);
    else w.tag(2, WireType.LengthDelimited).string(d);
    w.join();
  }
  w.join();
  w.join();
  w.join();
  w.join();
}
