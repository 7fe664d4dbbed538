import type { RgbImage } from './rgb-image.js';

/**
 * Quarter-turn rotations of an RGB image, as OpenCV's `cv::rotate` does them (a pure permutation of
 * pixels): what VideoCapture applies to frames whose display matrix says the video is rotated
 * (docs/exactness.md §2).
 */

/** Rotates `image` clockwise by `degrees` (0 returns the image itself). */
export function rotateClockwise(image: RgbImage, degrees: 0 | 90 | 180 | 270): RgbImage {
  if (degrees === 0) return image;
  const { width, height, data } = image;
  const out = new Uint8Array(data.length);
  if (degrees === 180) {
    const last = width * height - 1;
    for (let p = 0; p <= last; p++) {
      const s = p * 3;
      const d = (last - p) * 3;
      out[d] = data[s]!;
      out[d + 1] = data[s + 1]!;
      out[d + 2] = data[s + 2]!;
    }
    return { width, height, data: out };
  }
  // The result is height wide and width high. Clockwise: source (row r, column c) goes to
  // (row c, column height-1-r); counter-clockwise (270): to (row width-1-c, column r).
  const outWidth = height;
  for (let r = 0; r < height; r++) {
    let s = r * width * 3;
    for (let c = 0; c < width; c++, s += 3) {
      const d = degrees === 90 ? (c * outWidth + (height - 1 - r)) * 3 : ((width - 1 - c) * outWidth + r) * 3;
      out[d] = data[s]!;
      out[d + 1] = data[s + 1]!;
      out[d + 2] = data[s + 2]!;
    }
  }
  return { width: outWidth, height: width, data: out };
}
