import type { TransferListItem } from 'node:worker_threads';
import { z } from 'zod';
import { serializeBoxes, type Box } from '../dataset/boxes-file.js';
import type { RealVideo } from '../dataset/dataset.js';
import type { RgbImage } from '../image/rgb-image.js';
import type { UnitOutcome, UnitStage } from '../run/stage.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { TaskPool } from '../workers/pool.js';
import { option, faceSize, thresholds, wholeNumber } from '../util/options.js';
import { decodeVideo, decodeWarning, type DecodedFrame } from '../video/decode.js';
import { describeFfmpeg, locateFfmpeg } from '../video/ffmpeg-binaries.js';
import { layoutNamed } from '../dataset/layouts/index.js';
import { autoScale, boxesOfFrames, resizeForDetection } from './detect-frames.js';
import { videoSubject } from './units.js';

/**
 * Stage 1, detect-original-faces (`dfdc detect`): every REAL video, every frame (or every N-th),
 * resized to the detection size with Pillow's bicubic, through MTCNN in the worker pool; writes
 * `boxes/<id>.json` in the reference's format once every batch has come back.
 *
 * Batches are the reference's: frames 32k .. 32k+31 (by true frame index) go to MTCNN together,
 * because its NMS runs on the whole batch with an offset per image (torchvision's batched_nms),
 * whose float32 rounding can flip a borderline NMS decision: the same batches give the same boxes
 * (docs/mtcnn.md). A video that breaks midway keeps the boxes of the frames that decoded, as the
 * reference does, and says so in a warning. Frames stream through: a few batches are held at once.
 */

/**
 * `--scale`: a factor, `auto` for the write-up's rule (stages/detect-frames.ts), or `layout` for
 * the data set layout's own (src/dataset/layouts/), resolved before the stage runs.
 */
const scale = z.string().transform((text, context): number | 'auto' | 'layout' => {
  const value = text.trim();
  if (value === 'auto' || value === 'layout') return value;
  const number = value === '' ? Number.NaN : Number(value);
  if (!(number > 0 && number <= 4)) {
    context.addIssue({ code: 'custom', message: 'must be a positive number up to 4, auto or layout' });
    return z.NEVER;
  }
  return number;
});

export const detectSettings = z.object({
  every: option(wholeNumber(1).default(1), {
    help: 'detect only frames i with i % n == 0 (crops use every 10th frame, so 10 gives identical crops for a tenth of the work)',
    value: 'n',
    runFlag: false,
    hint: 'dfdc run detects every 10th frame, or every frame with --all-frames',
  }),
  scale: option(scale.default('layout'), {
    help: "detection size: each frame is resized by s before MTCNN (0.5 = the reference's half size); 'auto' = the winner's write-up rule (2x under 300 px wide, 1x to 1000, 0.5x to 1900, 0.33x above); 'layout' = the data set layout's own, 0.5 for every layout today (measured: README, \"Detection size\"); boxes are always stored at half size",
    value: 's',
  }),
  batchSize: option(wholeNumber(1).pipe(z.number().max(256, 'must be at most 256')).default(32), {
    help: "frames per detector call, aligned on frame index like the reference's batches (its NMS spans the batch, so 32 gives the reference's boxes; other sizes may move a borderline box)",
    value: 'n',
  }),
  thresholds: option(thresholds().default([0.85, 0.95, 0.95]), { help: 'P-Net, R-Net, O-Net face thresholds', value: 'a,b,c' }),
  minFaceSize: option(faceSize().default(20), {
    help: 'smallest face MTCNN looks for, in detection pixels',
    value: 'px',
  }),
});

export type DetectSettings = z.output<typeof detectSettings>;

interface DetectUnit {
  readonly id: string;
  readonly subject: string;
  readonly video: RealVideo;
}

