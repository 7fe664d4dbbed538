import { csvField } from '../util/csv.js';
import { FatalError, UsageError } from '../util/errors.js';
import type { Dataset, Pair, Video } from './dataset.js';
import { FRAME_ACTOR_GRID, cropFileName } from './output-paths.js';
import type { Part } from './parts.js';
import { shuffleInPlace } from './seeded-shuffle.js';
import { fnv1a32 } from './selection.js';

/**
 * Stage 5, generate-folds, as pure functions: the fold of each part, the rows of folds.csv from the
 * crops that exist, the leak check, the seeded shuffle and the CSV text. src/commands/folds.ts does the
 * reading and writing.
 *
 * DFDC's folds come from part numbers: size = floor(P / n); fold k holds parts k*size ..
 * k*size+size-1, the last fold (n-1) also takes the rest up to P-1. With the reference's P = 50
 * and n = 16: size 3, fold 15 holds parts 45..49. Videos of other layouts, and of DFDC folders
 * without a number, get the fold of their group (foldOfGroup).
 */

export interface FoldSettings {
  /** n, the number of folds (>= 1, <= partCount). */
  readonly nSplits: number;
  /** P, the number of parts of the full data set (50 in the reference, where it is hard-coded). */
  readonly partCount: number;
}

/** The fold of part number `part` (0 <= part < partCount). */
export function foldOfPartNumber(part: number, settings: FoldSettings): number {
  const size = Math.floor(settings.partCount / settings.nSplits);
  return Math.min(Math.floor(part / size), settings.nSplits - 1);
}

/**
 * The fold of every DFDC part that has a number, by part name. A number outside 0..partCount-1 is a
 * FatalError (exit 3) naming the folder and the fix; the reference crashes there. A part without a
 * number (Kaggle's train_sample_videos) is left out here: its videos get group folds.
 */
export function foldsOfParts(parts: readonly Part[], settings: FoldSettings): Map<string, number> {
  if (settings.nSplits > settings.partCount && parts.some((part) => part.number !== null)) {
    throw new UsageError(
      `--n-splits: must be at most the number of parts (${settings.nSplits} > ${settings.partCount}; the number of parts is --parts in dfdc folds, --total-parts in dfdc run)`,
    );
  }
  const last = settings.partCount - 1;
  const errors: string[] = [];
  const folds = new Map<string, number>();
  for (const part of parts) {
    if (part.number === null) continue;
    if (part.number > last) {
      errors.push(
        `part folder ${part.name} has number ${part.number}, outside 0..${last} (${settings.partCount} parts): give ${part.number + 1} or more parts (--parts in dfdc folds, --total-parts in dfdc run), or rename the folder`,
      );
    } else {
      folds.set(part.name, foldOfPartNumber(part.number, settings));
    }
  }
  if (errors.length > 0) {
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more such part folder${errors.length > 2 ? 's' : ''})` : '';
    throw new FatalError(`${errors[0]}${more}`);
  }
  return folds;
}

/**
 * The fold of a group where there are no part numbers: FNV-1a (32-bit, of the group id's UTF-16
 * code units: src/dataset/selection.ts) modulo the number of folds. The same group id always
 * lands in the same fold, whatever else the data set holds.
 */
export function foldOfGroup(group: string, nSplits: number): number {
  return fnv1a32(group) % nSplits;
}

/** One row of folds.csv. */
export interface FoldRow {
  /** The video whose crop this is. */
  readonly video: string;
  /** `<frame>_<actor>.png` in crops/<video>/. */
  readonly file: string;
  /** 0 for a REAL crop, 1 for a FAKE crop. */
  readonly label: 0 | 1;
  /** The REAL original's id (the video itself for label 0). */
  readonly original: string;
  readonly frame: number;
  readonly fold: number;
}

export const FOLDS_CSV_HEADER = 'video,file,label,original,frame,fold';

/**
 * Stops with a FatalError (exit 3) naming the first (original, fake) pair whose two videos fall in
 * different folds: a model would be validated on a face it was trained on.
 */
export function checkNoLeak(pairs: readonly Pair[], foldOf: (video: Video) => number): void {
  for (const { original, fakes } of pairs) {
    for (const fake of fakes) {
      const fakeFold = foldOf(fake);
      const originalFold = foldOf(original);
      if (fakeFold !== originalFold) {
        throw new FatalError(
          `leak between folds: fake ${fake.id} (${fake.part.name}, fold ${fakeFold}) and its original ${original.id} (${original.part.name}, fold ${originalFold}) are in different folds; keep each fake in its original's part, or choose --n-splits, or the number of parts (--parts in dfdc folds, --total-parts in dfdc run), so that both parts share a fold`,
        );
      }
    }
  }
}

