import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { DatasetDirs } from '../commands/shared-options.js';
import { loadDataset, type Dataset } from '../dataset/dataset.js';
import { outputPaths, type OutputPaths } from '../dataset/output-paths.js';
import { formatProblem } from '../dataset/problems.js';
import { selectVideos, type Selection, type SelectionOptions } from '../dataset/selection.js';
import { DfdcError } from '../util/errors.js';
import { ExitCode, type ExitCodeValue } from '../util/exit-codes.js';
import { packageVersion } from '../util/package-root.js';
import { Progress } from './progress.js';
import { RunReport, StageRecorder } from './report.js';
import { runStage, type StageRun, type StageUnit } from './stage-runner.js';
import { StageState } from './state.js';
import type { Shard } from './shard.js';

/**
 * What every processing command shares from start to end: the data set read once (its problems
 * printed once, one line each), the selection of videos, the progress display, Ctrl-C handling
 * (stop taking work, let running units end, exit 130), the run report, and the exit code.
 */
export interface SessionOptions {
  dirs: DatasetDirs;
  quiet: boolean;
  json: boolean;
  selection: SelectionOptions;
}

export class Session {
  readonly progress: Progress;
  readonly report: RunReport;
  readonly paths: OutputPaths;
  readonly abort = new AbortController();
  private interrupts = 0;
  private readonly onSignal = (): void => {
    this.interrupts += 1;
    if (this.interrupts > 1) process.exit(ExitCode.Interrupted);
    this.progress.message('interrupted: finishing the units in progress (Ctrl-C again to stop at once; nothing half-written is kept)', 'warning');
    this.abort.abort(new Error('interrupted'));
  };

  private constructor(
    readonly options: SessionOptions,
    readonly dataset: Dataset,
    readonly selection: Selection,
  ) {
    this.progress = new Progress({ quiet: options.quiet });
    this.report = new RunReport(packageVersion, options.selection.shard as Shard | undefined);
    this.paths = outputPaths(options.dirs);
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
  }

  static async open(options: SessionOptions): Promise<Session> {
    await assertWritable(outputPaths(options.dirs).stateDir);
    const dataset = await loadDataset(options.dirs);
    const session = new Session(options, dataset, selectVideos(dataset, options.selection));
    for (const problem of dataset.problems) session.progress.message(formatProblem(problem), 'error');
    const missing = new Set(dataset.missingVideos);
    session.report.setDataset(
      dataset.problems.map((problem) => ({ subject: problem.file, reason: problem.message })),
      dataset.missingVideos.map((video) => `${video.part.name}/${video.name}`),
    );
    const missingSelected = session.selection.videos.filter((video) => missing.has(video));
    if (missingSelected.length > 0) {
      session.progress.message(
        `${missingSelected.length} video(s) listed in metadata are not on disk (first: ${missingSelected[0]?.part.name}/${missingSelected[0]?.name}); stages that decode them report each`,
        'warning',
      );
    }
    return session;
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  get interrupted(): boolean {
    return this.abort.signal.aborted;
  }

  /**
   * Runs one stage's units in this session: its progress display, its place in the report, its
   * completion markers in the state folder, Ctrl-C, and its summary line at the end.
   */
  async runStage<U extends StageUnit>(name: string, run: Omit<StageRun<U>, 'state' | 'recorder' | 'signal'>): Promise<void> {
    this.progress.start(name, run.units.length);
    const recorder = new StageRecorder(name, this.progress);
    this.report.addStage(recorder);
    try {
      await runStage({ ...run, state: new StageState(this.paths.stateDir, name), recorder, signal: this.signal });
    } finally {
      this.progress.finish();
      this.progress.message(recorder.summary());
    }
  }

  /** Writes the report, prints where it is (or the JSON summary), and returns the exit code. */
  async finish(): Promise<ExitCodeValue> {
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
    const path = await this.report.write(this.paths.outputDir);
    if (this.options.json) process.stdout.write(`${JSON.stringify({ ...this.report.file, report: path }, null, 2)}\n`);
    else if (!this.options.quiet) this.progress.message(`report: ${path}`);
    if (this.interrupted) return ExitCode.Interrupted;
    return this.report.failedCount > 0 ? ExitCode.SomeFailed : ExitCode.Ok;
  }
}

/**
 * Fails once, before any work, when the output folder cannot be written (a read-only mount, a file
 * in the way, no permission), instead of failing every video one by one.
 */
async function assertWritable(stateDir: string): Promise<void> {
  const probe = join(stateDir, `.write-check.${process.pid}`);
  try {
    await mkdir(stateDir, { recursive: true });
    await writeFile(probe, '');
    await rm(probe, { force: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new DfdcError(`cannot write to the output folder ${dirname(stateDir)} (${code}): give --output-dir a writable folder`);
  }
}
