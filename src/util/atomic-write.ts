import { link, mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, sep } from 'node:path';
import { FatalError, writeFailure } from './errors.js';
import { temporaryTarget } from './file-names.js';

/**
 * Every file dfdc writes goes through here: written under a temporary name in the same folder,
 * then renamed into place, so a file is either absent, its old content, or the whole new content,
 * never half-written. A write that fails because of the machine (a full disk, a folder that is
 * read-only or not permitted) becomes the FatalError that stops the run (util/errors.ts), here in
 * one place, whether the writer is node:fs or sharp, in the main thread or in a worker.
 */

let counter = 0;

/** Bytes of the target's name kept in a temporary name, so that it stays within the 255-byte limit. */
const KEPT_NAME_BYTES = 120;

/**
 * Tells this process's temporaries from those of another with the same pid: containers sharing an
 * output folder each run dfdc as pid 1, or as the same small number.
 */
const processToken = randomBytes(4).toString('hex');

/** A temporary name beside `path`, unique to this process and call, hidden from every stage's listing. */
export function temporaryPathFor(path: string): string {
  counter += 1;
  return join(dirname(path), `.${shortened(basename(path))}.${process.pid}.${counter}-${processToken}.tmp`);
}


/**
 * Creates `dir` and its parents; a failure of the machine is a FatalError naming it.
 *
 * Node's recursive mkdir reports ENOENT for a folder it may not create on a read-only file system
 * (nodejs/node#47098), which would make a read-only output look like one unit's missing file. On
 * ENOENT, the first missing folder is made alone, which gives the true code (or succeeds, and the
 * rest is made again).
 */
export async function makeFolder(dir: string): Promise<void> {
  try {
    await checkKept(await mkdir(dir, { recursive: true }));
    return;
  } catch (error) {
    if (error instanceof FatalError) throw error;
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw writeFailure(error, dir);
  }
  let missing = dir;
  while (dirname(missing) !== missing && !(await stat(dirname(missing)).then(() => true, () => false))) missing = dirname(missing);
  try {
    await mkdir(missing);
    await checkKept(missing);
    await mkdir(dir, { recursive: true });
  } catch (error) {
    if (error instanceof FatalError) throw error;
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw writeFailure(error, dir);
    await mkdir(dir, { recursive: true }).catch((again: unknown) => {
      throw writeFailure(again, dir);
    });
  }
}

/**
 * Folders a run has made and writes under (the output folder, its state folder): writes make
 * whatever is missing below them, but never them again. One that is missing was moved or deleted
 * while the run went on; making it anew would split a unit's files between the old place and the
 * new, and record as complete a folder that holds only the second half.
 */
const keptFolders = new Set<string>();

/** Sets the folders (absolute, made already) writes must never make again, in this thread: a run's, replacing an earlier run's. */
export function keepFolders(dirs: Iterable<string>): void {
  keptFolders.clear();
  for (const dir of dirs) keptFolders.add(dir);
}

/** The folders keepFolders was given, for a worker thread to keep too. */
export function keptFolderList(): string[] {
  return [...keptFolders];
}

/** `created`, the first folder a recursive mkdir made: if a kept folder is it or below it, that folder had gone. */
async function checkKept(created: string | undefined): Promise<void> {
  if (created === undefined) return;
  for (const kept of keptFolders) {
    if (kept !== created && !kept.startsWith(created + sep)) continue;
    // Only what this call just made is removed: empty folders, down to the one asked for.
    await rm(created, { recursive: true, force: true }).catch(() => undefined);
    throw new FatalError(`${kept} is gone: it was moved or deleted while dfdc was writing in it; nothing more was written: put it back, or give --output-dir its new place, and rerun`);
  }
}

/** Removes a file or a whole folder if present; a folder that may not be changed is a FatalError. */
export async function removePath(path: string): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true });
  } catch (error) {
    throw writeFailure(error, path);
  }
}

