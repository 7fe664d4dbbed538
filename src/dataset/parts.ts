import { lstat, readdir, readlink, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { OUTPUT_FOLDER_NAMES } from './output-paths.js';

/**
 * The parts of a data set: every immediate sub-folder of DATA_ROOT that holds a metadata.json
 * (dfdc_train_part_0 .. dfdc_train_part_49 in the DFDC set, or Kaggle's train_sample_videos).
 * Output folders (boxes, crops, landmarks, diffs, .dfdc) and hidden folders are never parts (the
 * reference's `glob("*\/metadata.json")` skips hidden folders too).
 */

export const METADATA_FILE_NAME = 'metadata.json';

export interface Part {
  /** The folder's name, e.g. `dfdc_train_part_12`. */
  readonly name: string;
  /** The integer after the last `_` of a folder whose name starts with `dfdc` (12 above), else null. */
  readonly number: number | null;
  /** Absolute path of the folder. */
  readonly dir: string;
  /** Absolute path of its metadata.json. */
  readonly metadataPath: string;
  /** Its metadata.json relative to DATA_ROOT, as problems name it: `dfdc_train_part_12/metadata.json`. */
  readonly metadataFile: string;
}

/** `dfdc_train_part_12` -> 12; null unless the name starts with `dfdc` and ends in `_<digits>`. */
export function partNumberOf(folderName: string): number | null {
  if (!folderName.startsWith('dfdc')) return null;
  const match = /_(\d+)$/.exec(folderName);
  if (!match) return null;
  const value = Number(match[1]);
  return Number.isSafeInteger(value) ? value : null;
}

/**
 * Orders folder names with digit runs compared as numbers, so dfdc_train_part_2 comes before
 * dfdc_train_part_10; other characters compare by code unit, so the order is the same everywhere.
 */
export function comparePartNames(a: string, b: string): number {
  const runsA = a.match(/\d+|\D+/g) ?? [];
  const runsB = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(runsA.length, runsB.length); i += 1) {
    const x = runsA[i]!;
    const y = runsB[i]!;
    const bothDigits = /^\d/.test(x) && /^\d/.test(y);
    if (bothDigits) {
      const byValue = compareDigitRuns(x, y);
      if (byValue !== 0) return byValue;
    }
    if (x !== y) return x < y ? -1 : 1;
  }
  if (runsA.length !== runsB.length) return runsA.length - runsB.length;
  return 0;
}

/** Compares two digit strings by value without overflow ("007" and "7" tie here; the caller breaks ties). */
function compareDigitRuns(x: string, y: string): number {
  const a = x.replace(/^0+(?=\d)/, '');
  const b = y.replace(/^0+(?=\d)/, '');
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The part that lives in `rootDir/name`: number and paths, without touching the disk. */
export function partAt(rootDir: string, name: string): Part {
  const dir = join(rootDir, name);
  return {
    name,
    number: partNumberOf(name),
    dir,
    metadataPath: join(dir, METADATA_FILE_NAME),
    metadataFile: `${name}/${METADATA_FILE_NAME}`,
  };
}

/**
 * The parts of `rootDir`, sorted by name (comparePartNames). `excludedDirs` (absolute) are skipped as
 * well as the standard output folder names: pass outputPaths(dirs).folders so a renamed --crops-dir
 * inside DATA_ROOT is never mistaken for a part. Sub-folders may be symbolic links to folders.
 * A folder this user may not look into (a shared download with the wrong mode) is a part when its
 * name is one a DFDC download gives (so that reading it reports it, rather than drop it from the
 * data set without a word); any other such folder is in `unreadable`, to be mentioned, but no
 * part: it may be anyone's (a colleague's private folder, a NAS's recycle bin), and it says
 * nothing of the layout.
 */
export async function findParts(rootDir: string, excludedDirs: readonly string[] = []): Promise<{ parts: Part[]; unreadable: string[] }> {
  const root = resolve(rootDir);
  const excluded = new Set(excludedDirs.map((dir) => resolve(dir)));
  const names = (await readdir(root)).filter(
    (name) => !name.startsWith('.') && !(OUTPUT_FOLDER_NAMES as readonly string[]).includes(name) && !excluded.has(join(root, name)),
  );
  const unreadable: string[] = [];
  const found = await Promise.all(
    names.map(async (name) => {
      const part = partAt(root, name);
      if (!(await isDirectory(part.dir))) return null;
      const metadata = await presence(part.metadataPath);
      if (metadata === 'present' || (metadata === 'unknown' && LOOKS_LIKE_A_PART.test(name))) return part;
      // lost+found, at the top of every ext4 file system, is readable by root alone.
      if (metadata === 'unknown' && name !== 'lost+found') unreadable.push(name);
      return null;
    }),
  );
  return { parts: found.filter((part): part is Part => part !== null).sort((a, b) => comparePartNames(a.name, b.name)), unreadable: unreadable.sort(comparePartNames) };
}

/** A folder name a DFDC download gives its parts (`dfdc_train_part_7`, Kaggle's `train_sample_videos`). */
const LOOKS_LIKE_A_PART = /dfdc|part|train_sample_videos/i;

/**
 * The folders of `rootDir` named as an output folder (boxes, crops, ...) or given as one
 * (`excludedDirs`) that hold a metadata.json: parts dfdc cannot take, as it writes there (or would,
 * with the output folder in DATA_ROOT), to be named rather than left out without a word.
 */
export async function partsInOutputFolders(rootDir: string, excludedDirs: readonly string[] = []): Promise<Part[]> {
  const root = resolve(rootDir);
  const names = new Set<string>(OUTPUT_FOLDER_NAMES.filter((name) => !name.startsWith('.')));
  for (const dir of excludedDirs) if (dirname(resolve(dir)) === root) names.add(basename(dir));
  const found = await Promise.all([...names].map(async (name) => ((await presence(join(root, name, METADATA_FILE_NAME))) === 'present' ? partAt(root, name) : null)));
  return found.filter((part): part is Part => part !== null);
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The folders of `rootDir` named as DFDC names its parts (dfdc_train_part_<N>, Kaggle's
 * train_sample_videos) that hold no metadata.json: most often a mount point with nothing mounted,
 * or a download not unpacked yet. Not parts, but named, since their videos would otherwise leave
 * the data set (and the folds) without a word.
 */
export async function partFoldersWithoutMetadata(rootDir: string): Promise<{ name: string; linkTo?: string }[]> {
  const root = resolve(rootDir);
  const names = (await readdir(root)).filter((name) => /^dfdc_train_part_\d+$|^train_sample_videos$/.test(name));
  const found = await Promise.all(
    names.map(async (name) => {
      const dir = join(root, name);
      if (await isDirectory(dir)) return (await presence(join(dir, METADATA_FILE_NAME))) === 'absent' ? { name } : null;
      // A link to a folder that is not there: a network share not mounted on this node.
      const target = await readlink(dir).catch(() => undefined);
      return target !== undefined && !(await stat(dir).then(() => true, () => false)) ? { name, linkTo: target } : null;
    }),
  );
  return found.filter((entry) => entry !== null).sort((a, b) => comparePartNames(a.name, b.name));
}

/** Whether a file is there: 'unknown' when it could not be looked at (a folder without search permission). */
async function presence(path: string): Promise<'present' | 'absent' | 'unknown'> {
  try {
    await stat(path);
    return 'present';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // A link whose target is not there (content a data-set tool has not fetched) is there to read, and fail on.
    if (code === 'ENOENT') return (await lstat(path).then(() => true, () => false)) ? 'present' : 'absent';
    return code === 'ENOTDIR' ? 'absent' : 'unknown';
  }
}
