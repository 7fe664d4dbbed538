import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The DATA_ROOTs the pipeline benchmark lays out at run time from ../shared/media (never committed:
 * the media's terms forbid it, ../shared/media/README.md). Each is a plan (pure data, tested) and a
 * function that copies it into a folder.
 */

export interface PlannedVideo {
  /** DFDC part folder. */
  readonly part: string;
  /** File name in the part, as metadata.json names it. */
  readonly name: string;
  /** Path of the source, relative to the media folder. */
  readonly source: string;
  readonly label: 'REAL' | 'FAKE';
  /** A FAKE's REAL, by file name (in the same part, as in DFDC). */
  readonly original?: string;
  /** Frame size of the source (from the media README), to show the mix; not read from the file. */
  readonly size: string;
}

/**
 * 14 videos, 10 REAL and 4 FAKE, of seven frame sizes from 640x320 to 1920x1080 and 1080x1920
 * portrait, 200 to 751 frames: FaceForensics++ pairs (one of them yuv444p), a lip-sync pair whose
 * REAL is 1278 px wide and longer than its FAKE, DFDC clips (one portrait, one very dark with a
 * small face) as REALs without FAKEs, as many DFDC REALs are in a part.
 */
export const MULTI_VIDEO_ROOT: readonly PlannedVideo[] = [
  { part: 'dfdc_train_part_0', name: '519.mp4', source: 'ffpp/519.mp4', label: 'REAL', size: '640x480' },
  { part: 'dfdc_train_part_0', name: 'Deepfakes_519_515.mp4', source: 'ffpp/Deepfakes_519_515.mp4', label: 'FAKE', original: '519.mp4', size: '640x480' },
  { part: 'dfdc_train_part_0', name: '634.mp4', source: 'ffpp/634.mp4', label: 'REAL', size: '1280x720' },
  { part: 'dfdc_train_part_0', name: 'FaceSwap_634_660.mp4', source: 'ffpp/FaceSwap_634_660.mp4', label: 'FAKE', original: '634.mp4', size: '1280x720' },
  { part: 'dfdc_train_part_0', name: '004.mp4', source: 'ffpp/004.mp4', label: 'REAL', size: '1280x720' },
  { part: 'dfdc_train_part_0', name: 'NeuralTextures_004_982.mp4', source: 'ffpp/NeuralTextures_004_982.mp4', label: 'FAKE', original: '004.mp4', size: '1280x720' },
  { part: 'dfdc_train_part_0', name: 'wav2lip_real.mp4', source: 'lipsync/wav2lip_real.mp4', label: 'REAL', size: '640x320' },
  { part: 'dfdc_train_part_1', name: 'hyperlips_real_video1.mp4', source: 'lipsync/hyperlips_real_video1.mp4', label: 'REAL', size: '1278x720' },
  {
    part: 'dfdc_train_part_1',
    name: 'hyperlips_fake_result_video1.mp4',
    source: 'lipsync/hyperlips_fake_result_video1.mp4',
    label: 'FAKE',
    original: 'hyperlips_real_video1.mp4',
    size: '1278x720',
  },
  { part: 'dfdc_train_part_1', name: 'hyperlips_real_video2.mp4', source: 'lipsync/hyperlips_real_video2.mp4', label: 'REAL', size: '1280x720' },
  { part: 'dfdc_train_part_1', name: 'abqwwspghj.mp4', source: 'dfdc/abqwwspghj.mp4', label: 'REAL', size: '1920x1080' },
  { part: 'dfdc_train_part_1', name: 'brtujopkby.mp4', source: 'dfdc/brtujopkby.mp4', label: 'REAL', size: '1080x1920' },
  { part: 'dfdc_train_part_1', name: 'yhffcuhhjy.mp4', source: 'dfdc/yhffcuhhjy.mp4', label: 'REAL', size: '720x1280' },
  { part: 'dfdc_train_part_1', name: 'abofeumbvv.mp4', source: 'dfdc/abofeumbvv.mp4', label: 'REAL', size: '1920x1080' },
];

/** The 300-frame 1080p DFDC clip of the detect case. */
export const CLIP_SOURCE = 'dfdc/abqwwspghj.mp4';

/**
 * The clip as one REAL in one DFDC part, and a copy of it as that REAL's FAKE. Detect reads the
 * REAL only, so the FAKE changes nothing there; it is there so that the rest of the chain (crops
 * of a FAKE, its diff masks) is measured on a DFDC-sized FAKE for the cost model. A DFDC FAKE has
 * its REAL's size and length, so a copy costs what a FAKE costs (SSIM's work does not depend on the
 * pixels).
 */
export const CLIP_ROOT: readonly PlannedVideo[] = [
  { part: 'dfdc_train_part_0', name: 'abqwwspghj.mp4', source: CLIP_SOURCE, label: 'REAL', size: '1920x1080' },
  { part: 'dfdc_train_part_0', name: 'abqwwspghjfake.mp4', source: CLIP_SOURCE, label: 'FAKE', original: 'abqwwspghj.mp4', size: '1920x1080' },
];

export interface MetadataEntry {
  label: 'REAL' | 'FAKE';
  split: 'train';
  original: string | null;
}

/** Each part's metadata.json, in DFDC's format (a REAL's original is null). */
export function metadataByPart(videos: readonly PlannedVideo[]): Map<string, Record<string, MetadataEntry>> {
  const parts = new Map<string, Record<string, MetadataEntry>>();
  for (const video of videos) {
    let metadata = parts.get(video.part);
    if (metadata === undefined) {
      metadata = {};
      parts.set(video.part, metadata);
    }
    metadata[video.name] = { label: video.label, split: 'train', original: video.original ?? null };
  }
  return parts;
}

/** What is wrong with a plan (duplicate names, a FAKE whose REAL is not in its part), one line each; empty when nothing is. */
export function planProblems(videos: readonly PlannedVideo[]): string[] {
  const problems: string[] = [];
  const ids = new Set<string>();
  for (const video of videos) {
    // Outputs are keyed by the name without its extension, across parts.
    const id = video.name.replace(/\.[^.]+$/, '');
    if (ids.has(id)) problems.push(`${video.name}: a second video with id ${id}`);
    ids.add(id);
    if (video.label === 'FAKE') {
      const real = videos.find((other) => other.name === video.original && other.part === video.part);
      if (real === undefined) problems.push(`${video.name}: its original ${video.original ?? '(none)'} is not a video of ${video.part}`);
      else if (real.label !== 'REAL') problems.push(`${video.name}: its original ${real.name} is not REAL`);
    } else if (video.original !== undefined) {
      problems.push(`${video.name}: a REAL with an original`);
    }
  }
  return problems;
}

/** The sources of a plan missing under `mediaDir`. */
export function missingSources(videos: readonly PlannedVideo[], mediaDir: string): string[] {
  return [...new Set(videos.map((video) => video.source))].filter((source) => !existsSync(join(mediaDir, source)));
}

/** Copies the plan's videos into `root` (parts and metadata.json), so that each run reads its own files. */
export function layOut(videos: readonly PlannedVideo[], mediaDir: string, root: string): void {
  for (const [part, metadata] of metadataByPart(videos)) {
    mkdirSync(join(root, part), { recursive: true });
    writeFileSync(join(root, part, 'metadata.json'), JSON.stringify(metadata));
  }
  for (const video of videos) copyFileSync(join(mediaDir, video.source), join(root, video.part, video.name));
  makeWritable(root);
}

/** A fresh copy of a root, writable (the shared inputs are read-only, and copies keep their modes). */
export function copyRoot(source: string, target: string): void {
  cpSync(source, target, { recursive: true });
  makeWritable(target);
}

/** Adds the owner's write permission throughout, so that the tools may write and the benchmark may delete. */
function makeWritable(path: string): void {
  const stats = statSync(path);
  chmodSync(path, stats.mode | 0o200);
  if (stats.isDirectory()) for (const entry of readdirSync(path)) makeWritable(join(path, entry));
}

/** Every video file of a DATA_ROOT of DFDC parts (for the decode floor). */
export function videosOfRoot(root: string): string[] {
  const videos: string[] = [];
  for (const part of readdirSync(root, { withFileTypes: true })) {
    if (!part.isDirectory()) continue;
    for (const file of readdirSync(join(root, part.name))) if (file.endsWith('.mp4')) videos.push(join(root, part.name, file));
  }
  return videos.sort();
}
