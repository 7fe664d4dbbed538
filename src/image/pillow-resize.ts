import type { RgbImage } from './rgb-image.js';

/**
 * Pillow's default `Image.resize` for RGB images (bicubic, a = -0.5, support widened when shrinking),
 * reproduced bit for bit: per-axis weights in float64 normalised by division, turned into 22-bit
 * fixed point, a horizontal pass into 8-bit rows, then a vertical pass (exactness.md). An axis whose
 * size does not change is not resampled. The weights of each (input size, output size) pair are
 * computed once and cached.
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
  return { inSize, outSize, ksize, first, count, weights };
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

/**
 * Horizontal pass over rows `rowFirst .. rowFirst + rows - 1` of `src` (width `srcWidth`), one output
 * column at a time so that its weights stay in registers. Eight taps (the interior outputs of a 2:1
 * reduction, the reference's case) get an unrolled loop; sums are exact integers either way.
 */
function resampleHorizontal(src: Uint8Array, srcWidth: number, rowFirst: number, rows: number, axis: AxisWeights): Uint8Array {
  const outWidth = axis.outSize;
  const out = new Uint8Array(outWidth * rows * 3);
  const { first, count, weights, ksize } = axis;
  const srcRowBytes = srcWidth * 3;
  const outRowBytes = outWidth * 3;
  for (let x = 0; x < outWidth; x++) {
    const k0 = x * ksize;
    const n = count[x]!;
    let p = rowFirst * srcRowBytes + first[x]! * 3;
    let o = x * 3;
    if (n === 8) {
      const w0 = weights[k0]!;
      const w1 = weights[k0 + 1]!;
      const w2 = weights[k0 + 2]!;
      const w3 = weights[k0 + 3]!;
      const w4 = weights[k0 + 4]!;
      const w5 = weights[k0 + 5]!;
      const w6 = weights[k0 + 6]!;
      const w7 = weights[k0 + 7]!;
      for (let y = 0; y < rows; y++, p += srcRowBytes, o += outRowBytes) {
        const s0 = half + src[p]! * w0 + src[p + 3]! * w1 + src[p + 6]! * w2 + src[p + 9]! * w3 +
          src[p + 12]! * w4 + src[p + 15]! * w5 + src[p + 18]! * w6 + src[p + 21]! * w7;
        const s1 = half + src[p + 1]! * w0 + src[p + 4]! * w1 + src[p + 7]! * w2 + src[p + 10]! * w3 +
          src[p + 13]! * w4 + src[p + 16]! * w5 + src[p + 19]! * w6 + src[p + 22]! * w7;
        const s2 = half + src[p + 2]! * w0 + src[p + 5]! * w1 + src[p + 8]! * w2 + src[p + 11]! * w3 +
          src[p + 14]! * w4 + src[p + 17]! * w5 + src[p + 20]! * w6 + src[p + 23]! * w7;
        out[o] = clip8(s0);
        out[o + 1] = clip8(s1);
        out[o + 2] = clip8(s2);
      }
    } else {
      for (let y = 0; y < rows; y++, p += srcRowBytes, o += outRowBytes) {
        let s0 = half;
        let s1 = half;
        let s2 = half;
        for (let k = 0, q = p; k < n; k++, q += 3) {
          const w = weights[k0 + k]!;
          s0 += src[q]! * w;
          s1 += src[q + 1]! * w;
          s2 += src[q + 2]! * w;
        }
        out[o] = clip8(s0);
        out[o + 1] = clip8(s1);
        out[o + 2] = clip8(s2);
      }
    }
  }
  return out;
}

/** Vertical pass: `src` is `width` wide; row indices of `axis` are shifted by `rowOffset`. Eight taps are unrolled. */
function resampleVertical(src: Uint8Array, width: number, rowOffset: number, axis: AxisWeights): Uint8Array {
  const rowBytes = width * 3;
  const out = new Uint8Array(rowBytes * axis.outSize);
  const { first, count, weights, ksize } = axis;
  for (let y = 0; y < axis.outSize; y++) {
    const k0 = y * ksize;
    const n = count[y]!;
    const r0 = (first[y]! - rowOffset) * rowBytes;
    let o = y * rowBytes;
    if (n === 8) {
      const w0 = weights[k0]!;
      const w1 = weights[k0 + 1]!;
      const w2 = weights[k0 + 2]!;
      const w3 = weights[k0 + 3]!;
      const w4 = weights[k0 + 4]!;
      const w5 = weights[k0 + 5]!;
      const w6 = weights[k0 + 6]!;
      const w7 = weights[k0 + 7]!;
      const r1 = r0 + rowBytes;
      const r2 = r1 + rowBytes;
      const r3 = r2 + rowBytes;
      const r4 = r3 + rowBytes;
      const r5 = r4 + rowBytes;
      const r6 = r5 + rowBytes;
      const r7 = r6 + rowBytes;
      for (let x = 0; x < rowBytes; x++) {
        out[o++] = clip8(
          half +
            src[r0 + x]! * w0 +
            src[r1 + x]! * w1 +
            src[r2 + x]! * w2 +
            src[r3 + x]! * w3 +
            src[r4 + x]! * w4 +
            src[r5 + x]! * w5 +
            src[r6 + x]! * w6 +
            src[r7 + x]! * w7,
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

/** Pillow's `image.resize((width, height))` for an RGB image (bicubic): any size, up or down. */
export function pillowResize(image: RgbImage, width: number, height: number): RgbImage {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new RangeError(`resize target must be positive integers, got ${width}x${height}`);
  }
  const needHorizontal = width !== image.width;
  const needVertical = height !== image.height;
  if (!needHorizontal && !needVertical) return { width, height, data: image.data.slice() };
  const vertical = needVertical ? axisWeights(image.height, height) : undefined;
  let data = image.data;
  let rowOffset = 0;
  if (needHorizontal) {
    // Only the source rows the vertical pass reads are resampled horizontally.
    let rowFirst = 0;
    let rowEnd = image.height;
    if (vertical !== undefined) {
      rowFirst = vertical.first[0]!;
      rowEnd = vertical.first[height - 1]! + vertical.count[height - 1]!;
    }
    data = resampleHorizontal(data, image.width, rowFirst, rowEnd - rowFirst, axisWeights(image.width, width));
    rowOffset = rowFirst;
  }
  if (vertical !== undefined) data = resampleVertical(data, width, rowOffset, vertical);
  return { width, height, data };
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
