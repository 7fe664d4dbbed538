import { Worker } from 'node:worker_threads';
import type { RgbImage } from '../image/rgb-image.js';
import type { BackendName } from '../tfjs/backend.js';
import { DfdcError } from '../util/errors.js';
import type { ExitCodeValue } from '../util/exit-codes.js';
import type { DetectOptions, Face, MtcnnDetectorOptions } from './detector.js';

/**
 * An MTCNN detector in its own worker thread (detect-worker.ts), for running several detectors in
 * parallel: WebAssembly threads do not start in Node, so parallelism is one detector per worker.
 * Frames are copied to the worker; requests are answered in order.
 */

export interface WorkerSetup {
  backend?: BackendName;
}

export interface WorkerRequest {
  id: number;
  frames: readonly RgbImage[];
  options: Omit<DetectOptions, 'trace'>;
}

export type WorkerReply =
  | { id: number; faces: Face[][]; numTensors: number; numBytes: number; error?: undefined }
  | { id: number; error: { name: string; message: string; exitCode: number | undefined }; faces?: undefined };

export class MtcnnWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (faces: Face[][]) => void; reject: (error: Error) => void }>();
  private nextId = 0;
  private failure: Error | undefined;
  /** tf.memory().numTensors and numBytes in the worker after its last detection (for leak checks). */
  numTensors = 0;
  numBytes = 0;

  constructor(options: MtcnnDetectorOptions = {}) {
    const setup: WorkerSetup = options.backend ? { backend: options.backend } : {};
    this.worker = new Worker(new URL('./detect-worker.js', import.meta.url), { workerData: setup });
    this.worker.on('message', (reply: WorkerReply) => {
      const waiting = this.pending.get(reply.id);
      if (!waiting) return;
      this.pending.delete(reply.id);
      if (reply.error) {
        const { name, message, exitCode } = reply.error;
        waiting.reject(name === 'DfdcError' || exitCode !== undefined ? new DfdcError(message, exitCode as ExitCodeValue | undefined) : new Error(message));
      } else {
        this.numTensors = reply.numTensors;
        this.numBytes = reply.numBytes;
        waiting.resolve(reply.faces);
      }
    });
    const failAll = (error: Error) => {
      this.failure = error;
      for (const { reject } of this.pending.values()) reject(error);
      this.pending.clear();
    };
    this.worker.on('error', failAll);
    this.worker.on('exit', (code) => failAll(new Error(`MTCNN worker exited (code ${code})`)));
  }

  detectFaces(frames: readonly RgbImage[], options: Omit<DetectOptions, 'trace'>): Promise<Face[][]> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const request: WorkerRequest = { id, frames, options };
      this.worker.postMessage(request);
    });
  }

  /** Stops the worker (pending detections are rejected). */
  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
