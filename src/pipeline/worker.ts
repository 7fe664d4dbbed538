import { workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import type { RgbImage } from '../image/rgb-image.js';
import { createMtcnnDetector, type DetectOptions, type Face, type MtcnnDetector } from '../mtcnn/detector.js';
import { serveTasks } from '../run/worker-protocol.js';
import type { UnitOutcome } from '../run/stage-runner.js';
import type { BackendName } from '../tfjs/backend.js';
import { diffFake, type DiffFakeTask } from './diffs.js';
import { landmarksOfVideo, type LandmarksTask } from './landmarks.js';

/**
 * The worker thread behind every CPU-heavy stage: it runs one task at a time for the pool in
 * src/run/worker-pool.ts. WebAssembly threads do not start in Node, so this is how a run uses every
 * core: one TF.js backend per worker. MTCNN (stages 1 and 3) is created lazily on the first task that
 * needs it, so a diffs-only run never starts TF.js.
 */
export interface FacesTask {
  /** Frames of one size, at the detection size. */
  frames: RgbImage[];
  options: Omit<DetectOptions, 'trace'>;
}

/** What a faces task returns: the faces per frame and the worker's TF.js memory after it (leak checks). */
export interface FacesResult {
  faces: Face[][];
  memory: { numTensors: number; numBytes: number };
}

export type WorkerTask =
  | { kind: 'faces'; task: FacesTask }
  | { kind: 'landmarks'; task: LandmarksTask }
  | { kind: 'diffs'; task: DiffFakeTask };

export interface WorkerSettings {
  backend: BackendName;
}

const settings = workerData as WorkerSettings;
let detector: MtcnnDetector | undefined;
const mtcnn = (): MtcnnDetector => (detector ??= createMtcnnDetector({ backend: settings.backend }));

serveTasks<WorkerTask, FacesResult | UnitOutcome>(async (message) => {
  switch (message.kind) {
    case 'faces': {
      const faces = await mtcnn().detectFaces(message.task.frames, message.task.options);
      const { numTensors, numBytes } = tf.memory();
      return { result: { faces, memory: { numTensors, numBytes } } };
    }
    case 'landmarks':
      return { result: await landmarksOfVideo(mtcnn(), message.task) };
    case 'diffs':
      return { result: await diffFake(message.task) };
  }
});