export const detectStage: UnitStage<typeof detectSettings, DetectUnit, undefined> = {
  kind: 'units',
  name: 'detect',
  description: 'Stage 1 (detect-original-faces): MTCNN face boxes for every frame of every REAL video, written as boxes/<id>.json',
  settings: detectSettings,
  unitNoun: 'REAL video',
  pool: 'mtcnn',
  readsCrops: false,
  resolveSettings: (settings, run) => (settings.scale === 'layout' ? { ...settings, scale: layoutNamed(run.dataset.layout).detectionScale } : settings),
  units: (run) => run.selection.reals.map((video) => ({ id: video.id, subject: videoSubject(video), video })),
  reads: ({ video }) => [{ role: 'video', kind: 'file', path: video.path, absent: 'file not found (listed in metadata.json)' }],
  writes: ({ video }, run) => [{ role: 'boxes', kind: 'file', path: run.paths.boxesFile(video.id) }],
  // At least two videos in flight keep every worker busy across video boundaries.
  concurrency: (run) => Math.max(2, run.workers),
  prepare: async () => ({ shared: undefined, madeWith: { ffmpeg: describeFfmpeg(await locateFfmpeg()) } }),
  work: async ({ video }, { settings, run, addFrames, output }) => detectVideo(video.path, output('boxes'), settings, { pool: run.pool(), signal: run.signal, addFrames }),
};

/** Transfers a frame's buffer to the worker when the frame owns it whole, else copies it once. */
function transferable(image: RgbImage): { image: RgbImage; transfer: TransferListItem[] } {
  const { data } = image;
  if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer) {
    return { image, transfer: [data.buffer] };
  }
  const copy = new Uint8Array(data);
  return { image: { width: image.width, height: image.height, data: copy }, transfer: [copy.buffer] };
}

interface DetectServices {
  pool: TaskPool;
  signal: AbortSignal;
  addFrames: (frames: number) => void;
}

/** Stage 1 for one REAL video: decode, resize, detect in batches, write the boxes file. */
export async function detectVideo(path: string, boxesFile: string, settings: DetectSettings, services: DetectServices): Promise<UnitOutcome> {
  const { pool, signal } = services;
  const decoding = await decodeVideo(path, { every: settings.every, signal });
  // 'layout' is resolved before the stage runs (resolveSettings); here it can only be a number or auto.
  if (settings.scale === 'layout') throw new Error('detect: --scale layout was not resolved');
  const detectionScale = settings.scale === 'auto' ? autoScale(decoding.width, decoding.height) : settings.scale;
  const results = new Map<number, Box[] | null>();
  // Batches of this video in flight: one per worker and one more, so no worker waits.
  const limit = pool.size + 1;
  const running = new Set<Promise<void>>();
  let failure: unknown;
  let frames = 0;

  const dispatch = (batch: DecodedFrame[]): void => {
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
    const job = pool.run('faces', { frames: images, options }, transfer).then(
      ({ faces }) => {
        boxesOfFrames(faces, detectionScale).forEach((list, k) => results.set(indices[k] as number, list));
        services.addFrames(indices.length);
      },
      (error: unknown) => {
        failure ??= error;
      },
    );
    running.add(job);
    void job.finally(() => running.delete(job));
  };

  let batch: DecodedFrame[] = [];
  let batchNumber = 0;
  for await (const frame of decoding.frames) {
    frames += 1;
    const number = Math.floor(frame.index / settings.batchSize);
    if (number !== batchNumber && batch.length > 0) {
      dispatch(batch);
      batch = [];
      while (running.size >= limit) await Promise.race(running);
    }
    batchNumber = number;
    batch.push({ index: frame.index, image: resizeForDetection(frame.image, detectionScale) });
    if (failure) break;
  }
  if (batch.length > 0 && !failure) dispatch(batch);
  await Promise.all(running);
  if (failure) throw failure;
  signal.throwIfAborted();

  const summary = decoding.summary();
  await writeFileAtomic(boxesFile, serializeBoxes(results));
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
    details: { frames, framesWithFaces, faces, width: decoding.width, height: decoding.height, scale: detectionScale },
    ...decodeWarning(summary, `the boxes of the ${frames} frames decoded are kept`),
  };
}
