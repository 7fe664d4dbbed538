import { join } from 'node:path';
import { readListFile } from '../../util/file-system.js';
import type { Problem } from '../problems.js';
import { FatalError, UsageError, messageOf } from '../../util/errors.js';
import { normalizedPath, videoId } from '../video-id.js';
import { folderPart, listingReport, videoFilesIn } from './folders.js';
import type { Layout, ListedVideo, Listing, Split } from './layout.js';

/**
 * Celeb-DF (v1 and v2) as distributed:
 *
 *   Celeb-real/id<A>_<NNNN>.mp4              REAL, celebrity A
 *   YouTube-real/<NNNNN>.mp4                 REAL, from YouTube
 *   Celeb-synthesis/id<A>_id<B>_<NNNN>.mp4   FAKE of Celeb-real/id<A>_<NNNN>.mp4 with B's face
 *   List_of_testing_videos.txt               the test set: lines `1 <path>` (real), `0 <path>` (fake)
 *
 * Ids are `<folder>_<name>` (`Celeb-synthesis_id0_id1_0000`). With the test list, listed videos are
 * in split test and the others in train (they leave folds.csv for folds-test.csv); without it,
 * none has a split. Identities for `--group identity`: A and B.
 */
export const celebdfLayout: Layout = {
  name: 'celebdf',
  expects: 'Celeb-real/, Celeb-synthesis/ (and YouTube-real/, List_of_testing_videos.txt)',
  detectionScale: 0.5,
  recognises: async (_root, entries) => entries.has('Celeb-real') || entries.has('Celeb-synthesis'),
  list: async (dirs) => listCelebdf(dirs.rootDir),
};

const TEST_LIST = 'List_of_testing_videos.txt';
const CELEB_REAL = /^(id\d+)_(\d+)$/;
const CELEB_FAKE = /^(id\d+)_(id\d+)_(\d+)$/;

async function listCelebdf(rootDir: string): Promise<Listing> {
  const problems: Problem[] = [];
  const videos: ListedVideo[] = [];
  const testList = await readTestList(rootDir);
  const split = (path: string): Split | null => (testList === null ? null : testList.has(path) ? 'test' : 'train');
  const seen = new Set<string>();
  const report = listingReport(rootDir, problems);
  for (const folder of ['Celeb-real', 'YouTube-real', 'Celeb-synthesis']) {
    const part = folderPart(rootDir, folder);
    for (const file of await videoFilesIn(part.dir, report)) {
      const name = file.slice(0, -4);
      const relativePath = `${folder}/${file}`;
      seen.add(relativePath);
      const common = { id: videoId(`${folder}_${name}`), relativePath, part, split: split(relativePath), shown: JSON.stringify(file), listedIn: folder, links: [], present: null };
      if (folder !== 'Celeb-synthesis') {
        const celeb = CELEB_REAL.exec(name);
        videos.push({ ...common, label: 'REAL', original: null, identities: celeb ? [`celeb:${celeb[1]}`] : [] });
        continue;
      }
      const fake = CELEB_FAKE.exec(name);
      if (!fake) {
        problems.push({ file: folder, message: `${JSON.stringify(file)} is not id<A>_id<B>_<NNNN>.mp4, so its original is unknown: fake skipped (rename it, or list the data set in a manifest)` });
        continue;
      }
      const originalName = `${fake[1]}_${fake[3]}`;
      videos.push({
        ...common,
        label: 'FAKE',
        original: { id: videoId(`Celeb-real_${originalName}`), shown: `Celeb-real/${originalName}.mp4`, path: `Celeb-real/${originalName}.mp4` },
        identities: [`celeb:${fake[1]}`, `celeb:${fake[2]}`],
      });
    }
  }
  const unknown = [...(testList ?? [])].filter((path) => !seen.has(path));
  // A list whose paths are not Celeb-DF's (relative to another folder, another data set's list)
  // names none of the videos, and would send every test video into the training folds without a
  // word, as FaceForensics++ splits that name none would. The official list over a subset (the
  // training videos alone) has Celeb-DF's paths, and is no such mistake.
  const celebdfPath = /^(Celeb-real|YouTube-real|Celeb-synthesis)\/[^/]+\.mp4$/i;
  if (testList !== null && unknown.length === testList.size && unknown.length > 0 && !unknown.some((path) => celebdfPath.test(path))) {
    throw new UsageError(
      `${join(rootDir, TEST_LIST)}: none of its ${testList.size} paths (first: ${unknown[0]}) is a video of --root-dir ${rootDir} (such as ${videos[0]!.relativePath}): ` +
        `its paths must be relative to the folder holding Celeb-real/ and Celeb-synthesis/ (restore the list from the download, or move it away to have no test split)`,
    );
  }
  if (unknown.length > 0) {
    problems.push({ file: TEST_LIST, message: `lists ${unknown.length} video(s) that are not there (first: ${unknown[0]}): they cannot be tested on; the listed videos that are there go to the test split` });
  }
  return { videos, problems, rejected: new Set(), notListed: 'is not there', listName: 'Celeb-real/, YouTube-real/ and Celeb-synthesis/' };
}

/**
 * The paths of the official test list, or null when there is none. It decides what is tested on:
 * a list that cannot be read, or a line that is not `<1|0> <path>`, stops the run before any work
 * rather than let a test video into the training folds.
 */
async function readTestList(rootDir: string): Promise<Set<string> | null> {
  const file = join(rootDir, TEST_LIST);
  let text: string;
  try {
    text = await readListFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new FatalError(`${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? messageOf(error)}): check its permissions, or move it away to have no test split`);
  }
  const paths = new Set<string>();
  text.split(/\r?\n/).forEach((line, index) => {
    if (line.trim() === '') return;
    const match = /^\s*([01])\s+(\S.*?)\s*$/.exec(line);
    if (!match) throw new FatalError(`${file}: line ${index + 1} is not "<1|0> <path>" (got ${JSON.stringify(line.slice(0, 60))}): restore the list from the download, then rerun`);
    paths.add(normalizedPath(match[2]!));
  });
  return paths;
}
