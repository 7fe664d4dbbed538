import { join } from 'node:path';
import { z } from 'zod';
import { listFolder } from '../dataset/crop-files.js';
import type { RealVideo } from '../dataset/dataset.js';
import { FRAME_ACTOR_GRID, cropFileName, landmarkFileName } from '../dataset/output-paths.js';
import type { UnitStage } from '../run/stage.js';
import { option, faceSize, thresholds } from '../util/options.js';
import { videoSubject, withCropAdvice } from './units.js';

/**
 * Stage 3, generate-landmarks (`dfdc landmarks`): for every REAL video, the crops of frames 0..310
 * step 10 and actors 0 and 1 go through MTCNN at full crop size in the worker pool; the largest
 * face's five points are written as int16 `landmarks/<id>/<frame>_<actor>.npy` (no face, no file).
 */
export const landmarksSettings = z.object({
  thresholds: option(thresholds().default([0.65, 0.75, 0.75]), {
    help: 'P-Net, R-Net, O-Net face thresholds of stage 3',
    value: 'a,b,c',
    runFlag: '--landmark-thresholds',
  }),
  minFaceSize: option(faceSize().default(20), {
    help: 'smallest face MTCNN looks for in a crop, in crop pixels',
    value: 'px',
    runFlag: '--landmark-min-face-size',
  }),
  allCrops: option(z.boolean().default(false), {
    help: "every crop of the video, not only the reference's frames 0..310 and actors 0 and 1 (beyond the reference)",
    runFlag: '--landmark-all-crops',
  }),
});

interface LandmarksUnit {
  readonly id: string;
  readonly subject: string;
  readonly video: RealVideo;
}

const cropName = /^(\d+)_(\d+)\.png$/;

/** The (frame, actor) cells to process, in the reference's loop order, from a crops folder's listing. */
export function landmarkCells(cropFiles: ReadonlySet<string>, allCrops: boolean): { frame: number; actor: number }[] {
  if (!allCrops) return FRAME_ACTOR_GRID.filter(({ frame, actor }) => cropFiles.has(cropFileName(frame, actor)));
  return [...cropFiles]
    .map((name) => cropName.exec(name))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({ frame: Number(match[1]), actor: Number(match[2]) }))
    .sort((a, b) => a.frame - b.frame || a.actor - b.actor);
}

export const landmarksStage: UnitStage<typeof landmarksSettings, LandmarksUnit, undefined> = {
  kind: 'units',
  name: 'landmarks',
  description: "Stage 3 (generate-landmarks): five face landmarks of each REAL video's crops, as landmarks/<id>/<frame>_<actor>.npy",
  settings: landmarksSettings,
  unitNoun: 'REAL video',
  pool: 'mtcnn',
  workersHelp: 'worker threads, one MTCNN engine each',
  readsCrops: true,
  units: (run) => run.selection.reals.map((video) => ({ id: video.id, subject: videoSubject(video), video })),
  reads: ({ video }, run) => [{ role: 'crops', kind: 'folder', path: run.paths.cropDir(video.id), from: { stage: 'crops', unit: video.id } }],
  writes: ({ video }, run) => [{ role: 'landmarks', kind: 'folder', path: run.paths.landmarksDirOf(video.id), fileCount: 'landmarks' }],
  // Two videos per worker: one reads its crops while the other's are in MTCNN.
  concurrency: (run) => run.workers * 2,
  work: async ({ video }, { settings, run, output }) => {
    const cells = landmarkCells(await listFolder(run.paths.cropDir(video.id)), settings.allCrops);
    const folder = output('landmarks');
    const task = {
      cells: cells.map(({ frame, actor }) => ({ crop: run.paths.cropFile(video.id, frame, actor), landmarks: join(folder, landmarkFileName(frame, actor)) })),
      thresholds: settings.thresholds,
      minFaceSize: settings.minFaceSize,
    };
    try {
      const result = await run.pool().run('landmarks', task);
      return { frames: result.crops, details: { ...result } };
    } catch (error) {
      throw withCropAdvice(error, run.paths.cropsDir);
    }
  },
};
