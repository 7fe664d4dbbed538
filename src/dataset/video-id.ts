import { createHash } from 'node:crypto';
import { posix } from 'node:path';

/**
 * Video ids: one per video, unique across the data set, stable from run to run, readable, and
 * usable as a file name. Every output is keyed by it (boxes/<id>.json, crops/<id>/, folds.csv's
 * `video` and `original` columns), and the winner's training code splits `<video>/<file>` on `/`,
 * so an id never holds one. Each layout says how it makes its ids (README, "Data sets"); this
 * module holds what they share. Pure.
 */

/** An id longer than this many bytes is shortened and ends in 8 hex digits of a hash of the whole. */
export const MAX_ID_BYTES = 200;

/**
 * `raw` made safe: `/` and `\` become `_`; one longer than MAX_ID_BYTES keeps its end (the file
 * name, which tells videos apart better than the folders) and ends in `-` and 8 hex digits of the
 * SHA-256 of the whole, so distinct ids stay distinct.
 */
export function videoId(raw: string): string {
  const id = raw.replace(/[/\\]/g, '_');
  if (Buffer.byteLength(id) <= MAX_ID_BYTES) return id;
  const hash = createHash('sha256').update(id).digest('hex').slice(0, 8);
  const bytes = Buffer.from(id);
  const tail = bytes
    .subarray(bytes.length - (MAX_ID_BYTES - hash.length - 1))
    .toString('utf8')
    .replace(/^\uFFFD+/, '')
    .replace(/^[._-]+/, '');
  return `${tail}-${hash}`;
}

/** A path relative to DATA_ROOT without its extension, as an id: `real/a.mp4` -> `real_a`. */
export function idOfPath(relativePath: string): string {
  return videoId(relativePath.replace(/\.[^./]*$/, ''));
}

/**
 * Why an id cannot name output files, or null: empty, `.` or `..` (crops/<id> would be the crops
 * folder itself or its parent), hidden (a leading `.`), or holding a control character.
 */
export function idProblem(id: string): string | null {
  if (id === '' || id.startsWith('.')) return `gives the id ${JSON.stringify(id)}, which cannot name its output files (empty, or starting with "."): rename the file`;
  if (/[\u0000-\u001f\u007f]/.test(id)) return 'must not contain control characters (line breaks, tabs): rename the file';
  return null;
}

/** A listed path in one spelling: `\` as `/`, no `./` or `//`. */
export function normalizedPath(path: string): string {
  const slashed = path.replace(/\\/g, '/');
  return slashed === '' ? '' : posix.normalize(slashed).replace(/^\.\//, '');
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
  if (!/[^/\\.][^/\\]*\.[^./\\]+$/.test(path)) return 'must be a video file with a name and an extension, such as a.mp4';
  return null;
}
