import { join } from 'node:path';
import type { DatasetDirs } from './dirs.js';
import { groupsOf } from './groups.js';
import { checkOptionsApply, resolveLayout } from './layouts/index.js';
import type { LayoutName, LayoutOptions, ListedVideo, Listing, Split } from './layouts/layout.js';
import type { Part } from './parts.js';
import type { Problem } from './problems.js';
import { UsageError } from '../util/errors.js';
import { idProblem, relativePathProblem } from './video-id.js';

/**
 * The data set model every stage starts from: parts with their videos, the REAL videos, the FAKEs with
 * their original, the (original -> fakes) pairs, the videos whose file is missing, and every problem
 * found on the way. A layout (src/dataset/layouts/) lists the videos; assembleDataset, the same for
 * every layout, turns the listing into the model. assembleDataset is pure; loadDataset reads
 * DATA_ROOT and calls it.
 *
 * Rules:
 * - A FAKE's original is looked up by id among the accepted videos of the whole data set. A FAKE
 *   whose original is not listed, was itself rejected, or is not a REAL is a problem and is left out.
 * - Outputs are keyed by video id, so an id may appear once in the whole data set: a later one is a
 *   problem where it is listed, and is left out.
 * - A listed video whose file is absent is kept (stages 3 to 5 only need metadata and crops) and
 *   listed in missingVideos; stages that decode videos report it.
 * - Fold groups (docs/stages.md, "Folds"): DFDC's are its part folders; elsewhere a FAKE is in its
 *   original's group, joined by what the layout links (FaceForensics++: A, B, A_B and B_A).
 */

interface VideoBase {
  /** File name, e.g. `abc.mp4`. */
  readonly name: string;
  /** The key of every output of this video (src/dataset/video-id.ts): DFDC's file name without `.mp4`. */
  readonly id: string;
  /** Its path relative to DATA_ROOT, `/`-separated: how messages name it. */
  readonly relativePath: string;
  /** Absolute path of the video file (which may be missing: see Dataset.missingVideos). */
  readonly path: string;
  readonly part: Part;
  readonly split: Split | null;
  /** Its fold group: DFDC's part folder; elsewhere shared with its original and what the layout links. */
  readonly group: string;
  /** Its group under `--group identity`: shared with every video showing one of the same people. */
  readonly identityGroup: string;
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
  /** The layout it was read as. */
  readonly layout: LayoutName;
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
  /** What lists the videos (`metadata.json`, `dataset.json`, the manifest's file): the layout's Listing.listName. */
  readonly listName: string;
  /** Unreadable metadata files, bad records, duplicate names, FAKEs without a usable original. */
  readonly problems: readonly Problem[];
  /** The layout's notes: printed as warnings, not problems (they change no exit code). */
  readonly notes: readonly string[];
  /** The layout's list files of no fixed name (Listing.inputs), which `--out` must not replace. */
  readonly inputs: readonly string[];
}

/** The original of a video: the REAL it was made from, or itself for a REAL (whose boxes crop it). */
export function originalOf(video: Video): RealVideo {
  return video.label === 'REAL' ? video : video.original;
}

