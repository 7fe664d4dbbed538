import { simdKernels, type SimdKernels } from './resize-simd.js';
import type { RgbImage } from './rgb-image.js';

/**
 * Pillow's default `Image.resize` for RGB images (bicubic, a = -0.5, support widened when shrinking),
 * reproduced bit for bit: per-axis weights in float64 normalised by division, turned into 22-bit
 * fixed point, a horizontal pass into 8-bit rows, then a vertical pass (docs/exactness.md §3). An
 * axis whose size does not change is not resampled. The weights of each (input size, output size)
 * pair are computed once and cached.
 */

const precisionBits = 22;
const half = 1 << (precisionBits - 1);
/** Sums at or above this clip to 255 (Pillow's clip8: `1 << PRECISION_BITS << 8`). */
const saturated = 2 ** (precisionBits + 8);

/** The fixed-point weights of one axis: output pixel o reads `count[o]` inputs from `first[o]`, weights at `o * ksize`. */
export interface AxisWeights {
  readonly inSize: number;
  readonly outSize: number;
  readonly ksize: number;
  readonly first: Int32Array;
  readonly count: Int32Array;
  readonly weights: Int32Array;
  /**
   * Outputs `start .. end` (inclusive) that all read 8 inputs with the same symmetric weights, each
   * 2 inputs after the previous one (the interior of a 2:1 reduction); null when there are none.
   * Along a row they can be computed from a sliding window of pixels.
   */
  readonly halvingRun: { readonly start: number; readonly end: number } | null;
}

function bicubic(x: number): number {
  const a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

/** Pillow's precompute_coeffs + normalize_coeffs_8bpc for one axis (box = the whole axis). */
export function computeAxisWeights(inSize: number, outSize: number): AxisWeights {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 2 * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  const ss = 1 / filterScale;
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let sum = 0;
    for (let x = 0; x < xmax; x++) {
      const w = bicubic((x + xmin - center + 0.5) * ss);
      k[x] = w;
      sum += w;
    }
    for (let x = 0; x < xmax; x++) {
      const w = sum !== 0 ? k[x]! / sum : k[x]!;
      weights[o * ksize + x] = w < 0 ? Math.trunc(-0.5 + w * (1 << precisionBits)) : Math.trunc(0.5 + w * (1 << precisionBits));
    }
    first[o] = xmin;
    count[o] = Math.max(xmax, 0);
  }
  return { inSize, outSize, ksize, first, count, weights, halvingRun: findHalvingRun(first, count, weights, ksize) };
}

/** Whether output `o` reads 8 inputs with weights w0..w7 such that w[k] = w[7-k]. */
function symmetricEight(count: Int32Array, weights: Int32Array, ksize: number, o: number): boolean {
  if (count[o] !== 8) return false;
  const k = o * ksize;
  return weights[k] === weights[k + 7] && weights[k + 1] === weights[k + 6] && weights[k + 2] === weights[k + 5] && weights[k + 3] === weights[k + 4];
}

function findHalvingRun(first: Int32Array, count: Int32Array, weights: Int32Array, ksize: number): AxisWeights['halvingRun'] {
  let best: AxisWeights['halvingRun'] = null;
  let o = 0;
  while (o < first.length) {
    if (!symmetricEight(count, weights, ksize, o)) {
      o += 1;
      continue;
    }
    const start = o;
    const same = (a: number, b: number) => {
      for (let k = 0; k < 4; k++) if (weights[a * ksize + k] !== weights[b * ksize + k]) return false;
      return true;
    };
    while (o + 1 < first.length && symmetricEight(count, weights, ksize, o + 1) && first[o + 1] === first[o]! + 2 && same(o + 1, start)) o += 1;
    if (best === null || o - start > best.end - best.start) best = { start, end: o };
    o += 1;
  }
  return best !== null && best.end - best.start >= 1 ? best : null;
}

const cache = new Map<string, AxisWeights>();
const maxCached = 64;

function axisWeights(inSize: number, outSize: number): AxisWeights {
  const key = `${inSize}>${outSize}`;
  let found = cache.get(key);
  if (found === undefined) {
    if (cache.size >= maxCached) cache.clear();
    found = computeAxisWeights(inSize, outSize);
    cache.set(key, found);
  }
  return found;
}

