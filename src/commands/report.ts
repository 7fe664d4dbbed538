import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Command } from 'commander';
import { z } from 'zod';
import { loadDataset } from '../dataset/dataset.js';
import { datasetOptions } from '../dataset/layouts/index.js';
import { outputPaths } from '../dataset/output-paths.js';
import { STALE_MS } from '../run/claims.js';
import { loadReportData, readRunReports, type RunReports } from '../report/load.js';
import { buildReportPage } from '../report/page.js';
import { namedOriginals } from '../report/sample.js';
import { checkUserFile, writeUserFile } from '../util/user-file.js';
import { UsageError } from '../util/errors.js';
import { ExitCode } from '../util/exit-codes.js';
import { datasetDirsOptions, resolveDatasetDirs } from '../dataset/dirs.js';
import { nameList, option, wholeNumber } from '../util/options.js';
import { addOptions } from './options.js';

/**
 * `dfdc report`: one HTML page to look at what a run produced: a sample of REAL videos (or those
 * named with --videos) with their crops and landmarks, each FAKE's crop beside its diff mask, every
 * failure and warning of the run reports, the data set problems, and the counts per stage. The page
 * works offline and links the images by relative path, so it travels with the output folder.
 */

export const DEFAULT_REPORT_LIMIT = 50;

const reportOptions = {
  ...datasetDirsOptions,
  // The same option as the stages', read here rather than written.
  outputDir: option(z.string().min(1, 'must not be empty').optional(), {
    help: 'the output folder of the run to report on (where its boxes/, crops/, ... and run-report.json are)',
    value: 'dir',
    defaultText: 'the root dir',
  }),
  ...datasetOptions,
  out: option(z.string().min(1, 'must not be empty').optional(), {
    help: 'the HTML page to write, relative to the current directory',
    value: 'file',
    defaultText: 'report.html in the output dir',
  }),
  limit: option(wholeNumber(1).default(DEFAULT_REPORT_LIMIT), {
    help: 'how many REAL videos with crops to show, chosen by a hash of the id (the same sample on every run)',
    value: 'n',
  }),
  videos: option(nameList('video id').optional(), {
    help: 'show exactly these videos instead (comma-separated ids; a FAKE shows its original with all its FAKEs)',
    value: 'ids',
    defaultText: 'the sample',
  }),
};

export const reportOptionsSchema = z.object(reportOptions);

