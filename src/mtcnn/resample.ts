import type { RgbImage } from '../image/rgb-image.js';

/**
 * `interpolate(mode="area")` as facenet-pytorch uses it (mtcnn.md §3): adaptive average pooling of an
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

export interface Region {
  /** Left column, top row, size: a rectangle inside the image. */
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

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

/**
 * Summed-area table of an RGB image: `table[((y * (w+1)) + x) * 3 + c]` = sum of channel c over rows
 * [0, y) and columns [0, x). Float64 holds these integer sums exactly.
 */
export function integralImage(image: RgbImage): Float64Array {
  const { width, height, data } = image;
  const stride = (width + 1) * 3;
  const table = new Float64Array((height + 1) * stride);
  for (let y = 0; y < height; y++) {
    let r = 0;
    let g = 0;
    let b = 0;
    const src = y * width * 3;
    const above = y * stride;
    const row = above + stride;
    for (let x = 0; x < width; x++) {
      const s = src + x * 3;
      r += data[s]!;
      g += data[s + 1]!;
      b += data[s + 2]!;
      const t = (x + 1) * 3;
      table[row + t] = table[above + t]! + r;
      table[row + t + 1] = table[above + t + 1]! + g;
      table[row + t + 2] = table[above + t + 2]! + b;
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
  readonly integral?: Float64Array;
}

/**
 * Area-resamples `region` of `image` to outWidth x outHeight and writes the float32 values,
 * channels-last (row, column, RGB), to `out` from `offset`.
 */
export function resampleArea(
  image: RgbImage,
  region: Region,
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
  const { integral, normalize } = options;
  const stride = (width + 1) * 3;
  let o = offset;
  for (let i = 0; i < outHeight; i++) {
    const y0 = region.y + rows.start[i]!;
    const y1 = region.y + rows.end[i]!;
    const kh = y1 - y0;
    for (let j = 0; j < outWidth; j++) {
      const x0 = region.x + cols.start[j]!;
      const x1 = region.x + cols.end[j]!;
      const kw = x1 - x0;
      for (let c = 0; c < 3; c++) {
        let sum: number;
        if (integral) {
          sum = integral[y1 * stride + x1 * 3 + c]! - integral[y0 * stride + x1 * 3 + c]! - integral[y1 * stride + x0 * 3 + c]! + integral[y0 * stride + x0 * 3 + c]!;
        } else {
          sum = 0;
          for (let y = y0; y < y1; y++) {
            const rowStart = (y * width + x0) * 3 + c;
            const rowEnd = (y * width + x1) * 3 + c;
            for (let s = rowStart; s < rowEnd; s += 3) sum += data[s]!;
          }
        }
        if (sum > exactFloat32Integer) sum = float32WindowSum(image, c, y0, y1, x0, x1);
        const mean = f(f(sum / kh) / kw);
        out[o++] = normalize ? normalizePixel(mean) : mean;
      }
    }
  }
}
