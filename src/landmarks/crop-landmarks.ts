import { readRgbImage } from '../image/png.js';
import type { MtcnnDetector } from '../mtcnn/detector.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { encodeNpyInt16 } from './npy.js';
import { roundToInt16 } from './round-half-even.js';

/**
 * Stage 3's work on one video's crops, run in a worker thread: each crop goes through MTCNN at its
 * own size; the largest face's five points, rounded half to even, are written as an int16 (5, 2)
 * .npy file. No face, no file (docs/exactness.md §7).
 */
export interface CropLandmarksTask {
  /** The crops to look at, in the reference's order, each with the file its landmarks go to. */
  readonly cells: readonly { readonly crop: string; readonly landmarks: string }[];
  readonly thresholds: [number, number, number];
  readonly minFaceSize: number;
}

export interface CropLandmarksResult {
  crops: number;
  landmarks: number;
  noFace: number;
}

export async function landmarksOfCrops(detector: MtcnnDetector, task: CropLandmarksTask): Promise<CropLandmarksResult> {
  let landmarks = 0;
  let noFace = 0;
  for (const cell of task.cells) {
    const crop = await readRgbImage(cell.crop);
    const [faces] = await detector.detectFaces([crop], { thresholds: task.thresholds, minFaceSize: task.minFaceSize });
    const first = faces?.[0];
    if (!first) {
      noFace += 1;
      continue;
    }
    await writeFileAtomic(cell.landmarks, encodeNpyInt16(roundToInt16(first.landmarks.flat()), [5, 2]));
    landmarks += 1;
  }
  return { crops: task.cells.length, landmarks, noFace };
}
