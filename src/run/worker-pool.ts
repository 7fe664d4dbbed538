import { Worker, type TransferListItem } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { DfdcError } from '../util/errors.js';

/**
 * A fixed set of worker threads that run tasks one at a time each, in submission order as workers
 * become free. WebAssembly threads do not start in Node, so this is how dfdc uses every core: one
 * TF.js backend per worker. The worker module answers each `{ id, task }` message with
 * `{ id, result }` or `{ id, error }` (see src/run/worker-protocol.ts).
 */
export interface PoolOptions {
  size: number;
  /** Data passed to every worker as `workerData` (e.g. the backend name). */
  workerData?: unknown;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

interface Queued {
  id: number;
  task: unknown;
  transfer: readonly TransferListItem[];
  pending: Pending;
}

export class WorkerPool {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: Queued[] = [];
  private readonly inFlight = new Map<Worker, Queued>();
  private nextId = 1;
  private closed = false;
  private fatal: DfdcError | undefined;

  constructor(moduleUrl: URL, options: PoolOptions) {
    for (let i = 0; i < Math.max(1, options.size); i += 1) {
      const worker = new Worker(moduleUrl, { workerData: options.workerData });
      worker.on('message', (message: { id: number; result?: unknown; error?: { message: string; name?: string } }) =>
        this.settle(worker, message),
      );
      worker.on('error', (error) => this.crash(worker, error));
      worker.on('exit', (code) => {
        if (!this.closed) this.crash(worker, new Error(`worker thread exited with code ${code}`));
      });
      this.workers.push(worker);
      this.idle.push(worker);
    }
  }

  get size(): number {
    return this.workers.length;
  }

  /** Runs `task` on the next free worker; `transfer` lists buffers to move rather than copy. */
  run<Result>(task: unknown, transfer: readonly TransferListItem[] = []): Promise<Result> {
    if (this.fatal) return Promise.reject(this.fatal);
    if (this.closed) return Promise.reject(new Error('worker pool is closed'));
    return new Promise<Result>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, task, transfer, pending: { resolve: resolve as (v: unknown) => void, reject } });
      this.dispatch();
    });
  }

  /** Tasks queued or running. */
  get busy(): number {
    return this.queue.length + this.inFlight.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const worker = this.idle.pop() as Worker;
      const item = this.queue.shift() as Queued;
      this.inFlight.set(worker, item);
      worker.postMessage({ id: item.id, task: item.task }, item.transfer);
    }
  }

  private settle(worker: Worker, message: { id: number; result?: unknown; error?: { message: string; name?: string } }): void {
    const item = this.inFlight.get(worker);
    if (!item || item.id !== message.id) return;
    this.inFlight.delete(worker);
    this.idle.push(worker);
    if (message.error) {
      // A DfdcError in a worker (a backend that cannot load, a full disk) is about the run, not the
      // task: it keeps its class so the stage stops once instead of failing every video.
      const error = message.error.name === 'DfdcError' ? new DfdcError(message.error.message) : new Error(message.error.message);
      if (message.error.name) error.name = message.error.name;
      item.pending.reject(error);
    } else {
      item.pending.resolve(message.result);
    }
    this.dispatch();
  }

  /** A worker died (out of memory, a native crash): fail everything, since its backend is gone. */
  private crash(worker: Worker, error: Error): void {
    // Not about one video: the stage stops once (stage-runner treats a DfdcError as fatal).
    this.fatal ??= new DfdcError(`a worker thread failed (${error.message}); if it ran out of memory, lower --workers or --batch-size`);
    const item = this.inFlight.get(worker);
    if (item) {
      this.inFlight.delete(worker);
      item.pending.reject(this.fatal);
    }
    for (const queued of this.queue.splice(0)) queued.pending.reject(this.fatal);
  }
}

/** The default number of workers: one per core. */
export function defaultWorkerCount(): number {
  return availableParallelism();
}
