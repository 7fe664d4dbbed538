import { readdir, readFile } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ZodError } from 'zod';
import type { Dataset, RealVideo } from '../dataset/dataset.js';
import { gridCellsPresent, type OutputPaths } from '../dataset/output-paths.js';
import { readPngSize } from '../image/png.js';
import { decodeNpyInt16 } from '../landmarks/npy.js';
import { RUN_REPORT_NAME, readReportFile, reportFileName, type ReportEntry, type ReportFile } from '../run/report.js';
import { forEachConcurrent } from '../util/concurrency.js';
import { FatalError, formatZodError, messageOf } from '../util/errors.js';
import type { CellView, LandmarkPoints, Picture, ReportPageData, ReportTotals, RunReportView, VideoView } from './page.js';
import { sampleIds, stripCells } from './sample.js';

/**
 * Everything the report page shows, read from disk: the run reports of the output folder (every
 * `run-report*.json` and the older `dfdc-report*.json`, shards included), totals counted by listing each video's output folders once,
 * and for the chosen videos their crop sizes (PNG headers), landmark points (.npy) and the links to
 * crops and diff masks, relative to the page. What is missing becomes a caption, never an error;
 * only a folder that exists but cannot be listed stops the report.
 */

/** Folders listed at once. */
const LISTING_CONCURRENCY = 32;

export interface RunReports {
  /** Readable report files, by file name. */
  readonly reports: RunReportView[];
  /** Report files that are not JSON or not a run report (subject: the file name). */
  readonly unreadable: ReportEntry[];
  /** Data set problems recorded by the runs. */
  readonly problems: ReportEntry[];
  /** Missing video files recorded by the runs. */
  readonly missingVideos: string[];
}

/** Reads every run report of `outputDir` (none when the folder does not exist). */
export async function readRunReports(outputDir: string): Promise<RunReports> {
  const names = (await listNames(outputDir)).filter((name) => RUN_REPORT_NAME.test(name)).sort();
  const result: RunReports = { reports: [], unreadable: [], problems: [], missingVideos: [] };
  for (const file of names) {
    let parsed: ReportFile;
    try {
      parsed = await readReportFile(join(outputDir, file));
    } catch (error) {
      const reason = error instanceof ZodError ? `not a dfdc run report: ${formatZodError(error)}` : `unreadable: ${messageOf(error)}`;
      result.unreadable.push({ subject: file, reason });
      continue;
    }
    result.reports.push({
      file,
      version: parsed.version,
      startedAt: parsed.startedAt,
      finishedAt: parsed.finishedAt,
      stages: Object.entries(parsed.stages).map(([name, stage]) => ({
        name,
        counts: { done: stage.done, skipped: stage.skipped, waiting: stage.waiting, failed: stage.failed, warnings: stage.warnings, frames: stage.frames, seconds: stage.seconds },
        failures: stage.failures,
        warnings: stage.warningList,
        ...(stage.startedAt ? { startedAt: stage.startedAt } : {}),
        ...(stage.finishedAt ? { finishedAt: stage.finishedAt } : {}),
        ...(stage.partial ? { partial: true } : {}),
      })),
    });
    result.problems.push(...parsed.dataset.problems);
    result.missingVideos.push(...parsed.dataset.missingVideos);
  }
  return { ...result, reports: withoutSuperseded(result.reports) };
}

/**
 * A shard's stage that a whole run (run-report.json) started again after the shard's had finished
 * was redone over every unit: its failures and warnings are history, fixed or reported again, and
 * are not counted. Stage times are compared (a report keeps the stages of earlier runs it did not
 * run); reports without them (earlier versions) are taken as they are.
 */