/** Builds the model from a layout's listing, in its order. Pure. */
export function assembleDataset(rootDir: string, layout: LayoutName, listing: Listing): Dataset {
  const problems: Problem[] = [...listing.problems];
  const accepted = new Map<string, ListedVideo>();
  const rejected = new Set(listing.rejected);
  for (const video of listing.videos) {
    // Ids name output folders that are replaced whole: one that is empty, "." or ".." would be the
    // crops folder itself or its parent.
    const unusable = idProblem(video.id) ?? relativePathProblem(video.relativePath);
    if (unusable !== null) {
      rejected.add(video.id);
      problems.push({ file: video.listedIn, message: `${video.shown} ${unusable}; left out` });
      continue;
    }
    const earlier = accepted.get(video.id);
    if (!earlier) accepted.set(video.id, video);
    else if (earlier.relativePath === video.relativePath) {
      problems.push({
        file: video.listedIn,
        message: `${video.shown} is also listed in ${earlier.listedIn}: outputs are keyed by video id, so the first one is kept and this one skipped`,
      });
    } else {
      problems.push({
        file: video.listedIn,
        message: `${video.shown} has the id ${JSON.stringify(video.id)}, as ${earlier.relativePath} has: outputs are keyed by video id, so the first one is kept and this one skipped (rename one of them)`,
      });
    }
  }

  // Fold groups, for every accepted video whose original is usable.
  const usable = [...accepted.values()].filter((video) => video.label === 'REAL' || accepted.get(video.original!.id)?.label === 'REAL');
  const anchor = (video: ListedVideo) => (video.label === 'REAL' ? video.id : video.original!.id);
  const defaultKeys = (video: ListedVideo) => [...(video.group === undefined ? [] : [`group:${video.group}`]), ...video.links];
  const groups = layout === 'dfdc' ? usable.map((video) => video.part.name) : groupsOf(usable.map((video) => [anchor(video), ...defaultKeys(video)]));
  const identityGroups = groupsOf(usable.map((video) => [anchor(video), ...video.identities.map((who) => `identity:${who}`), ...defaultKeys(video)]));
  // A group a data set names (a manifest's group column) shows under its own name.
  const shown = (key: string) => (key.startsWith('group:') ? key.slice('group:'.length) : key);
  const groupOf = new Map(usable.map((video, index) => [video.id, { group: shown(groups[index]!), identityGroup: shown(identityGroups[index]!) }]));
  // A REAL's group is the one its FAKEs share with it: groups of a component are one.
  const base = (video: ListedVideo) => ({
    name: video.relativePath.slice(video.relativePath.lastIndexOf('/') + 1),
    id: video.id,
    relativePath: video.relativePath,
    path: join(rootDir, ...video.relativePath.split('/')),
    part: video.part,
    split: video.split,
    ...groupOf.get(video.id)!,
  });

  const reals = new Map<string, RealVideo>();
  for (const video of accepted.values()) {
    if (video.label === 'REAL') reals.set(video.id, { ...base(video), label: 'REAL', originalId: null, original: null });
  }
  const byPart = new Map<Part, Video[]>((listing.parts ?? []).map((part) => [part, []]));
  const partOf = (part: Part) => {
    let list = byPart.get(part);
    if (!list) byPart.set(part, (list = []));
    return list;
  };
  const fakes: FakeVideo[] = [];
  const fakesOf = new Map<RealVideo, FakeVideo[]>();
  for (const video of accepted.values()) {
    if (video.label === 'REAL') {
      partOf(video.part).push(reals.get(video.id)!);
      continue;
    }
    const wanted = video.original!;
    const found = reals.get(wanted.id);
    // Two paths can give one id: the original is the video at the path named, not its namesake.
    const original = found && (wanted.path === undefined || found.relativePath === wanted.path) ? found : undefined;
    if (found && !original) {
      partOf(video.part);
      problems.push({ file: video.listedIn, message: `${video.shown}.original ${JSON.stringify(wanted.shown)} has the id of ${found.relativePath}, which was kept in its place: rename one of them; fake skipped` });
      continue;
    }
    if (!original) {
      partOf(video.part);
      problems.push({ file: video.listedIn, message: `${video.shown}.original ${JSON.stringify(wanted.shown)} ${whyNoOriginal(wanted.path === undefined ? wanted.id === video.id : wanted.path === video.relativePath, wanted.id, accepted, rejected, listing.notListed)}; fake skipped` });
      continue;
    }
    const fake: FakeVideo = { ...base(video), label: 'FAKE', originalId: original.id, original };
    fakes.push(fake);
    partOf(video.part).push(fake);
    const list = fakesOf.get(original);
    if (list) list.push(fake);
    else fakesOf.set(original, [fake]);
  }

  const parts: DatasetPart[] = [...byPart].map(([part, videos]) => ({ ...part, videos }));
  const videos = parts.flatMap((part) => part.videos);
  const present = new Map(listing.videos.map((video) => [video.id, video.present]));
  return {
    rootDir,
    layout,
    parts,
    videos,
    reals: videos.filter((video): video is RealVideo => video.label === 'REAL'),
    fakes: videos.filter((video): video is FakeVideo => video.label === 'FAKE'),
    pairs: [...reals.values()].filter((real) => fakesOf.has(real)).map((original) => ({ original, fakes: fakesOf.get(original)! })),
    missingVideos: videos.filter((video) => present.get(video.id) === false),
    listName: listing.listName,
    problems,
    notes: listing.notes ?? [],
    inputs: listing.inputs ?? [],
  };
}

/** Why a unit fails whose video is listed but absent: names the list that has it, which the layout knows. */
export function missingVideoReason(dataset: Dataset): string {
  return `file not found (listed in ${dataset.listName})`;
}

function whyNoOriginal(itself: boolean, id: string, accepted: ReadonlyMap<string, ListedVideo>, rejected: ReadonlySet<string>, notListed: string): string {
  if (itself) return 'is the fake itself: name the REAL video it was made from';
  const found = accepted.get(id);
  if (found) return `is labelled FAKE in ${found.listedIn}, not REAL: name the REAL video the fake was made from`;
  if (rejected.has(id)) return 'has a bad record of its own (see its problem)';
  return notListed;
}

/**
 * Reads DATA_ROOT as its layout (recognised, or forced with --dataset), and assembles the model.
 * Problems are returned, never thrown; a root that matches no layout, or two, is a UsageError.
 */
export async function loadDataset(dirs: DatasetDirs, options: DatasetOptions = {}): Promise<Dataset> {
  const layout = await resolveLayout(dirs.rootDir, options);
  checkOptionsApply(dirs.rootDir, layout, options);
  const listing = await layout.list(dirs, options);
  // A DFDC root may hold parts with no video yet; elsewhere nothing found means the wrong folder.
  if (layout.name !== 'dfdc' && listing.videos.length === 0 && listing.problems.length === 0) {
    const chosen = options.compression ? ` with --compression ${options.compression.join(',')}` : '';
    throw new UsageError(`--root-dir ${dirs.rootDir}: no video found as ${layout.name}${chosen} (expected ${layout.expects})`);
  }
  return assembleDataset(dirs.rootDir, layout.name, listing);
}

/** Which layout to read DATA_ROOT as (`--dataset`), and its options. */
export interface DatasetOptions extends LayoutOptions {
  readonly dataset?: LayoutName | 'auto';
}
