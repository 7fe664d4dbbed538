import { parentPort } from 'node:worker_threads';

/**
 * The worker side of src/run/worker-pool.ts: `serveTasks(handler)` answers each `{ id, task }` with
 * `{ id, result }` or `{ id, error }`, one task at a time. Results may name buffers to transfer.
 */
export interface HandlerResult<Result> {
  result: Result;
  transfer?: ArrayBuffer[];
}

export function serveTasks<Task, Result>(handler: (task: Task) => Promise<HandlerResult<Result>>): void {
  const port = parentPort;
  if (!port) throw new Error('serveTasks must run inside a worker thread');
  port.on('message', (message: { id: number; task: Task }) => {
    handler(message.task).then(
      ({ result, transfer }) => port.postMessage({ id: message.id, result }, transfer ?? []),
      (error: unknown) =>
        port.postMessage({
          id: message.id,
          error: { message: error instanceof Error ? error.message : String(error), name: error instanceof Error ? error.name : undefined },
        }),
    );
  });
}
