import { createHash } from 'node:crypto';
import { originalOf, type Dataset, type RealVideo } from '../dataset/dataset.js';
import { videoIdOf } from '../dataset/metadata.js';
import type { GridCell } from '../dataset/output-paths.js';

/**
 * Which videos and which grid cells the HTML report shows (pure). The sample must be the same on
 * every run and spread over the whole data set rather than the first part: videos are taken in the
 * order of a hash of their id. A strip shows a few frames spread over the clip, every actor of each.
 * `--videos` names them instead.
 */

/** Cells shown per video, to keep the page light (a 1080p crop is about 100 KB). */
export const CELLS_PER_VIDEO = 8;

/** The sort key of a video id in the sample order: its SHA-256 in hex (stable across runs and platforms). */
export function sampleKey(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('hex');
}

/** The first `limit` ids in the sample order (hash of the id, then the id for the astronomically rare tie). */
export function sampleIds(ids: Iterable<string>, limit: number): string[] {
  return [...new Set(ids)]
    .map((id) => ({ id, key: sampleKey(id) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .slice(0, limit)
    .map(({ id }) => id);
}

/**
 * At most `cap` of the `present` cells (in grid order), as whole frames spread evenly from the first
 * to the last frame present: with two actors a frame, cap / 2 frames with both actors each.
 */
export function stripCells(present: readonly GridCell[], cap: number = CELLS_PER_VIDEO): GridCell[] {
  if (present.length <= cap) return [...present];
  const frames = [...new Set(present.map((cell) => cell.frame))];
  const actorsPerFrame = Math.max(...frames.map((frame) => present.filter((cell) => cell.frame === frame).length));
  const take = Math.max(1, Math.floor(cap / actorsPerFrame));
  const chosen = new Set(
    frames.length <= take ? frames : Array.from({ length: take }, (_, i) => frames[take === 1 ? 0 : Math.round((i * (frames.length - 1)) / (take - 1))]!),
  );
  return present.filter((cell) => chosen.has(cell.frame)).slice(0, cap);
}

/**
 * The REALs that `--videos` names, in the order given, each once: a REAL by its id, a FAKE by its
 * original (whose section shows it). Names may carry `.mp4`. Names in no metadata.json are `unknown`.
 */
export function namedOriginals(dataset: Dataset, names: readonly string[]): { originals: RealVideo[]; unknown: string[] } {
  const byId = new Map(dataset.videos.map((video) => [video.id, video]));
  const originals = new Set<RealVideo>();
  const unknown: string[] = [];
  for (const name of names) {
    const video = byId.get(videoIdOf(name));
    if (video) originals.add(originalOf(video));
    else unknown.push(name);
  }
  return { originals: [...originals], unknown };
}
