import { Command } from 'commander';
import { z } from 'zod';
import { loadDataset, missingVideoReason, type Dataset, type Video } from '../dataset/dataset.js';
import { datasetDirsOptions, resolveDatasetDirs } from '../dataset/dirs.js';
import { datasetOptions } from '../dataset/layouts/index.js';
import { problemLines } from '../dataset/problems.js';
import { writeUserFile } from '../util/user-file.js';
import { forEachConcurrent } from '../util/concurrency.js';
import { csvField } from '../util/csv.js';
import { fileAccessFor, inputFileState, type FileAccess } from '../util/file-system.js';
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
  all: option(z.boolean().default(false), {
    help: 'print every problem and every missing video on stderr (without it: the first ten of each list, then how many more)',
  }),
};

export const INDEX_HEADER = 'id,path,label,original,split,group';

/** The index's text. Pure. */
export function indexCsv(dataset: Dataset, grouping: 'default' | 'identity'): string {
  const row = (video: Video) =>
    [video.id, video.relativePath, video.label, video.originalId ?? '', video.split ?? '', grouping === 'identity' ? video.identityGroup : video.group].map(csvField).join(',');
  return `${INDEX_HEADER}\n${dataset.videos.map(row).join('\n')}${dataset.videos.length > 0 ? '\n' : ''}`;
}

/**
 * The videos whose file a stage could not read, in the data set's order, each with the words the
 * stage would fail it with: absent (the list names it, the disk has nothing), a link whose target
 * is not there, a folder, a FIFO, a file this user may not read. One stat each (a second for
 * DFDC's 119,000 on a local disk).
 */
async function unusableVideos(dataset: Dataset, files: FileAccess): Promise<{ video: Video; reason: string }[]> {
  const found: ({ video: Video; reason: string } | undefined)[] = new Array(dataset.videos.length);
  await forEachConcurrent(dataset.videos, files.kind === 'network' ? 64 : 1, async (video, index) => {
    const state = await inputFileState(video.path, files);
    if ('reason' in state) found[index] = { video, reason: state.reason === 'absent' ? missingVideoReason(dataset) : state.reason };
  });
  return found.filter((entry) => entry !== undefined);
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
      await writeUserFile(options.out, '--out', [text], { inputs: dataset.inputs, example: 'videos.csv' });
    }
    // The first ten of each list (a partial download leaves thousands of absent videos), every one with --all.
    const shown = options.all ? Number.POSITIVE_INFINITY : 10;
    for (const line of problemLines(dataset.problems, 'the output of dfdc index --all', shown)) process.stderr.write(`dfdc: ${line}\n`);
    for (const note of dataset.notes) process.stderr.write(`dfdc: ${note}\n`);
    // The CSV rows do not say which files are absent or cannot be read, and the index is where a
    // user looks for them before a run: each in the words the stages would fail it with.
    const unusable = await unusableVideos(dataset, fileAccessFor([dirs.rootDir]));
    for (const { video, reason } of unusable.slice(0, shown)) process.stderr.write(`dfdc: ${video.relativePath}: ${reason}\n`);
    const missing = unusable.length;
    if (missing > 0) {
      const named = missing > shown ? `the first ${shown} named above; --all names every one` : 'each named above';
      process.stderr.write(`dfdc: ${missing} listed video(s) are not on disk or cannot be read (${named}); the stages that decode videos fail them\n`);
    }
    const fakes = dataset.fakes.length;
    const absent = missing > 0 ? `, ${missing} not on disk or unreadable` : '';
    process.stderr.write(`dfdc: index: ${dataset.layout} layout, ${dataset.videos.length} videos (${dataset.reals.length} REAL, ${fakes} FAKE), ${dataset.problems.length} left out or in doubt${absent}${options.out ? `: wrote ${options.out}` : ''}\n`);
    process.exitCode = dataset.problems.length > 0 || missing > 0 ? ExitCode.SomeFailed : ExitCode.Ok;
  });
}
