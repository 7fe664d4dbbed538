import { existsSync, statSync } from 'node:fs';
import { open, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import type { Dataset } from '../dataset/dataset.js';
import { listGridCells } from '../dataset/crop-files.js';
import { assignFolds, buildFolds, foldsCsvChunks, type FoldTable } from '../dataset/folds.js';
import type { OutputPaths } from '../dataset/output-paths.js';
import type { Video } from '../dataset/dataset.js';
import { outputState } from '../run/completion.js';
import { StageRecorder } from '../run/report.js';
import type { RunContext, WholeStage } from '../run/stage.js';
import { forEachConcurrent } from '../util/concurrency.js';
import { videoSubject } from './units.js';
import { removeTemporariesOf, writeAtomicWith } from '../util/atomic-write.js';
import { FatalError, UsageError, messageOf } from '../util/errors.js';
import { integer, option } from '../util/options.js';

/**
 * Stage 5, generate-folds (`dfdc folds`): folds.csv (video,file,label,original,frame,fold) from the
 * metadata and the crops that exist, folds by part number, a leak between folds refused, rows
 * shuffled with a seeded generator so that the same seed gives the same file byte for byte. It
 * needs every crop, so it is always redone, and a shard never runs it.
 */
export const foldsSettings = z
  .object({
    out: option(z.string().min(1, 'must not be empty').optional(), {
      help: 'the CSV to write, relative to the current directory',
      value: 'file',
      defaultText: 'folds.csv in the output dir',
    }),
    nSplits: option(integer(1).default(16), { help: 'number of folds', value: 'n' }),
    // Not a list of parts as in the other stages (`--parts 0,3`): folds always read every part.
    parts: option(integer(1, 'must be the number of parts P of the full data set, such as 50 (folds always read every part)').default(50), {
      help: 'number of parts P of the full data set; part numbers must be 0..P-1',
      value: 'n',
      runFlag: '--total-parts',
    }),
    seed: option(integer().default(777), { help: 'seed of the row shuffle (same seed, same file)', value: 'n' }),
    group: option(z.enum(['default', 'identity']).default('default'), {
      help: 'fold groups: default keeps each FAKE with its original (and a FaceForensics++ pair together); identity also keeps every video of one person together',
      value: 'how',
      choices: ['default', 'identity'],
    }),
  });

export type FoldsSettings = z.output<typeof foldsSettings>;

export const foldsStage: WholeStage<typeof foldsSettings> = {
  kind: 'whole',
  name: 'folds',
  description: 'Stage 5 (generate-folds): write folds.csv (video,file,label,original,frame,fold) from metadata.json and the existing crops',
  settings: foldsSettings,
  readsCrops: true,
  check: (settings, run) => {
    assignFolds(run.dataset, { nSplits: settings.nSplits, partCount: settings.parts }, settings.group, testVideos(run.dataset).tested);
  },
  run: async (settings, run) => {
    const outFile = resolveFoldsOut(settings.out ?? join(run.paths.outputDir, 'folds.csv'));
    const known = await incompleteCrops(run);
    const incomplete = known ?? [];
    const crops = { leftOut: new Set(incomplete.map((video) => video.id)), complete: known?.length === 0, ranBefore: run.ranBefore.has('crops') };
    const { summary, notes, written, ...folds } = await writeFolds(run.dataset, run.paths, outFile, settings, crops);
    if (written) run.report.folds = folds;
    for (const note of notes) run.message(`folds: ${note}`, 'warning');
    // Counted as units that wait for crops: the exit code is 1, and the report says which.
    const recorder = new StageRecorder('folds');
    for (const video of incomplete) recorder.waiting(videoSubject(video), 'its crops are not complete: their rows are left out');
    if (!written && incomplete.length === 0) for (const video of pairVideos(run.dataset)) recorder.waiting(videoSubject(video), 'no grid crops of it were found');
    if (recorder.report.waiting > 0) run.report.stages.folds = recorder.report;
    if (incomplete.length > 0) {
      run.message(
        `folds: ${incomplete.length} video(s) have crops that are not complete (not made yet, failed, or out of date; first: ${videoSubject(incomplete[0]!)}): their rows are left out; run dfdc crops (on a cluster: let every shard finish), then dfdc folds again`,
        'warning',
      );
    }
    return summary;
    return summary;
  },
};

/**
 * The videos of pairs whose crops folder is not as dfdc crops left it complete: absent when no
 * record says that nothing was to be cut (a video without faces), or out of date (its video or
 * boxes changed since). Crops made by another tool (no record) are taken as they are: undefined
 * when dfdc crops never ran in this output folder.
 */
async function incompleteCrops(run: RunContext): Promise<Video[] | undefined> {
  const videos = pairVideos(run.dataset);
  // Crops from another tool (dfdc crops never ran here) are taken as they are, absent ones too.
  const cropsRan = await stat(join(run.paths.stateDir, 'units', 'crops')).then(
    () => true,
    () => false,
  );
  if (!cropsRan) return undefined;
  const incomplete = new Set<Video>();
  await forEachConcurrent(videos, 64, async (video) => {
    const folder = run.paths.cropDir(video.id);
    const state = await outputState(run.paths.stateDir, 'crops', video.id, folder, run.dirs, run.files);
    const present = await stat(folder).then(
      () => true,
      () => false,
    );
    if (present ? state === 'stale' : state !== 'valid') incomplete.add(video);
  });
  return videos.filter((video) => incomplete.has(video));
}

/** Every FAKE with an original, and the originals, in the data set's order. */
function pairVideos(dataset: Dataset): Video[] {
  return dataset.pairs.flatMap(({ original, fakes }) => [original, ...fakes]);
}

/** `--out` resolved against the current directory; a folder is a usage error. */
export function resolveFoldsOut(out: string): string {
  const outFile = resolve(out);
  if (existsSync(outFile) && statSync(outFile).isDirectory()) throw new UsageError(`--out ${out} is a folder: give a file name such as folds.csv`);
  return outFile;
}

/** What is known of the crops folds reads. */
export interface CropsKnown {
  /** Videos whose crops dfdc knows to be incomplete or out of date: their rows are left out. */
  leftOut?: ReadonlySet<string>;
  /** dfdc crops recorded the crops of every FAKE and original complete. */
  complete?: boolean;
  /** This run (`dfdc run`) ran the crops stage before: an empty result points at its lines. */
  ranBefore?: boolean;
}

export interface FoldsWritten {
  file: string;
  rows: number;
  videos: number;
  folds: number[];
  /** The rows of videos of an official test split, when the data set has one. */
  test?: { file: string; rows: number; videos: number };
  /** False when there was nothing to train on and no file was written (the stage waits: exit 1). */
  written: boolean;
  /** Warnings about the folds (groups too few or uneven). */
  notes: string[];
  /** One line for the user. */
  summary: string;
}

/**
 * Stage 5 over a whole data set: folds (by part or by group), the leak check, the seeded shuffle,
 * the CSV written atomically; videos of an official test split go to `<name>-test.csv` beside it
 * instead (the winner's training code trains on every fold but one, so a test fold would be
 * trained on). Returns what it wrote and a one-line summary.
 */
export async function writeFolds(
  dataset: Dataset,
  paths: OutputPaths,
  outFile: string,
  settings: FoldsSettings,
  crops: CropsKnown = {},
): Promise<FoldsWritten> {
  const leftOut = crops.leftOut ?? new Set<string>();
  const { tested, pulledIn } = testVideos(dataset);
  const { foldOf, notes: foldNotes } = assignFolds(dataset, { nSplits: settings.nSplits, partCount: settings.parts }, settings.group, tested);
  const notes = [...foldNotes];
  const ids = dataset.pairs.flatMap(({ original, fakes }) => [original.id, ...fakes.map((fake) => fake.id)]).filter((id) => !leftOut.has(id));
  const listed = await listGridCells(paths, ids);
  const none = new Uint8Array(0);
  if (pulledIn > 0) notes.push(`${pulledIn} video(s) outside the test split share a fold group with test videos: they go to the test file too, so that no face is both trained and tested on`);
  const { table, videoCount, foldsUsed } = buildFolds(dataset.pairs, (id) => (tested.has(id) ? none : (listed.get(id) ?? none)), foldOf, settings.seed);
  const rows = table.rows.length;
  const testFile = testFileBeside(outFile);
  const trainable = dataset.pairs.some((pair) => !tested.has(pair.original.id));
  if (rows === 0 && trainable && !crops.complete) {
    // There are pairs to train on but no crop of any: crops not made yet, all failed, or a typo in
    // --crops-dir. A folds.csv without rows would replace a good one (made before, or by another
    // node) and let a job script go on to train on nothing, so nothing is written and the stage
    // waits (exit 1); a test file would be as incomplete and stays as it is too.
    const why = crops.ranBefore
      ? 'dfdc crops made no crops of the FAKEs or their originals in this run: see its lines above'
      : leftOut.size > 0 && dataset.pairs.every((pair) => tested.has(pair.original.id) || [pair.original, ...pair.fakes].every((video) => leftOut.has(video.id)))
        ? 'no FAKE or original of a pair has complete crops: see the line above'
        : `no grid crops found under ${paths.cropsDir}: run dfdc crops first, or check --crops-dir`;
    const kept = await stat(outFile).then(
      () => `${outFile} is left as it was`,
      () => `${outFile} was not written`,
    );
    return { file: outFile, rows: 0, videos: 0, folds: [], written: false, notes, summary: `folds: no rows to write (${why}): ${kept}` };
  }
  await writeTable(outFile, table);
  let test: FoldsWritten['test'];
  if (tested.size > 0) {
    // The test file also has the REAL videos without a FAKE (Celeb-DF's YouTube-real): they are tested on too.
    const withFakes = new Set(dataset.pairs.map((pair) => pair.original));
    const testPairs = [...dataset.pairs, ...dataset.reals.filter((real) => tested.has(real.id) && !withFakes.has(real)).map((original) => ({ original, fakes: [] }))];
    const soloIds = testPairs.slice(dataset.pairs.length).map((pair) => pair.original.id).filter((id) => !leftOut.has(id));
    for (const [id, cells] of await listGridCells(paths, soloIds)) listed.set(id, cells);
    const testRows = buildFolds(testPairs, (id) => (tested.has(id) ? (listed.get(id) ?? none) : none), () => TEST_FOLD, settings.seed);
    await writeTable(testFile, testRows.table);
    test = { file: testFile, rows: testRows.table.rows.length, videos: testRows.videoCount };
  } else if (await stat(testFile).then(() => true, () => false)) {
    // Left by a run when the data set had a test split: it would overlap this folds.csv.
    await rm(testFile, { force: true });
    notes.push(`removed ${testFile}: the data set has no test split now`);
  }
  const why =
    rows > 0
      ? ''
      : dataset.pairs.length === 0
        ? ' (no FAKE with a REAL original in the data set)'
        : trainable
          ? // dfdc crops recorded every pair video complete without a crop: the whole result.
            ' (dfdc crops found no face to cut in the frames of any FAKE or its original)'
          : ' (every FAKE and its original are in the test split)';
  const testSummary = test ? `; ${test.rows} rows of ${test.videos} test videos to ${test.file}` : '';
  return {
    file: outFile,
    rows,
    videos: videoCount,
    folds: foldsUsed,
    ...(test ? { test } : {}),
    written: true,
    notes: [...notes],
    summary: `folds: wrote ${rows} rows for ${videoCount} videos in ${foldsUsed.length} of ${settings.nSplits} folds (${foldsUsed.join(', ') || 'none'}) to ${outFile}${why}${testSummary}`,
  };
}

/**
 * The videos whose rows go to the test file: those of the official test split, and every video
 * of a fold group that holds one (a FAKE tested on while its original is trained on would leak).
 */
function testVideos(dataset: Dataset): { tested: Set<string>; pulledIn: number } {
  const groups = new Set(dataset.videos.filter((video) => video.split === 'test').map((video) => video.group));
  const tested = new Set(dataset.videos.filter((video) => groups.has(video.group)).map((video) => video.id));
  return { tested, pulledIn: dataset.videos.filter((video) => tested.has(video.id) && video.split !== 'test').length };
}

/** The fold written for the videos of a test split, which are in no training fold. */
export const TEST_FOLD = -1;

/** `folds.csv` -> `folds-test.csv`, in the same folder. */
export function testFileBeside(outFile: string): string {
  return outFile.replace(/(\.csv)?$/i, (extension) => `-test${extension || ''}`);
}

async function writeTable(file: string, table: FoldTable): Promise<void> {
  try {
    await removeTemporariesOf(file);
    // Written in chunks: the whole text of DFDC's folds.csv is about 200 MB.
    await writeAtomicWith(file, async (temporary) => {
      const handle = await open(temporary, 'w');
      try {
        for (const chunk of foldsCsvChunks(table)) await handle.write(chunk);
      } finally {
        await handle.close();
      }
    });
  } catch (error) {
    if (error instanceof FatalError) throw error;
    throw new FatalError(`cannot write ${file}: ${messageOf(error)}`, { cause: error });
  }
}
