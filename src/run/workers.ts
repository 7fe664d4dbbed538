import { availableParallelism } from 'node:os';

/** The default number of worker threads (and of videos in flight for crops): one per core. */
export function defaultWorkerCount(): number {
  return availableParallelism();
}
