import type { Rect, RgbImage } from '../image/rgb-image.js';

/**
 * `interpolate(mode="area")` as facenet-pytorch uses it (docs/mtcnn.md §4): adaptive average pooling of an
 * RGB uint8 image (or a rectangle of it) to any size, bit-exact in float32, followed by MTCNN's
 * normalization `(v - 127.5) * 0.0078125`.
 *
 * Output index i along an axis of length `in` averages input [floor(i*in/out), ceil((i+1)*in/out)).
 * The reference sums the window in float32 (rows outer, columns inner), then divides twice:
 * `sum / kh / kw`. The pixels are integers, so every partial sum is an integer; while the window's
 * total stays <= 2^24 every float32 partial sum is exact and any summation order gives the same
 * float32 sum. That lets the pyramid use a summed-area table (4 look-ups per output value); a window
 * whose total exceeds 2^24 (never seen in practice: it needs more than 65,793 pixels) is re-summed
 * in the reference's order with float32 rounding after every add.
 */

const f = Math.fround;

/** Largest integer below which float32 sums of integers are exact. */
const exactFloat32Integer = 16777216;

export interface AreaWindows {
  readonly start: Int32Array;
  readonly end: Int32Array;
}

/** The pooling windows along one axis: start = floor(i*in/out), end = ceil((i+1)*in/out). */
export function areaWindows(inLength: number, outLength: number): AreaWindows {
  const start = new Int32Array(outLength);
  const end = new Int32Array(outLength);
  for (let i = 0; i < outLength; i++) {
    start[i] = Math.floor((i * inLength) / outLength);
    end[i] = Math.ceil(((i + 1) * inLength) / outLength);
  }
  return { start, end };
}

/** MTCNN's input normalization in float32: fround(fround(v - 127.5) * 0.0078125). */
export function normalizePixel(value: number): number {
  return f(f(value - 127.5) * 0.0078125);
}

/** A summed-area table: Int32 while every sum fits (images up to 8.4 Mpx), else Float64. */
export type IntegralImage = Int32Array | Float64Array;

/**
 * Summed-area table of an RGB image: `table[((y * (w+1)) + x) * 3 + c]` = sum of channel c over rows
 * [0, y) and columns [0, x), exact integers. `reuse` is filled instead of allocating when it has the
 * right size (and is a Float64Array, or the sums fit in Int32).
 */
export function integralImage(image: RgbImage, reuse?: IntegralImage): IntegralImage {
  const { width, height, data } = image;
  const stride = (width + 1) * 3;
  const size = (height + 1) * stride;
  const fitsInt32 = width * height * 255 <= 0x7fffffff;
  const table =
    reuse && reuse.length === size && (fitsInt32 || reuse instanceof Float64Array) ? reuse : fitsInt32 ? new Int32Array(size) : new Float64Array(size);
  table.fill(0, 0, stride);
  for (let y = 0; y < height; y++) {
    let r = 0;
    let g = 0;
    let b = 0;
    let s = y * width * 3;
    let t = (y + 1) * stride;
    table[t] = 0;
    table[t + 1] = 0;
    table[t + 2] = 0;
    t += 3;
    for (let x = 0; x < width; x++, s += 3, t += 3) {
      r += data[s]!;
      g += data[s + 1]!;
      b += data[s + 2]!;
      table[t] = table[t - stride]! + r;
      table[t + 1] = table[t + 1 - stride]! + g;
      table[t + 2] = table[t + 2 - stride]! + b;
    }
  }
  return table;
}

/** The window sum of one channel in the reference's order with float32 rounding after every add. */
function float32WindowSum(image: RgbImage, channel: number, y0: number, y1: number, x0: number, x1: number): number {
  const { width, data } = image;
  let sum = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) sum = f(sum + data[(y * width + x) * 3 + channel]!);
  }
  return sum;
}

export interface ResampleOptions {
  /** Apply MTCNN's normalization to every output value. */
  readonly normalize: boolean;
  /** The image's integralImage(), if already built: then each window costs 4 look-ups. */
  readonly integral?: IntegralImage;
}

/**
 * Area-resamples `region` of `image` to outWidth x outHeight and writes the float32 values,
 * channels-last (row, column, RGB), to `out` from `offset`.
 */
