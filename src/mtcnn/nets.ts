import * as tf from '@tensorflow/tfjs-core';
import type { MtcnnNetworks } from './engine.js';
import { weight, type MtcnnWeights } from './weights.js';

/**
 * P-Net, R-Net and O-Net (docs/mtcnn.md §5) as TF.js ops on NHWC float32 tensors, with the weights of
 * weights.ts (kernels already in row-major orientation, dense rows in (H, W, C) order).
 * Each conv is one fused op (conv + bias + PReLU); max pooling is PyTorch's ceil mode; each net's
 * output heads are merged into one 1x1 conv / dense layer so that one tensor is read back:
 * - pnet: `[B, Ho, Wo, 6]` = logit 0, logit 1, dx1, dy1, dx2, dy2;
 * - rnet: `[N, 6]` = logit 0, logit 1, 4 regressions;
 * - onet: `[N, 16]` = logit 0, logit 1, 4 regressions, 5 landmark x, 5 landmark y.
 * Softmax is left to the caller (boxes.ts), which reproduces torch's float32 formula.
 */

interface ConvLayer {
  filter: tf.Tensor4D;
  bias: tf.Tensor1D;
  alpha: tf.Tensor1D | null;
}

interface DenseLayer {
  weights: tf.Tensor2D;
  bias: tf.Tensor1D;
  alpha: tf.Tensor1D | null;
}

/** How many rows/columns PyTorch's ceil mode adds after the input (its last window is partial). */
export function ceilModePoolPadding(inSize: number, kernel: number, stride: number): number {
  const out = Math.ceil((inSize - kernel) / stride) + 1;
  return Math.max(0, (out - 1) * stride + kernel - inSize);
}

/** Whether TF's 'same' pooling equals ceil mode here: same output size and all its padding after. */
export function sameIsCeilMode(inSize: number, kernel: number, stride: number): boolean {
  const ceilOut = Math.ceil((inSize - kernel) / stride) + 1;
  const sameOut = Math.ceil(inSize / stride);
  const samePadding = Math.max((sameOut - 1) * stride + kernel - inSize, 0);
  return ceilOut === sameOut && Math.floor(samePadding / 2) === 0;
}

/** PyTorch `max_pool2d(x, kernel, stride, ceil_mode=True)` on an NHWC tensor. */
export function maxPoolCeil(x: tf.Tensor4D, kernel: number, stride: number): tf.Tensor4D {
  const [, h, w] = x.shape;
  // TF's 'same' padding is ignored by max pooling, like the missing pixels of a partial window.
  if (sameIsCeilMode(h, kernel, stride) && sameIsCeilMode(w, kernel, stride)) return tf.maxPool(x, kernel, stride, 'same');
  const padH = ceilModePoolPadding(h, kernel, stride);
  const padW = ceilModePoolPadding(w, kernel, stride);
  // Otherwise the last partial window takes the max of the pixels that exist: pad with -Infinity after.
  const padded = padH > 0 || padW > 0 ? tf.pad(x, [[0, 0], [0, padH], [0, padW], [0, 0]], -Infinity) : x;
  return tf.maxPool(padded, kernel, stride, 'valid');
}

function conv(x: tf.Tensor4D, layer: ConvLayer): tf.Tensor4D {
  return tf.fused.conv2d({
    x,
    filter: layer.filter,
    strides: 1,
    pad: 'valid',
    bias: layer.bias,
    ...(layer.alpha ? { activation: 'prelu' as const, preluActivationWeights: layer.alpha } : {}),
  });
}

function dense(x: tf.Tensor2D, layer: DenseLayer): tf.Tensor2D {
  return tf.fused.matMul({
    a: x,
    b: layer.weights,
    bias: layer.bias,
    ...(layer.alpha ? { activation: 'prelu' as const, preluActivationWeights: layer.alpha } : {}),
  }) as tf.Tensor2D;
}

export class MtcnnNets {
  private readonly kept: tf.Tensor[] = [];
  private readonly p: ConvLayer[];
  private readonly r: { convs: ConvLayer[]; fc: DenseLayer; head: DenseLayer };
  private readonly o: { convs: ConvLayer[]; fc: DenseLayer; head: DenseLayer };

