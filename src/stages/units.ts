import type { Video } from '../dataset/dataset.js';
import { UnitError, errnoCode } from '../util/errors.js';

/**
 * What the stages share about their units: how a video is named in messages, and the advice that
 * goes with a crop file that cannot be read.
 */

/** A video as messages name it: its path in DATA_ROOT, `dfdc_train_part_0/abc.mp4`. */
export function videoSubject(video: Video): string {
  return video.relativePath;
}

/**
 * A crop that cannot be read (truncated, not a PNG: left by another tool or a crash of an older
 * version) fails its unit with the crop named and the fix: without the file, `dfdc crops` finds the
 * video's crops incomplete and cuts them again.
 */
export function withCropAdvice(error: unknown, cropsDir: string): unknown {
  if (error instanceof UnitError && error.file !== undefined && error.file.startsWith(cropsDir)) {
    // Listed, then gone when read: another process put the video's crops anew in place meanwhile
    // (dfdc crops --force beside this run). Nothing is wrong with the crop; a rerun reads the new one.
    if (errnoCode(error.cause) === 'ENOENT') {
      return new UnitError(`${error.file}: gone while this unit read it (the video's crops cut anew meanwhile, by another process such as dfdc crops --force?): rerun when that is done`, { file: error.file, cause: error });
    }
    return new UnitError(error.message, { file: error.file, cause: error, remedy: { stage: 'crops', does: "cuts that video's crops again" } });
  }
  return error;
}
