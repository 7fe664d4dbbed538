import type { TransferListItem } from 'node:worker_threads';
import { z } from 'zod';
import { serializeBoxes, type Box } from '../dataset/boxes-file.js';
import { missingVideoReason, type RealVideo } from '../dataset/dataset.js';
import type { RgbImage } from '../image/rgb-image.js';
import type { UnitOutcome, UnitStage } from '../run/stage.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { TaskPool } from '../workers/pool.js';
import { option, faceSize, thresholds, wholeNumber } from '../util/options.js';
import { decodeVideo, decodeWarning } from '../video/decode.js';
import { describeFfmpeg, locateFfmpeg } from '../video/ffmpeg-binaries.js';
import { layoutNamed } from '../dataset/layouts/index.js';
import { scaledSize } from '../image/pillow-resize.js';
import { autoScale, boxesOfFrames } from './detect-frames.js';
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
  workersHelp: 'worker threads, one MTCNN engine each',
  readsCrops: false,
  resolveSettings: (settings, run) => (settings.scale === 'layout' ? { ...settings, scale: layoutNamed(run.dataset.layout).detectionScale } : settings),
  units: (run) => run.selection.reals.map((video) => ({ id: video.id, subject: videoSubject(video), video })),
  reads: ({ video }, run) => [{ role: 'video', kind: 'file', path: video.path, absent: missingVideoReason(run.dataset) }],
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

/**
 * Stage 1 for one REAL video: decode, resize, detect in batches, write the boxes file.
 *
 * The main thread only reads frames off ffmpeg's pipe. Each full frame goes to a worker (its buffer
 * transferred, not copied) to be resized to the detection size there, since a 1080p resize costs
 * about a third of MTCNN's time per frame and on the main thread it held the workers back (issue
 * 12, bench/detect-costs.ts). The resized frames come back and, once a batch is complete, go to a
 * worker together for MTCNN. Full frames in flight are few (a full 1080p frame is 6 MB): they
 * bound memory, not speed, since a worker that finishes a batch resizes the next one's frames.
 */
export async function detectVideo(path: string, boxesFile: string, settings: DetectSettings, services: DetectServices): Promise<UnitOutcome> {
  const { pool, signal } = services;
  const decoding = await decodeVideo(path, { every: settings.every, signal });
  // 'layout' is resolved before the stage runs (resolveSettings); here it can only be a number or auto.
  if (settings.scale === 'layout') throw new Error('detect: --scale layout was not resolved');
  const detectionScale = settings.scale === 'auto' ? autoScale(decoding.width, decoding.height) : settings.scale;
  const results = new Map<number, Box[] | null>();
  // Batches of this video in flight: one per worker and one more, so no worker waits.
  const batchLimit = pool.size + 1;
  // Full frames sent to be resized and not back yet: two per worker keep each one fed.
  const resizeLimit = 2 * pool.size;
  const running = new Set<Promise<void>>();
  const resizing = new Set<Promise<void>>();
  let failure: unknown;
  let frames = 0;
  const fail = (error: unknown): void => {
    failure ??= error;
  };
  const track = (set: Set<Promise<void>>, job: Promise<void>): void => {
    set.add(job);
    void job.finally(() => set.delete(job));
  };

  const resize = (image: RgbImage): Promise<RgbImage> => {
    // At scale 1 (and other scales that keep the size) the frame is the detector's input as it is.
    const size = scaledSize(image.width, image.height, detectionScale);
    if (size.width === image.width && size.height === image.height) return Promise.resolve(image);
    const moved = transferable(image);
    const resized = pool.run('resize', { image: moved.image, scale: detectionScale }, moved.transfer);
    track(resizing, resized.then(() => undefined, fail));
    return resized;
  };

  const dispatch = (indices: number[], resized: Promise<RgbImage>[]): void => {
    const options = {
      thresholds: settings.thresholds,
      minFaceSize: settings.minFaceSize,
      batchPositions: indices.map((index) => index % settings.batchSize),
    };
    const job = Promise.all(resized)
      .then((images) => {
        const transfer: TransferListItem[] = [];
        const moved = images.map((image) => {
          const one = transferable(image);
          transfer.push(...one.transfer);
          return one.image;
        });
        return pool.run('faces', { frames: moved, options }, transfer);
      })
      .then(({ faces }) => {
        boxesOfFrames(faces, detectionScale).forEach((list, k) => results.set(indices[k] as number, list));
        services.addFrames(indices.length);
      }, fail);
    track(running, job);
  };

  let indices: number[] = [];
  let resized: Promise<RgbImage>[] = [];
  let batchNumber = 0;
  for await (const frame of decoding.frames) {
    frames += 1;
    const number = Math.floor(frame.index / settings.batchSize);
    if (number !== batchNumber && indices.length > 0) {
      dispatch(indices, resized);
      indices = [];
      resized = [];
      while (running.size >= batchLimit && !failure) await Promise.race(running);
    }
    batchNumber = number;
    indices.push(frame.index);
    resized.push(resize(frame.image));
    while (resizing.size >= resizeLimit && !failure) await Promise.race(resizing);
    if (failure) break;
  }
  if (indices.length > 0 && !failure) dispatch(indices, resized);
  await Promise.all([...running, ...resizing]);
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