  constructor(weights: MtcnnWeights) {
    const t = <T extends tf.Tensor>(tensor: T): T => {
      this.kept.push(tensor);
      return tensor;
    };
    const values = (name: string) => weight(weights, name).values;
    const shape = (name: string) => weight(weights, name).shape;
    const convLayer = (net: string, n: number | string, prelu: number | null): ConvLayer => ({
      filter: t(tf.tensor4d(values(`${net}/conv${n}/weights`), shape(`${net}/conv${n}/weights`) as [number, number, number, number])),
      bias: t(tf.tensor1d(values(`${net}/conv${n}/bias`))),
      alpha: prelu === null ? null : t(tf.tensor1d(values(`${net}/prelu${prelu}_alpha`))),
    });
    const denseLayer = (net: string, name: string, prelu: number): DenseLayer => ({
      weights: t(tf.tensor2d(values(`${net}/${name}/weights`), shape(`${net}/${name}/weights`) as [number, number])),
      bias: t(tf.tensor1d(values(`${net}/${name}/bias`))),
      alpha: t(tf.tensor1d(values(`${net}/prelu${prelu}_alpha`))),
    });
    /** Output heads side by side: one dense layer (or 1x1 conv) instead of two or three. */
    const mergedHead = (net: string, names: string[], asConv: boolean) => {
      const ws = names.map((name) => weight(weights, `${net}/${name}/weights`));
      const inputs = ws[0]!.shape[ws[0]!.shape.length - 2]!;
      const outputs = ws.reduce((sum, w) => sum + w.shape[w.shape.length - 1]!, 0);
      const merged = new Float32Array(inputs * outputs);
      const bias = new Float32Array(outputs);
      let column = 0;
      names.forEach((name, k) => {
        const w = ws[k]!;
        const cols = w.shape[w.shape.length - 1]!;
        for (let i = 0; i < inputs; i++) merged.set(w.values.subarray(i * cols, (i + 1) * cols), i * outputs + column);
        bias.set(values(`${net}/${name}/bias`), column);
        column += cols;
      });
      return {
        weights: asConv ? t(tf.tensor4d(merged, [1, 1, inputs, outputs])) : t(tf.tensor2d(merged, [inputs, outputs])),
        bias: t(tf.tensor1d(bias)),
      };
    };
    const pHead = mergedHead('pnet', ['conv4_1', 'conv4_2'], true);
    this.p = [
      convLayer('pnet', 1, 1),
      convLayer('pnet', 2, 2),
      convLayer('pnet', 3, 3),
      { filter: pHead.weights as tf.Tensor4D, bias: pHead.bias, alpha: null },
    ];
    const rHead = mergedHead('rnet', ['fc2_1', 'fc2_2'], false);
    this.r = {
      convs: [convLayer('rnet', 1, 1), convLayer('rnet', 2, 2), convLayer('rnet', 3, 3)],
      fc: denseLayer('rnet', 'fc1', 4),
      head: { weights: rHead.weights as tf.Tensor2D, bias: rHead.bias, alpha: null },
    };
    const oHead = mergedHead('onet', ['fc2_1', 'fc2_2', 'fc2_3'], false);
    this.o = {
      convs: [convLayer('onet', 1, 1), convLayer('onet', 2, 2), convLayer('onet', 3, 3), convLayer('onet', 4, 4)],
      fc: denseLayer('onet', 'fc1', 5),
      head: { weights: oHead.weights as tf.Tensor2D, bias: oHead.bias, alpha: null },
    };
  }

  /** `[B, H, W, 3]` normalized pyramid level -> `[B, Ho, Wo, 6]`. */
  pnet(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [c1, c2, c3, head] = this.p as [ConvLayer, ConvLayer, ConvLayer, ConvLayer];
      let y = conv(x, c1);
      y = maxPoolCeil(y, 2, 2);
      y = conv(y, c2);
      y = conv(y, c3);
      return conv(y, head);
    });
  }

  /** `[N, 24, 24, 3]` -> `[N, 6]`. */
  rnet(x: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => {
      const [c1, c2, c3] = this.r.convs as [ConvLayer, ConvLayer, ConvLayer];
      let y = maxPoolCeil(conv(x, c1), 3, 2);
      y = maxPoolCeil(conv(y, c2), 3, 2);
      y = conv(y, c3);
      const flat = tf.reshape(y, [y.shape[0], -1]) as tf.Tensor2D;
      return dense(dense(flat, this.r.fc), this.r.head);
    });
  }

  /** `[N, 48, 48, 3]` -> `[N, 16]`. */
  onet(x: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => {
      const [c1, c2, c3, c4] = this.o.convs as [ConvLayer, ConvLayer, ConvLayer, ConvLayer];
      let y = maxPoolCeil(conv(x, c1), 3, 2);
      y = maxPoolCeil(conv(y, c2), 3, 2);
      y = maxPoolCeil(conv(y, c3), 2, 2);
      y = conv(y, c4);
      const flat = tf.reshape(y, [y.shape[0], -1]) as tf.Tensor2D;
      return dense(dense(flat, this.o.fc), this.o.head);
    });
  }

  /** Frees the weight tensors. */
  dispose(): void {
    for (const tensor of this.kept) tensor.dispose();
    this.kept.length = 0;
  }
}

/** The networks on the active TF.js backend, behind the engines' interface (engine.ts). */
export class TfjsNetworks implements MtcnnNetworks {
  private readonly nets: MtcnnNets;

  constructor(weights: MtcnnWeights) {
    this.nets = new MtcnnNets(weights);
  }

  async pnet(input: Float32Array, shape: readonly [number, number, number, number]) {
    const output = tf.tidy(() => this.nets.pnet(tf.tensor4d(input, [...shape])));
    const [, outHeight, outWidth] = output.shape;
    const values = output.dataSync() as Float32Array;
    output.dispose();
    return { values, outHeight, outWidth };
  }

  async rnet(input: Float32Array, count: number): Promise<Float32Array> {
    return this.refine((x) => this.nets.rnet(x), input, [count, 24, 24, 3]);
  }

  async onet(input: Float32Array, count: number): Promise<Float32Array> {
    return this.refine((x) => this.nets.onet(x), input, [count, 48, 48, 3]);
  }

  private refine(net: (x: tf.Tensor4D) => tf.Tensor2D, input: Float32Array, shape: [number, number, number, number]): Float32Array {
    const output = tf.tidy(() => net(tf.tensor4d(input, shape)));
    const values = output.dataSync() as Float32Array;
    output.dispose();
    return values;
  }

  async dispose(): Promise<void> {
    this.nets.dispose();
  }
}
