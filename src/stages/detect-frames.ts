import type { Box } from '../dataset/boxes-file.js';
import type { Face } from '../mtcnn/detector.js';

/**
 * Stage 1's arithmetic around the detector: the detection size of a frame (half size in the
 * reference, with Pillow's bicubic; any scale, or the write-up's `auto` rule) and the mapping of the
 * faces found back to the reference's half-size boxes (largest first; null: no face).
 */

/** The reference's scale: boxes are stored at half size whatever size they were found at. */
export const REFERENCE_SCALE = 0.5;

/**
 * The winner's write-up rule for `--scale auto`, from the wider side W of the full frame:
 * W < 300: 2; 300 <= W <= 1000: 1; 1000 < W <= 1900: 0.5; W > 1900: 0.33.
 */
export function autoScale(width: number, height: number): number {
  const wider = Math.max(width, height);
  if (wider < 300) return 2;
  if (wider <= 1000) return 1;
  if (wider <= 1900) return 0.5;
  return 0.33;
}

/** Maps a box found at scale s to half-size coordinates (multiply by 0.5 / s), kept in float32. */
export function toHalfSizeBox(box: readonly [number, number, number, number], scale: number): Box {
  if (scale === REFERENCE_SCALE) return [box[0], box[1], box[2], box[3]];
  const factor = REFERENCE_SCALE / scale;
  return [Math.fround(box[0] * factor), Math.fround(box[1] * factor), Math.fround(box[2] * factor), Math.fround(box[3] * factor)];
}

/** Each frame's boxes file entry: its faces' boxes at half size, or null when it has none. */
export function boxesOfFrames(faces: readonly Face[][], scale: number): (Box[] | null)[] {
  return faces.map((list) => (list.length === 0 ? null : list.map((face) => toHalfSizeBox(face.box, scale))));
}
