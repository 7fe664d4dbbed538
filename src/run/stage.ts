import type { z } from 'zod';
import type { Dataset } from '../dataset/dataset.js';
import type { DatasetDirs } from '../dataset/dirs.js';
import type { OutputPaths } from '../dataset/output-paths.js';
import type { Selection } from '../dataset/selection.js';
import type { MtcnnBackend } from '../mtcnn/engine.js';
import type { FileAccess } from '../util/file-system.js';
import type { TaskPool } from '../workers/pool.js';
import type { ReportFile } from './report.js';

/**
 * The contract between a stage (src/stages/<name>.ts) and the one runner that drives any list of
 * stages (src/run/runner.ts). A stage says what it is: its settings (one zod object whose fields
 * carry their help and defaults: src/util/options.ts), its units, what each unit reads and writes,
 * and the work for one unit. The runner does the rest the same way for every stage: progress,
 * completion (docs/completion.md), provenance, the report, signals and the worker pool's life.
 */

/** A stage's settings schema: every field shapes the stage's outputs, so all of it is its provenance. */
export type SettingsSchema = z.ZodObject<z.ZodRawShape>;

/** One unit of work: a video (detect, crops, landmarks) or a FAKE (diffs). */
export interface Unit {
  /** Unique within the stage (a video id): names the unit's record. */
  readonly id: string;
  /** How the unit is named in messages: the video's path in DATA_ROOT (`dfdc_train_part_0/abc.mp4`). */
  readonly subject: string;
}

/** A file, or a folder whose files are read or written together (a video's crops). */
export interface Ref {
  readonly kind: 'file' | 'folder';
  readonly path: string;
}

/** Something a unit reads. */
export interface Input extends Ref {
  /** Its name in records and messages: `video`, `boxes`, `crops`, `original crops`, ... */
  readonly role: string;
  /**
   * The unit of an earlier stage that writes it. When it is absent, the unit waits for that one
   * (it has not run, or it failed), unless that one is complete: then there is nothing to read
   * (a video without faces has no crops) and the unit goes ahead.
   */
  readonly from?: { readonly stage: string; readonly unit: string };
  /** An input whose absence is not a problem (a FAKE's original video, read only for its frame size). */
  readonly optional?: boolean;
  /** The reason given when this input (one no stage makes) is absent: the unit fails, and what it made before stays. */
  readonly absent?: string;
}

/** Something a unit writes: a file, or a folder that holds this unit's files and nothing else. */
export interface Output extends Ref {
  readonly role: string;
  /**
   * The key of the unit's details (UnitOutcome) that counts the files it wrote into this folder.
   * The folder must hold that many when the unit ends, or the unit fails rather than be recorded
   * complete with files deleted while it wrote (a cleaner, an `rm -r` of the output folder). A
   * record of dfdc 0.1 (`done/<stage>/<id>.json`) counts only once this many files are found
   * there (src/run/completion.ts).
   */
  readonly fileCount?: string;
}

/** What the work of one unit returns. */
export interface UnitOutcome {
  /** Frames decoded or processed, for rates (frames already given to addFrames included). */
  frames?: number;
  /** A problem that did not fail the unit (kept, reported). */
  warning?: string;
  /** Counts kept in the unit's record, for humans. */
  details?: Record<string, unknown>;
}

/** What the runner gives a stage: the data set, the folders, and the shared machinery. */
export interface RunContext {
  readonly dirs: DatasetDirs;
  readonly paths: OutputPaths;
  readonly dataset: Dataset;
  readonly selection: Selection;
  /** Aborted by Ctrl-C, a signal, or a fatal error: work in flight should stop. */
  readonly signal: AbortSignal;
  /** Worker threads (and units in flight for stages without a pool). */
  readonly workers: number;
  /** The MTCNN engine the run resolved `--backend` to. */
  readonly backend: MtcnnBackend;
  /** How to read the data set's and the output's file systems (src/util/file-system.ts). */
  readonly files: FileAccess;
  /** The worker pool, started on first use and shared by every stage of the run. */
  pool(): TaskPool;
  /** A line above the progress display. */
  message(line: string, kind?: 'info' | 'warning' | 'error'): void;
  /** The run report (a whole-data-set stage adds its file to it). */
  readonly report: ReportFile;
  /**
   * The unit stages this run has already run (`dfdc run`): what a stage lacks from one of them is
   * that stage's failures, which a message should point to rather than say "run it".
   */
  readonly ranBefore: ReadonlySet<string>;
}

