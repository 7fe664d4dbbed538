import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { Shard } from '../dataset/selection.js';
import { removeTemporariesOf, writeFileAtomic } from '../util/atomic-write.js';
import type { Progress } from './progress.js';

/**
 * What a run did, stage by stage: counts of units done, skipped (already complete), waiting (their
 * inputs are not made yet) and failed, and every failure and warning with its cause. Each problem
 * is also printed as one line when it happens. The report is written as JSON into the output
 * folder (`run-report.json`, or `run-report.shard-<i>-of-<n>.json` for a shard); a later command
 * merges its stages into it. The one schema below is what the writer writes and what
 * `dfdc report` reads.
 */

const entrySchema = z.object({
  /** The video, record or file the problem is about (relative to DATA_ROOT where a path). */
  subject: z.string(),
  reason: z.string(),
});

/** One failure, warning or data set problem in a run report. */
export type ReportEntry = z.infer<typeof entrySchema>;

const count = z.number().default(0);

const stageReportSchema = z.object({
  done: count,
  skipped: count,
  /** Units whose inputs an earlier stage has not made (yet): not done, not failed. */
  waiting: count,
  failed: count,
  warnings: count,
  frames: count,
  seconds: count,
  failures: z.array(entrySchema).default([]),
  warningList: z.array(entrySchema).default([]),
  /** A few of the waiting units, and the stage they wait for. */
  waitingList: z.array(entrySchema).default([]),
  /** When the stage ran (ISO times; absent in reports of earlier versions): says which of two reports' runs came later. */
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  /** The run went over part of the units (--parts, --limit, or cut short). */
  partial: z.boolean().optional(),
});

export type StageReport = z.infer<typeof stageReportSchema>;

/** A stage's report with nothing counted yet. */
export function emptyStageReport(): StageReport {
  return stageReportSchema.parse({});
}

