import { rm } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { z } from 'zod';
import { listCropFolders } from '../dataset/crop-files.js';
import type { LandmarksTask } from '../pipeline/landmarks.js';
import type { WorkerTask } from '../pipeline/worker.js';
import type { Session } from '../run/session.js';
import type { UnitOutcome } from '../run/stage-runner.js';
import { claimProvenance } from '../run/state.js';
import { defaultWorkerCount, type WorkerPool } from '../run/worker-pool.js';
import { createPipelinePool } from '../pipeline/pool.js';
import type { BackendName } from '../tfjs/backend.js';
import { packageVersion } from '../util/package-root.js';
import { openSession } from './session-options.js';
import {
  cropsDirOption,
  datasetOptionsSchema,
  numberList,
  outputDirOption,
  rootDirOption,
  runOptions,
  runOptionsSchema,
  workerOptions,
  workerOptionsSchema,
} from './shared-options.js';

/**
 * `dfdc landmarks`: stage 3 (generate-landmarks). For every REAL video, the crops of frames 0..310
 * step 10 and actors 0 and 1 go through MTCNN [0.65, 0.75, 0.75] at full crop size; the largest
 * face's five points are written as int16 .npy files.
 */
export const landmarksOptionsSchema = datasetOptionsSchema
  .extend(runOptionsSchema.shape)
  .extend(workerOptionsSchema.shape)
  .extend({
    thresholds: numberList(3).default([0.65, 0.75, 0.75]),
    minFaceSize: z.coerce.number().positive('must be a positive number').default(20),
    allCrops: z.boolean().default(false),
  });

export function landmarksCommand(): Command {
  const command = new Command('landmarks')
    .description("Stage 3 (generate-landmarks): five face landmarks of each REAL video's crops, as landmarks/<id>/<frame>_<actor>.npy")
    .addOption(rootDirOption())
    .addOption(outputDirOption())
    .addOption(cropsDirOption())
    .addOption(new Option('--thresholds <a,b,c>', 'P-Net, R-Net, O-Net face thresholds').default('0.65,0.75,0.75'))
    .addOption(new Option('--min-face-size <px>', 'smallest face MTCNN looks for, in crop pixels').default(20))
    .addOption(
      new Option('--all-crops', "every crop of the video, not only the reference's frames 0..310 and actors 0 and 1 (beyond the reference; off by default)").default(
        false,
      ),
    );
  for (const option of [...workerOptions(), ...runOptions()]) command.addOption(option);
  return command.action(async (raw: unknown) => {
    const options = landmarksOptionsSchema.parse(raw);
    const session = await openSession(options);
    await runLandmarksStage(session, {
      force: options.force,
      backend: options.backend,
      workers: options.workers ?? defaultWorkerCount(),
      thresholds: options.thresholds as [number, number, number],
      minFaceSize: options.minFaceSize,
      allCrops: options.allCrops,
    });
    process.exitCode = await session.finish();
  });
}

export interface LandmarksSettings {
  force: boolean;
  backend: BackendName;
  workers: number;
  thresholds: [number, number, number];
  minFaceSize: number;
  allCrops: boolean;
}

/** Runs stage 3 inside a session (also used by `dfdc run`), on a pool of its own or the one given. */
export async function runLandmarksStage(session: Session, settings: LandmarksSettings, sharedPool?: WorkerPool): Promise<void> {
  const { paths, selection } = session;
  const { thresholds, minFaceSize, allCrops } = settings;
  await claimProvenance(
    paths.stateDir,
    'landmarks',
    { thresholds, minFaceSize, allCrops },
    { version: packageVersion, backend: settings.backend },
    settings.force,
  );
  const listed = await listCropFolders(paths, selection.reals.map((real) => real.id));
  const pool = sharedPool ?? createPipelinePool(settings.backend, settings.workers);
  try {
    await session.runStage('landmarks', {
      units: selection.reals.map((video) => ({ id: video.id, subject: `${video.part.name}/${video.name}`, video })),
      force: settings.force,
      concurrency: pool.size * 2,
      prepare: async ({ video }) => rm(paths.landmarksDirOf(video.id), { recursive: true, force: true }),
      work: async ({ video }) => {
        const task: LandmarksTask = {
          originalId: video.id,
          cropFiles: [...(listed.get(video.id) ?? [])],
          allCrops,
          thresholds,
          minFaceSize,
          dirs: session.options.dirs,
        };
        return pool.run<UnitOutcome>({ kind: 'landmarks', task } satisfies WorkerTask);
      },
    });
  } finally {
    if (!sharedPool) await pool.close();
  }
}