/**
 * Writes `data` to `path` so that `path` is either absent, its old content, or the whole new content:
 * never half-written. The data goes to a temporary name in the same folder, then is renamed into place.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await writeAtomicWith(path, (temporary) => writeFile(temporary, data));
}

/**
 * Writes `data` to `path` whole, as writeFileAtomic, only if no file is there: false if one is.
 * The temporary is hard-linked into place, which fails when the name exists, so of two processes
 * writing at once exactly one creates the file. Where hard links are not supported, it is renamed
 * into place when no file was seen (two writers may then both succeed).
 */
export async function writeNewFileAtomic(path: string, data: string | Uint8Array): Promise<boolean> {
  await makeFolder(dirname(path));
  const temporary = temporaryPathFor(path);
  try {
    await writeFile(temporary, data);
    try {
      await link(temporary, path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw error;
      if (await stat(path).then(() => true, () => false)) return false;
      await rename(temporary, path);
    }
    return true;
  } catch (error) {
    throw writeFailure(error, path);
  } finally {
    await rm(temporary, { force: true }).catch(() => undefined);
  }
}

/**
 * Like writeFileAtomic, for writers that want a path (sharp's toFile): `write` receives the temporary
 * path, and the result is renamed into place only when it resolves.
 */
export async function writeAtomicWith(path: string, write: (temporaryPath: string) => Promise<unknown>): Promise<void> {
  await makeFolder(dirname(path));
  const temporary = temporaryPathFor(path);
  try {
    await write(temporary);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => undefined);
    throw writeFailure(error, path);
  }
}

function shortened(name: string): string {
  return Buffer.byteLength(name) > KEPT_NAME_BYTES ? Buffer.from(name).subarray(0, KEPT_NAME_BYTES).toString('utf8').replace(/\uFFFD+$/, '') : name;
}

/**
 * The temporaries of one folder, from one listing, by the file they were for: so that a stage can
 * clear what killed writers left beside the files it redoes without listing a shared folder such
 * as boxes/ once per file (100,000 listings of a 19,000-name folder at DFDC's size).
 */
export class TemporaryIndex {
  private constructor(private readonly byTarget: ReadonlyMap<string, readonly string[]>) {}

  static async of(dir: string): Promise<TemporaryIndex> {
    const byTarget = new Map<string, string[]>();
    let names: string[] = [];
    try {
      names = await readdir(dir);
    } catch {
      // an absent folder holds no temporaries
    }
    for (const name of names) {
      const target = temporaryTarget(name);
      if (target === undefined) continue;
      const list = byTarget.get(target);
      if (list) list.push(join(dir, name));
      else byTarget.set(target, [join(dir, name)]);
    }
    return new TemporaryIndex(byTarget);
  }

  /** The temporaries left for `path` (a file of the listed folder). */
  of(path: string): readonly string[] {
    return this.byTarget.get(shortened(basename(path))) ?? [];
  }
}

/**
 * Removes what killed writers left for `path`: temporary files, and the staging folders of folder
 * outputs (a unit's crops, with whatever PNGs it had made). Call it only for a path this process
 * owns (its report, a unit it redoes).
 */
export async function removeTemporariesOf(path: string, index?: TemporaryIndex): Promise<void> {
  const temporaries = (index ?? (await TemporaryIndex.of(dirname(path)))).of(path);
  await Promise.all(temporaries.map((temporary) => rm(temporary, { recursive: true, force: true }).catch(() => undefined)));
}

/**
 * How old a temporary must be before removeStaleTemporaries removes it. A write takes
 * milliseconds; a temporary this old was left by a process that was killed. Younger ones may
 * belong to a live process that writes the same shared file (another shard), so they stay.
 */
export const STALE_TEMPORARY_MS = 15 * 60 * 1000;

/** Removes the old temporaries killed processes left beside a file that several processes share. */
export async function removeStaleTemporaries(path: string, now = Date.now()): Promise<void> {
  for (const temporary of (await TemporaryIndex.of(dirname(path))).of(path)) {
    const info = await stat(temporary).catch(() => undefined);
    if (info && now - info.mtimeMs >= STALE_TEMPORARY_MS) await rm(temporary, { force: true }).catch(() => undefined);
  }
}
