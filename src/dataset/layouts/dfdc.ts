import { readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { messageOf, UsageError } from '../../util/errors.js';
import { readListFile } from '../../util/file-system.js';
import type { DatasetDirs } from '../dirs.js';
import { parseMetadata, videoIdOf, type ParsedMetadata } from '../metadata.js';
import { outputPaths } from '../output-paths.js';
import { findParts, METADATA_FILE_NAME, partFoldersWithoutMetadata, partsInOutputFolders, type Part } from '../parts.js';
import type { Problem } from '../problems.js';
import { videoId } from '../video-id.js';
import { otherSpellingProblem } from './folders.js';
import type { Layout, ListedVideo, Listing } from './layout.js';

/**
 * DFDC (and Kaggle's sample folder): every sub-folder of DATA_ROOT with a metadata.json is a part,
 * `{"<name>.mp4": {"label": "REAL" | "FAKE", "original": "<name>.mp4"}}`. Ids are file names
 * without `.mp4`, so a name may appear once in the whole data set (a later duplicate is a
 * problem). Fold groups are the part folders.
 */
export const dfdcLayout: Layout = {
  name: 'dfdc',
  expects: 'dfdc_train_part_<N>/metadata.json (any sub-folder holding a metadata.json)',
  detectionScale: 0.5,
  recognises: async (rootDir) => (await findParts(rootDir)).parts.length > 0,
  innerFolder: (rootDir, entries) => (entries.has(METADATA_FILE_NAME) ? partFolderGiven(rootDir) : undefined),
  list: async (dirs: DatasetDirs): Promise<Listing> => {
    const outputFolders = outputPaths(dirs).folders;
    const { parts, unreadable } = await findParts(dirs.rootDir, outputFolders);
    // Forced with --dataset dfdc, a part folder would otherwise be a root of no parts: nothing done, exit 0.
    if (parts.length === 0 && (await readdir(dirs.rootDir)).includes(METADATA_FILE_NAME)) throw new UsageError(partFolderGiven(dirs.rootDir));
    // A folder name with a line break or a tab would make every one of its videos' paths a
    // problem of its own, each blaming a good file name: one line for the folder instead.
    const unnamable = parts.filter((part) => CONTROL_CHARACTERS.test(part.name));
    const listing = listParts(await Promise.all(parts.filter((part) => !unnamable.includes(part)).map(readPart)));
    const clashes = (await partsInOutputFolders(dirs.rootDir, outputFolders)).map((part) => ({
      file: part.metadataFile,
      message: `is in ${part.name}/, a name dfdc keeps for its output folders: part skipped; rename the folder, then rerun`,
    }));
    const empty = (await partFoldersWithoutMetadata(dirs.rootDir)).map(({ name, linkTo }) => ({
      file: name,
      message:
        linkTo === undefined
          ? `holds no ${METADATA_FILE_NAME} (a mount that is not there, or a download not unpacked?): its videos are left out; mount or unpack it (or remove the folder if it is no part), then rerun`
          : `is a link to ${linkTo}, which is not there (a share not mounted on this node?): its videos are left out; mount it (or remove the link if it is no part), then rerun`,
    }));
    const badNames = unnamable.map((part) => ({
      file: JSON.stringify(part.name),
      message: 'a part folder whose name holds control characters (a line break, a tab), which cannot go into output paths and folds.csv: part skipped; rename the folder, then rerun',
    }));
    const left = [...badNames, ...clashes, ...empty];
    // Folders this user may not look into whose names are not DFDC's: maybe a part, maybe anyone's.
    const notes = unreadable.map(
      (name) => `${name}/: this user may not look into it, so dfdc cannot tell whether it is a part; if it is, make it readable (chmod -R a+rX ${join(dirs.rootDir, name)}), then rerun`,
    );
    if (left.length === 0 && notes.length === 0) return listing;
    return { ...listing, problems: [...left, ...listing.problems], notes: [...notes, ...(listing.notes ?? [])] };
  },
};

const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

function partFolderGiven(rootDir: string): string {
  return `--root-dir ${rootDir}: ${METADATA_FILE_NAME} is at its top, as in a DFDC part folder: give its parent folder (the one holding the dfdc_train_part_* folders, or Kaggle's train_sample_videos)`;
}

/** One part as read: its metadata, and the names of its files (null when it could not be listed). */
export interface PartContents {
  readonly part: Part;
  readonly metadata: ParsedMetadata;
  readonly files: ReadonlySet<string> | null;
}

/** The listing of parts already read, in the given order. Pure. */
export function listParts(contents: readonly PartContents[]): Listing {
  const problems: Problem[] = [];
  const rejected = new Set<string>();
  const videos: ListedVideo[] = [];
  const parts: Part[] = [];
  const firstListed = new Map<string, Part>();
  for (const { part, metadata, files } of contents) {
    problems.push(...metadata.problems);
    for (const name of metadata.rejectedNames) rejected.add(videoIdOf(name));
    if (!metadata.readable) continue;
    parts.push(part);
    for (const record of metadata.records) {
      // Said here, in the order of the parts, rather than after all of them (src/dataset/dataset.ts).
      const earlier = firstListed.get(videoId(record.id));
      if (earlier) {
        problems.push({
          file: part.metadataFile,
          message: `${JSON.stringify(record.name)} is also listed in ${earlier.metadataFile}: outputs are keyed by video id, so the first one is kept and this one skipped`,
        });
        continue;
      }
      firstListed.set(videoId(record.id), part);
      videos.push({
        id: videoId(record.id),
        relativePath: `${part.name}/${record.name}`,
        label: record.label,
        original: record.original === null ? null : { id: videoId(videoIdOf(record.original)), shown: record.original },
        part,
        split: null,
        shown: JSON.stringify(record.name),
        listedIn: part.metadataFile,
        links: [],
        identities: [],
        present: files === null ? null : files.has(record.name),
      });
      const spelled = files !== null && !files.has(record.name) ? otherSpellingProblem(record.name, files) : undefined;
      if (spelled !== undefined) problems.push({ file: part.metadataFile, message: spelled });
    }
  }
  return { videos, parts, problems, rejected, notListed: 'is not in any metadata.json', listName: METADATA_FILE_NAME };
}

async function readPart(part: Part): Promise<PartContents> {
  let metadata: ParsedMetadata;
  try {
    metadata = parseMetadata(await readListFile(part.metadataPath), part.metadataFile);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const target = code === 'ENOENT' ? await readlink(part.metadataPath).catch(() => undefined) : undefined;
    const message =
      target !== undefined
        ? `is a symbolic link to ${target}, which is not there: part skipped; fetch its content (git annex get, dvc pull, datalad get) or fix the link, then rerun`
        : code === 'ENOTREG' ? 'is not a regular file (a FIFO or a device): part skipped; replace it with the metadata.json of the download' : code === 'EACCES' || code === 'EPERM'
          ? `unreadable (${code}); part skipped: make its folder and files readable for this user (chmod -R a+rX ${part.dir}), then rerun`
          : `unreadable (${code ?? messageOf(error)}); part skipped`;
    metadata = { readable: false, records: [], rejectedNames: [], problems: [{ file: part.metadataFile, message }] };
  }
  let files: ReadonlySet<string> | null;
  try {
    files = new Set(await readdir(part.dir));
  } catch {
    files = null;
  }
  return { part, metadata, files };
}
