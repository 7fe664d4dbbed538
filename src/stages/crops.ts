import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { readBoxesFile, type FrameBoxes } from '../dataset/boxes-file.js';
import { missingVideoReason, originalOf, type Video } from '../dataset/dataset.js';
import { FRAME_STEP, cropFileName } from '../dataset/output-paths.js';
import { cropRectForBox, extractCrop, type CropGeometry } from '../image/crop.js';
import { writeRgbPng } from '../image/png.js';
import type { Rect } from '../image/rgb-image.js';
import type { UnitOutcome, UnitStage } from '../run/stage.js';
import { DfdcError, UnitError } from '../util/errors.js';
import { decodeVideo, decodeWarning } from '../video/decode.js';
import { describeFfmpeg, locateFfmpeg } from '../video/ffmpeg-binaries.js';
import { probeVideo } from '../video/probe.js';
import { videoSubject } from './units.js';

/**
 * Stage 2, extract-crops (`dfdc crops`): every REAL and FAKE video whose original has a boxes file:
 * frames i % 10 == 0, each box of the original's boxes cut from the full frame with the reference's
 * geometry (docs/exactness.md), written as 8-bit RGB PNG `crops/<id>/<frame>_<j>.png`. A FAKE
 * whose frame size differs from its original's is not cropped: the boxes would cut the wrong place.
 */
export const cropsSettings = z.object({});

interface CropsUnit {
  readonly id: string;
  readonly subject: string;
  readonly video: Video;
}

/** What the videos of one run share. (Probes are shared too: probeVideo keeps them.) */
interface CropsRun {
  /** Videos being cropped now, which share the run's workers (CPUs) between their decoders. */
  inFlight: number;
}

export const cropsStage: UnitStage<typeof cropsSettings, CropsUnit, CropsRun> = {
  kind: 'units',
  name: 'crops',
  description: "Stage 2 (extract-crops): cut each face box (the original's boxes, for a FAKE) out of every 10th frame of every video, as PNG",
  settings: cropsSettings,
  unitNoun: 'video',
  workersHelp: 'videos cut at once, each by its own ffmpeg',
  readsCrops: true,
  writesCrops: true,
  units: (run) => run.selection.videos.map((video) => ({ id: video.id, subject: videoSubject(video), video })),
  reads: ({ video }, run) => {
    const original = originalOf(video);
    return [
      { role: 'video', kind: 'file', path: video.path, absent: missingVideoReason(run.dataset) },
      { role: 'boxes', kind: 'file', path: run.paths.boxesFile(original.id), from: { stage: 'detect', unit: original.id } },
      ...(video.label === 'FAKE' ? [{ role: 'original video', kind: 'file' as const, path: original.path, optional: true }] : []),
    ];
  },
  writes: ({ video }, run) => [{ role: 'crops', kind: 'folder', path: run.paths.cropDir(video.id), fileCount: 'crops' }],
  concurrency: (run) => run.workers,
  prepare: async () => ({ shared: { inFlight: 0 }, madeWith: { ffmpeg: describeFfmpeg(await locateFfmpeg()) } }),
  work: async ({ video }, { run, shared, output }) => {
    shared.inFlight += 1;
    try {
      const original = originalOf(video);
      const boxes = await readBoxesFile(run.paths.boxesFile(original.id));
      const expectedSize = video.label === 'FAKE' ? await originalSize(original) : undefined;
      return await cropVideo({
        path: video.path,
        boxes,
        folder: output('crops'),
        signal: run.signal,
        decoderThreads: () => decoderThreads(run.workers, shared.inFlight),
        ...(expectedSize ? { expectedSize } : {}),
      });
    } finally {
      shared.inFlight -= 1;
    }
  },
};

/**
 * Decoder threads for a video that starts while `inFlight` videos (itself included) share
 * `workers` CPUs: one each when every CPU has its own video, since frame threads cost CPU of their
 * own (measured on 12 clips, 1080p and 720p, two at a time on 2 cores: 41.5 s of CPU and 21.7 s
 * against 44.4 s and 23.3 s with ffmpeg's default of 3 threads each); the CPUs left over when
 * fewer videos remain (a run of one video, the end of a run) go to the decoders that start then.
 */
export function decoderThreads(workers: number, inFlight: number): number {
  return Math.max(1, Math.floor(workers / Math.max(1, inFlight)));
}

/**
 * The original's frame size; undefined when it is absent or not a readable video (the FAKE is then
 * cropped unchecked). A failure of the machine rather than of the original (no ffprobe to probe it
 * with) stops the run: the FAKE would otherwise be cropped unchecked and kept as complete.
 */
async function originalSize(original: Video): Promise<{ width: number; height: number } | undefined> {
  if (!existsSync(original.path)) return undefined;
  // With its packets: the original is cropped too, and its probe is kept for that.
  return probeVideo(original.path, { packets: true }).then(
    (p) => ({ width: p.width, height: p.height }),
    (error: unknown) => {
      if (error instanceof DfdcError && !(error instanceof UnitError)) throw error;
      return undefined;
    },
  );
}

