import type { TransferListItem } from 'node:worker_threads';
import { serializeBoxes, type Box } from '../dataset/boxes-file.js';
import type { RgbImage } from '../image/rgb-image.js';
import type { UnitOutcome } from '../run/stage-runner.js';
import type { WorkerPool } from '../run/worker-pool.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { decodeVideo, decodeWarning, type DecodedFrame } from '../video/decode.js';
import { autoScale, boxesOfFrames, resizeForDetection } from './detect-frames.js';
import type { FacesResult, WorkerTask } from './worker.js';

/**
 * Stage 1 for one REAL video: decode its frames (every frame, or every N-th), resize each to the
 * detection size, send them in batches to the worker pool for detection, and write
 * `boxes/<id>.json` once every batch has come back. A video that breaks midway keeps the boxes of
 * the frames that decoded, as the reference does, and says so in a warning. Frames stream through:
 * at most `inFlight` batches are held at once.
 *
 * Batches are the reference's: frames 32k .. 32k+31 (by true frame index) go to MTCNN together,
 * because its NMS runs on the whole batch with an offset per image (torchvision's batched_nms),
 * whose float32 rounding can flip a borderline NMS decision: the same batches give the same boxes.
 */
export interface DetectSettings {
  every: number;
  /** A detection scale, or 'auto' for the write-up's rule. */
  scale: number | 'auto';
  batchSize: number;
  thresholds: [number, number, number];
  minFaceSize: number;
}

export interface DetectVideoInput {
  path: string;
  boxesFile: string;
  settings: DetectSettings;
  pool: WorkerPool;
  signal?: AbortSignal;
  /** Batches of this video in flight at once (default: the pool size + 1, so no worker waits). */
  inFlight?: number;
}

/** Transfers a frame's buffer to the worker when the frame owns it whole, else copies it once. */
function transferable(image: RgbImage): { image: RgbImage; transfer: TransferListItem[] } {
  const { data } = image;
  if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer) {
    return { image, transfer: [data.buffer] };
  }
  const copy = new Uint8Array(data);
  return { image: { width: image.width, height: image.height, data: copy }, transfer: [copy.buffer] };
}

export async function detectVideo(input: DetectVideoInput): Promise<UnitOutcome> {
  const { settings, pool } = input;
  const decoding = await decodeVideo(input.path, { every: settings.every, ...(input.signal ? { signal: input.signal } : {}) });
  const scale = settings.scale === 'auto' ? autoScale(decoding.width, decoding.height) : settings.scale;
  const results = new Map<number, Box[] | null>();
  const limit = input.inFlight ?? pool.size + 1;
  const running = new Set<Promise<void>>();
  let failure: unknown;
  let frames = 0;

  const dispatch = (batch: DecodedFrame[]): Promise<void> => {
    const images: RgbImage[] = [];
    const transfer: TransferListItem[] = [];
    for (const frame of batch) {
      const moved = transferable(frame.image);
      images.push(moved.image);
      transfer.push(...moved.transfer);
    }
    const indices = batch.map((frame) => frame.index);
    const options = {
      thresholds: settings.thresholds,
      minFaceSize: settings.minFaceSize,
      batchPositions: indices.map((index) => index % settings.batchSize),
    };
    const job = pool.run<FacesResult>({ kind: 'faces', task: { frames: images, options } } satisfies WorkerTask, transfer).then(
      ({ faces }) => boxesOfFrames(faces, scale).forEach((list, k) => results.set(indices[k] as number, list)),
      (error: unknown) => {
        failure ??= error;
      },
    );
    running.add(job);
    void job.finally(() => running.delete(job));
    return job;
  };

  let batch: DecodedFrame[] = [];
  let batchNumber = 0;
  for await (const frame of decoding.frames) {
    frames += 1;
    const number = Math.floor(frame.index / settings.batchSize);
    if (number !== batchNumber && batch.length > 0) {
      void dispatch(batch);
      batch = [];
      while (running.size >= limit) await Promise.race(running);
    }
    batchNumber = number;
    batch.push({ index: frame.index, image: resizeForDetection(frame.image, scale) });
    if (failure) break;
  }
  if (batch.length > 0 && !failure) void dispatch(batch);
  await Promise.all(running);
  if (failure) throw failure;
  if (input.signal?.aborted) throw input.signal.reason;

  const summary = decoding.summary();
  await writeFileAtomic(input.boxesFile, serializeBoxes(results));
  let faces = 0;
  let framesWithFaces = 0;
  for (const list of results.values()) {
    if (list) {
      faces += list.length;
      framesWithFaces += 1;
    }
  }
  return {
    frames,
    details: { frames, framesWithFaces, faces, width: decoding.width, height: decoding.height, scale },
    ...decodeWarning(summary, `the boxes of the ${frames} frames decoded are kept`),
  };
}