function clip8(sum: number): number {
  if (sum <= 0) return 0;
  if (sum >= saturated) return 255;
  return sum >> precisionBits;
}

/** One output pixel of the horizontal pass, the plain way: `count[x]` taps from `first[x]`. */
function horizontalPixel(src: Uint8Array, rowStart: number, out: Uint8Array, o: number, axis: AxisWeights, x: number): void {
  const { first, count, weights, ksize } = axis;
  const k0 = x * ksize;
  const n = count[x]!;
  let s0 = half;
  let s1 = half;
  let s2 = half;
  for (let k = 0, q = rowStart + first[x]! * 3; k < n; k++, q += 3) {
    const w = weights[k0 + k]!;
    s0 += src[q]! * w;
    s1 += src[q + 1]! * w;
    s2 += src[q + 2]! * w;
  }
  out[o] = clip8(s0);
  out[o + 1] = clip8(s1);
  out[o + 2] = clip8(s2);
}

/**
 * Outputs `run.start .. run.end` of one row of a 2:1 reduction: the 8 input pixels of an output are
 * the previous output's last 6 plus 2 new ones, kept in locals (a quarter of the loads), and the
 * symmetric weights pair them up (half the multiplications). The integer sums are the same.
 */
function horizontalHalvingRun(src: Uint8Array, rowStart: number, out: Uint8Array, outRowStart: number, axis: AxisWeights): void {
  const run = axis.halvingRun!;
  const k0 = run.start * axis.ksize;
  const w0 = axis.weights[k0]!;
  const w1 = axis.weights[k0 + 1]!;
  const w2 = axis.weights[k0 + 2]!;
  const w3 = axis.weights[k0 + 3]!;
  let p = rowStart + axis.first[run.start]! * 3;
  let r0 = src[p]!, g0 = src[p + 1]!, b0 = src[p + 2]!;
  let r1 = src[p + 3]!, g1 = src[p + 4]!, b1 = src[p + 5]!;
  let r2 = src[p + 6]!, g2 = src[p + 7]!, b2 = src[p + 8]!;
  let r3 = src[p + 9]!, g3 = src[p + 10]!, b3 = src[p + 11]!;
  let r4 = src[p + 12]!, g4 = src[p + 13]!, b4 = src[p + 14]!;
  let r5 = src[p + 15]!, g5 = src[p + 16]!, b5 = src[p + 17]!;
  p += 18;
  let o = outRowStart + run.start * 3;
  for (let x = run.start; x <= run.end; x++, p += 6, o += 3) {
    const r6 = src[p]!, g6 = src[p + 1]!, b6 = src[p + 2]!;
    const r7 = src[p + 3]!, g7 = src[p + 4]!, b7 = src[p + 5]!;
    out[o] = clip8(half + w0 * (r0 + r7) + w1 * (r1 + r6) + w2 * (r2 + r5) + w3 * (r3 + r4));
    out[o + 1] = clip8(half + w0 * (g0 + g7) + w1 * (g1 + g6) + w2 * (g2 + g5) + w3 * (g3 + g4));
    out[o + 2] = clip8(half + w0 * (b0 + b7) + w1 * (b1 + b6) + w2 * (b2 + b5) + w3 * (b3 + b4));
    r0 = r2; g0 = g2; b0 = b2;
    r1 = r3; g1 = g3; b1 = b3;
    r2 = r4; g2 = g4; b2 = b4;
    r3 = r5; g3 = g5; b3 = b5;
    r4 = r6; g4 = g6; b4 = b6;
    r5 = r7; g5 = g7; b5 = b7;
  }
}

/** Horizontal pass over rows `rowFirst .. rowFirst + rows - 1` of `src` (width `srcWidth`). */
function resampleHorizontal(src: Uint8Array, srcWidth: number, rowFirst: number, rows: number, axis: AxisWeights): Uint8Array {
  const outWidth = axis.outSize;
  const out = new Uint8Array(outWidth * rows * 3);
  const srcRowBytes = srcWidth * 3;
  const outRowBytes = outWidth * 3;
  const run = axis.halvingRun;
  const plainBefore = run === null ? outWidth : run.start;
  const plainAfter = run === null ? outWidth : run.end + 1;
  for (let y = 0; y < rows; y++) {
    const rowStart = (rowFirst + y) * srcRowBytes;
    const outRowStart = y * outRowBytes;
    for (let x = 0; x < plainBefore; x++) horizontalPixel(src, rowStart, out, outRowStart + x * 3, axis, x);
    if (run !== null) horizontalHalvingRun(src, rowStart, out, outRowStart, axis);
    for (let x = plainAfter; x < outWidth; x++) horizontalPixel(src, rowStart, out, outRowStart + x * 3, axis, x);
  }
  return out;
}

