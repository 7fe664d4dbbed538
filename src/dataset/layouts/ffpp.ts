import { stat } from 'node:fs/promises';
import { readListFile } from '../../util/file-system.js';
import { FatalError, UsageError, messageOf } from '../../util/errors.js';
import { join, resolve } from 'node:path';
import type { Problem } from '../problems.js';
import { videoId } from '../video-id.js';
import { folderPart, foldersIn, listingReport, videoFilesIn } from './folders.js';
import type { Layout, LayoutOptions, ListedVideo, Listing, Split } from './layout.js';

/**
 * FaceForensics++ as its download script lays it out:
 *
 *   original_sequences/youtube/<c>/videos/<A>.mp4                 REAL (YouTube)
 *   original_sequences/actors/<c>/videos/<01>__<scene>.mp4         REAL (DeepFakeDetection's actors)
 *   manipulated_sequences/<method>/<c>/videos/<A>_<B>.mp4          FAKE of youtube/<c>/<A> (B gave the face)
 *   manipulated_sequences/DeepFakeDetection/<c>/videos/<01>_<02>__<scene>__<8 chars>.mp4
 *                                                                  FAKE of actors/<c>/<01>__<scene>
 *
 * <c> is raw, c0, c23 or c40; each compression is a set of videos of its own (a fake is made from
 * the original of the same compression). Ids: `youtube_<c>_<A>`, `actors_<c>_<name>`,
 * `<method>_<c>_<name>` (e.g. `Deepfakes_c23_519_515`). Fold groups: A, B, A_B and B_A of every
 * method and compression share one (`youtube:<A>`); a DeepFakeDetection fake shares its
 * original's, across compressions. `--splits DIR` reads the official train.json, val.json and
 * test.json (lists of [A, B] pairs).
 */
export const ffppLayout: Layout = {
  name: 'ffpp',
  expects: 'original_sequences/youtube/<c23|c40|raw>/videos/*.mp4 and manipulated_sequences/<method>/<c>/videos/*.mp4',
  detectionScale: 0.5,
  recognises: async (_root, entries) => entries.has('original_sequences') || entries.has('manipulated_sequences'),
  list: async (dirs, options) => listFfpp(dirs.rootDir, options),
};

const COMPRESSIONS = ['raw', 'c0', 'c23', 'c40'];
const YOUTUBE_FAKE = /^(\d+)_(\d+)$/;
const ACTORS_FAKE = /^(\d+)_(\d+)__(.+)__([A-Za-z0-9]+)$/;
const ACTORS_REAL = /^(\d+)__(.+)$/;