export const runReportSchema = z.object({
  tool: z.string().default('dfdc'),
  version: z.string().optional(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  shard: z.object({ index: z.number(), count: z.number() }).optional(),
  /** Problems found while reading the data set (metadata, missing files). */
  dataset: z
    .object({ problems: z.array(entrySchema).default([]), missingVideos: z.array(z.string()).default([]) })
    .default({ problems: [], missingVideos: [] }),
  stages: z.record(z.string(), stageReportSchema).default({}),
  /** folds.csv, when the run wrote it (`dfdc run` outside a shard, `dfdc folds`). */
  folds: z
    .object({
      file: z.string(),
      rows: z.number(),
      videos: z.number(),
      folds: z.array(z.number()),
      test: z.object({ file: z.string(), rows: z.number(), videos: z.number() }).optional(),
    })
    .optional(),
  /** The error that stopped the run (exit 3), if one did. */
  stopped: z.string().optional(),
});

export type ReportFile = z.infer<typeof runReportSchema>;

/** Waiting units named in a report, at most. */
const WAITING_LISTED = 20;

/**
 * Failure (and warning) lines printed for one reason, at most: a partial download can leave
 * thousands of listed videos absent, each failing with the same words. The report keeps every one.
 */
const LINES_PER_REASON = 10;

export class StageRecorder {
  readonly report: StageReport = emptyStageReport();
  /** How many units failed or warned with each reason (`error\0reason`, `warning\0reason`). */
  private readonly byReason = new Map<string, number>();

  constructor(
    readonly stage: string,
    private readonly progress?: Progress,
    /** What a unit is, for lines that count them: `REAL video`, `FAKE`. */
    private readonly unitNoun = 'unit',
  ) {
    this.report.startedAt = new Date().toISOString();
  }

  /** The stage has ended, after `seconds` of work. */
  end(seconds: number): void {
    this.report.seconds += seconds;
    this.report.finishedAt = new Date().toISOString();
  }

  done(frames = 0): void {
    this.report.done += 1;
    this.report.frames += frames;
  }

  skipped(): void {
    this.report.skipped += 1;
  }

  waiting(subject: string, reason: string): void {
    this.report.waiting += 1;
    if (this.report.waitingList.length < WAITING_LISTED) this.report.waitingList.push({ subject, reason });
  }

  /** The unit failed: nothing of it is kept. */
  failed(subject: string, reason: string): void {
    this.report.failed += 1;
    this.report.failures.push({ subject, reason });
    if (this.count('error', reason) <= LINES_PER_REASON) this.progress?.message(`${this.stage}: ${subject}: ${reason}`, 'error');
  }

  /** A problem that does not fail the unit (a video that broke midway keeps its decoded frames). */
  warning(subject: string, reason: string): void {
    this.report.warnings += 1;
    this.report.warningList.push({ subject, reason });
    if (this.count('warning', reason) <= LINES_PER_REASON) this.progress?.message(`${this.stage}: warning: ${subject}: ${reason}`, 'warning');
  }

  private count(level: 'error' | 'warning', reason: string): number {
    const key = `${level}\0${reason}`;
    const count = (this.byReason.get(key) ?? 0) + 1;
    this.byReason.set(key, count);
    return count;
  }

  /** For each reason with more units than were printed, one line saying how many more and where they are. */
  unprinted(): { line: string; level: 'error' | 'warning' }[] {
    return [...this.byReason]
      .filter(([, count]) => count > LINES_PER_REASON)
      .map(([key, count]) => {
        const [level, reason] = key.split('\0') as ['error' | 'warning', string];
        const more = count - LINES_PER_REASON;
        const what = level === 'error' ? 'failed with' : 'had the warning';
        return { level, line: `${this.stage}: ${more} more ${this.unitNoun}${more === 1 ? '' : 's'} ${what} "${reason}" (every one is in the run report)` };
      });
  }

  /** One line for the end of the stage. */
  summary(): string {
    const r = this.report;
    const parts = [`${this.stage}: ${r.done} done`, `${r.skipped} skipped (already complete)`];
    if (r.waiting > 0) parts.push(`${r.waiting} waiting`);
    parts.push(`${r.failed} failed`);
    if (r.warnings > 0) parts.push(`${r.warnings} warnings`);
    if (r.frames > 0) parts.push(`${r.frames} frames`);
    parts.push(`${r.seconds.toFixed(1)} s`);
    return parts.join(', ');
  }
}

/** `run-report.json`, or `run-report.shard-<i>-of-<n>.json` for a shard. */
export function reportFileName(shard?: Shard): string {
  return shard ? `run-report.shard-${shard.index}-of-${shard.count}.json` : 'run-report.json';
}

/** Run reports in an output folder: this version's names, and those before 0.2 (`dfdc-report*.json`). */
export const RUN_REPORT_NAME = /^(run|dfdc)-report(\.shard-\d+-of-\d+)?\.json$/;

export class RunReport {
  readonly file: ReportFile;

  constructor(version: string, shard?: Shard) {
    this.file = { ...runReportSchema.parse({ version, startedAt: new Date().toISOString() }), ...(shard ? { shard } : {}) };
  }

  addStage(recorder: StageRecorder): void {
    this.file.stages[recorder.stage] = recorder.report;
  }

  /** A whole-data-set stage (folds) that left nothing waiting or failed: no entry, and an earlier report's goes too. */
  forget(stage: string): void {
    delete this.file.stages[stage];
    this.forgotten.add(stage);
  }

  private readonly forgotten = new Set<string>();

  setDataset(problems: ReportEntry[], missingVideos: string[]): void {
    this.file.dataset = { problems, missingVideos };
  }

  /** Units that failed or wait, and data set problems: any of them makes the exit code 1. */
  get unfinishedCount(): number {
    return Object.values(this.file.stages).reduce((sum, stage) => sum + stage.failed + stage.waiting, 0) + this.file.dataset.problems.length;
  }

  /** Writes the report into `outputDir`, keeping the stages (and folds.csv) of an earlier report that this run did not run or write. */
  async write(outputDir: string): Promise<string> {
    const path = join(outputDir, reportFileName(this.file.shard));
    const earlier = await readReportFile(path).catch(() => undefined);
    this.file.finishedAt = new Date().toISOString();
    // folds.csv, when this run did not write it, is still the one an earlier run described.
    const folds = this.file.folds ?? earlier?.folds;
    const stages = Object.fromEntries(Object.entries({ ...(earlier?.stages ?? {}), ...this.file.stages }).filter(([name]) => !this.forgotten.has(name)));
    const merged: ReportFile = { ...this.file, stages, ...(folds ? { folds } : {}) };
    await removeTemporariesOf(path);
    await writeFileAtomic(path, `${JSON.stringify(merged, null, 2)}\n`);
    return path;
  }
}

/** A run report file, checked against the schema; an Error saying what is wrong otherwise. */
export async function readReportFile(path: string): Promise<ReportFile> {
  return runReportSchema.parse(JSON.parse(await readFile(path, 'utf8')));
}
