import type { DatasetDirs } from '../commands/shared-options.js';
import { FRAME_ACTOR_GRID, cropFileName, outputPaths } from '../dataset/output-paths.js';
import { readRgbImage } from '../image/png.js';
import { encodeNpyInt16 } from '../landmarks/npy.js';
import { roundToInt16 } from '../landmarks/round-half-even.js';
import type { MtcnnDetector } from '../mtcnn/detector.js';
import type { UnitOutcome } from '../run/stage-runner.js';
import { writeFileAtomic } from '../util/atomic-write.js';

/**
 * Stage 3 for one REAL video, run in a worker thread: each grid crop (frames 0..310 step 10, actors
 * 0 and 1, or every crop with `allCrops`) goes through MTCNN at its own size; the largest face's five
 * points, rounded half to even, are written as int16 `landmarks/<id>/<frame>_<actor>.npy`.
 * No face, no file.
 */
export interface LandmarksTask {
  originalId: string;
  /** Crop file names present in the video's crops folder. */
  cropFiles: readonly string[];
  /** Every `<frame>_<j>.png` rather than the reference's grid. */
  allCrops: boolean;
  thresholds: [number, number, number];
  minFaceSize: number;
  dirs: DatasetDirs;
}

const cropName = /^(\d+)_(\d+)\.png$/;

/** The (frame, actor) cells to process, in the reference's loop order. */
export function landmarkCells(cropFiles: readonly string[], allCrops: boolean): { frame: number; actor: number }[] {
  const present = new Set(cropFiles);
  if (!allCrops) return FRAME_ACTOR_GRID.filter(({ frame, actor }) => present.has(cropFileName(frame, actor)));
  return cropFiles
    .map((name) => cropName.exec(name))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({ frame: Number(match[1]), actor: Number(match[2]) }))
    .sort((a, b) => a.frame - b.frame || a.actor - b.actor);
}

export async function landmarksOfVideo(detector: MtcnnDetector, task: LandmarksTask): Promise<UnitOutcome> {
  const paths = outputPaths(task.dirs);
  let written = 0;
  let noFace = 0;
  const cells = landmarkCells(task.cropFiles, task.allCrops);
  for (const { frame, actor } of cells) {
    const crop = await readRgbImage(paths.cropFile(task.originalId, frame, actor));
    const [faces] = await detector.detectFaces([crop], { thresholds: task.thresholds, minFaceSize: task.minFaceSize });
    const first = faces?.[0];
    if (!first) {
      noFace += 1;
      continue;
    }
    const values = roundToInt16(first.landmarks.flat());
    await writeFileAtomic(paths.landmarkFile(task.originalId, frame, actor), encodeNpyInt16(values, [5, 2]));
    written += 1;
  }
  return { frames: cells.length, details: { crops: cells.length, landmarks: written, noFace } };
}