/** What the work of one unit gets. */
export interface UnitJob<Settings, Shared> {
  readonly settings: Settings;
  readonly run: RunContext;
  /** What the stage's prepare() returned. */
  readonly shared: Shared;
  /**
   * Where to write the output of `role`: a file's own path (files are written whole through a
   * temporary), or, for a folder, a hidden staging folder that the runner puts in place when the
   * unit is done.
   */
  output(role: string): string;
  /** Frames processed so far, for the live frames/s of the progress line. */
  addFrames(frames: number): void;
}

/** A stage made of units of work, each complete on disk or redone (detect, crops, landmarks, diffs). */
export interface UnitStage<S extends SettingsSchema = SettingsSchema, U extends Unit = Unit, Shared = unknown> {
  readonly kind: 'units';
  readonly name: string;
  /** One line for `--help`. */
  readonly description: string;
  readonly settings: S;
  /** What a unit is, in messages: `video`, `FAKE`. */
  readonly unitNoun: string;
  /** 'mtcnn': it runs MTCNN in the worker pool (so it takes --backend); 'plain': the pool without TF.js. */
  readonly pool?: 'mtcnn' | 'plain';
  /** What `--workers` sets for this stage, for `--help`: `worker threads, one MTCNN engine each`. */
  readonly workersHelp: string;
  /** Whether it reads the crops folder (so it takes --crops-dir). */
  readonly readsCrops: boolean;
  /** Whether it writes (and so replaces) crops folders: its --crops-dir must then be a folder of its own in the output folder. */
  readonly writesCrops?: boolean;
  units(run: RunContext): U[];
  reads(unit: U, run: RunContext): Input[];
  writes(unit: U, run: RunContext): Output[];
  /** Units in flight at once. */
  concurrency(run: RunContext): number;
  /**
   * Settings whose value depends on the data set (detect's `--scale layout`), resolved before
   * anything else, so that provenance and unit records hold the value used.
   */
  resolveSettings?(settings: z.output<S>, run: RunContext): z.output<S>;
  /** Once before the units: what they share, and what made the outputs (recorded in provenance, not compared). */
  prepare?(settings: z.output<S>, run: RunContext): Promise<{ shared: Shared; madeWith?: Record<string, unknown> }>;
  work(unit: U, job: UnitJob<z.output<S>, Shared>): Promise<UnitOutcome>;
}

/** A stage that works on the whole data set at once and is always redone (folds). */
export interface WholeStage<S extends SettingsSchema = SettingsSchema> {
  readonly kind: 'whole';
  readonly name: string;
  readonly description: string;
  readonly settings: S;
  readonly readsCrops: boolean;
  /**
   * What it can check from the data set alone, before the first stage of the run starts (folds:
   * part numbers, leaks), so that `dfdc run` does not stop on it after hours of work.
   */
  check?(settings: z.output<S>, run: RunContext): void;
  /** Checks its settings against the run's options before anything is read or written (a UsageError). */
  precheck?(settings: z.output<S>, options: { readonly json: boolean }): void;
  /** Returns its one summary line. A shard skips it: it needs every shard's outputs. */
  run(settings: z.output<S>, run: RunContext): Promise<string>;
}

export type Stage = UnitStage<SettingsSchema, any, any> | WholeStage; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A stage with the settings parsed for this run. */
export interface StageRun {
  readonly stage: Stage;
  readonly settings: Record<string, unknown>;
}
