import { WorkerPool } from '../run/worker-pool.js';
import type { BackendName } from '../tfjs/backend.js';

/**
 * The pool of worker threads that run the pipeline's tasks (the `WorkerTask`s of
 * src/pipeline/worker.ts): MTCNN faces, the landmarks of a video, the diffs of a FAKE. One TF.js
 * backend per worker, loaded on first use.
 */
export function createPipelinePool(backend: BackendName, workers: number): WorkerPool {
  return new WorkerPool(new URL('./worker.js', import.meta.url), { size: workers, workerData: { backend } });
}