async function listFfpp(rootDir: string, options: LayoutOptions): Promise<Listing> {
  const problems: Problem[] = [];
  const videos: ListedVideo[] = [];
  const wanted = (compression: string) => COMPRESSIONS.includes(compression) && (!options.compression || options.compression.includes(compression));
  const splitOf = options.splits ? await readSplits(options.splits, problems) : new Map<string, Split>();
  // Original folders that hold a video: the fakes of one that does not are summed up in one line
  // (a download of the manipulated sequences alone would otherwise give one line per fake).
  const withVideos = new Set<string>();
  const report = listingReport(rootDir, problems);

  for (const source of ['youtube', 'actors']) {
    for (const compression of (await foldersIn(join(rootDir, 'original_sequences', source), report)).filter(wanted)) {
      const folder = `original_sequences/${source}/${compression}/videos`;
      const part = folderPart(rootDir, folder);
      for (const file of await videoFilesIn(part.dir, report)) {
        withVideos.add(folder);
        const name = file.slice(0, -4);
        const actor = ACTORS_REAL.exec(name);
        videos.push({
          id: videoId(`${source}_${compression}_${name}`),
          relativePath: `${folder}/${file}`,
          label: 'REAL',
          original: null,
          part,
          split: source === 'youtube' ? (splitOf.get(name) ?? null) : null,
          shown: JSON.stringify(file),
          listedIn: folder,
          links: [`${source}:${name}`],
          identities: source === 'youtube' ? [`ffpp:${name}`] : actor ? [`actor:${actor[1]}`] : [],
          present: null,
        });
      }
    }
  }

  for (const method of await foldersIn(join(rootDir, 'manipulated_sequences'), report)) {
    for (const compression of (await foldersIn(join(rootDir, 'manipulated_sequences', method), report)).filter(wanted)) {
      const folder = `manipulated_sequences/${method}/${compression}/videos`;
      const part = folderPart(rootDir, folder);
      const orphaned = new Map<string, number>();
      for (const file of await videoFilesIn(part.dir, report)) {
        const name = file.slice(0, -4);
        const youtube = YOUTUBE_FAKE.exec(name);
        const actors = ACTORS_FAKE.exec(name);
        const common = { id: videoId(`${method}_${compression}_${name}`), relativePath: `${folder}/${file}`, label: 'FAKE' as const, part, shown: JSON.stringify(file), listedIn: folder, present: null };
        const originalFolder = `original_sequences/${actors ? 'actors' : 'youtube'}/${compression}/videos`;
        if ((actors || youtube) && !withVideos.has(originalFolder)) {
          orphaned.set(originalFolder, (orphaned.get(originalFolder) ?? 0) + 1);
          continue;
        }
        if (actors) {
          const originalName = `${actors[1]}__${actors[3]}`;
          videos.push({
            ...common,
            original: originalAt(`actors_${compression}_${originalName}`, `original_sequences/actors/${compression}/videos/${originalName}.mp4`),
            split: null,
            links: [`actors:${originalName}`],
            identities: [`actor:${actors[1]}`, `actor:${actors[2]}`],
          });
        } else if (youtube) {
          const [, target, source] = youtube as unknown as [string, string, string];
          videos.push({
            ...common,
            original: originalAt(`youtube_${compression}_${target}`, `original_sequences/youtube/${compression}/videos/${target}.mp4`),
            split: splitOf.get(name) ?? null,
            links: [`youtube:${target}`, `youtube:${source}`],
            identities: [`ffpp:${target}`, `ffpp:${source}`],
          });
        } else {
          problems.push({ file: folder, message: `${JSON.stringify(file)} is neither <A>_<B>.mp4 nor <01>_<02>__<scene>__<id>.mp4, so its original is unknown: fake skipped (rename it, or list the data set in a manifest)` });
        }
      }
      for (const [originalFolder, count] of orphaned) {
        // A folder that could not be read has its own line: downloading would not help.
        if (report.unreadable.has(join(rootDir, ...originalFolder.split('/')))) continue;
        const download = originalFolder.includes('/actors/') ? 'DeepFakeDetection_original' : 'original';
        // FaceForensics++'s script calls c0 `raw` and saves it under raw/: c0 fakes want their originals renamed.
        const how = compression === 'c0' ? `-c raw, then rename its raw folder to c0` : `-c ${compression}`;
        problems.push({
          file: folder,
          message: `${count} fake(s) skipped: ${originalFolder} holds no video, so none has its original (download the originals: FaceForensics++'s script with -d ${download} ${how})`,
        });
      }
    }
  }
  // Splits that name none of the videos (another data set's, or a renamed download) would send the
  // test videos they were meant to hold out into the training folds without a word.
  // Only YouTube videos have an official split (DeepFakeDetection's actors have none).
  const splittable = videos.filter((video) => video.links.some((link) => link.startsWith('youtube:')));
  if (options.splits && splittable.length > 0 && !splittable.some((video) => video.split !== null)) {
    throw new UsageError(
      `--splits ${options.splits}: none of its pairs names a video of --root-dir ${rootDir} (it splits original_sequences/youtube/<c>/videos/<A>.mp4 and manipulated_sequences/<method>/<c>/videos/<A>_<B>.mp4): give FaceForensics++'s dataset/splits folder, or drop --splits`,
    );
  }
  // Splits that name only some of them (edited lists, videos added by hand): the others go to the
  // training folds, which is what a user who meant it wants, and said, for one who did not.
  const unsplit = options.splits ? splittable.filter((video) => video.split === null) : [];
  const notes =
    unsplit.length > 0
      ? [
          `--splits ${options.splits}: ${unsplit.length} of the ${splittable.length} videos made from YouTube originals are in none of train.json, val.json and test.json (first: ${unsplit[0]!.relativePath}): they go to the training folds; give FaceForensics++'s own dataset/splits folder if they should be split`,
        ]
      : [];
  const inputs = options.splits ? SPLITS.map((split) => resolve(options.splits!, `${split}.json`)) : [];
  return { videos, problems, notes, inputs, rejected: new Set(), notListed: 'is not there', listName: 'original_sequences/ and manipulated_sequences/' };
}

function originalAt(rawId: string, path: string) {
  return { id: videoId(rawId), shown: path, path };
}

const SPLITS = ['train', 'val', 'test'] as const;

/**
 * The official splits: `<dir>/{train,val,test}.json`, each a list of [A, B] pairs; A, B, A_B and
 * B_A take the pair's split. They decide what is trained on and what is tested: a folder that is
 * not there (a typo) is a usage error, a file that is missing or not such a list stops the run,
 * before any work, rather than let test videos into the training folds.
 */
async function readSplits(dir: string, problems: Problem[]): Promise<Map<string, Split>> {
  const isFolder = await stat(dir).then((info) => info.isDirectory(), () => undefined);
  if (!isFolder) {
    throw new UsageError(`--splits ${dir}: ${isFolder === false ? 'a file, not a folder' : 'no such folder'} (give the folder holding FaceForensics++'s train.json, val.json and test.json)`);
  }
  const splitOf = new Map<string, Split>();
  for (const split of SPLITS) {
    const file = join(dir, `${split}.json`);
    let pairs: unknown;
    try {
      pairs = JSON.parse(await readListFile(file));
    } catch (error) {
      const why = (error as NodeJS.ErrnoException).code ?? messageOf(error).split('\n')[0];
      throw new FatalError(`${file} cannot be read as JSON (${why}): restore it from FaceForensics++'s dataset/splits, then rerun`);
    }
    if (!Array.isArray(pairs) || !pairs.every((pair) => Array.isArray(pair) && pair.length === 2 && pair.every((id) => typeof id === 'string'))) {
      throw new FatalError(`${file} is not a list of ["A", "B"] pairs such as [["953", "974"]]: restore it from FaceForensics++'s dataset/splits, then rerun`);
    }
    for (const [a, b] of pairs as [string, string][]) {
      for (const name of [a, b, `${a}_${b}`, `${b}_${a}`]) {
        const earlier = splitOf.get(name);
        if (earlier !== undefined && earlier !== split) problems.push({ file, message: `${JSON.stringify(name)} is also in ${earlier}.json: it stays in ${earlier}` });
        else splitOf.set(name, split);
      }
    }
  }
  return splitOf;
}
