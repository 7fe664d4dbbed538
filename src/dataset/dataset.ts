import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DatasetDirs } from './dirs.js';
import { parseMetadata, type MetadataRecord, type ParsedMetadata } from './metadata.js';
import { outputPaths } from './output-paths.js';
import { findParts, type Part } from './parts.js';
import type { Problem } from './problems.js';

/**
 * The data set model every stage starts from: parts with their videos, the REAL videos, the FAKEs with
 * their original, the (original -> fakes) pairs, the videos whose file is missing, and every problem
 * found on the way. assembleDataset is pure; loadDataset reads DATA_ROOT and calls it.
 *
 * Rules:
 * - A FAKE's original is looked up by file name among the accepted records of the whole data set
 *   (ids are unique, see below, so this finds the one in the same part when there is one, as in DFDC).
 *   A FAKE whose original is in no metadata.json, was itself rejected, or is not a REAL is a problem and
 *   is left out.
 * - Outputs are keyed by video id, so a file name may appear once in the whole data set: a name already
 *   seen in an earlier part (parts in name order) is a problem in the later part's metadata.json and
 *   that later record is left out.
 * - A listed video whose file is absent is kept (stages 3 to 5 only need metadata and crops) and listed
 *   in missingVideos; stages that decode videos report it.
 */

interface VideoBase {
  /** File name, e.g. `abc.mp4`. */
  readonly name: string;
  /** The name without `.mp4`. */
  readonly id: string;
  /** Absolute path of the video file (which may be missing: see Dataset.missingVideos). */
  readonly path: string;
  readonly part: Part;
}

export interface RealVideo extends VideoBase {
  readonly label: 'REAL';
  readonly originalId: null;
  readonly original: null;
}

export interface FakeVideo extends VideoBase {
  readonly label: 'FAKE';
  /** The id of the REAL video it was made from. */
  readonly originalId: string;
  readonly original: RealVideo;
}

export type Video = RealVideo | FakeVideo;

/** A REAL video and the FAKEs made from it (at least one). */
export interface Pair {
  readonly original: RealVideo;
  readonly fakes: readonly FakeVideo[];
}

/** A part and its accepted videos, in its metadata.json's order. */
export interface DatasetPart extends Part {
  readonly videos: readonly Video[];
}

export interface Dataset {
  /** Absolute DATA_ROOT. */
  readonly rootDir: string;
  /** Parts whose metadata.json could be read, in name order (a part may have no videos). */
  readonly parts: readonly DatasetPart[];
  /** Every accepted video, part by part. */
  readonly videos: readonly Video[];
  readonly reals: readonly RealVideo[];
  readonly fakes: readonly FakeVideo[];
  /** One per REAL that has at least one FAKE, in the order of `reals`. */
  readonly pairs: readonly Pair[];
  /** Accepted videos whose file is not in their part folder. Not a problem by itself. */
  readonly missingVideos: readonly Video[];
  /** Unreadable metadata files, bad records, duplicate names, FAKEs without a usable original. */
  readonly problems: readonly Problem[];
}

/** What assembleDataset needs to know about one part. */
export interface PartContents {
  readonly part: Part;
  readonly metadata: ParsedMetadata;
  /** Names of the files in the part folder, or null when it could not be listed (nothing is then called missing). */
  readonly files: ReadonlySet<string> | null;
}

/** The original of a video: the REAL it was made from, or itself for a REAL (whose boxes crop it). */
export function originalOf(video: Video): RealVideo {
  return video.label === 'REAL' ? video : video.original;
}

