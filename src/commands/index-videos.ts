import { Command } from 'commander';
import { z } from 'zod';
import { loadDataset, missingVideoReason, type Dataset, type Video } from '../dataset/dataset.js';
import { datasetDirsOptions, resolveDatasetDirs } from '../dataset/dirs.js';
import { datasetOptions } from '../dataset/layouts/index.js';
import { formatProblem } from '../dataset/problems.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { csvField } from '../util/csv.js';
import { FatalError, messageOf } from '../util/errors.js';
import { ExitCode } from '../util/exit-codes.js';
import { option } from '../util/options.js';
import { addOptions } from './options.js';

/**
 * `dfdc index`: the data set as dfdc sees it, one row per video, `id,path,label,original,split,group`
 * (path relative to DATA_ROOT, original an id, group the fold group), then on stderr what was left
 * out and why. How a user checks a layout before a long run, and how ids map to files.
 */
// No --output-dir: the index reads DATA_ROOT and writes only its CSV (--out).
const { rootDir } = datasetDirsOptions;
const indexOptions = {
  rootDir,
  ...datasetOptions,
  out: option(z.string().min(1, 'must not be empty').optional(), {
    help: 'the CSV to write, relative to the current directory',
    value: 'file',
    defaultText: 'standard output',
  }),
  group: option(z.enum(['default', 'identity']).default('default'), {
    help: 'which fold groups the group column shows (as dfdc folds --group)',
    value: 'how',
    choices: ['default', 'identity'],
  }),
};

export const INDEX_HEADER = 'id,path,label,original,split,group';

/** The index's text. Pure. */
export function indexCsv(dataset: Dataset, grouping: 'default' | 'identity'): string {
  const row = (video: Video) =>
    [video.id, video.relativePath, video.label, video.originalId ?? '', video.split ?? '', grouping === 'identity' ? video.identityGroup : video.group].map(csvField).join(',');
  return `${INDEX_HEADER}\n${dataset.videos.map(row).join('\n')}${dataset.videos.length > 0 ? '\n' : ''}`;
}

export function indexCommand(): Command {
  return addOptions(
    new Command('index').description('List the data set as dfdc sees it: id,path,label,original,split,group per video, then what was left out and why'),
    indexOptions,
  ).action(async (raw: unknown) => {
    const options = z.object(indexOptions).parse(raw);
    const dirs = resolveDatasetDirs({ ...options, cropsDir: 'crops' });
    const dataset = await loadDataset(dirs, options);
    const text = indexCsv(dataset, options.group);
    if (options.out === undefined) {
      process.stdout.write(text);
    } else {
      try {
        await writeFileAtomic(options.out, text);
      } catch (error) {
        if (error instanceof FatalError) throw error;
        throw new FatalError(`cannot write --out ${options.out}: ${messageOf(error)}`, { cause: error });
      }
    }
    for (const problem of dataset.problems) process.stderr.write(`dfdc: ${formatProblem(problem)}\n`);
    // Every one, as every problem above: the CSV rows do not say which files are absent, and the index
    // is where a user looks for them before a run.
    const reason = missingVideoReason(dataset);
    for (const video of dataset.missingVideos) process.stderr.write(`dfdc: ${video.relativePath}: ${reason}\n`);
    const missing = dataset.missingVideos.length;
    if (missing > 0) process.stderr.write(`dfdc: ${missing} listed video(s) are not on disk (each named above); the stages that decode videos fail them\n`);
    const fakes = dataset.fakes.length;
    process.stderr.write(`dfdc: index: ${dataset.layout} layout, ${dataset.videos.length} videos (${dataset.reals.length} REAL, ${fakes} FAKE), ${dataset.problems.length} left out or in doubt${options.out ? `: wrote ${options.out}` : ''}\n`);
    process.exitCode = dataset.problems.length > 0 ? ExitCode.SomeFailed : ExitCode.Ok;
  });
}
