import { rm } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { z } from 'zod';
import { detectVideo, type DetectSettings } from '../pipeline/detect.js';
import type { Session } from '../run/session.js';
import { assertOnDisk } from '../run/stage-runner.js';
import { claimProvenance } from '../run/state.js';
import { defaultWorkerCount, type WorkerPool } from '../run/worker-pool.js';
import { createPipelinePool } from '../pipeline/pool.js';
import type { BackendName } from '../tfjs/backend.js';
import { describeFfmpeg, locateFfmpeg } from '../video/ffmpeg-binaries.js';
import { removeStaleTemporaries } from '../util/atomic-write.js';
import { packageVersion } from '../util/package-root.js';
import { openSession } from './session-options.js';
import {
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
 * `dfdc detect`: stage 1 (detect-original-faces). Every REAL video, every frame (or every N-th),
 * resized to half size with Pillow's bicubic, through MTCNN [0.85, 0.95, 0.95]; writes
 * `boxes/<id>.json` in the reference's format.
 */
export const detectOptionsSchema = datasetOptionsSchema
  .extend(runOptionsSchema.shape)
  .extend(workerOptionsSchema.shape)
  .extend({
    every: z.coerce.number().int('must be a whole number').min(1, 'must be at least 1').default(1),
    scale: z
      .union([z.literal('auto'), z.coerce.number().positive('must be a positive number or auto').max(4, 'must be at most 4')])
      .default(0.5),
    batchSize: z.coerce.number().int('must be a whole number').min(1, 'must be at least 1').max(256, 'must be at most 256').default(32),
    thresholds: numberList(3).default([0.85, 0.95, 0.95]),
    minFaceSize: z.coerce.number().positive('must be a positive number').default(20),
  });

/** Options of the detector, shared with `dfdc run`. */
export function detectorOptions(): Option[] {
  return [
    new Option(
      '--scale <s>',
      "detection size: each frame is resized by s before MTCNN (0.5 = the reference's half size); 'auto' = the winner's write-up rule (2x under 300 px wide, 1x to 1000, 0.5x to 1900, 0.33x above); boxes are always stored at half size",
    ).default('0.5'),
    new Option(
      '--batch-size <n>',
      "frames per detector call, aligned on frame index like the reference's batches (its NMS spans the batch, so 32 gives the reference's boxes; other sizes may move a borderline box)",
    ).default(32),
    new Option('--thresholds <a,b,c>', 'P-Net, R-Net, O-Net face thresholds').default('0.85,0.95,0.95'),
    new Option('--min-face-size <px>', 'smallest face MTCNN looks for, in detection pixels').default(20),
  ];
}

export function detectCommand(): Command {
  const command = new Command('detect')
    .description('Stage 1 (detect-original-faces): MTCNN face boxes for every frame of every REAL video, written as boxes/<id>.json')
    .addOption(rootDirOption())
    .addOption(outputDirOption())
    .addOption(new Option('--every <n>', 'detect only frames i with i % n == 0 (crops use every 10th frame, so 10 gives identical crops for a tenth of the work)').default(1));
  for (const option of [...detectorOptions(), ...workerOptions(), ...runOptions()]) command.addOption(option);
  return command.action(async (raw: unknown) => {
    const options = detectOptionsSchema.parse(raw);
    const session = await openSession(options);
    await runDetectStage(session, {
      force: options.force,
      backend: options.backend,
      workers: options.workers ?? defaultWorkerCount(),
      detect: {
        every: options.every,
        scale: options.scale,
        batchSize: options.batchSize,
        thresholds: options.thresholds as [number, number, number],
        minFaceSize: options.minFaceSize,
      },
    });
    process.exitCode = await session.finish();
  });
}

export interface DetectStageSettings {
  force: boolean;
  backend: BackendName;
  workers: number;
  detect: DetectSettings;
}

/** Runs stage 1 inside a session (also used by `dfdc run`), on a pool of its own or the one given. */
export async function runDetectStage(session: Session, settings: DetectStageSettings, sharedPool?: WorkerPool): Promise<void> {
  const { paths, selection } = session;
  const { every, scale, thresholds, minFaceSize, batchSize } = settings.detect;
  const ffmpeg = await locateFfmpeg();
  await claimProvenance(
    paths.stateDir,
    'detect',
    { every, scale, thresholds, minFaceSize, batchSize },
    { version: packageVersion, backend: settings.backend, ffmpeg: describeFfmpeg(ffmpeg) },
    settings.force,
  );
  const pool = sharedPool ?? createPipelinePool(settings.backend, settings.workers);
  try {
    await session.runStage('detect', {
      units: selection.reals.map((video) => ({ id: video.id, subject: `${video.part.name}/${video.name}`, video })),
      force: settings.force,
      // At least two videos in flight keep every worker busy across video boundaries.
      concurrency: Math.max(2, pool.size),
      prepare: async ({ video }) => {
        await rm(paths.boxesFile(video.id), { force: true });
        await removeStaleTemporaries(paths.boxesFile(video.id));
      },
      work: async ({ video }) => {
        assertOnDisk(video.path);
        return detectVideo({ path: video.path, boxesFile: paths.boxesFile(video.id), settings: settings.detect, pool, signal: session.signal });
      },
    });
  } finally {
    if (!sharedPool) await pool.close();
  }
}