/** Builds the model from parts already read, in the given order. Pure. */
export function assembleDataset(rootDir: string, contents: readonly PartContents[]): Dataset {
  const problems: Problem[] = [];
  const accepted = new Map<string, { record: MetadataRecord; part: Part }>();
  const rejected = new Set<string>();
  for (const { part, metadata } of contents) {
    problems.push(...metadata.problems);
    for (const name of metadata.rejectedNames) rejected.add(name);
    for (const record of metadata.records) {
      const earlier = accepted.get(record.name);
      if (earlier) {
        problems.push({
          file: part.metadataFile,
          message: `${JSON.stringify(record.name)} is also listed in ${earlier.part.metadataFile}: outputs are keyed by video id, so the first one is kept and this one skipped`,
        });
      } else {
        accepted.set(record.name, { record, part });
      }
    }
  }

  const reals = new Map<string, RealVideo>();
  for (const { record, part } of accepted.values()) {
    if (record.label === 'REAL') {
      reals.set(record.name, { name: record.name, id: record.id, path: join(part.dir, record.name), part, label: 'REAL', originalId: null, original: null });
    }
  }

  const videosByPart = new Map<Part, Video[]>(contents.filter((c) => c.metadata.readable).map((c) => [c.part, []]));
  const fakes: FakeVideo[] = [];
  const fakesOf = new Map<RealVideo, FakeVideo[]>();
  for (const { record, part } of accepted.values()) {
    if (record.label === 'REAL') {
      videosByPart.get(part)!.push(reals.get(record.name)!);
      continue;
    }
    const originalName = record.original!;
    const original = reals.get(originalName);
    if (!original) {
      problems.push({ file: part.metadataFile, message: `${JSON.stringify(record.name)}.original ${JSON.stringify(originalName)} ${whyNoOriginal(originalName, accepted, rejected)}; fake skipped` });
      continue;
    }
    const fake: FakeVideo = { name: record.name, id: record.id, path: join(part.dir, record.name), part, label: 'FAKE', originalId: original.id, original };
    fakes.push(fake);
    videosByPart.get(part)!.push(fake);
    const list = fakesOf.get(original);
    if (list) list.push(fake);
    else fakesOf.set(original, [fake]);
  }

  const parts: DatasetPart[] = [...videosByPart].map(([part, videos]) => ({ ...part, videos }));
  const videos = parts.flatMap((part) => part.videos);
  const filesOf = new Map(contents.map((c) => [c.part, c.files]));
  return {
    rootDir,
    parts,
    videos,
    reals: videos.filter((video): video is RealVideo => video.label === 'REAL'),
    fakes: videos.filter((video): video is FakeVideo => video.label === 'FAKE'),
    pairs: [...reals.values()].filter((real) => fakesOf.has(real)).map((original) => ({ original, fakes: fakesOf.get(original)! })),
    missingVideos: videos.filter((video) => filesOf.get(video.part)?.has(video.name) === false),
    problems,
  };
}

function whyNoOriginal(name: string, accepted: ReadonlyMap<string, { record: MetadataRecord; part: Part }>, rejected: ReadonlySet<string>): string {
  const found = accepted.get(name);
  if (found) return `is labelled FAKE in ${found.part.metadataFile}, not REAL`;
  if (rejected.has(name)) return 'has a bad record of its own (see its problem)';
  return 'is not in any metadata.json';
}

/**
 * Reads DATA_ROOT: finds the parts (skipping the output folders of `dirs`), reads and checks each
 * metadata.json, lists each part folder once to find missing videos, and assembles the model.
 * Problems are returned, never thrown; only an unreadable DATA_ROOT throws.
 */
export async function loadDataset(dirs: DatasetDirs): Promise<Dataset> {
  const parts = await findParts(dirs.rootDir, outputPaths(dirs).folders);
  const contents = await Promise.all(parts.map(readPart));
  return assembleDataset(dirs.rootDir, contents);
}

async function readPart(part: Part): Promise<PartContents> {
  let metadata: ParsedMetadata;
  try {
    metadata = parseMetadata(await readFile(part.metadataPath, 'utf8'), part.metadataFile);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
    metadata = { readable: false, records: [], rejectedNames: [], problems: [{ file: part.metadataFile, message: `unreadable (${reason}); part skipped` }] };
  }
  let files: ReadonlySet<string> | null;
  try {
    files = new Set(await readdir(part.dir));
  } catch {
    files = null;
  }
  return { part, metadata, files };
}
