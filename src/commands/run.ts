import { join } from 'node:path';
import { Command, Option } from 'commander';
import { z } from 'zod';
import { FRAME_STEP } from '../dataset/output-paths.js';
import { defaultWorkerCount } from '../run/worker-pool.js';
import { runCropsStage } from './crops.js';
import { createPipelinePool } from '../pipeline/pool.js';
import { detectOptionsSchema, detectorOptions, runDetectStage } from './detect.js';
import { runDiffsStage } from './diffs.js';
import { resolveFoldsOut, writeFolds } from './folds.js';
import { runLandmarksStage } from './landmarks.js';
import { openSession } from './session-options.js';
import { cropsDirOption, numberList, outputDirOption, rootDirOption, runOptions, workerOptions } from './shared-options.js';

/**
 * `dfdc run`: the five stages in order, on one worker pool. In this pipeline mode stage 1 detects
 * only the frames the later stages use (i % 10 == 0): crops, landmarks, diffs and folds come out
 * identical, and boxes files hold only those frames. `--all-frames` writes the reference's full
 * boxes files. A shard runs stages 1 to 4 on its share; folds then run once over the whole root.
 */
export const runOptionsSchemaFull = detectOptionsSchema.omit({ every: true, thresholds: true }).extend({
  allFrames: z.boolean().default(false),
  thresholds: numberList(3).default([0.85, 0.95, 0.95]),
  landmarkThresholds: numberList(3).default([0.65, 0.75, 0.75]),
  saturate: z.boolean().default(false),
  out: z.string().min(1, 'must not be empty').optional(),
  nSplits: z.coerce.number().int('must be a whole number').min(1, 'must be at least 1').default(16),
  totalParts: z.coerce.number().int('must be a whole number').min(1, 'must be at least 1').default(50),
  seed: z.coerce.number().int('must be a whole number').default(777),
});

export function runCommand(): Command {
  const command = new Command('run')
    .description('All five stages in order: detect, crops, landmarks, diffs, folds (detecting only every 10th frame unless --all-frames)')
    .addOption(rootDirOption())
    .addOption(outputDirOption())
    .addOption(cropsDirOption())
    .addOption(new Option('--out <file>', 'folds.csv to write, relative to the current directory (default: folds.csv in the output dir)'))
    .addOption(
      new Option('--all-frames', "detect every frame, as the reference does, for full boxes files (the other outputs are the same either way)").default(false),
    );
  for (const option of detectorOptions()) command.addOption(option);
  command
    .addOption(new Option('--landmark-thresholds <a,b,c>', 'MTCNN thresholds of stage 3').default('0.65,0.75,0.75'))
    .addOption(new Option('--saturate', 'diff masks clamp instead of wrapping like the reference (see dfdc diffs --help)').default(false))
    .addOption(new Option('--n-splits <n>', 'number of folds').default(16))
    .addOption(new Option('--total-parts <n>', 'number of parts P of the full data set (folds --parts)').default(50))
    .addOption(new Option('--seed <n>', 'seed of the folds.csv row shuffle').default(777));
  for (const option of [...workerOptions(), ...runOptions()]) command.addOption(option);
  return command.action(async (raw: unknown) => {
    const options = runOptionsSchemaFull.parse(raw);
    const session = await openSession(options);
    const outFile = resolveFoldsOut(options.out ?? join(session.paths.outputDir, 'folds.csv'));
    const workers = options.workers ?? defaultWorkerCount();
    const pool = createPipelinePool(options.backend, workers);
    try {
      const stages: Array<() => Promise<void>> = [
        () =>
          runDetectStage(
            session,
            {
              force: options.force,
              backend: options.backend,
              workers,
              detect: {
                every: options.allFrames ? 1 : FRAME_STEP,
                scale: options.scale,
                batchSize: options.batchSize,
                thresholds: options.thresholds as [number, number, number],
                minFaceSize: options.minFaceSize,
              },
            },
            pool,
          ),
        () => runCropsStage(session, options.force),
        () =>
          runLandmarksStage(
            session,
            {
              force: options.force,
              backend: options.backend,
              workers,
              thresholds: options.landmarkThresholds as [number, number, number],
              minFaceSize: 20,
              allCrops: false,
            },
            pool,
          ),
        () => runDiffsStage(session, { force: options.force, saturate: options.saturate, workers }, pool),
      ];
      for (const stage of stages) {
        if (session.interrupted) break;
        await stage();
      }
    } finally {
      await pool.close();
    }
    if (!session.interrupted) {
      if (session.options.selection.shard) {
        session.progress.message('folds: not written by a shard; after every shard has finished, run `dfdc folds` over the whole root (see README, Clusters)');
      } else {
        const { summary, ...folds } = await writeFolds(session.dataset, session.paths, outFile, { nSplits: options.nSplits, parts: options.totalParts, seed: options.seed });
        session.report.file.folds = folds;
        session.progress.message(summary);
      }
    }
    process.exitCode = await session.finish();
  });
}
