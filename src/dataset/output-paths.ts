import { join } from 'node:path';
import type { DatasetDirs } from './dirs.js';

/**
 * Every path dfdc writes, in the reference's layout, and the reference's frame/actor grid.
 * Nothing else in dfdc joins an output path by hand: stages ask this module, so the layout the
 * winner's training code reads (folds.csv rows -> crops/, diffs/, landmarks/) lives in one place.
 *
 *   <output-dir>/boxes/<original id>.json
 *   <crops-dir>/<video id>/<frame>_<j>.png
 *   <output-dir>/landmarks/<original id>/<frame>_<actor>.npy
 *   <output-dir>/diffs/<fake id>/<frame>_<actor>_diff.png
 *   <output-dir>/.run-state/                 dfdc's own state (never read by the training code)
 *
 * No name at the top of the output folder contains "dfdc": when the output folder is DATA_ROOT, the
 * reference's generate_folds.py takes every such name for a part folder (docs/completion.md).
 */

/** Names of the output folders under the output dir (crops only by default: --crops-dir renames it). */
export const OUTPUT_FOLDER_NAMES = ['boxes', 'crops', 'landmarks', 'diffs', '.run-state'] as const;

/** The state folder's name before version 0.2 (moved to `.run-state` on first use: src/run/state-folder.ts). */
export const LEGACY_STATE_FOLDER_NAME = '.dfdc';

/** Stage 2 crops every FRAME_STEP-th frame; stages 3 to 5 read frames 0, 10, ..., LAST_GRID_FRAME. */
export const FRAME_STEP = 10;
/** The reference loops `for frame in range(320): if frame % 10 == 0`, so its last frame is 310. */
export const LAST_GRID_FRAME = 310;
/** Stages 3 to 5 read the first two faces (j = 0, 1) of each frame; the reference calls j the actor. */
export const GRID_ACTORS: readonly number[] = [0, 1];
/** 0, 10, ..., 310. */
export const GRID_FRAMES: readonly number[] = Array.from({ length: LAST_GRID_FRAME / FRAME_STEP + 1 }, (_, i) => i * FRAME_STEP);

/** One (frame, actor) cell of the grid. */
export interface GridCell {
  readonly frame: number;
  readonly actor: number;
}

/** The 64 cells in the reference's loop order: frame ascending, then actor. */
export const FRAME_ACTOR_GRID: readonly GridCell[] = GRID_FRAMES.flatMap((frame) => GRID_ACTORS.map((actor) => ({ frame, actor })));

/** `<frame>_<j>.png`, the crop file name (also folds.csv's `file` column). */
export function cropFileName(frame: number, j: number): string {
  return `${frame}_${j}.png`;
}

/** `<frame>_<actor>.npy`: the reference's `<file minus .png>.npy`. */
export function landmarkFileName(frame: number, actor: number): string {
  return `${frame}_${actor}.npy`;
}

/** `<frame>_<actor>_diff.png`: the reference's `<file minus .png>_diff.png`. */
export function diffFileName(frame: number, actor: number): string {
  return `${frame}_${actor}_diff.png`;
}

/** The grid cells whose crop file is among `files` (a crops folder's listing), in grid order. */
export function gridCellsPresent(files: ReadonlySet<string>): GridCell[] {
  return FRAME_ACTOR_GRID.filter((cell) => files.has(cropFileName(cell.frame, cell.actor)));
}

/** Absolute output paths for one data set, from the resolved --root-dir/--output-dir/--crops-dir. */
export interface OutputPaths {
  readonly outputDir: string;
  readonly boxesDir: string;
  readonly cropsDir: string;
  readonly landmarksDir: string;
  readonly diffsDir: string;
  /** `<output-dir>/.run-state/`: dfdc's record of completed units and of the settings that made them. */
  readonly stateDir: string;
  /** Every folder above: never a part of the data set, even when it sits in DATA_ROOT. */
  readonly folders: readonly string[];
  boxesFile(originalId: string): string;
  cropDir(videoId: string): string;
  cropFile(videoId: string, frame: number, j: number): string;
  landmarksDirOf(originalId: string): string;
  landmarkFile(originalId: string, frame: number, actor: number): string;
  diffDir(fakeId: string): string;
  diffFile(fakeId: string, frame: number, actor: number): string;
}

export function outputPaths(dirs: DatasetDirs): OutputPaths {
  const { outputDir, cropsDir } = dirs;
  const boxesDir = join(outputDir, 'boxes');
  const landmarksDir = join(outputDir, 'landmarks');
  const diffsDir = join(outputDir, 'diffs');
  const stateDir = join(outputDir, '.run-state');
  return {
    outputDir,
    boxesDir,
    cropsDir,
    landmarksDir,
    diffsDir,
    stateDir,
    folders: [boxesDir, cropsDir, landmarksDir, diffsDir, stateDir],
    boxesFile: (originalId) => join(boxesDir, `${originalId}.json`),
    cropDir: (videoId) => join(cropsDir, videoId),
    cropFile: (videoId, frame, j) => join(cropsDir, videoId, cropFileName(frame, j)),
    landmarksDirOf: (originalId) => join(landmarksDir, originalId),
    landmarkFile: (originalId, frame, actor) => join(landmarksDir, originalId, landmarkFileName(frame, actor)),
    diffDir: (fakeId) => join(diffsDir, fakeId),
    diffFile: (fakeId, frame, actor) => join(diffsDir, fakeId, diffFileName(frame, actor)),
  };
}