export function reportCommand(): Command {
  return addOptions(
    new Command('report').description(
      'Write one HTML page to check the outputs: crops with landmarks, FAKE crops beside their diff masks, failures, problems and counts',
    ),
    reportOptions,
  )
    .action(async (raw: unknown) => {
      const options = reportOptionsSchema.parse(raw);
      const dirs = resolveDatasetDirs(options);
      const paths = outputPaths(dirs);
      if (!isFolder(paths.outputDir)) {
        // A wrong --output-dir: a bad command line (exit 2), not a run that could not go on.
        throw new UsageError(`no output folder ${paths.outputDir}: run dfdc run first, or give the --output-dir it wrote to`);
      }
      const outFile = resolveReportOut(options.out, paths.outputDir);
      const runReports = await readRunReports(paths.outputDir);
      if (runReports.reports.length === 0 && runReports.unreadable.length === 0 && !isFolder(paths.cropsDir)) {
        throw new UsageError(
          `nothing to report in ${paths.outputDir}: no run-report*.json and no crops folder ${paths.cropsDir} (run dfdc run first, or check --output-dir and --crops-dir)`,
        );
      }
      const dataset = await loadDataset(dirs, options);
      let named;
      if (options.videos) {
        const { originals, unknown } = namedOriginals(dataset, options.videos);
        if (unknown.length > 0) {
          throw new UsageError(`--videos: unknown video id${unknown.length > 1 ? 's' : ''} ${unknown.map((id) => JSON.stringify(id)).join(', ')} (not in the data set under ${dirs.rootDir}; dfdc index lists the ids)`);
        }
        named = originals;
      }
      const data = await loadReportData({ dataset, paths, pageDir: dirname(outFile), generatedAt: new Date(), runReports, named, limit: options.limit });
      const page = buildReportPage(data);
      await writeUserFile(outFile, '--out', [page], { inputs: dataset.inputs });
      // What a user checks before training: a page of nothing must not read as "all is well".
      const doubts = [
        ...runReports.unreadable.map(
          (entry) =>
            `${join(paths.outputDir, entry.subject)}: ${entry.reason}: ${/EACCES|EPERM/.test(entry.reason) ? 'make it readable for this user (chmod a+r), then report again' : 'delete it (the next run of a stage writes it again)'}`,
        ),
        ...emptyCropsDoubts(data.totals, paths.cropsDir, runReports, dataset.videos.length),
      ];
      for (const line of doubts) process.stderr.write(`dfdc: report: ${line}\n`);
      const claimed = liveClaims(paths.stateDir);
      if (claimed > 0) process.stderr.write(`dfdc: report: a run is working on this output folder now (${claimed} unit(s) claimed): these counts are a moment of it; report again when it has finished\n`);
      const failures = data.runReports.reduce((sum, report) => sum + report.stages.reduce((s, stage) => s + stage.failures.length, 0), 0);
      process.stderr.write(
        `dfdc: report: ${data.videos.length} video(s), ${failures} failure(s), ${data.problems.length} data set problem(s) from ${data.runReports.length} run report(s): wrote ${outFile}\n`,
      );
      process.exitCode = doubts.length > 0 ? ExitCode.SomeFailed : ExitCode.Ok;
    });
}

/**
 * Why a page without any crop is likely a mistake: the run reports count crops that are not in
 * --crops-dir, or the crops folder holds folders named after no video of --root-dir.
 */
function emptyCropsDoubts(totals: { videosWithCrops: number }, cropsDir: string, runReports: RunReports, videoCount: number): string[] {
  if (totals.videosWithCrops > 0) return [];
  const cropped = runReports.reports.some((report) => report.stages.some((stage) => stage.name === 'crops' && stage.counts.done + stage.counts.skipped > 0));
  // Absent where crops ran, the default folder means no face anywhere; another name, a typo.
  if (!isFolder(cropsDir)) return cropped && basename(cropsDir) !== 'crops' ? [`the run reports count crops, but ${cropsDir} is not a folder: check --crops-dir`] : [];
  let folders = 0;
  try {
    folders = readdirSync(cropsDir, { withFileTypes: true }).filter((entry) => entry.isDirectory() && !entry.name.startsWith('.')).length;
  } catch {
    return [];
  }
  return folders > 0 ? [`${cropsDir} holds ${folders} folder(s), none named after one of the ${videoCount} videos of --root-dir: check --root-dir (and --dataset) and --crops-dir`] : [];
}

/** Units a running process has claimed (their heartbeat younger than a stale claim's): a run is in progress. */
function liveClaims(stateDir: string): number {
  let count = 0;
  const root = join(stateDir, 'claims');
  for (const stage of safeList(root)) {
    for (const name of safeList(join(root, stage))) {
      const info = statSync(join(root, stage, name), { throwIfNoEntry: false });
      if (info?.isFile() && Date.now() - info.mtimeMs < STALE_MS) count += 1;
    }
  }
  return count;
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** `--out` resolved against the current directory, or report.html in the output folder; a folder is a usage error. */
export function resolveReportOut(out: string | undefined, outputDir: string): string {
  const outFile = out === undefined ? join(outputDir, 'report.html') : checkUserFile(out, '--out', [], 'report.html');
  if (isFolder(outFile)) throw new UsageError(`--out ${out ?? outFile} is a folder: give a file name such as report.html`);
  return outFile;
}

function isFolder(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}
