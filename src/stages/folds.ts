import { existsSync, statSync } from 'node:fs';
import { type FileHandle, open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Dataset } from '../dataset/dataset.js';
import { listGridCells } from '../dataset/crop-files.js';
import { assignFolds, buildFolds, FOLDS_CSV_HEADER, foldsCsvChunks, type FoldTable } from '../dataset/folds.js';
import type { OutputPaths } from '../dataset/output-paths.js';
import type { RealVideo, Video } from '../dataset/dataset.js';
import { inputFileState, type FileAccess } from '../util/file-system.js';
import { outputState } from '../run/completion.js';
import { StageRecorder } from '../run/report.js';
import type { RunContext, WholeStage } from '../run/stage.js';
import { forEachConcurrent } from '../util/concurrency.js';
import { videoSubject } from './units.js';
import { checkUserFile, isSpecialTarget, sharesStandardOutput, type UserFileOptions, writeUserFile } from '../util/user-file.js';
import { UsageError } from '../util/errors.js';
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
      help: 'the folds CSV to write, relative to the current directory (test videos, if any, go to <name>-test.csv beside it)',
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
  precheck: (settings, options) => {
    if (settings.out === undefined) return;
    resolveFoldsOut(settings.out);
    if (options.json && sharesStandardOutput(settings.out)) {
      throw new UsageError(`--out ${settings.out} and --json both write to standard output, and would mix a CSV with the report: give --out a file, or drop --json`);
    }
  },
  check: (settings, run) => {
    // The files the data set was read from (a manifest), as folds.csv or as the test file beside it.
    const out = settings.out === undefined ? undefined : resolveFoldsOut(settings.out);
    if (out !== undefined && !isSpecialTarget(out)) {
      checkUserFile(out, '--out', run.dataset.inputs);
      checkUserFile(testFileBeside(out), `--out ${settings.out}'s test file`, run.dataset.inputs);
    }
    assignFolds(run.dataset, { nSplits: settings.nSplits, partCount: settings.parts }, settings.group, testVideos(run.dataset).tested);
  },
  run: async (settings, run) => {
    const outFile = resolveFoldsOut(settings.out ?? join(run.paths.outputDir, 'folds.csv'));
    const incomplete = await incompleteCrops(run, rowVideos(run.dataset).all);
    const selected = new Set(run.selection.videos.map((video) => video.id));
    const result = await writeFolds(run.dataset, run.paths, outFile, settings, {
      ...(incomplete ? { incomplete: new Set(incomplete.map((video) => video.id)) } : {}),
      ranBefore: run.ranBefore.has('crops'),
      selected,
    }, { signal: run.signal, tell: (line) => run.message(`folds: ${line}`, 'warning'), inputs: run.dataset.inputs });
    if (result.written) run.report.folds = { file: result.file, rows: result.rows, videos: result.videos, folds: result.folds, ...(result.test ? { test: result.test } : {}) };
    for (const note of result.notes) run.message(`folds: ${note}`, 'warning');
    // Videos waiting for crops are counted as waiting units: the exit code is 1, and the report
    // says which. (The runner drops the entry when nothing waits, and with it an earlier run's.)
    // A run over a slice (--parts, --limit) makes no crops outside it: their absence is what the
    // user asked for, not something waiting (a tried slice would otherwise always end with exit 1).
    // Unless no folds file came of it (a slice without a pair): then they are what it waits for.
    const sliced = run.selection.videos.length < run.dataset.videos.length;
    const outside = sliced && result.written ? (incomplete ?? []).filter((video) => !selected.has(video.id)) : [];
    const waiting = (incomplete ?? []).filter((video) => !outside.includes(video));
    const recorder = new StageRecorder('folds');
    for (const video of waiting) recorder.waiting(videoSubject(video), 'its crops are not complete: their rows are left out');
    const listed = new Set(incomplete);
    for (const video of result.held) if (!listed.has(video)) recorder.waiting(videoSubject(video), 'no grid crops of it were found');
    recorder.end(0);
    run.report.stages.folds = recorder.report;
    if (outside.length > 0) {
      run.message(`folds: ${outside.length} video(s) outside this run's selection (--parts, --limit) have no complete crops: their rows are left out until a run over them makes them`);
    }
    if (waiting.length > 0) {
      // Crops no run of dfdc crops can make: the video they are cut from (or its original, whose
      // boxes they use) is not on disk or cannot be read. Said apart, as running dfdc crops again
      // would not help.
      const unusable = await unusableSources(waiting, run.files);
      const becauseAway =
        unusable.count > 0
          ? `; ${unusable.count} of them because a video they come from is not on disk or cannot be read (first: ${videoSubject(unusable.first!.video)} ${unusable.first!.reason === 'absent' ? 'is not there' : unusable.first!.reason}): deal with that first`
          : '';
      run.message(
        `folds: ${waiting.length} video(s) have crops that are not complete (not made yet, failed, or out of date; first: ${videoSubject(waiting[0]!)}): their rows are left out; run dfdc crops (on a cluster: let every shard finish), then dfdc folds again, or check --crops-dir${becauseAway}`,
        'warning',
      );
    }
    return result.summary;
  },
};

