import type { Rect, RgbImage } from './rgb-image.js';

/**
 * Stage 2's crop geometry, as the reference computes it on the full-size frame from a half-size
 * box, including NumPy slicing's clamping, and the row copy that cuts the crop out of a frame
 * (docs/exactness.md §4).
 */

/** Where a box's crop lies in the full frame (never empty, always inside), or why there is none. */
export type CropGeometry = { readonly rect: Rect } | { readonly skip: 'box outside the frame' | 'empty crop' };

/**
 * The part of a Python slice `[start:end]` over `length` items that NumPy returns, for the
 * non-negative `start` the reference uses: an end past the length is clamped, a negative end
 * counts from the far edge. `negativeEnd` says whether the second rule applied.
 */
function sliceBounds(start: number, end: number, length: number): { begin: number; end: number; negativeEnd: boolean } {
  const negativeEnd = end < 0;
  const stop = negativeEnd ? Math.max(end + length, 0) : Math.min(end, length);
  const begin = Math.min(start, length);
  return { begin, end: Math.max(stop, begin), negativeEnd };
}

/**
 * The crop rectangle for one box [x1, y1, x2, y2] in half-size pixel coordinates (as stage 1 writes
 * it), on a full frame of the given size: `x1, y1, x2, y2 = trunc(2*b)`, margins floor(w/3) and
 * floor(h/3), rows max(y1-ph, 0) .. y2+ph and columns max(x1-pw, 0) .. x2+pw with NumPy's clamping.
 * A negative slice end (which the reference would honour, cutting from the far edge) only arises
 * for a box outside the frame: reported as a skip, as is an empty crop (which the reference fails
 * to write). A malformed box (not four finite numbers) is a RangeError.
 */
export function cropRectForBox(box: readonly number[], frameWidth: number, frameHeight: number): CropGeometry {
  if (box.length !== 4 || !box.every(Number.isFinite)) {
    throw new RangeError(`a box is [x1, y1, x2, y2] of finite numbers, got ${JSON.stringify(box)}`);
  }
  const [x1, y1, x2, y2] = box.map((v) => Math.trunc(2 * v)) as [number, number, number, number];
  const w = x2 - x1;
  const h = y2 - y1;
  const pw = Math.floor(w / 3);
  const ph = Math.floor(h / 3);
  const rows = sliceBounds(Math.max(y1 - ph, 0), y2 + ph, frameHeight);
  const columns = sliceBounds(Math.max(x1 - pw, 0), x2 + pw, frameWidth);
  if (rows.negativeEnd || columns.negativeEnd) return { skip: 'box outside the frame' };
  if (rows.end <= rows.begin || columns.end <= columns.begin) return { skip: 'empty crop' };
  return { rect: { x: columns.begin, y: rows.begin, width: columns.end - columns.begin, height: rows.end - rows.begin } };
}

/** Copies `rect` (which must lie inside `image`) out of an RGB frame, one row at a time. */
export function extractCrop(image: RgbImage, rect: Rect): RgbImage {
  const { x, y, width, height } = rect;
  if (x < 0 || y < 0 || width <= 0 || height <= 0 || x + width > image.width || y + height > image.height) {
    throw new RangeError(`crop ${width}x${height}+${x}+${y} does not fit a ${image.width}x${image.height} frame`);
  }
  const rowBytes = width * 3;
  const frameRowBytes = image.width * 3;
  const out = new Uint8Array(rowBytes * height);
  for (let r = 0; r < height; r++) {
    const start = (y + r) * frameRowBytes + x * 3;
    out.set(image.data.subarray(start, start + rowBytes), r * rowBytes);
  }
  return { width, height, data: out };
}
