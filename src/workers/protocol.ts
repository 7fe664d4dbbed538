import { parentPort } from 'node:worker_threads';
import { errorToMessage, type ErrorMessage } from '../util/errors.js';

/**
 * The messages between the pool (src/workers/pool.ts) and a worker thread: the pool sends
 * `{ id, task }`; the worker answers `{ id, result }` or `{ id, error }`, one task at a time. Errors
 * cross as an ErrorMessage (util/errors.ts), so a UnitError stays a unit's failure and a full disk
 * seen in a worker stops the run exactly as it would in the main thread.
 */
export interface TaskMessage<Task> {
  id: number;
  task: Task;
}

export type AnswerMessage = { id: number; result: unknown } | { id: number; error: ErrorMessage };

export interface HandlerResult<Result> {
  result: Result;
  /** Buffers to move to the main thread rather than copy. */
  transfer?: ArrayBuffer[];
}

/** Worker side: answers each task with `handler`'s result or error. */
export function serveTasks<Task, Result>(handler: (task: Task) => Promise<HandlerResult<Result>>): void {
  const port = parentPort;
  if (!port) throw new Error('serveTasks must run inside a worker thread');
  port.on('message', (message: TaskMessage<Task>) => {
    handler(message.task).then(
      ({ result, transfer }) => port.postMessage({ id: message.id, result } satisfies AnswerMessage, transfer ?? []),
      (error: unknown) => port.postMessage({ id: message.id, error: errorToMessage(error) } satisfies AnswerMessage),
    );
  });
}
