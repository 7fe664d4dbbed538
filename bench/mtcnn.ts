import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readRgbImage } from '../src/image/png.js';
import type { RgbImage } from '../src/image/rgb-image.js';
import type { DetectOptions } from '../src/mtcnn/detector.js';
import { resolveBackend, type MtcnnBackend } from '../src/mtcnn/engine.js';
import { nativeEngineStatus } from '../src/mtcnn/native-nets.js';
import { TaskPool } from '../src/workers/pool.js';
import type { FacesResult } from '../src/workers/tasks.js';
import { parityDir } from '../test/helpers/shared.js';

/**
 * MTCNN speed on DFDC half frames (960x540), the detector as stage 1 runs it: the two golden half
 * frames repeated into a 32-frame batch, thresholds 0.85/0.95/0.95, on each engine this machine has
 * (native, wasm). Measured on one worker thread (the whole batch in one call) and on two worker
 * threads (16 frames each, in parallel; wall time over all frames). A TF.js worker reports
 * tf.memory().numTensors (and bytes) after warm-up and after the timed runs: equal numbers mean no
 * tensor leaks. The reference's figure is measured by `npm run bench pipeline`, beside it.
 */

const frameNames = ['realvideoa_frame0_half.png', 'realvideoa_frame50_half.png'];
const batchSize = 32;
const repeats = 3;
const options: Omit<DetectOptions, 'trace'> = { thresholds: [0.85, 0.95, 0.95], minFaceSize: 20 };

interface Measured {
  msPerFrame: number;
  msPerFrameRuns: number[];
  numTensorsBefore?: number[];
  numTensorsAfter?: number[];
  tensorBytesBefore?: number[];
  tensorBytesAfter?: number[];
}

/** One detection per worker on its share of the frames, all at once; the worker's memory after it. */
async function detectOnAll(pool: TaskPool, frames: RgbImage[]): Promise<FacesResult[]> {
  const share = Math.ceil(frames.length / pool.size);
  return Promise.all(
    Array.from({ length: pool.size }, (_, w) =>
      pool.run('faces', { frames: frames.slice(w * share, (w + 1) * share), options }),
    ),
  );
}

async function measure(backend: MtcnnBackend, workerCount: number, frames: RgbImage[]): Promise<Measured> {
  const pool = new TaskPool(backend, workerCount);
  try {
    const warm = await detectOnAll(pool, frames.slice(0, 2 * workerCount));
    const times: number[] = [];
    let last = warm;
    for (let r = 0; r < repeats; r++) {
      const start = performance.now();
      last = await detectOnAll(pool, frames);
      times.push((performance.now() - start) / frames.length);
    }
    const measured: Measured = {
      msPerFrame: Number(Math.min(...times).toFixed(1)),
      msPerFrameRuns: times.map((t) => Number(t.toFixed(1))),
    };
    if (warm.every((result) => result.memory) && last.every((result) => result.memory)) {
      measured.numTensorsBefore = warm.map((result) => result.memory!.numTensors);
      measured.numTensorsAfter = last.map((result) => result.memory!.numTensors);
      measured.tensorBytesBefore = warm.map((result) => result.memory!.numBytes);
      measured.tensorBytesAfter = last.map((result) => result.memory!.numBytes);
    }
    return measured;
  } finally {
    await pool.close();
  }
}

export default async function mtcnnBench(): Promise<Record<string, unknown>> {
  const paths = frameNames.map((name) => join(parityDir, 'mtcnn', 'images', name));
  const missing = paths.find((path) => !existsSync(path));
  if (missing) return { skipped: `${missing} is absent (the golden half frames are in ../shared/parity)` };
  const pair = await Promise.all(paths.map(readRgbImage));
  const frames = Array.from({ length: batchSize }, (_, i) => pair[i % 2]!);
  const native = await nativeEngineStatus();
  const engines: Record<string, unknown> = {};
  for (const backend of ['native', 'wasm'] as const) {
    if (backend === 'native' && !native.available) {
      engines[backend] = { skipped: native.reason };
      continue;
    }
    engines[backend] = { oneWorker: await measure(backend, 1, frames), twoWorkers: await measure(backend, 2, frames) };
  }
  return {
    frames: `${batchSize} x 960x540 (2 golden half frames repeated), thresholds 0.85,0.95,0.95`,
    autoEngine: await resolveBackend('auto'),
    ...(native.available ? { nativeEngine: native.description } : {}),
    engines,
  };
}