/**
 * How many of `videos` come from a video (their own, or a FAKE's original) that a stage could not
 * read (inputFileState), and the first such source with its reason. One check per source.
 */
async function unusableSources(videos: readonly Video[], files: FileAccess): Promise<{ count: number; first?: { video: Video; reason: string } }> {
  const checked = new Map<Video, string | undefined>();
  const reasonOf = async (video: Video) => {
    if (!checked.has(video)) {
      const state = await inputFileState(video.path, files);
      checked.set(video, 'reason' in state ? state.reason : undefined);
    }
    return checked.get(video);
  };
  let count = 0;
  let first: { video: Video; reason: string } | undefined;
  for (const video of videos) {
    for (const source of video.label === 'FAKE' ? [video, video.original] : [video]) {
      const reason = await reasonOf(source);
      if (reason === undefined) continue;
      count += 1;
      first ??= { video: source, reason };
      break;
    }
  }
  return first ? { count, first } : { count };
}

/**
 * Of `videos`, those whose crops folder is not as dfdc crops left it complete: absent when no
 * record says that nothing was to be cut (a video without faces), or out of date (its video or
 * boxes changed since). Undefined when dfdc crops never ran in this output folder: crops made by
 * another tool are taken as they are.
 */
async function incompleteCrops(run: RunContext, videos: readonly Video[]): Promise<Video[] | undefined> {
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

/**
 * The videos folds writes rows for: `train`, of folds.csv (every FAKE with an original outside the
 * test split, and those originals); `test`, of the test file (the pairs of the test split and its
 * REAL videos without a FAKE); `all`, both, in the data set's order.
 */
function rowVideos(dataset: Dataset): { train: Video[]; test: Video[]; solo: RealVideo[]; all: Video[]; tested: Set<string>; pulledIn: number } {
  const { tested, pulledIn } = testVideos(dataset);
  const pairs = dataset.pairs.flatMap(({ original, fakes }) => [original, ...fakes]);
  const withFakes = new Set(dataset.pairs.map((pair) => pair.original));
  const solo = dataset.reals.filter((real) => tested.has(real.id) && !withFakes.has(real));
  const train = pairs.filter((video) => !tested.has(video.id));
  const test = [...pairs.filter((video) => tested.has(video.id)), ...solo];
  return { train, test, solo, all: [...pairs, ...solo], tested, pulledIn };
}

/** `--out` resolved against the current directory; a folder is a usage error. */
export function resolveFoldsOut(out: string): string {
  const outFile = checkUserFile(out, '--out', [], 'folds.csv');
  if (existsSync(outFile) && statSync(outFile).isDirectory()) throw new UsageError(`--out ${out} is a folder: give a file name such as ${join(out, 'folds.csv')}`);
  return outFile;
}

/** What is known of the crops folds reads. */
export interface CropsKnown {
  /** Videos whose crops dfdc knows to be incomplete or out of date (their rows are left out); absent when dfdc crops never ran here. */
  incomplete?: ReadonlySet<string>;
  /** This run (`dfdc run`) ran the crops stage before: a file without rows points at its lines. */
  ranBefore?: boolean;
  /** The videos this run selected (`--parts`, `--limit`), when it ran crops on them. */
  selected?: ReadonlySet<string>;
}

export interface FoldsWritten {
  file: string;
  rows: number;
  videos: number;
  folds: number[];
  /** The rows of videos of an official test split, when the data set has one and the file was written. */
  test?: { file: string; rows: number; videos: number };
  /** False when folds.csv had no row to write while its videos wait for crops: it was left as it was. */
  written: boolean;
  /** The videos of a file left as it was (folds.csv, the test file): they wait for crops. */
  held: Video[];
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
 *
 * A file that would have no row while its videos wait for crops (crops not made yet, all failed,
 * a typo in --crops-dir) is not written: it would replace a good one (made before, or by another
 * node) and let a job script go on to train or evaluate on nothing. When dfdc crops recorded every
 * one of its videos complete without a crop (no face anywhere), the empty file is the result.
 */
export async function writeFolds(
  dataset: Dataset,
  paths: OutputPaths,
  outFile: string,
  settings: FoldsSettings,
  crops: CropsKnown = {},
  writing: UserFileOptions = {},
): Promise<FoldsWritten> {
  const leftOut = crops.incomplete ?? new Set<string>();
  const videos = rowVideos(dataset);
  const { tested } = videos;
  const { foldOf, notes: foldNotes } = assignFolds(dataset, { nSplits: settings.nSplits, partCount: settings.parts }, settings.group, tested);
  const notes = [...foldNotes];
  if (videos.pulledIn > 0) notes.push(`${videos.pulledIn} video(s) outside the test split share a fold group with test videos: they go to the test file too, so that no face is both trained and tested on`);
  const listed = await listGridCells(paths, videos.all.map((video) => video.id).filter((id) => !leftOut.has(id)));
  const none = new Uint8Array(0);
  const waits = (of: Video[]) => of.length > 0 && (crops.incomplete === undefined || of.some((video) => leftOut.has(video.id)));
  const whyHeld = (of: Video[], them: string) => {
    if (crops.ranBefore && crops.selected && !of.some((video) => crops.selected!.has(video.id))) return `none of ${them} was among the videos this run selected (--parts, --limit): run the stages over them first`;
    if (crops.ranBefore) return `dfdc crops made no crops of ${them} in this run: see its lines above`;
    if (!existsSync(paths.cropsDir)) return `${paths.cropsDir} does not exist: check --crops-dir, or run dfdc crops first`;
    if (of.every((video) => leftOut.has(video.id))) return `none of ${them} has complete crops: see the line above`;
    return `no grid crops of ${them} found under ${paths.cropsDir}: run dfdc crops first, or check --crops-dir`;
  };
  const keptOrNot = async (file: string) =>
    stat(file).then(
      () => `${file} is left as it was`,
      () => `${file} was not written`,
    );
  const held: Video[] = [];

  const { table, videoCount, foldsUsed } = buildFolds(dataset.pairs, (id) => (tested.has(id) ? none : (listed.get(id) ?? none)), foldOf, settings.seed);
  const rows = table.rows.length;
  const trainThem = tested.size > 0 ? 'the FAKEs and originals outside the test split' : 'the FAKEs and their originals';
  let summary: string;
  // No pair read because a part or list could not be (its problem is above): an empty file would
  // replace a good one for a reason a chmod fixes.
  const unreadList = dataset.pairs.length === 0 && dataset.problems.length > 0;
  const written = !(rows === 0 && (waits(videos.train) || unreadList));
  if (written) {
    await writeTable(outFile, table, writing);
    const why =
      rows > 0
        ? ''
        : dataset.pairs.length === 0
          ? ' (no FAKE with a REAL original in the data set)'
          : videos.train.length === 0
            ? ' (every FAKE and its original are in the test split)'
            : ` (dfdc crops found no face to cut in the frames of any of ${trainThem})`;
    summary = `folds: wrote ${rows} rows for ${videoCount} videos in ${foldsUsed.length} of ${settings.nSplits} folds (${foldsUsed.join(', ') || 'none'}) to ${outFile}${why}`;
  } else {
    held.push(...videos.train);
    const why = unreadList ? 'no FAKE with a REAL original was read: see the data set problems above' : whyHeld(videos.train, trainThem);
    summary = `folds: no rows to write (${why}): ${await keptOrNot(outFile)}`;
  }

  let test: FoldsWritten['test'];
  // Beside /dev/stdout or a pipe there is no file to make: the test rows go to the output folder.
  const testFile = isSpecialTarget(outFile) ? join(paths.outputDir, 'folds-test.csv') : testFileBeside(outFile);
  if (tested.size > 0) {
    // The test file also has the REAL videos without a FAKE (Celeb-DF's YouTube-real): they are tested on too.
    const testPairs = [...dataset.pairs, ...videos.solo.map((original) => ({ original, fakes: [] }))];
    const testRows = buildFolds(testPairs, (id) => (tested.has(id) ? (listed.get(id) ?? none) : none), () => TEST_FOLD, settings.seed);
    if (testRows.table.rows.length === 0 && waits(videos.test)) {
      held.push(...videos.test);
      summary += `; no rows for the test file (${whyHeld(videos.test, 'the test videos')}): ${await keptOrNot(testFile)}`;
    } else {
      await writeTable(testFile, testRows.table, writing);
      test = { file: testFile, rows: testRows.table.rows.length, videos: testRows.videoCount };
      summary += `; ${test.rows} rows of ${test.videos} test videos to ${test.file}`;
    }
  } else if (await isFoldsFile(testFile)) {
    // Left by a run when the data set had a test split: it would overlap this folds.csv. Only a
    // folds file: a user's own file of that name (`--out results` beside `results-test`) stays.
    await rm(testFile, { force: true });
    notes.push(`removed ${testFile}: the data set has no test split now`);
  }
  return { file: outFile, rows, videos: videoCount, folds: foldsUsed, ...(test ? { test } : {}), written, held, notes, summary };
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

/** Whether `path` is a regular file that begins with the folds header (one dfdc folds wrote). */
async function isFoldsFile(path: string): Promise<boolean> {
  const header = Buffer.from(`${FOLDS_CSV_HEADER}\n`);
  let handle: FileHandle | undefined;
  try {
    const info = await stat(path);
    if (!info.isFile()) return false;
    handle = await open(path, 'r');
    const start = Buffer.alloc(header.length);
    const { bytesRead } = await handle.read(start, 0, header.length, 0);
    return bytesRead === header.length && start.equals(header);
  } catch {
    return false;
  } finally {
    await handle?.close();
  }
}

/** `folds.csv` -> `folds-test.csv`, in the same folder. */
export function testFileBeside(outFile: string): string {
  return outFile.replace(/(\.csv)?$/i, (extension) => `-test${extension || ''}`);
}

async function writeTable(file: string, table: FoldTable, writing: UserFileOptions): Promise<void> {
  // Written in chunks: the whole text of DFDC's folds.csv is about 200 MB. Through writeUserFile:
  // `--out /dev/stdout` or a link to a shared folder are written into, not replaced.
  await writeUserFile(file, '--out', foldsCsvChunks(table), writing);
}
