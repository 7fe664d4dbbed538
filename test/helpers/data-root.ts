/**
 * The tests' one way to build a DATA_ROOT: part folders with a metadata.json (generated from the
 * entries, or written as given, malformed or not) and video files (copied, empty placeholders, or
 * missing); plus writable copies of the committed sample, of a parity input and of its metadata.
 */
import { cpSync } from 'node:fs';
import { copyFile, cp, mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { sampleRoot } from './shared.js';

/** One video of a DATA_ROOT built by writeDataRoot: its metadata.json record and its file. */
export interface DataRootEntry {
  /** A part number (folder `dfdc_train_part_<n>`) or a folder name. */
  part: number | string;
  /** File name, normally with `.mp4` (any name, for malformed-metadata tests). */
  name: string;
  /** 'REAL' or 'FAKE' (anything else is written as given); needed unless `record` is given. */
  label?: string;
  /** The REAL original's file name for a FAKE; null or absent for a REAL (written as null). */
  original?: string | null;
  /**
   * The metadata.json record written as given instead of `{ label, split: 'train', original }`
   * (e.g. `{ label: 'REAL' }`, or a malformed one); null: metadata.json does not list this file.
   */
  record?: object | null;
  /**
   * The video file: a path copied in, 'empty' for an empty placeholder file, null or absent for no
   * file (a video listed in metadata.json but missing).
   */
  source?: string | null;
}

export interface DataRootOptions {
  /**
   * metadata.json text per part folder name, written as given instead of the one generated from
   * the entries (malformed metadata); the entries' files are still written.
   */
  rawMetadata?: Record<string, string>;
  /** Part folders to create even with no entries (metadata.json `{}` unless rawMetadata gives one). */
  emptyParts?: (number | string)[];
  /** Part folders that get no metadata.json at all (their videos are still written). */
  withoutMetadata?: (number | string)[];
}

export interface DataRoot {
  root: string;
  /** Part folder paths, by folder name. */
  parts: Record<string, string>;
  /** Written video files (copied or empty), by `<part folder>/<name>`. */
  videos: Record<string, string>;
}

/** `dfdc_train_part_<n>` for a number; a string is taken as the folder name itself. */
export function partFolder(part: number | string): string {
  return typeof part === 'number' ? `dfdc_train_part_${part}` : part;
}

/**
 * Writes a DATA_ROOT under `root`: one folder per part with a compact DFDC metadata.json
 * (`{"x.mp4":{"label":"REAL","split":"train","original":null},...}`, records in the order of the
 * entries) and each entry's file.
 */
export async function writeDataRoot(root: string, entries: readonly DataRootEntry[], options: DataRootOptions = {}): Promise<DataRoot> {
  const metadata = new Map<string, Record<string, unknown>>();
  for (const part of options.emptyParts ?? []) metadata.set(partFolder(part), {});
  for (const folder of Object.keys(options.rawMetadata ?? {})) if (!metadata.has(folder)) metadata.set(folder, {});
  const result: DataRoot = { root, parts: {}, videos: {} };
  for (const entry of entries) {
    const folder = partFolder(entry.part);
    const records = metadata.get(folder) ?? {};
    metadata.set(folder, records);
    if (entry.record !== undefined) {
      if (entry.record !== null) records[entry.name] = entry.record;
    } else if (entry.label !== undefined) {
      records[entry.name] = { label: entry.label, split: 'train', original: entry.original ?? null };
    } else {
      throw new Error(`writeDataRoot: ${folder}/${entry.name} has neither a label nor a record`);
    }
    if (entry.source === undefined || entry.source === null) continue;
    const path = join(root, folder, entry.name);
    await mkdir(dirname(path), { recursive: true });
    if (entry.source === 'empty') await writeFile(path, '');
    else await copyFile(entry.source, path);
    result.videos[`${folder}/${entry.name}`] = path;
  }
  const withoutMetadata = new Set((options.withoutMetadata ?? []).map(partFolder));
  for (const [folder, records] of metadata) {
    const dir = join(root, folder);
    await mkdir(dir, { recursive: true });
    result.parts[folder] = dir;
    if (withoutMetadata.has(folder)) continue;
    await writeFile(join(dir, 'metadata.json'), options.rawMetadata?.[folder] ?? JSON.stringify(records));
  }
  return result;
}

/** Copies the committed sample DATA_ROOT's part folders into `dir` (a writable DATA_ROOT) and returns `dir`. */
export async function copySampleRoot(dir: string): Promise<string> {
  for (const entry of await readdir(sampleRoot)) {
    if (entry.startsWith('dfdc_train_part_')) await cp(join(sampleRoot, entry), join(dir, entry), { recursive: true });
  }
  return dir;
}

/** Copies a folder (a parity input DATA_ROOT, videos and all, or reference outputs) to `destination`, since stages write into it; returns `destination`. */
export function copyInto(source: string, destination: string): string {
  cpSync(source, destination, { recursive: true });
  return destination;
}

/** Copies each `<input>/<part>/metadata.json` of a parity data set into `root` (no videos). */
export async function copyParityMetadata(inputDir: string, root: string): Promise<void> {
  for (const name of await readdir(inputDir)) {
    await mkdir(join(root, name), { recursive: true });
    await copyFile(join(inputDir, name, 'metadata.json'), join(root, name, 'metadata.json'));
  }
}