export interface CropVideoInput {
  path: string;
  boxes: FrameBoxes;
  /** Frame size of the video the boxes were detected on: a FAKE of another size is not cropped. */
  expectedSize?: { width: number; height: number };
  /** The folder the crops go to, `<frame>_<j>.png` each. */
  folder: string;
  signal?: AbortSignal;
  /** The decoder's threads, asked when ffmpeg starts (see decodeVideo); default ffmpeg's own choice. */
  decoderThreads?: () => number;
}

/** PNG encodes in flight per video: sharp runs them on libuv threads while decoding goes on. */
const MAX_PENDING_WRITES = 16;

/**
 * Stage 2 for one video: decode every FRAME_STEP-th frame, and for each frame whose boxes (its
 * original's, for a FAKE) list faces, cut each box's crop and write it. Boxes outside the frame
 * are skipped and counted. Only the rectangle that holds every crop of the video is decoded to
 * RGB and piped, where ffmpeg can cut it exactly (decode.ts exactRegion), and decoding stops at the
 * last frame with boxes.
 */
export async function cropVideo(input: CropVideoInput): Promise<UnitOutcome> {
  // Its frames are decoded every FRAME_STEP-th: the packets are listed for a sparse decode.
  const probe = probeVideo(input.path, { packets: true });
  const { width, height } = await probe;
  const expected = input.expectedSize;
  if (expected && (expected.width !== width || expected.height !== height)) {
    throw new UnitError(
      `frame size ${width}x${height} differs from its original's ${expected.width}x${expected.height}: the original's boxes would cut the wrong place, so it is not cropped`,
      { file: input.path },
    );
  }
  const plan = cropPlan(input.boxes, width, height);
  // Crops are copied out of each frame before the next is asked for, so the frame buffers can be reused.
  const video = await decodeVideo(input.path, {
    every: FRAME_STEP,
    recycleFrames: true,
    probe,
    ...(plan.bounds ? { region: plan.bounds } : {}),
    ...(plan.lastFrame === undefined ? {} : { lastFrame: plan.lastFrame }),
    ...(input.signal ? { signal: input.signal } : {}),
    ...(input.decoderThreads ? { decoderThreads: input.decoderThreads } : {}),
  });
  const origin = video.region;
  const pending = new Set<Promise<void>>();
  let written = 0;
  let outside = 0;
  let frames = 0;
  let failure: unknown;
  try {
    for await (const frame of video.frames) {
      frames += 1;
      const crops = plan.byFrame.get(frame.index);
      if (!crops) continue;
      for (const [j, geometry] of crops.entries()) {
        if ('skip' in geometry) {
          outside += 1;
          continue;
        }
        const { x, y, width: w, height: h } = geometry.rect;
        const crop = extractCrop(frame.image, { x: x - origin.x, y: y - origin.y, width: w, height: h });
        const write = writeRgbPng(join(input.folder, cropFileName(frame.index, j)), crop).then(
          () => {
            written += 1;
          },
          (error: unknown) => {
            failure ??= error;
          },
        );
        pending.add(write);
        void write.finally(() => pending.delete(write));
        if (pending.size >= MAX_PENDING_WRITES) await Promise.race(pending);
      }
      if (failure) break;
    }
  } finally {
    // Also when decoding fails: writes still in flight would otherwise land in the unit's staging
    // folder after the runner has removed it, and leave it behind half-written.
    await Promise.allSettled(pending);
  }
  if (failure) throw failure;
  const summary = video.summary();
  const warnings: string[] = [];
  const decoding = decodeWarning(summary, 'the crops of the frames decoded are kept').warning;
  if (decoding) warnings.push(decoding);
  if (outside > 0) warnings.push(`${outside} box(es) outside the frame skipped`);
  return {
    frames,
    details: { crops: written, skippedBoxes: outside, width, height },
    ...(warnings.length > 0 ? { warning: warnings.join('; ') } : {}),
  };
}

/**
 * Each decoded frame's crop geometry (one per box, in the boxes' order: the crop's number j), the
 * last such frame, and the smallest rectangle that holds every crop of the video (undefined when
 * there is none).
 */
export function cropPlan(boxes: FrameBoxes, width: number, height: number): { byFrame: Map<number, CropGeometry[]>; lastFrame?: number; bounds?: Rect } {
  const byFrame = new Map<number, CropGeometry[]>();
  let lastFrame: number | undefined;
  let [left, top, right, bottom] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const [index, frameBoxes] of boxes) {
    if (index % FRAME_STEP !== 0 || !frameBoxes) continue;
    const crops = frameBoxes.map((box) => cropRectForBox(box, width, height));
    byFrame.set(index, crops);
    lastFrame = Math.max(lastFrame ?? index, index);
    for (const crop of crops) {
      if ('skip' in crop) continue;
      left = Math.min(left, crop.rect.x);
      top = Math.min(top, crop.rect.y);
      right = Math.max(right, crop.rect.x + crop.rect.width);
      bottom = Math.max(bottom, crop.rect.y + crop.rect.height);
    }
  }
  return {
    byFrame,
    ...(lastFrame === undefined ? {} : { lastFrame }),
    ...(left === Infinity ? {} : { bounds: { x: left, y: top, width: right - left, height: bottom - top } }),
  };
}
