import { workerData } from 'node:worker_threads';
import type { Box } from '../dataset/boxes-file.js';
import { createMtcnnDetector, type MtcnnDetector } from '../mtcnn/detector.js';
import { serveTasks } from '../run/worker-protocol.js';
import type { UnitOutcome } from '../run/stage-runner.js';
import type { BackendName } from '../tfjs/backend.js';
import { detectFrames, type DetectFramesTask } from './detect-frames.js';
import { diffFake, type DiffFakeTask } from './diffs.js';
import { landmarksOfVideo, type LandmarksTask } from './landmarks.js';

/**
 * The worker thread behind every CPU-heavy stage: it runs one task at a time for the pool in
 * src/run/worker-pool.ts. MTCNN (stages 1 and 3) is created lazily on the first task that needs it,
 * with this worker's own TF.js backend, so a diffs-only run never starts TF.js.
 */
export type WorkerTask =
  | { kind: 'detect'; task: DetectFramesTask }
  | { kind: 'landmarks'; task: LandmarksTask }
  | { kind: 'diffs'; task: DiffFakeTask };

export interface WorkerSettings {
  backend: BackendName;
}

const settings = workerData as WorkerSettings;
let detector: MtcnnDetector | undefined;
const mtcnn = (): MtcnnDetector => (detector ??= createMtcnnDetector({ backend: settings.backend }));

serveTasks<WorkerTask, (Box[] | null)[] | UnitOutcome>(async (message) => {
  switch (message.kind) {
    case 'detect':
      return { result: await detectFrames(mtcnn(), message.task) };
    case 'landmarks':
      return { result: await landmarksOfVideo(mtcnn(), message.task) };
    case 'diffs':
      return { result: await diffFake(message.task) };
  }
});
