import type { DatasetDirs } from '../commands/shared-options.js';
import { FRAME_ACTOR_GRID, cropFileName, outputPaths } from '../dataset/output-paths.js';
import { diffMask } from '../ssim/diff-mask.js';
import { fitsSsimWindow } from '../ssim/ssim-map.js';
import { readRgbImage, writeGrayPng } from '../image/png.js';
import type { UnitOutcome } from '../run/stage-runner.js';

/**
 * Stage 4 for one FAKE: for each (frame, actor) cell of the grid where both the original's and the
 * fake's crop exist, the SSIM diff mask written as `diffs/<fake>/<frame>_<actor>_diff.png`. Pairs of
 * different sizes are skipped and counted, as the reference skips them. Runs inside a worker thread
 * (the SSIM map is the CPU-heavy part of this stage).
 */
export interface DiffFakeTask {
  fakeId: string;
  originalId: string;
  /** Crop file names present in each folder (from one listing in the main thread). */
  originalFiles: readonly string[];
  fakeFiles: readonly string[];
  saturate: boolean;
  dirs: DatasetDirs;
}

export async function diffFake(task: DiffFakeTask): Promise<UnitOutcome> {
  const paths = outputPaths(task.dirs);
  const originalFiles = new Set(task.originalFiles);
  const fakeFiles = new Set(task.fakeFiles);
  let written = 0;
  const mismatched: string[] = [];
  const tooSmall: string[] = [];
  for (const { frame, actor } of FRAME_ACTOR_GRID) {
    const name = cropFileName(frame, actor);
    if (!originalFiles.has(name) || !fakeFiles.has(name)) continue;
    const [original, fake] = await Promise.all([
      readRgbImage(paths.cropFile(task.originalId, frame, actor)),
      readRgbImage(paths.cropFile(task.fakeId, frame, actor)),
    ]);
    if (original.width !== fake.width || original.height !== fake.height) {
      mismatched.push(`${name} (${original.width}x${original.height} vs ${fake.width}x${fake.height})`);
      continue;
    }
    if (!fitsSsimWindow(original.width, original.height)) {
      // scikit-image refuses images under 7 px a side; the reference's bare except skips them.
      tooSmall.push(`${name} (${original.width}x${original.height})`);
      continue;
    }
    await writeGrayPng(paths.diffFile(task.fakeId, frame, actor), diffMask(original, fake, { saturate: task.saturate }));
    written += 1;
  }
  const warnings = [
    ...(mismatched.length > 0 ? [`${mismatched.length} crop pair(s) of different sizes skipped, e.g. ${mismatched[0]}`] : []),
    ...(tooSmall.length > 0 ? [`${tooSmall.length} crop pair(s) smaller than the 7x7 SSIM window skipped, e.g. ${tooSmall[0]}`] : []),
  ];
  return {
    frames: written,
    details: { diffs: written, sizeMismatches: mismatched.length, tooSmall: tooSmall.length },
    ...(warnings.length > 0 ? { warning: warnings.join('; ') } : {}),
  };
}
