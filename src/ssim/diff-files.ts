import { readRgbImage, writeGrayPng } from '../image/png.js';
import { diffMask } from './diff-mask.js';
import { fitsSsimWindow } from './ssim-map.js';

/**
 * Stage 4's work on one FAKE, run in a worker thread (the SSIM map is the costly part): for each
 * pair of crops (the original's and the fake's of one frame and actor), the diff mask written as
 * an 8-bit gray PNG. Pairs of different sizes are skipped, as the reference skips them, and so are
 * crops under SSIM's 7x7 window, which scikit-image refuses and the reference's bare except skips.
 */
export interface DiffPairsTask {
  readonly pairs: readonly { readonly name: string; readonly original: string; readonly fake: string; readonly diff: string }[];
  /** Clamp instead of wrapping like the reference (docs/exactness.md §6). */
  readonly saturate: boolean;
}

export interface DiffPairsResult {
  diffs: number;
  /** `<name> (WxH vs WxH)` of each pair of different sizes. */
  mismatched: string[];
  /** `<name> (WxH)` of each pair too small for the SSIM window. */
  tooSmall: string[];
}

export async function diffCropPairs(task: DiffPairsTask): Promise<DiffPairsResult> {
  const result: DiffPairsResult = { diffs: 0, mismatched: [], tooSmall: [] };
  for (const pair of task.pairs) {
    const [original, fake] = await Promise.all([readRgbImage(pair.original), readRgbImage(pair.fake)]);
    if (original.width !== fake.width || original.height !== fake.height) {
      result.mismatched.push(`${pair.name} (${original.width}x${original.height} vs ${fake.width}x${fake.height})`);
      continue;
    }
    if (!fitsSsimWindow(original.width, original.height)) {
      result.tooSmall.push(`${pair.name} (${original.width}x${original.height})`);
      continue;
    }
    await writeGrayPng(pair.diff, diffMask(original, fake, { saturate: task.saturate }));
    result.diffs += 1;
  }
  return result;
}
