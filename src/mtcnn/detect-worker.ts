import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { createMtcnnDetector } from './detector.js';
import type { WorkerReply, WorkerRequest, WorkerSetup } from './worker-client.js';

/**
 * Worker-thread entry point of MtcnnWorker (worker-client.ts): one detector per thread, requests
 * answered in order. Nothing runs when this file is loaded outside a worker.
 */
const port = parentPort;
if (port) {
  const setup = workerData as WorkerSetup;
  const detector = createMtcnnDetector(setup.backend ? { backend: setup.backend } : {});
  let queue = Promise.resolve();
  port.on('message', (request: WorkerRequest) => {
    queue = queue.then(async () => {
      let reply: WorkerReply;
      try {
        const faces = await detector.detectFaces(request.frames, request.options);
        const { numTensors, numBytes } = tf.memory();
        reply = { id: request.id, faces, numTensors, numBytes };
      } catch (error) {
        const e = error instanceof Error ? error : new Error(String(error));
        reply = { id: request.id, error: { name: e.name, message: e.message, exitCode: (e as { exitCode?: number }).exitCode } };
      }
      port.postMessage(reply);
    });
  });
}