function withoutSuperseded(reports: RunReportView[]): RunReportView[] {
  const whole = reports.find((report) => report.file === reportFileName(undefined));
  if (!whole) return reports;
  // Only a stage that went over every unit redid the shard's (not a --parts slice, not one cut short).
  const wholeStarted = new Map(whole.stages.flatMap((stage) => (stage.startedAt && !stage.partial ? [[stage.name, stage.startedAt] as const] : [])));
  return reports.map((report) =>
    report === whole
      ? report
      : {
          ...report,
          stages: report.stages.map((stage) => {
            const redoneAt = wholeStarted.get(stage.name);
            // ISO times compare as text.
            return redoneAt && stage.finishedAt && stage.finishedAt <= redoneAt ? { ...stage, failures: [], warnings: [], supersededBy: whole.file } : stage;
          }),
        },
  );
}

/**
 * The `src` of an <img> on a page in `pageDir` showing `file`: the relative path with `/` separators,
 * each segment percent-encoded (ids may hold `#`, `?`, `%` or spaces), so the page and the output
 * folder can be moved together. A file that has no relative path from the page (another drive on
 * Windows) gets a file:// URL.
 */
export function pageLink(pageDir: string, file: string): string {
  const path = relative(pageDir, file);
  if (isAbsolute(path)) return pathToFileURL(file).href;
  return path.split(sep).map(encodeURIComponent).join('/');
}

export interface ReportInput {
  readonly dataset: Dataset;
  readonly paths: OutputPaths;
  /** Folder of the page: image links are relative to it. */
  readonly pageDir: string;
  readonly generatedAt: Date;
  readonly runReports: RunReports;
  /** The REALs named with --videos, in order; undefined for the hash-ordered sample. */
  readonly named: readonly RealVideo[] | undefined;
  /** Videos in the sample (ignored when named). */
  readonly limit: number;
}

/** Reads what the page shows (see the module comment). */
export async function loadReportData(input: ReportInput): Promise<ReportPageData> {
  const { dataset, paths, pageDir } = input;
  const counted = await countOutputs(dataset, paths);
  const candidates = dataset.reals.filter((real) => (counted.gridCropsOf.get(real.id) ?? 0) > 0);
  let chosen: readonly RealVideo[];
  if (input.named) {
    chosen = input.named;
  } else {
    const picked = new Set(sampleIds(candidates.map((real) => real.id), input.limit));
    chosen = candidates.filter((real) => picked.has(real.id));
  }
  const fakesOf = new Map(dataset.pairs.map((pair) => [pair.original.id, pair.fakes]));
  const videos: VideoView[] = [];
  for (const real of chosen) {
    const fakes = fakesOf.get(real.id) ?? [];
    const present = gridCellsPresent(new Set(await listNames(paths.cropDir(real.id))));
    const cells = await Promise.all(
      stripCells(present).map(async (cell): Promise<CellView> => {
        const crop = await picture(pageDir, paths.cropFile(real.id, cell.frame, cell.actor), 'no crop');
        return {
          ...cell,
          crop,
          landmarks: await landmarkPoints(paths.landmarkFile(real.id, cell.frame, cell.actor)),
          fakes: await Promise.all(
            fakes.map(async (fake) => {
              const fakeCrop = await picture(pageDir, paths.cropFile(fake.id, cell.frame, cell.actor), 'no crop');
              return { id: fake.id, crop: fakeCrop, diff: await picture(pageDir, paths.diffFile(fake.id, cell.frame, cell.actor), noDiffCaption(crop, fakeCrop)) };
            }),
          ),
        };
      }),
    );
    videos.push({
      id: real.id,
      part: real.part.name,
      gridCrops: present.length,
      landmarkFiles: counted.landmarksOf.get(real.id) ?? 0,
      fakes: fakes.map((fake) => ({ id: fake.id, part: fake.part.name })),
      cells,
    });
  }

  const problems = uniqueProblems([
    ...dataset.problems.map((problem) => ({ subject: problem.file, reason: problem.message })),
    ...input.runReports.problems,
  ]);
  const missingVideos = [...new Set([...dataset.missingVideos.map((video) => video.relativePath), ...input.runReports.missingVideos])];
  return {
    generatedAt: input.generatedAt,
    rootDir: dataset.rootDir,
    outputDir: paths.outputDir,
    cropsDir: paths.cropsDir,
    totals: counted.totals,
    selection: input.named ? { named: true } : { named: false, limit: input.limit, candidates: candidates.length },
    videos,
    runReports: input.runReports.reports,
    unreadableReports: input.runReports.unreadable,
    problems,
    missingVideos,
    listName: dataset.listName,
  };
}

