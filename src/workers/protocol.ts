import { parentPort } from 'node:worker_threads';
import { errorToMessage, type ErrorMessage } from '../util/errors.js';

/**
 * The messages between the pool (src/workers/pool.ts) and a worker thread: the pool sends
 * `{ id, task }`; the worker answers `{ id, result }` or `{ id, error }`, one task at a time. To end,
 * the pool sends `{ close: true }`: the worker lets its task in progress finish, frees what it holds
 * (`onClose`) and exits by itself. A worker thread must never be terminated while a native engine
 * computes in it: ONNX Runtime then aborts the whole process (measured: SIGABRT in 17 of 30
 * terminations during a run), which would turn a scheduler's SIGTERM into a crash. Errors
 * cross as an ErrorMessage (util/errors.ts), so a UnitError stays a unit's failure and a full disk
 * seen in a worker stops the run exactly as it would in the main thread.
 */
export interface TaskMessage<Task> {
  id: number;
  task: Task;
}

/** Asks a worker to finish its task in progress, free its engine and exit. */
export interface CloseMessage {
  close: true;
}

export type AnswerMessage = { id: number; result: unknown } | { id: number; error: ErrorMessage };

export interface HandlerResult<Result> {
  result: Result;
  /** Buffers to move to the main thread rather than copy. */
  transfer?: ArrayBuffer[];
}

/**
 * Worker side: answers each task with `handler`'s result or error; on a close message, once the
 * task in progress has answered, runs `onClose` and closes the port, which ends the thread.
 */
export function serveTasks<Task, Result>(handler: (task: Task) => Promise<HandlerResult<Result>>, onClose: () => Promise<void>): void {
  const port = parentPort;
  if (!port) throw new Error('serveTasks must run inside a worker thread');
  let inProgress: Promise<void> = Promise.resolve();
  port.on('message', (message: TaskMessage<Task> | CloseMessage) => {
    if ('close' in message) {
      void inProgress
        .then(onClose)
        .catch(() => undefined)
        .finally(() => port.close());
      return;
    }
    inProgress = handler(message.task).then(
      ({ result, transfer }) => port.postMessage({ id: message.id, result } satisfies AnswerMessage, transfer ?? []),
      (error: unknown) => port.postMessage({ id: message.id, error: errorToMessage(error) } satisfies AnswerMessage),
    );
  });
}
