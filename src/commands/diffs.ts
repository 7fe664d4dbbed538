import { rm } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { z } from 'zod';
import { listCropFolders } from '../dataset/crop-files.js';
import type { WorkerTask } from '../pipeline/worker.js';
import type { Session } from '../run/session.js';
import type { UnitOutcome } from '../run/stage-runner.js';
import { claimProvenance } from '../run/state.js';
import { defaultWorkerCount, type WorkerPool } from '../run/worker-pool.js';
import { createPipelinePool } from '../pipeline/pool.js';
import { packageVersion } from '../util/package-root.js';
import { openSession } from './session-options.js';
import { cropsDirOption, datasetOptionsSchema, outputDirOption, rootDirOption, runOptions, runOptionsSchema } from './shared-options.js';

/**
 * `dfdc diffs`: stage 4 (generate-diffs). For every FAKE and its original, frames 0..310 step 10 and
 * actors 0 and 1, the SSIM diff mask of the two crops when both exist with the same size.
 */
export const diffsOptionsSchema = datasetOptionsSchema.extend(runOptionsSchema.shape).extend({
  saturate: z.boolean().default(false),
  workers: z.coerce.number().int('must be a whole number').min(1, 'must be at least 1').optional(),
});

export function diffsCommand(): Command {
  const command = new Command('diffs')
    .description('Stage 4 (generate-diffs): an SSIM difference mask for each FAKE crop against its original crop, as 8-bit gray PNG')
    .addOption(rootDirOption())
    .addOption(outputDirOption())
    .addOption(cropsDirOption())
    .addOption(
      new Option(
        '--saturate',
        "clamp (1 - SSIM) * 255 to 0..255 instead of wrapping it like the reference (which turns SSIM < 0 into black holes; the winner's models were trained on the wrapped masks)",
      ).default(false),
    )
    .addOption(new Option('--workers <n>', 'worker threads (default: the number of cores)'));
  for (const option of runOptions()) command.addOption(option);
  return command.action(async (raw: unknown) => {
    const options = diffsOptionsSchema.parse(raw);
    const session = await openSession(options);
    await runDiffsStage(session, { force: options.force, saturate: options.saturate, workers: options.workers ?? defaultWorkerCount() });
    process.exitCode = await session.finish();
  });
}

export interface DiffsSettings {
  force: boolean;
  saturate: boolean;
  workers: number;
}

/** Runs stage 4 inside a session (also used by `dfdc run`), on a pool of its own or the one given. */
export async function runDiffsStage(session: Session, settings: DiffsSettings, sharedPool?: WorkerPool): Promise<void> {
  const { paths, selection } = session;
  await claimProvenance(paths.stateDir, 'diffs', { saturate: settings.saturate }, { version: packageVersion }, settings.force);
  const listed = await listCropFolders(paths, selection.pairs.flatMap(({ original, fakes }) => [original.id, ...fakes.map((fake) => fake.id)]));
  const units = selection.pairs.flatMap(({ original, fakes }) =>
    fakes.map((fake) => ({ id: fake.id, subject: `${fake.part.name}/${fake.name}`, fake, original })),
  );
  const pool = sharedPool ?? createPipelinePool('wasm', settings.workers);
  try {
    await session.runStage('diffs', {
      units,
      force: settings.force,
      concurrency: pool.size * 2,
      prepare: async ({ fake }) => rm(paths.diffDir(fake.id), { recursive: true, force: true }),
      work: async ({ fake, original }) => {
        const task: WorkerTask = {
          kind: 'diffs',
          task: {
            fakeId: fake.id,
            originalId: original.id,
            originalFiles: [...(listed.get(original.id) ?? [])],
            fakeFiles: [...(listed.get(fake.id) ?? [])],
            saturate: settings.saturate,
            dirs: session.options.dirs,
          },
        };
        return pool.run<UnitOutcome>(task);
      },
    });
  } finally {
    if (!sharedPool) await pool.close();
  }
}
