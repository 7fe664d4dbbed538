import { workerData } from 'node:worker_threads';
import { landmarksOfCrops } from '../landmarks/crop-landmarks.js';
import { resizeByScale } from '../image/pillow-resize.js';
import { createMtcnnDetector, type MtcnnDetector } from '../mtcnn/detector.js';
import { tfjsCore } from '../tfjs/backend.js';
import { diffCropPairs } from '../ssim/diff-files.js';
import { keepFolders } from '../util/atomic-write.js';
import { serveTasks } from './protocol.js';
import type { ResultOf, TaskKind, WorkerSettings, WorkerTask } from './tasks.js';

/**
 * The worker thread behind every CPU-heavy stage: it runs one task at a time for the pool in
 * src/workers/pool.ts. WebAssembly threads do not start in Node, so this is how a run uses every
 * core: one MTCNN engine per worker. MTCNN (stages 1 and 3) is created on the first task that
 * needs it, so a diffs-only run never starts an engine.
 */
const settings = workerData as WorkerSettings;
keepFolders(settings.keptFolders);
let detector: MtcnnDetector | undefined;
const mtcnn = (): MtcnnDetector => (detector ??= createMtcnnDetector({ backend: settings.backend }));

serveTasks<WorkerTask, ResultOf<TaskKind>>(async (message) => {
  switch (message.kind) {
    case 'load':
      await mtcnn().load();
      return { result: null };
    case 'resize': {
      const image = resizeByScale(message.task.image, message.task.scale);
      return { result: image, transfer: [image.data.buffer as ArrayBuffer] };
    }
    case 'faces': {
      const faces = await mtcnn().detectFaces(message.task.frames, message.task.options);
      if (settings.backend === 'native') return { result: { faces } };
      const { numTensors, numBytes } = (await tfjsCore()).memory();
      return { result: { faces, memory: { numTensors, numBytes } } };
    }
    case 'landmarks':
      return { result: await landmarksOfCrops(mtcnn(), message.task) };
    case 'diffs':
      return { result: await diffCropPairs(message.task) };
  }
}, async () => {
  await detector?.dispose();
});
