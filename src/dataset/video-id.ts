import { boundedFileName } from '../util/file-names.js';

/**
 * Video ids: one per video, unique across the data set, stable from run to run, readable, and
 * usable as a file name. Every output is keyed by it (boxes/<id>.json, crops/<id>/, folds.csv's
 * `video` and `original` columns), and the winner's training code splits `<video>/<file>` on `/`,
 * so an id never holds one. Each layout says how it makes its ids (README, "Data sets"); this
 * module holds what they share. Pure.
 */

/** An id longer than this many bytes is shortened and ends in 8 hex digits of a hash of the whole. */
export const MAX_ID_BYTES = 200;

/** `raw` made safe: `/` and `\` become `_`, and a long one is shortened (util/file-names.ts). */
export function videoId(raw: string): string {
  return boundedFileName(raw.replace(/[/\\]/g, '_'), MAX_ID_BYTES);
}

/** A path relative to DATA_ROOT without its extension, as an id: `real/a.mp4` -> `real_a`. */
export function idOfPath(relativePath: string): string {
  return videoId(relativePath.replace(/\.[^./]*$/, ''));
}

/**
 * Why a relative path cannot name a video, or null: it must stay inside DATA_ROOT, and since paths
 * and ids are printed in one-line messages and written into CSV files, hold no control character.
 */
export function relativePathProblem(path: string): string | null {
  if (path === '') return 'is empty';
  if (/[\u0000-\u001f\u007f]/.test(path)) return 'must not contain control characters (line breaks, tabs): rename the file';
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path) || path.split(/[/\\]/).some((piece) => piece === '..')) {
    return 'must be a path inside DATA_ROOT (relative, without ..)';
  }
  if (!/\.[^./\\]+$/.test(path)) return 'must be a video file with an extension, such as .mp4';
  return null;
}