/**
 * Vertical pass: `src` is `width` wide; row indices of `axis` are shifted by `rowOffset`. Eight
 * symmetric taps (the interior of a 2:1 reduction) pair rows up, halving the multiplications.
 */
function resampleVertical(src: Uint8Array, width: number, rowOffset: number, axis: AxisWeights): Uint8Array {
  const rowBytes = width * 3;
  const out = new Uint8Array(rowBytes * axis.outSize);
  const { first, count, weights, ksize } = axis;
  for (let y = 0; y < axis.outSize; y++) {
    const k0 = y * ksize;
    const n = count[y]!;
    const r0 = (first[y]! - rowOffset) * rowBytes;
    let o = y * rowBytes;
    if (symmetricEight(count, weights, ksize, y)) {
      const w0 = weights[k0]!;
      const w1 = weights[k0 + 1]!;
      const w2 = weights[k0 + 2]!;
      const w3 = weights[k0 + 3]!;
      const r1 = r0 + rowBytes;
      const r2 = r1 + rowBytes;
      const r3 = r2 + rowBytes;
      const r4 = r3 + rowBytes;
      const r5 = r4 + rowBytes;
      const r6 = r5 + rowBytes;
      const r7 = r6 + rowBytes;
      for (let x = 0; x < rowBytes; x++) {
        out[o++] = clip8(
          half + w0 * (src[r0 + x]! + src[r7 + x]!) + w1 * (src[r1 + x]! + src[r6 + x]!) + w2 * (src[r2 + x]! + src[r5 + x]!) + w3 * (src[r3 + x]! + src[r4 + x]!),
        );
      }
    } else {
      for (let x = 0; x < rowBytes; x++) {
        let sum = half;
        for (let i = 0, p = r0 + x; i < n; i++, p += rowBytes) sum += src[p]! * weights[k0 + i]!;
        out[o++] = clip8(sum);
      }
    }
  }
  return out;
}

export interface ResizeOptions {
  /**
   * Use the WebAssembly SIMD kernels (resize-simd.ts) where they apply (default: where WebAssembly
   * SIMD is available). Same bytes either way; false is for tests that compare the two.
   */
  simd?: boolean;
}

/** Pillow's `image.resize((width, height))` for an RGB image (bicubic): any size, up or down. */
export function pillowResize(image: RgbImage, width: number, height: number, options: ResizeOptions = {}): RgbImage {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new RangeError(`resize target must be positive integers, got ${width}x${height}`);
  }
  const needHorizontal = width !== image.width;
  const needVertical = height !== image.height;
  if (!needHorizontal && !needVertical) return { width, height, data: image.data.slice() };
  const vertical = needVertical ? axisWeights(image.height, height) : undefined;
  const horizontal = needHorizontal ? axisWeights(image.width, width) : undefined;
  // Only the source rows the vertical pass reads are resampled horizontally.
  const rowFirst = vertical === undefined ? 0 : vertical.first[0]!;
  const rowEnd = vertical === undefined ? image.height : vertical.first[height - 1]! + vertical.count[height - 1]!;
  const kernels = options.simd === false ? null : simdKernels();
  // The vertical kernel works 16 bytes at a time: narrower rows take the plain path.
  if (kernels !== null && width * 3 >= 16) return resizeWithKernels(kernels, image, width, height, horizontal, vertical, rowFirst, rowEnd);
  let data = image.data;
  let rowOffset = 0;
  if (horizontal !== undefined) {
    data = resampleHorizontal(data, image.width, rowFirst, rowEnd - rowFirst, horizontal);
    rowOffset = rowFirst;
  }
  if (vertical !== undefined) data = resampleVertical(data, width, rowOffset, vertical);
  return { width, height, data };
}

