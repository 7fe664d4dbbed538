/**
 * Stage 4's diff mask: the reference's
 * `cv2.cvtColor(((1 - ssim_map) * 255).astype(np.uint8), cv2.COLOR_BGR2GRAY)` over the per-channel
 * SSIM map of an original crop against its fake, reproduced exactly (docs/exactness.md §5–6):
 * - per channel `v = (1 - S) * 255` in float64;
 * - x86 NumPy's C cast to uint8: truncate toward zero, keep the low 8 bits (256 -> 0, 300 -> 44,
 *   -1.5 -> -1 -> 255). Where SSIM < 0 this wraps to black holes, a defect the winner's models were
 *   trained on, so it is the default; `saturate: true` clamps to 0..255 instead;
 * - OpenCV's fixed-point BGR2GRAY on the channels in the order OpenCV read them (B, G, R): our crops
 *   are RGB in memory, so B is channel 2.
 */
import type { GrayImage, RgbImage } from '../image/rgb-image.js';
import { assertRgb } from '../image/rgb-image.js';
import { ssimRows } from './ssim-map.js';

export interface DiffMaskOptions {
  /** Clamp `(1 - S) * 255` to 0..255 instead of wrapping it modulo 256 like the reference. */
  readonly saturate?: boolean;
}

/**
 * The C conversion of a double to uint8 that x86 NumPy's `astype(np.uint8)` performs: truncation
 * toward zero, then the low 8 bits of the integer. Meant for |v| < 2^31 (SSIM keeps v within
 * -1 .. 511); there it equals the hardware conversion (cvttsd2si, then the low byte).
 */
export function truncateToUint8(v: number): number {
  return Math.trunc(v) & 0xff;
}

/** The same conversion with saturation: v clamped to 0..255, then truncated. */
export function saturateToUint8(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.trunc(v);
}

/** One channel's mask value from its SSIM value: `(1 - S) * 255`, converted to uint8. */
export function dissimilarity(ssim: number, saturate = false): number {
  const v = (1 - ssim) * 255;
  return saturate ? saturateToUint8(v) : truncateToUint8(v);
}

/** OpenCV's 8-bit BGR2GRAY: 15-bit fixed-point weights, rounded, exact for all 2^24 colours. */
export function bgrToGray(blue: number, green: number, red: number): number {
  return (3735 * blue + 19235 * green + 9798 * red + 16384) >> 15;
}

/**
 * The diff mask of `fake` against its `original` crop (same size, 3-channel RGB): a gray image of
 * the crop's size. Throws a RangeError when the sizes differ (the reference skips such a pair).
 * Any size is computed; the reference writes no diff when a side is under 7 px (`fitsSsimWindow`).
 */
export function diffMask(original: RgbImage, fake: RgbImage, options: DiffMaskOptions = {}): GrayImage {
  assertRgb(original, 'original crop');
  assertRgb(fake, 'fake crop');
  const saturate = options.saturate ?? false;
  const { width, height } = original;
  const data = new Uint8Array(width * height);
  ssimRows(original, fake, (y, row) => {
    for (let x = 0, i = 0, o = y * width; x < width; x++, i += 3, o++) {
      data[o] = bgrToGray(dissimilarity(row[i + 2], saturate), dissimilarity(row[i + 1], saturate), dissimilarity(row[i], saturate));
    }
  });
  return { width, height, data };
}