/**
 * The rows of folds.csv without one object per row (the full DFDC set has about 4 million): each
 * row is the number `video * GRID_CELLS + cell`, where `video` indexes `videos` and `cell` indexes
 * FRAME_ACTOR_GRID. Rows are made in the reference's order before the shuffle: for each pair, the
 * original's existing grid crops (label 0), then for each pair and fake, the fake's (label 1);
 * within a video, frame then actor.
 */
export interface FoldTable {
  /** Every video of a pair, originals first, then fakes, in pair order (with or without rows). */
  readonly videos: readonly FoldVideo[];
  readonly rows: Uint32Array;
}

export interface FoldVideo {
  readonly id: string;
  readonly label: 0 | 1;
  /** The REAL original's id (the video itself for label 0). */
  readonly original: string;
  readonly fold: number;
}

const GRID_CELLS = FRAME_ACTOR_GRID.length;

/** The grid cells present in a crops folder's listing, as indices of FRAME_ACTOR_GRID in grid order. */
export function gridCellIndices(files: ReadonlySet<string>): Uint8Array {
  const cells: number[] = [];
  FRAME_ACTOR_GRID.forEach((cell, index) => {
    if (files.has(cropFileName(cell.frame, cell.actor))) cells.push(index);
  });
  return Uint8Array.from(cells);
}

/** The unshuffled rows. `cellsOf(id)` is gridCellIndices of crops/<id>/. */
export function foldTable(pairs: readonly Pair[], cellsOf: (id: string) => ArrayLike<number>, foldOf: (video: Video) => number): FoldTable {
  const videos: FoldVideo[] = [
    ...pairs.map(({ original }) => ({ id: original.id, label: 0 as const, original: original.id, fold: foldOf(original) })),
    ...pairs.flatMap(({ original, fakes }) => fakes.map((fake) => ({ id: fake.id, label: 1 as const, original: original.id, fold: foldOf(fake) }))),
  ];
  const cells = videos.map((video) => cellsOf(video.id));
  const rows = new Uint32Array(cells.reduce((sum, list) => sum + list.length, 0));
  let next = 0;
  cells.forEach((list, video) => {
    for (let k = 0; k < list.length; k += 1) rows[next++] = video * GRID_CELLS + list[k]!;
  });
  return { videos, rows };
}

/** One row as an object (for tests and messages). */
export function foldRowAt(table: FoldTable, row: number): FoldRow {
  const video = table.videos[Math.floor(row / GRID_CELLS)]!;
  const { frame, actor } = FRAME_ACTOR_GRID[row % GRID_CELLS]!;
  return { video: video.id, file: cropFileName(frame, actor), label: video.label, original: video.original, frame, fold: video.fold };
}

/** folds.csv's text in chunks of about `chunkChars`: the header, then one line per row, `\n` line ends (as pandas writes it). */
export function* foldsCsvChunks(table: FoldTable, chunkChars = 1 << 20): Generator<string> {
  // Each line is five pieces, four of them made once per video or per cell.
  const heads = table.videos.map((video) => `${csvField(video.id)},`);
  const middles = table.videos.map((video) => `,${video.label},${csvField(video.original)}`);
  const tails = table.videos.map((video) => `,${video.fold}\n`);
  const files = FRAME_ACTOR_GRID.map(({ frame, actor }) => cropFileName(frame, actor));
  const frames = FRAME_ACTOR_GRID.map(({ frame }) => `,${frame}`);
  let chunk = `${FOLDS_CSV_HEADER}\n`;
  for (const row of table.rows) {
    const video = Math.floor(row / GRID_CELLS);
    const cell = row % GRID_CELLS;
    chunk += heads[video]! + files[cell]! + middles[video]! + frames[cell]! + tails[video]!;
    if (chunk.length >= chunkChars) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk !== '') yield chunk;
}