function noDiffCaption(realCrop: Picture, fakeCrop: Picture): string {
  if (realCrop.kind === 'image' && fakeCrop.kind === 'image' && (realCrop.width !== fakeCrop.width || realCrop.height !== fakeCrop.height)) {
    return 'no diff mask (crop sizes differ)';
  }
  return 'no diff mask';
}

function uniqueProblems(problems: readonly ReportEntry[]): ReportEntry[] {
  const seen = new Set<string>();
  return problems.filter((problem) => {
    const key = JSON.stringify([problem.subject, problem.reason]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** An image with its size from the PNG header, or the caption of its absence. */
async function picture(pageDir: string, file: string, missingCaption: string): Promise<Picture> {
  try {
    const { width, height } = await readPngSize(file);
    return { kind: 'image', src: pageLink(pageDir, file), width, height };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing', caption: missingCaption };
    return { kind: 'missing', caption: `unreadable: ${messageOf(error)}` };
  }
}

/** The five points of a landmarks file; stage 3 writes none where it found no face. */
async function landmarkPoints(file: string): Promise<LandmarkPoints> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing', caption: 'no face found' };
    return { kind: 'missing', caption: `landmarks unreadable: ${messageOf(error)}` };
  }
  try {
    const { shape, values } = decodeNpyInt16(bytes);
    if (shape[0] !== 5 || shape[1] !== 2) return { kind: 'missing', caption: `landmarks unreadable: shape (${shape[0]}, ${shape[1]}), expected (5, 2)` };
    return { kind: 'points', points: Array.from({ length: 5 }, (_, i) => [values[2 * i]!, values[2 * i + 1]!] as const) };
  } catch (error) {
    return { kind: 'missing', caption: `landmarks unreadable: ${messageOf(error)}` };
  }
}

interface OutputCounts {
  totals: ReportTotals;
  /** Grid crops present, by REAL id. */
  gridCropsOf: Map<string, number>;
  /** Landmark files present, by REAL id. */
  landmarksOf: Map<string, number>;
}

/** Lists every video's crops folder, every REAL's landmarks folder and every FAKE's diffs folder once. */
async function countOutputs(dataset: Dataset, paths: OutputPaths): Promise<OutputCounts> {
  const gridCropsOf = new Map<string, number>();
  const landmarksOf = new Map<string, number>();
  let crops = 0;
  let landmarks = 0;
  let diffs = 0;
  let videosWithCrops = 0;
  await forEachConcurrent(dataset.videos, LISTING_CONCURRENCY, async (video) => {
    const names = await listNames(paths.cropDir(video.id));
    const pngs = names.filter((name) => !name.startsWith('.') && name.endsWith('.png')).length;
    crops += pngs;
    if (pngs > 0) videosWithCrops += 1;
    if (video.label === 'REAL') {
      gridCropsOf.set(video.id, gridCellsPresent(new Set(names)).length);
      const npys = (await listNames(paths.landmarksDirOf(video.id))).filter((name) => !name.startsWith('.') && name.endsWith('.npy')).length;
      landmarksOf.set(video.id, npys);
      landmarks += npys;
    } else {
      const masks = (await listNames(paths.diffDir(video.id))).filter((name) => !name.startsWith('.') && name.endsWith('_diff.png')).length;
      diffs += masks; // not `diffs += await ...`: that reads diffs before the await and loses concurrent additions
    }
  });
  return {
    totals: { videos: dataset.videos.length, reals: dataset.reals.length, fakes: dataset.fakes.length, videosWithCrops, crops, landmarks, diffs },
    gridCropsOf,
    landmarksOf,
  };
}

/** The names in a folder; none when it does not exist. Any other failure to list stops the report. */
async function listNames(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw new FatalError(`cannot list ${dir} (${code ?? messageOf(error)}): check its permissions`, { cause: error });
  }
}
