import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeStaleTemporaries, writeFileAtomic } from '../util/atomic-write.js';
import type { Progress } from './progress.js';

/**
 * What a run did, stage by stage: counts of units done, skipped (already complete) and failed, and
 * every failure and warning with its cause. Each problem is also printed as one line when it
 * happens. The report is written as JSON into the output folder (`dfdc-report.json`, or
 * `dfdc-report.shard-<i>-of-<n>.json` for a shard); a later command merges its stages into it.
 */
/** One failure, warning or data set problem in a run report. */
export interface ReportEntry {
  /** The video id, record or file the problem is about (relative to DATA_ROOT where a path). */
  subject: string;
  reason: string;
}

export interface StageReport {
  done: number;
  skipped: number;
  failed: number;
  warnings: number;
  frames: number;
  seconds: number;
  failures: ReportEntry[];
  warningList: ReportEntry[];
}

export interface ReportFile {
  tool: string;
  version: string;
  startedAt: string;
  finishedAt?: string;
  shard?: { index: number; count: number };
  /** Problems found while reading the data set (metadata, missing files). */
  dataset: { problems: ReportEntry[]; missingVideos: string[] };
  stages: Record<string, StageReport>;
  /** folds.csv, when the run wrote it (`dfdc run` outside a shard). */
  folds?: { file: string; rows: number; videos: number; folds: number[] };
}

export class StageRecorder {
  readonly report: StageReport = {
    done: 0,
    skipped: 0,
    failed: 0,
    warnings: 0,
    frames: 0,
    seconds: 0,
    failures: [],
    warningList: [],
  };

  constructor(
    readonly stage: string,
    private readonly progress?: Progress,
  ) {}

  done(frames = 0): void {
    this.report.done += 1;
    this.report.frames += frames;
    this.progress?.advance(1, frames);
  }

  skipped(): void {
    this.report.skipped += 1;
    this.progress?.advance(1, 0);
  }

  /** The unit failed: nothing of it is kept (or only what the message says). */
  failed(subject: string, reason: string): void {
    this.report.failed += 1;
    this.report.failures.push({ subject, reason });
    this.progress?.message(`${this.stage}: ${subject}: ${reason}`, 'error');
    this.progress?.advance(1, 0);
  }

  /** A problem that does not fail the unit (a video that broke midway keeps its decoded frames). */
  warning(subject: string, reason: string): void {
    this.report.warnings += 1;
    this.report.warningList.push({ subject, reason });
    this.progress?.message(`${this.stage}: warning: ${subject}: ${reason}`, 'warning');
  }

  /** One line for the end of the stage. */
  summary(): string {
    const r = this.report;
    const parts = [`${this.stage}: ${r.done} done`, `${r.skipped} skipped (already complete)`, `${r.failed} failed`];
    if (r.warnings > 0) parts.push(`${r.warnings} warnings`);
    if (r.frames > 0) parts.push(`${r.frames} frames`);
    parts.push(`${r.seconds.toFixed(1)} s`);
    return parts.join(', ');
  }
}

export function reportFileName(shard?: { index: number; count: number }): string {
  return shard ? `dfdc-report.shard-${shard.index}-of-${shard.count}.json` : 'dfdc-report.json';
}

export class RunReport {
  readonly file: ReportFile;

  constructor(version: string, shard?: { index: number; count: number }) {
    this.file = {
      tool: 'dfdc',
      version,
      startedAt: new Date().toISOString(),
      ...(shard ? { shard } : {}),
      dataset: { problems: [], missingVideos: [] },
      stages: {},
    };
  }

  addStage(recorder: StageRecorder): void {
    this.file.stages[recorder.stage] = recorder.report;
  }

  setDataset(problems: ReportEntry[], missingVideos: string[]): void {
    this.file.dataset = { problems, missingVideos };
  }

  get failedCount(): number {
    return Object.values(this.file.stages).reduce((sum, stage) => sum + stage.failed, 0) + this.file.dataset.problems.length;
  }

  /** Writes the report into `outputDir`, keeping the stages of an earlier report that this run did not run. */
  async write(outputDir: string): Promise<string> {
    const path = join(outputDir, reportFileName(this.file.shard));
    const earlier = readEarlier(path);
    this.file.finishedAt = new Date().toISOString();
    const merged: ReportFile = { ...this.file, stages: { ...(earlier?.stages ?? {}), ...this.file.stages } };
    await removeStaleTemporaries(path);
    await writeFileAtomic(path, `${JSON.stringify(merged, null, 2)}\n`);
    return path;
  }
}

function readEarlier(path: string): ReportFile | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as ReportFile;
  } catch {
    return undefined;
  }
}
