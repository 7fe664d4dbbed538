import type { RgbImage } from '../image/rgb-image.js';
import type { CropLandmarksResult, CropLandmarksTask } from '../landmarks/crop-landmarks.js';
import type { DetectOptions, Face } from '../mtcnn/detector.js';
import type { DiffPairsResult, DiffPairsTask } from '../ssim/diff-files.js';
import type { MtcnnBackend } from '../mtcnn/engine.js';

/**
 * What dfdc's worker threads do (src/workers/worker.ts), by kind: each task with its result.
 * Everything crosses threads by structured clone (frame buffers are transferred, not copied).
 */
export interface FacesTask {
  /** Frames of one size, at the detection size. */
  frames: RgbImage[];
  options: Omit<DetectOptions, 'trace'>;
}

/** A full decoded frame to resize to the detection size (stage 1), its buffer transferred. */
export interface ResizeTask {
  image: RgbImage;
  /** The detection scale: the frame is resized to scaledSize (image/pillow-resize.ts resizeByScale). */
  scale: number;
}

/** The faces per frame, and on a TF.js engine the worker's TF.js memory after them (for leak checks). */
export interface FacesResult {
  faces: Face[][];
  memory?: { numTensors: number; numBytes: number };
}

export interface Tasks {
  /** Loads MTCNN (its engine and the weights) while the first frames are being decoded. */
  load: { task: Record<string, never>; result: null };
  /** One frame resized to the detection size with Pillow's bicubic (stage 1); the result's buffer is transferred back. */
  resize: { task: ResizeTask; result: RgbImage };
  /** MTCNN on a batch of frames (stage 1). */
  faces: { task: FacesTask; result: FacesResult };
  /** The landmarks of one video's crops (stage 3). */
  landmarks: { task: CropLandmarksTask; result: CropLandmarksResult };
  /** The diff masks of one FAKE (stage 4). */
  diffs: { task: DiffPairsTask; result: DiffPairsResult };
}

export type TaskKind = keyof Tasks;
export type TaskOf<K extends TaskKind> = Tasks[K]['task'];
export type ResultOf<K extends TaskKind> = Tasks[K]['result'];
export type WorkerTask = { [K in TaskKind]: { kind: K; task: TaskOf<K> } }[TaskKind];

/** What every worker is started with. */
export interface WorkerSettings {
  /** The MTCNN engine, resolved (never `auto`). */
  backend: MtcnnBackend;
  /** The folders writes must never make again (util/atomic-write.ts keepFolders): the output folder, its state folder. */
  keptFolders: string[];
}