/** Per-thread scratch in the kernels' memory: regions at 16-byte boundaries, grown when a frame needs more. */
function layout(kernels: SimdKernels, sizes: readonly number[]): { view: Uint8Array; offsets: number[] } {
  const offsets: number[] = [];
  let end = 0;
  for (const size of sizes) {
    offsets.push(end);
    end += Math.ceil(size / 16) * 16;
  }
  const missing = end - kernels.memory.buffer.byteLength;
  if (missing > 0) kernels.memory.grow(Math.ceil(missing / 65536));
  return { view: new Uint8Array(kernels.memory.buffer), offsets };
}

/**
 * pillowResize with the SIMD kernels: the source rows are copied into the kernels' memory; the
 * interior of a 2:1 horizontal reduction is computed by `halving` and every other output pixel of
 * the horizontal pass by horizontalPixel, after it (the kernel writes 4 bytes past each row's run,
 * which the edge pixels then overwrite); every row of the vertical pass by `vertical`. The same
 * integer sums as the plain path, in 32-bit lanes as in Pillow's C.
 */
function resizeWithKernels(
  kernels: SimdKernels,
  image: RgbImage,
  width: number,
  height: number,
  horizontal: AxisWeights | undefined,
  vertical: AxisWeights | undefined,
  rowFirst: number,
  rowEnd: number,
): RgbImage {
  const rows = rowEnd - rowFirst;
  const srcRowBytes = image.width * 3;
  const rowBytes = width * 3;
  const sizes = [
    // Source rows, and room for the halving kernel's reads past the last one.
    rows * srcRowBytes + 64,
    // The horizontal pass's rows, and room for the kernel's 4 bytes past the last one.
    horizontal === undefined ? 0 : rows * rowBytes + 16,
    vertical === undefined ? 0 : height * rowBytes,
    vertical === undefined ? 0 : vertical.weights.byteLength,
  ];
  const { view, offsets } = layout(kernels, sizes);
  const [source, across, output, weights] = offsets as [number, number, number, number];
  view.set(image.data.subarray(rowFirst * srcRowBytes, rowEnd * srcRowBytes), source);
  let passed = source;
  if (horizontal !== undefined) {
    const run = horizontal.halvingRun !== null && horizontal.halvingRun.end - horizontal.halvingRun.start >= 3 ? horizontal.halvingRun : null;
    if (run !== null) {
      const k0 = run.start * horizontal.ksize;
      const w = horizontal.weights;
      kernels.halving(source + horizontal.first[run.start]! * 3, across + run.start * 3, rows, srcRowBytes, rowBytes, run.end - run.start + 1, w[k0]!, w[k0 + 1]!, w[k0 + 2]!, w[k0 + 3]!);
    }
    for (let y = 0; y < rows; y++) {
      const rowStart = source + y * srcRowBytes;
      const outRowStart = across + y * rowBytes;
      for (let x = 0; x < width; x++) {
        if (run !== null && x === run.start) x = run.end + 1;
        if (x < width) horizontalPixel(view, rowStart, view, outRowStart + x * 3, horizontal, x);
      }
    }
    passed = across;
  }
  if (vertical === undefined) return { width, height, data: view.slice(passed, passed + height * rowBytes) };
  new Int32Array(view.buffer, weights, vertical.weights.length).set(vertical.weights);
  for (let y = 0; y < height; y++) {
    const from = passed + (vertical.first[y]! - rowFirst) * rowBytes;
    kernels.vertical(from, output + y * rowBytes, rowBytes, rowBytes, weights + y * vertical.ksize * 4, vertical.count[y]!);
  }
  return { width, height, data: view.slice(output, output + height * rowBytes) };
}

/** The detector input size at scale `s`: (floor(w*s), floor(h*s)), at least 1 pixel each way. */
export function scaledSize(width: number, height: number, scale: number): { width: number; height: number } {
  return { width: Math.max(1, Math.floor(width * scale)), height: Math.max(1, Math.floor(height * scale)) };
}

/** The reference's stage-1 input: the frame resized to (floor(w/2), floor(h/2)). */
export function halfSize(image: RgbImage): RgbImage {
  return resizeByScale(image, 0.5);
}

/** The frame resized by `scale` with Pillow's bicubic, to `scaledSize` (scale 0.5 is the reference). */
export function resizeByScale(image: RgbImage, scale: number): RgbImage {
  const size = scaledSize(image.width, image.height, scale);
  return pillowResize(image, size.width, size.height);
}
