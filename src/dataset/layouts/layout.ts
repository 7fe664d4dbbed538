import type { DatasetDirs } from '../dirs.js';
import type { Label } from '../metadata.js';
import type { Part } from '../parts.js';
import type { Problem } from '../problems.js';

/**
 * What a data set layout is: how dfdc recognises it, and how it lists its videos. One module per
 * layout in this folder (dfdc, ffpp, celebdf, dfdcp, manifest); src/dataset/dataset.ts turns a
 * listing into the model every stage works from, the same way for all of them.
 */

export type LayoutName = 'dfdc' | 'ffpp' | 'celebdf' | 'dfdcp' | 'manifest';

/** A video's official split, where the data set has one. */
export type Split = 'train' | 'val' | 'test';

/** What a layout's options say (src/dataset/layouts/index.ts declares them). */
export interface LayoutOptions {
  /** FaceForensics++ compressions to take (`--compression`); undefined: every one present. */
  readonly compression?: readonly string[];
  /** FaceForensics++'s split folder (`--splits`): train.json, val.json, test.json. */
  readonly splits?: string;
  /** The manifest CSV (`--manifest`); default `manifest.csv` in DATA_ROOT. */
  readonly manifest?: string;
}

/** One video as a layout lists it. */
export interface ListedVideo {
  readonly id: string;
  /** Its path relative to DATA_ROOT, `/`-separated. */
  readonly relativePath: string;
  readonly label: Label;
  /**
   * A FAKE's original: its id, how the listing names it (for messages), and its path when the
   * listing gives one (two paths can give one id: `a/b.mp4` and `a_b.mp4`). Null for a REAL.
   */
  readonly original: { readonly id: string; readonly shown: string; readonly path?: string } | null;
  /** The folder (or list) it belongs to: DFDC's part folder, FaceForensics++'s method/compression folder. */
  readonly part: Part;
  readonly split: Split | null;
  /** How problems name the video: DFDC's record key (`"abc.mp4"`), else its path. */
  readonly shown: string;
  /** Where problems about it are filed: the metadata.json, dataset.json or manifest that lists it, or its own path. */
  readonly listedIn: string;
  /**
   * Keys that put videos in one fold group besides a FAKE and its original (FaceForensics++: A,
   * B, A_B and B_A). Not used by DFDC, whose groups are its part folders.
   */
  readonly links: readonly string[];
  /** The people it shows, for `--group identity` (FaceForensics++ and Celeb-DF ids, DFD's actors). */
  readonly identities: readonly string[];
  /** A group given by the data set itself (a manifest's `group` column). */
  readonly group?: string;
  /** Whether its file is there; null when the layout found it on disk (it is). */
  readonly present: boolean | null;
}

export interface Listing {
  readonly videos: readonly ListedVideo[];
  /** Parts to keep even when they hold no video (DFDC's readable metadata files), in order. */
  readonly parts?: readonly Part[];
  readonly problems: readonly Problem[];
  /**
   * Files the listing was read from that no fixed name gives away (a manifest named by --manifest,
   * FaceForensics++'s split files), absolute: `--out` refuses to write over one.
   */
  readonly inputs?: readonly string[];
  /** What the user should know of how the data set is read, though nothing is wrong with a file (a split that leaves videos out). */
  readonly notes?: readonly string[];
  /** Ids of videos left out for a problem of their own, so a FAKE naming one can say so. */
  readonly rejected: ReadonlySet<string>;
  /** What to say of an original that no listing has, e.g. `is not in any metadata.json`. */
  readonly notListed: string;
  /**
   * What lists the videos, as messages about a listed video whose file is absent name it:
   * `metadata.json` (each part's), `dataset.json`, the manifest's file. Layouts that list the
   * files they find (FaceForensics++, Celeb-DF) name their folders, and never have such a video.
   */
  readonly listName: string;
}

export interface Layout {
  readonly name: LayoutName;
  /** What it expects at the top of DATA_ROOT, for the message of a root that matches no layout. */
  readonly expects: string;
  /** Whether DATA_ROOT looks like this layout. `entries`: the names at its top level. */
  recognises(rootDir: string, entries: ReadonlySet<string>, options: LayoutOptions): Promise<boolean>;
  /**
   * For a root this layout does not recognise: the message when its top shows it is one of the
   * layout's inner folders (a DFDC part folder) rather than the root, else undefined. Said instead
   * of every layout's expectations, which would not tell the user to go one folder up.
   */
  innerFolder?(rootDir: string, entries: ReadonlySet<string>): string | undefined;
  list(dirs: DatasetDirs, options: LayoutOptions): Promise<Listing>;
  /** The detection scale `--scale layout` resolves to (README: "Detection size"). */
  readonly detectionScale: number | 'auto';
}
