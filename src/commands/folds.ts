import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { z } from 'zod';
import { loadDataset, type Dataset } from '../dataset/dataset.js';
import { listCropFolders } from '../dataset/crop-files.js';
import { assignFolds, buildFolds, foldsCsv } from '../dataset/folds.js';
import { outputPaths, type OutputPaths } from '../dataset/output-paths.js';
import { formatProblem } from '../dataset/problems.js';
import { removeStaleTemporaries, writeFileAtomic } from '../util/atomic-write.js';
import { DfdcError, UsageError, messageOf } from '../util/errors.js';
import { ExitCode } from '../util/exit-codes.js';
import { cropsDirOption, datasetOptionsSchema, outputDirOption, resolveDatasetDirs, rootDirOption } from './shared-options.js';

/**
 * `dfdc folds`: stage 5, generate-folds. Writes folds.csv (video,file,label,original,frame,fold) from
 * the metadata and the crops that exist, folds by part number, refuses a leak between folds, and
 * shuffles with a seeded generator so the same seed gives the same file byte for byte.
 */

/** A safe integer given as text (zod's int() also rejects values beyond 2^53). */
const integer = () => z.coerce.number({ error: 'must be an integer' }).int('must be an integer');

export const foldsOptionsSchema = datasetOptionsSchema
  .extend({
    out: z.string({ error: 'is required: give --out folds.csv' }).min(1, 'must not be empty'),
    nSplits: integer().min(1, 'must be at least 1'),
    parts: integer().min(1, 'must be at least 1'),
    seed: integer(),
  })
  .superRefine((options, context) => {
    if (options.parts >= 1 && options.nSplits > options.parts) {
      context.addIssue({ code: 'custom', path: ['nSplits'], message: `must be at most --parts (${options.nSplits} > ${options.parts})` });
    }
  });

export function foldsCommand(): Command {
  return new Command('folds')
    .description('Stage 5 (generate-folds): write folds.csv (video,file,label,original,frame,fold) from metadata.json and the existing crops')
    .addOption(rootDirOption())
    .addOption(new Option('--out <file>', 'the CSV to write, relative to the current directory (required)'))
    .addOption(new Option('--n-splits <n>', 'number of folds').default(16))
    .addOption(new Option('--parts <n>', 'number of parts P of the full data set; part numbers must be 0..P-1').default(50))
    .addOption(new Option('--seed <n>', 'seed of the row shuffle (same seed, same file)').default(777))
    .addOption(outputDirOption())
    .addOption(cropsDirOption())
    .action(async (raw: unknown) => {
      const options = foldsOptionsSchema.parse(raw);
      const dirs = resolveDatasetDirs(options);
      const outFile = resolveFoldsOut(options.out);
      const dataset = await loadDataset(dirs);
      for (const problem of dataset.problems) process.stderr.write(`dfdc: ${formatProblem(problem)}\n`);
      if (dataset.missingVideos.length > 0) {
        const first = dataset.missingVideos[0]!;
        process.stderr.write(
          `dfdc: note: ${dataset.missingVideos.length} video file(s) listed in metadata.json are missing, e.g. ${first.part.name}/${first.name} (folds only needs metadata and crops)\n`,
        );
      }
      const written = await writeFolds(dataset, outputPaths(dirs), outFile, options);
      process.stderr.write(`dfdc: ${written.summary}\n`);
      process.exitCode = dataset.problems.length > 0 ? ExitCode.SomeFailed : ExitCode.Ok;
    });
}

/** `--out` resolved against the current directory; a folder is a usage error. */
export function resolveFoldsOut(out: string): string {
  const outFile = resolve(out);
  if (existsSync(outFile) && statSync(outFile).isDirectory()) throw new UsageError(`--out ${out} is a folder: give a file name such as folds.csv`);
  return outFile;
}

export interface FoldsSettings {
  nSplits: number;
  parts: number;
  seed: number;
}

/**
 * Stage 5 over a whole data set (also used by `dfdc run`): folds by part, the leak check, the
 * seeded shuffle, the CSV written atomically. Returns the one-line summary.
 */
export interface FoldsWritten {
  file: string;
  rows: number;
  videos: number;
  folds: number[];
  /** One line for the user. */
  summary: string;
}

export async function writeFolds(dataset: Dataset, paths: OutputPaths, outFile: string, settings: FoldsSettings): Promise<FoldsWritten> {
  const foldOf = assignFolds(dataset, { nSplits: settings.nSplits, partCount: settings.parts });
  const listed = await listCropFolders(paths, dataset.pairs.flatMap(({ original, fakes }) => [original.id, ...fakes.map((fake) => fake.id)]));
  const { rows, videoCount, foldsUsed } = buildFolds(dataset.pairs, (id) => listed.get(id)!, foldOf, settings.seed);
  try {
    await removeStaleTemporaries(outFile);
    await writeFileAtomic(outFile, foldsCsv(rows));
  } catch (error) {
    throw new DfdcError(`cannot write --out ${outFile}: ${messageOf(error)}`, ExitCode.Fatal, { cause: error });
  }
  const why =
    rows.length > 0
      ? ''
      : dataset.pairs.length === 0
        ? ' (no FAKE with a REAL original in the metadata)'
        : ` (no grid crops found under ${paths.cropsDir}: run dfdc crops first, or check --crops-dir)`;
  return {
    file: outFile,
    rows: rows.length,
    videos: videoCount,
    folds: foldsUsed,
    summary: `folds: wrote ${rows.length} rows for ${videoCount} videos in ${foldsUsed.length} of ${settings.nSplits} folds (${foldsUsed.join(', ') || 'none'}) to ${outFile}${why}`,
  };
}
