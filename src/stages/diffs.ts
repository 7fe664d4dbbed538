import { join } from 'node:path';
import { z } from 'zod';
import { listFolder } from '../dataset/crop-files.js';
import type { FakeVideo, RealVideo } from '../dataset/dataset.js';
import { FRAME_ACTOR_GRID, cropFileName, diffFileName } from '../dataset/output-paths.js';
import type { UnitStage } from '../run/stage.js';
import { option } from '../util/options.js';
import { videoSubject, withCropAdvice } from './units.js';

/**
 * Stage 4, generate-diffs (`dfdc diffs`): for every FAKE and its original, frames 0..310 step 10
 * and actors 0 and 1, the SSIM diff mask of the two crops when both exist with the same size,
 * computed in the worker pool and written as 8-bit gray `diffs/<fake>/<frame>_<actor>_diff.png`.
 */
export const diffsSettings = z.object({
  saturate: option(z.boolean().default(false), {
    help: "clamp (1 - SSIM) * 255 to 0..255 instead of wrapping it like the reference (which turns SSIM < 0 into black holes; the winner's models were trained on the wrapped masks)",
  }),
});

interface DiffsUnit {
  readonly id: string;
  readonly subject: string;
  readonly fake: FakeVideo;
  readonly original: RealVideo;
}

export const diffsStage: UnitStage<typeof diffsSettings, DiffsUnit, undefined> = {
  kind: 'units',
  name: 'diffs',
  description: 'Stage 4 (generate-diffs): an SSIM difference mask for each FAKE crop against its original crop, as 8-bit gray PNG',
  settings: diffsSettings,
  unitNoun: 'FAKE',
  pool: 'plain',
  workersHelp: 'worker threads computing the SSIM diff masks',
  readsCrops: true,
  units: (run) => run.selection.pairs.flatMap(({ original, fakes }) => fakes.map((fake) => ({ id: fake.id, subject: videoSubject(fake), fake, original }))),
  reads: ({ fake, original }, run) => [
    { role: 'crops', kind: 'folder', path: run.paths.cropDir(fake.id), from: { stage: 'crops', unit: fake.id } },
    { role: "original's crops", kind: 'folder', path: run.paths.cropDir(original.id), from: { stage: 'crops', unit: original.id } },
  ],
  writes: ({ fake }, run) => [{ role: 'diffs', kind: 'folder', path: run.paths.diffDir(fake.id), fileCount: 'diffs' }],
  // Two FAKEs per worker: one reads its crops while the other's masks are computed.
  concurrency: (run) => run.workers * 2,
  work: async ({ fake, original }, { settings, run, output }) => {
    const [originalFiles, fakeFiles] = await Promise.all([listFolder(run.paths.cropDir(original.id)), listFolder(run.paths.cropDir(fake.id))]);
    const folder = output('diffs');
    const pairs = FRAME_ACTOR_GRID.map(({ frame, actor }) => ({ frame, actor, name: cropFileName(frame, actor) }))
      .filter(({ name }) => originalFiles.has(name) && fakeFiles.has(name))
      .map(({ frame, actor, name }) => ({
        name,
        original: run.paths.cropFile(original.id, frame, actor),
        fake: run.paths.cropFile(fake.id, frame, actor),
        diff: join(folder, diffFileName(frame, actor)),
      }));
    let result;
    try {
      result = await run.pool().run('diffs', { pairs, saturate: settings.saturate });
    } catch (error) {
      throw withCropAdvice(error, run.paths.cropsDir);
    }
    const warnings = [
      ...(result.mismatched.length > 0 ? [`${result.mismatched.length} crop pair(s) of different sizes skipped, e.g. ${result.mismatched[0]}`] : []),
      ...(result.tooSmall.length > 0 ? [`${result.tooSmall.length} crop pair(s) smaller than the 7x7 SSIM window skipped, e.g. ${result.tooSmall[0]}`] : []),
    ];
    return {
      frames: result.diffs,
      details: { diffs: result.diffs, sizeMismatches: result.mismatched.length, tooSmall: result.tooSmall.length },
      ...(warnings.length > 0 ? { warning: warnings.join('; ') } : {}),
    };
  },
};
