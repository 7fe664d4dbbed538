import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { z } from 'zod';
import { loadDataset } from '../dataset/dataset.js';
import { outputPaths } from '../dataset/output-paths.js';
import { loadReportData, readRunReports } from '../report/load.js';
import { buildReportPage } from '../report/page.js';
import { namedOriginals } from '../report/sample.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { DfdcError, UsageError, messageOf } from '../util/errors.js';
import { ExitCode } from '../util/exit-codes.js';
import { cropsDirOption, datasetOptionsSchema, outputDirOption, resolveDatasetDirs, rootDirOption } from './shared-options.js';

/**
 * `dfdc report`: one HTML page to look at what a run produced: a sample of REAL videos (or those
 * named with --videos) with their crops and landmarks, each FAKE's crop beside its diff mask, every
 * failure and warning of the run reports, the data set problems, and the counts per stage. The page
 * works offline and links the images by relative path, so it travels with the output folder.
 */

export const DEFAULT_REPORT_LIMIT = 50;

export const reportOptionsSchema = datasetOptionsSchema.extend({
  out: z.string().min(1, 'must not be empty').optional(),
  limit: z.coerce.number().int('must be a whole number').min(1, 'must be at least 1').default(DEFAULT_REPORT_LIMIT),
  videos: z
    .string()
    .optional()
    .transform((text) => (text === undefined ? undefined : text.split(',').map((id) => id.trim()).filter((id) => id !== '')))
    .refine((list) => list === undefined || list.length > 0, 'must name at least one video id'),
});

export function reportCommand(): Command {
  return new Command('report')
    .description('Write one HTML page to check the outputs: crops with landmarks, FAKE crops beside their diff masks, failures, problems and counts')
    .addOption(rootDirOption())
    .addOption(outputDirOption())
    .addOption(cropsDirOption())
    .addOption(new Option('--out <file>', 'the HTML page to write, relative to the current directory (default: report.html in the output dir)'))
    .addOption(new Option('--limit <n>', 'how many REAL videos with crops to show, chosen by a hash of the id (the same sample on every run)').default(DEFAULT_REPORT_LIMIT))
    .addOption(new Option('--videos <ids>', 'show exactly these videos instead (comma-separated ids; a FAKE shows its original with all its FAKEs) (default: the sample)'))
    .action(async (raw: unknown) => {
      const options = reportOptionsSchema.parse(raw);
      const dirs = resolveDatasetDirs(options);
      const paths = outputPaths(dirs);
      if (!isFolder(paths.outputDir)) {
        throw new DfdcError(`no output folder ${paths.outputDir}: run dfdc run first, or give the --output-dir it wrote to`, ExitCode.Fatal);
      }
      const outFile = resolveReportOut(options.out, paths.outputDir);
      const runReports = await readRunReports(paths.outputDir);
      if (runReports.reports.length === 0 && runReports.unreadable.length === 0 && !isFolder(paths.cropsDir)) {
        throw new DfdcError(
          `nothing to report in ${paths.outputDir}: no dfdc-report*.json and no crops folder ${paths.cropsDir} (run dfdc run first, or check --output-dir and --crops-dir)`,
          ExitCode.Fatal,
        );
      }
      const dataset = await loadDataset(dirs);
      let named;
      if (options.videos) {
        const { originals, unknown } = namedOriginals(dataset, options.videos);
        if (unknown.length > 0) {
          throw new UsageError(`--videos: unknown video id${unknown.length > 1 ? 's' : ''} ${unknown.map((id) => JSON.stringify(id)).join(', ')} (not in any metadata.json under ${dirs.rootDir})`);
        }
        named = originals;
      }
      const data = await loadReportData({ dataset, paths, pageDir: dirname(outFile), generatedAt: new Date(), runReports, named, limit: options.limit });
      try {
        await writeFileAtomic(outFile, buildReportPage(data));
      } catch (error) {
        throw new DfdcError(`cannot write --out ${outFile}: ${messageOf(error)}`, ExitCode.Fatal, { cause: error });
      }
      const failures = data.runReports.reduce((sum, report) => sum + report.stages.reduce((s, stage) => s + stage.failures.length, 0), 0);
      process.stderr.write(
        `dfdc: report: ${data.videos.length} video(s), ${failures} failure(s), ${data.problems.length} data set problem(s) from ${data.runReports.length} run report(s): wrote ${outFile}\n`,
      );
      process.exitCode = ExitCode.Ok;
    });
}

/** `--out` resolved against the current directory, or report.html in the output folder; a folder is a usage error. */
export function resolveReportOut(out: string | undefined, outputDir: string): string {
  const outFile = out === undefined ? join(outputDir, 'report.html') : resolve(out);
  if (isFolder(outFile)) throw new UsageError(`--out ${out ?? outFile} is a folder: give a file name such as report.html`);
  return outFile;
}

function isFolder(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}
