import { workerData } from 'node:worker_threads';
import { serveTasks } from '../run/worker-protocol.js';
import { diffFake, type DiffFakeTask } from './diffs.js';

/**
 * The worker thread behind every CPU-heavy stage: it runs one task at a time for the pool in
 * src/run/worker-pool.ts. MTCNN (stages 1 and 3) loads its TF.js backend lazily on the first task
 * that needs it, so a diffs-only run never starts TF.js.
 */
export type WorkerTask = { kind: 'diffs'; task: DiffFakeTask };

export interface WorkerSettings {
  backend: string;
}

const settings = workerData as WorkerSettings;
void settings;

serveTasks<WorkerTask, unknown>(async (message) => {
  switch (message.kind) {
    case 'diffs':
      return { result: await diffFake(message.task) };
  }
});
