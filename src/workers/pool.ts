import { Worker, type TransferListItem } from 'node:worker_threads';
import type { MtcnnBackend } from '../mtcnn/engine.js';
import { keptFolderList } from '../util/atomic-write.js';
import { FatalError, errorFromMessage } from '../util/errors.js';
import type { AnswerMessage, CloseMessage } from './protocol.js';
import type { TaskKind, TaskOf, ResultOf, WorkerSettings } from './tasks.js';

/**
 * A fixed set of worker threads that run tasks one at a time each, in submission order as workers
 * become free. WebAssembly threads do not start in Node, so this is how dfdc uses every core: one
 * TF.js backend per worker. The worker module answers each `{ id, task }` message with
 * `{ id, result }` or `{ id, error }` (src/workers/protocol.ts).
 */
export interface PoolOptions {
  size: number;
  /** Data passed to every worker as `workerData` (e.g. the backend name). */
  workerData?: unknown;
}

interface Queued {
  id: number;
  task: unknown;
  transfer: readonly TransferListItem[];
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

export class WorkerPool {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: Queued[] = [];
  private readonly running = new Map<Worker, Queued>();
  private readonly exited = new Map<Worker, Promise<void>>();
  private nextId = 1;
  private closed = false;
  private fatal: FatalError | undefined;

  constructor(moduleUrl: URL, options: PoolOptions) {
    for (let i = 0; i < Math.max(1, options.size); i += 1) {
      const worker = new Worker(moduleUrl, { workerData: options.workerData });
      worker.on('message', (message: AnswerMessage) => this.settle(worker, message));
      worker.on('error', (error) => this.crash(worker, error));
      this.exited.set(
        worker,
        new Promise((resolve) =>
          worker.on('exit', (code) => {
            if (!this.closed) this.crash(worker, new Error(`worker thread exited with code ${code}`));
            resolve();
          }),
        ),
      );
      this.workers.push(worker);
      this.idle.push(worker);
    }
  }

  get size(): number {
    return this.workers.length;
  }

  /**
   * Each worker's busy time so far in ms (its event loop's active time): a task runs synchronously
   * in its worker, so the share of a stretch of wall time a worker was busy is the difference of
   * two readings over that stretch. For benchmarks that ask whether the workers wait for work.
   */
  busyMs(): number[] {
    return this.workers.map((worker) => worker.performance.eventLoopUtilization().active);
  }

  /** Runs `task` on the next free worker; `transfer` lists buffers to move rather than copy. */
  run<Result>(task: unknown, transfer: readonly TransferListItem[] = []): Promise<Result> {
    if (this.fatal) return Promise.reject(this.fatal);
    if (this.closed) return Promise.reject(new Error('worker pool is closed'));
    return new Promise<Result>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, task, transfer, resolve: resolve as (value: unknown) => void, reject });
      this.dispatch();
    });
  }

  /**
   * Ends every worker the safe way (protocol.ts): each finishes its task in progress, frees its
   * engine and exits. A task still queued is rejected. A worker that has not exited after
   * `graceMs` (a hung task) is terminated.
   */
  async close(graceMs = 60_000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const closed = new Error('worker pool is closed');
    for (const queued of this.queue.splice(0)) queued.reject(closed);
    await Promise.all(
      this.workers.map(async (worker) => {
        const timer = setTimeout(() => void worker.terminate(), graceMs);
        worker.postMessage({ close: true } satisfies CloseMessage);
        await this.exited.get(worker);
        clearTimeout(timer);
      }),
    );
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const worker = this.idle.pop() as Worker;
      const item = this.queue.shift() as Queued;
      this.running.set(worker, item);
      worker.postMessage({ id: item.id, task: item.task }, item.transfer);
    }
  }

  private settle(worker: Worker, message: AnswerMessage): void {
    const item = this.running.get(worker);
    if (!item || item.id !== message.id) return;
    this.running.delete(worker);
    this.idle.push(worker);
    if ('error' in message) item.reject(errorFromMessage(message.error));
    else item.resolve(message.result);
    this.dispatch();
  }

  /** A worker died (out of memory, a native crash): fail everything, since its backend is gone. */
  private crash(worker: Worker, error: Error): void {
    // Not about one video: the stage stops once (a FatalError).
    this.fatal ??= new FatalError(`a worker thread failed (${error.message}); if it ran out of memory, lower --workers or --batch-size`);
    const item = this.running.get(worker);
    if (item) {
      this.running.delete(worker);
      item.reject(this.fatal);
    }
    for (const queued of this.queue.splice(0)) queued.reject(this.fatal);
  }
}

/**
 * The pool of dfdc's own worker threads (src/workers/worker.ts), typed by task: MTCNN faces, the
 * landmarks of a video's crops, the diff masks of a FAKE. One TF.js backend per worker, loaded on
 * the first task that needs it.
 */
export class TaskPool {
  private readonly pool: WorkerPool;
  private loaded = false;

  constructor(backend: MtcnnBackend, size: number) {
    this.pool = new WorkerPool(new URL('./worker.js', import.meta.url), { size, workerData: { backend, keptFolders: keptFolderList() } satisfies WorkerSettings });
  }

  /**
   * Has every worker load MTCNN now, so that the backend and weights load while the first
   * frames decode rather than after. Once per pool; a failure to load shows again on the first
   * real task, which reports it.
   */
  loadMtcnn(): void {
    if (this.loaded) return;
    this.loaded = true;
    for (let i = 0; i < this.pool.size; i += 1) this.run('load', {}).catch(() => undefined);
  }

  get size(): number {
    return this.pool.size;
  }

  /** Each worker's busy time so far in ms (WorkerPool.busyMs). */
  busyMs(): number[] {
    return this.pool.busyMs();
  }

  run<K extends TaskKind>(kind: K, task: TaskOf<K>, transfer: readonly TransferListItem[] = []): Promise<ResultOf<K>> {
    return this.pool.run<ResultOf<K>>({ kind, task }, transfer);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