/** folds.csv's whole text (for small tables). */
export function foldsCsv(table: FoldTable): string {
  return [...foldsCsvChunks(table)].join('');
}

/** How videos are grouped into folds: with their original (and FaceForensics++ pair), or by identity too. */
export type Grouping = 'default' | 'identity';

export interface FoldAssignment {
  readonly foldOf: (video: Video) => number;
  /** Warnings for the user: groups too few or too uneven to fill the folds, a grouping that does not apply. */
  readonly notes: readonly string[];
}

/**
 * The fold of every video: DFDC parts with a number by that number (as the reference); every other
 * video by its group (foldOfGroup). Then the check that no fake is in another fold than its
 * original (checkNoLeak, a FatalError, exit 3). The balance notes count the videos folds.csv has
 * rows for: those of a FAKE/original pair, less `tested`, the ids that go to the test file instead
 * (an official test split).
 */
export function assignFolds(dataset: Dataset, settings: FoldSettings, grouping: Grouping = 'default', tested: ReadonlySet<string> = new Set()): FoldAssignment {
  const notes: string[] = [];
  const foldByPart = dataset.layout === 'dfdc' ? foldsOfParts(dataset.parts, settings) : new Map<string, number>();
  let useIdentity = grouping === 'identity';
  if (useIdentity && dataset.layout === 'dfdc') {
    notes.push('--group identity: DFDC names no identities, so folds stay by part');
    useIdentity = false;
  }
  const groupOf = (video: Video) => (useIdentity ? video.identityGroup : video.group);
  const foldOf = (video: Video): number => foldByPart.get(video.part.name) ?? foldOfGroup(groupOf(video), settings.nSplits);
  checkNoLeak(dataset.pairs, foldOf);
  // The videos that get rows: a FAKE and its original (a REAL without a FAKE has none), and not in the test file.
  const withRows = dataset.pairs.flatMap((pair) => [pair.original, ...pair.fakes]);
  const grouped = withRows.filter((video) => !foldByPart.has(video.part.name) && !tested.has(video.id));
  if (grouped.length > 0) notes.push(...balanceNotes(grouped, groupOf, foldOf, settings.nSplits));
  return { foldOf, notes };
}

/** Says when the groups are too few to give every fold a video, or the biggest fold is more than twice the average. */
function balanceNotes(videos: readonly Video[], groupOf: (video: Video) => string, foldOf: (video: Video) => number, nSplits: number): string[] {
  const groups = new Set(videos.map(groupOf));
  const perFold = new Array<number>(nSplits).fill(0);
  for (const video of videos) perFold[foldOf(video)]! += 1;
  const empty = perFold.flatMap((count, fold) => (count === 0 ? [fold] : []));
  const notes: string[] = [];
  if (empty.length > 0) {
    notes.push(`${groups.size} fold group(s) for ${nSplits} folds: fold(s) ${empty.join(', ')} have no video; lower --n-splits, or use more videos`);
  }
  const largest = Math.max(...perFold);
  const mean = videos.length / nSplits;
  if (empty.length === 0 && largest > 2 * mean && videos.length >= 2 * nSplits) {
    notes.push(`folds are uneven: the largest holds ${largest} videos, ${(largest / mean).toFixed(1)} times the average (${mean.toFixed(1)}): the groups are few or of very different sizes`);
  }
  return notes;
}

export interface FoldsResult {
  /** The rows in their final, shuffled order. */
  readonly table: FoldTable;
  /** How many distinct videos have rows. */
  readonly videoCount: number;
  /** The folds that have rows, ascending. */
  readonly foldsUsed: number[];
}

/** The rows of folds.csv (foldTable) shuffled in place with the seeded Fisher-Yates, and what a summary needs. */
export function buildFolds(pairs: readonly Pair[], cellsOf: (id: string) => ArrayLike<number>, foldOf: (video: Video) => number, seed: number): FoldsResult {
  const table = foldTable(pairs, cellsOf, foldOf);
  shuffleInPlace(table.rows, seed);
  const withRows = new Set<number>();
  for (const row of table.rows) withRows.add(Math.floor(row / GRID_CELLS));
  return {
    table,
    videoCount: withRows.size,
    foldsUsed: [...new Set([...withRows].map((video) => table.videos[video]!.fold))].sort((a, b) => a - b),
  };
}
