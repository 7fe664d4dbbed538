import type { Box } from '../dataset/boxes-file.js';
import { FRAME_STEP, type OutputPaths } from '../dataset/output-paths.js';
import { cropRectForBox, extractCrop } from '../image/crop.js';
import { writeRgbPng } from '../image/png.js';
import { decodeVideo, decodeWarning } from '../video/decode.js';
import type { UnitOutcome } from '../run/stage-runner.js';

/**
 * Stage 2 for one video: decode every FRAME_STEP-th frame, and for each frame whose boxes (its
 * original's, for a FAKE) list faces, cut each box's crop with the reference's geometry and write
 * it as `<crops>/<id>/<frame>_<j>.png`. Boxes outside the frame are skipped and counted.
 */
export interface CropVideoInput {
  id: string;
  path: string;
  boxes: ReadonlyMap<number, readonly Box[] | null>;
  /** Frame size of the video the boxes were detected on: a FAKE of another size is not cropped. */
  expectedSize?: { width: number; height: number };
  paths: OutputPaths;
  signal?: AbortSignal;
}

/** PNG encodes in flight per video: sharp runs them on libuv threads while decoding goes on. */
const MAX_PENDING_WRITES = 16;

export async function cropVideo(input: CropVideoInput): Promise<UnitOutcome> {
  const video = await decodeVideo(input.path, { every: FRAME_STEP, ...(input.signal ? { signal: input.signal } : {}) });
  const { width, height } = video;
  const expected = input.expectedSize;
  if (expected && (expected.width !== width || expected.height !== height)) {
    throw new Error(
      `frame size ${width}x${height} differs from its original's ${expected.width}x${expected.height}: the original's boxes would cut the wrong place, so it is not cropped`,
    );
  }
  const pending = new Set<Promise<void>>();
  let written = 0;
  let outside = 0;
  let frames = 0;
  let failure: unknown;
  for await (const frame of video.frames) {
    frames += 1;
    const boxes = input.boxes.get(frame.index);
    if (!boxes) continue;
    for (let j = 0; j < boxes.length; j += 1) {
      const geometry = cropRectForBox(boxes[j] as Box, width, height);
      if ('skip' in geometry) {
        outside += 1;
        continue;
      }
      const write = writeRgbPng(input.paths.cropFile(input.id, frame.index, j), extractCrop(frame.image, geometry.rect)).then(
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
  await Promise.all(pending);
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
