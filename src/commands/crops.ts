import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Command } from 'commander';
import { readBoxesFile } from '../dataset/boxes-file.js';
import { originalOf, type Video } from '../dataset/dataset.js';
import { FRAME_STEP } from '../dataset/output-paths.js';
import { cropVideo } from '../pipeline/crops.js';
import type { Session } from '../run/session.js';
import { assertOnDisk } from '../run/stage-runner.js';
import { claimProvenance } from '../run/state.js';
import { probeVideo } from '../video/probe.js';
import { describeFfmpeg, locateFfmpeg } from '../video/ffmpeg-binaries.js';
import { packageVersion } from '../util/package-root.js';
import { cropsDirOption, datasetOptionsSchema, outputDirOption, rootDirOption, runOptions, runOptionsSchema } from './shared-options.js';
import { openSession } from './session-options.js';

/**
 * `dfdc crops`: stage 2 (extract-crops). Every REAL and FAKE video whose original has a boxes file:
 * frames i % 10 == 0, each box of the original's boxes cut from the full frame with the reference's
 * geometry, written as 8-bit RGB PNG.
 */
export const cropsOptionsSchema = datasetOptionsSchema.extend(runOptionsSchema.shape);

export function cropsCommand(): Command {
  const command = new Command('crops')
    .description("Stage 2 (extract-crops): cut each face box (the original's boxes, for a FAKE) out of every 10th frame of every video, as PNG")
    .addOption(rootDirOption())
    .addOption(outputDirOption())
    .addOption(cropsDirOption());
  for (const option of runOptions()) command.addOption(option);
  return command.action(async (raw: unknown) => {
    const options = cropsOptionsSchema.parse(raw);
    const session = await openSession(options);
    await runCropsStage(session, options.force);
    process.exitCode = await session.finish();
  });
}

/** Runs stage 2 inside a session (also used by `dfdc run`). */
export async function runCropsStage(session: Session, force: boolean): Promise<void> {
  const { paths } = session;
  const ffmpeg = await locateFfmpeg();
  await claimProvenance(paths.stateDir, 'crops', { frameStep: FRAME_STEP }, { version: packageVersion, ffmpeg: describeFfmpeg(ffmpeg) }, force);
  const withBoxes = session.selection.videos.filter((video) => existsSync(paths.boxesFile(originalOf(video).id)));
  const withoutBoxes = session.selection.videos.length - withBoxes.length;
  if (withoutBoxes > 0) {
    session.progress.message(`crops: ${withoutBoxes} video(s) have no boxes file for their original yet (run dfdc detect first); left out`, 'warning');
  }
  const sizes = new Map<string, Promise<{ width: number; height: number } | undefined>>();
  const originalSize = (video: Video) => {
    const original = originalOf(video);
    let size = sizes.get(original.id);
    if (!size) {
      size = existsSync(original.path) ? probeVideo(original.path).then((p) => ({ width: p.width, height: p.height }), () => undefined) : Promise.resolve(undefined);
      sizes.set(original.id, size);
    }
    return size;
  };
  await session.runStage('crops', {
    units: withBoxes.map((video) => ({ id: video.id, subject: `${video.part.name}/${video.name}`, video })),
    force,
    concurrency: availableParallelism(),
    prepare: async ({ video }) => rm(paths.cropDir(video.id), { recursive: true, force: true }),
    work: async ({ video }) => {
      assertOnDisk(video.path);
      const boxes = await readBoxesFile(paths.boxesFile(originalOf(video).id));
      const expectedSize = video.label === 'FAKE' ? await originalSize(video) : undefined;
      return cropVideo({ id: video.id, path: video.path, boxes, paths, signal: session.signal, ...(expectedSize ? { expectedSize } : {}) });
    },
  });
}