export function resampleArea(
  image: RgbImage,
  region: Rect,
  outWidth: number,
  outHeight: number,
  out: Float32Array,
  offset: number,
  options: ResampleOptions,
): void {
  const { width, data } = image;
  if (region.x < 0 || region.y < 0 || region.x + region.width > width || region.y + region.height > image.height || region.width < 1 || region.height < 1) {
    throw new RangeError(`area resample: region ${region.x},${region.y} ${region.width}x${region.height} is not inside ${width}x${image.height}`);
  }
  const rows = areaWindows(region.height, outHeight);
  const cols = areaWindows(region.width, outWidth);
  // Per output column: first and past-the-end byte offset of its window within a row.
  const colFirst = new Int32Array(outWidth);
  const colEnd = new Int32Array(outWidth);
  for (let j = 0; j < outWidth; j++) {
    colFirst[j] = (region.x + cols.start[j]!) * 3;
    colEnd[j] = (region.x + cols.end[j]!) * 3;
  }
  const { integral, normalize } = options;
  if (integral) {
    resampleFromIntegral(image, integral, rows, colFirst, colEnd, region.y, out, offset, normalize);
    return;
  }
  const rowBytes = width * 3;
  let o = offset;
  for (let i = 0; i < outHeight; i++) {
    const y0 = region.y + rows.start[i]!;
    const y1 = region.y + rows.end[i]!;
    const kh = y1 - y0;
    for (let j = 0; j < outWidth; j++) {
      const a = colFirst[j]!;
      const b = colEnd[j]!;
      const kw = (b - a) / 3;
      let r = 0;
      let g = 0;
      let bl = 0;
      for (let rowStart = y0 * rowBytes, rowsEnd = y1 * rowBytes; rowStart < rowsEnd; rowStart += rowBytes) {
        for (let p = rowStart + a, end = rowStart + b; p < end; p += 3) {
          r += data[p]!;
          g += data[p + 1]!;
          bl += data[p + 2]!;
        }
      }
      if (r > exactFloat32Integer || g > exactFloat32Integer || bl > exactFloat32Integer) {
        r = float32WindowSum(image, 0, y0, y1, a / 3, b / 3);
        g = float32WindowSum(image, 1, y0, y1, a / 3, b / 3);
        bl = float32WindowSum(image, 2, y0, y1, a / 3, b / 3);
      }
      o = storeMeans(out, o, r, g, bl, kh, kw, normalize);
    }
  }
}

/** Writes the three window means (float32 sum / kh / kw), normalized if asked; returns the next offset. */
function storeMeans(out: Float32Array, o: number, r: number, g: number, b: number, kh: number, kw: number, normalize: boolean): number {
  r = f(f(r / kh) / kw);
  g = f(f(g / kh) / kw);
  b = f(f(b / kh) / kw);
  if (normalize) {
    // normalizePixel without its last fround: a float32 times 2^-7 is already a float32.
    r = f(r - 127.5) * 0.0078125;
    g = f(g - 127.5) * 0.0078125;
    b = f(b - 127.5) * 0.0078125;
  }
  out[o] = r;
  out[o + 1] = g;
  out[o + 2] = b;
  return o + 3;
}

/** resampleArea's inner loops with window sums from the summed-area table (4 look-ups each). */
function resampleFromIntegral(
  image: RgbImage,
  integral: IntegralImage,
  rows: AreaWindows,
  colFirst: Int32Array,
  colEnd: Int32Array,
  top: number,
  out: Float32Array,
  offset: number,
  normalize: boolean,
): void {
  const stride = (image.width + 1) * 3;
  const outHeight = rows.start.length;
  const outWidth = colFirst.length;
  let o = offset;
  for (let i = 0; i < outHeight; i++) {
    const y0 = top + rows.start[i]!;
    const y1 = top + rows.end[i]!;
    const kh = y1 - y0;
    const above = y0 * stride;
    const below = y1 * stride;
    for (let j = 0; j < outWidth; j++) {
      const a = colFirst[j]!;
      const b = colEnd[j]!;
      const kw = (b - a) / 3;
      const ba = below + a;
      const bb = below + b;
      const aa = above + a;
      const ab = above + b;
      let r = integral[bb]! - integral[ab]! - integral[ba]! + integral[aa]!;
      let g = integral[bb + 1]! - integral[ab + 1]! - integral[ba + 1]! + integral[aa + 1]!;
      let bl = integral[bb + 2]! - integral[ab + 2]! - integral[ba + 2]! + integral[aa + 2]!;
      if (r > exactFloat32Integer || g > exactFloat32Integer || bl > exactFloat32Integer) {
        r = float32WindowSum(image, 0, y0, y1, a / 3, b / 3);
        g = float32WindowSum(image, 1, y0, y1, a / 3, b / 3);
        bl = float32WindowSum(image, 2, y0, y1, a / 3, b / 3);
      }
      o = storeMeans(out, o, r, g, bl, kh, kw, normalize);
    }
  }
}
