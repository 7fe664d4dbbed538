import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { Part } from '../parts.js';
import type { Problem } from '../problems.js';

/**
 * What the layouts that find videos on disk, or check listed ones, share: a folder of videos as a
 * part, its video files, and whether listed files are there (one listing per folder).
 */

/** A folder of DATA_ROOT (`/`-separated, relative; `.` for the root itself) as a part: no number, named by its path. */
export function folderPart(rootDir: string, relativeDir: string): Part {
  const dir = relativeDir === '.' ? rootDir : join(rootDir, ...relativeDir.split('/'));
  return { name: relativeDir, number: null, dir, metadataPath: dir, metadataFile: relativeDir };
}

/**
 * Where a layout files the folders it cannot list: one problem each (relative to `rootDir`), and
 * `unreadable` for its own messages. Without it a folder that exists but cannot be read (no
 * permission, a link loop) would look empty: its videos silently left out.
 */
export interface ListingReport {
  readonly rootDir: string;
  readonly problems: Problem[];
  readonly unreadable: Set<string>;
}

export function listingReport(rootDir: string, problems: Problem[]): ListingReport {
  return { rootDir, problems, unreadable: new Set() };
}

/** A folder's entries; [] when it is not there, and also (reported) when it cannot be read or is a file. */
async function entriesOf(dir: string, report: ListingReport | undefined): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    if (report && code !== 'ENOENT') {
      report.unreadable.add(dir);
      const file = relative(report.rootDir, dir).split(sep).join('/') || '.';
      const message =
        code === 'ENOTDIR'
          ? 'is a file where a folder is expected: move it away, or put the folder there, then rerun'
          : `cannot be listed (${code}): its videos are left out; give dfdc read access to it (or fix the link), then rerun`;
      report.problems.push({ file, message });
    }
    return [];
  }
}

/**
 * The `.mp4` entries of a folder, sorted by code unit; [] when it is not there. Every one, also a
 * link whose target is not there (content git-annex or DVC has not fetched), a folder or a FIFO
 * of that name: the stages fail such a video with its own fix, and `dfdc index` names it, where
 * leaving it out would drop it from the data set without a word.
 */
export async function videoFilesIn(dir: string, report?: ListingReport): Promise<string[]> {
  const entries = await entriesOf(dir, report);
  return entries
    .map((entry) => entry.name)
    .filter((name) => name.toLowerCase().endsWith('.mp4') && !name.startsWith('.'))
    .sort();
}

/** The sub-folders of a folder, sorted; [] when it is not there. */
export async function foldersIn(dir: string, report?: ListingReport): Promise<string[]> {
  const entries = await entriesOf(dir, report);
  const names: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    if (entry.isDirectory() || (entry.isSymbolicLink() && (await stat(join(dir, entry.name)).then((info) => info.isDirectory(), () => false)))) names.push(entry.name);
  }
  return names.sort();
}

/** Answers "is this listed file there?" with one listing per folder. */
export class PresenceCheck {
  private readonly listings = new Map<string, Promise<ReadonlySet<string> | null>>();

  constructor(private readonly rootDir: string) {}

  /** True or false; null when its folder cannot be listed (then nothing is called missing). */
  async has(relativePath: string): Promise<boolean | null> {
    const { names, name } = await this.listingOf(relativePath);
    return names === null ? null : names.has(name);
  }

  /**
   * A problem's message for a listed file that is not there under its name but is under the same
   * name in another Unicode normalisation; undefined otherwise.
   */
  async otherSpelling(relativePath: string): Promise<string | undefined> {
    const { names, name } = await this.listingOf(relativePath);
    return names === null || names.has(name) ? undefined : otherSpellingProblem(name, names);
  }

  private async listingOf(relativePath: string): Promise<{ names: ReadonlySet<string> | null; name: string }> {
    const at = relativePath.lastIndexOf('/');
    const folder = at < 0 ? '' : relativePath.slice(0, at);
    let listing = this.listings.get(folder);
    if (!listing) {
      listing = readdir(join(this.rootDir, ...folder.split('/').filter(Boolean))).then(
        (names) => new Set(names),
        (error: NodeJS.ErrnoException) => (error.code === 'ENOENT' || error.code === 'ENOTDIR' ? new Set<string>() : null),
      );
      this.listings.set(folder, listing);
    }
    return { names: await listing, name: relativePath.slice(at + 1) };
  }
}

/**
 * For a listed `name` missing from `files`: the message when `files` has it in another Unicode
 * normalisation (NFC/NFD: a list written on one system, files unpacked on another), which is
 * another file name; undefined otherwise.
 */
export function otherSpellingProblem(name: string, files: ReadonlySet<string>): string | undefined {
  const spelled = [name.normalize('NFC'), name.normalize('NFD')].find((candidate) => candidate !== name && files.has(candidate));
  if (spelled === undefined) return undefined;
  return `${JSON.stringify(name)} is on disk as ${JSON.stringify(spelled)}, the same name in another Unicode normalisation (NFC/NFD), which is another file name: rename the file or the record so they match byte for byte`;
}

/** folderPart, one object per folder (parts are told apart by identity). */
export function folderParts(rootDir: string): (relativeDir: string) => Part {
  const parts = new Map<string, Part>();
  return (relativeDir) => {
    let part = parts.get(relativeDir);
    if (!part) parts.set(relativeDir, (part = folderPart(rootDir, relativeDir)));
    return part;
  };
}
