import { existsSync } from 'node:fs';
import { readdir, rename, rmdir, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { loadDataset, type Dataset, type DatasetOptions } from '../dataset/dataset.js';
import type { DatasetDirs } from '../dataset/dirs.js';
import { outputPaths } from '../dataset/output-paths.js';
import { problemLines } from '../dataset/problems.js';
import { selectVideos, shardSpread } from '../dataset/selection.js';
import { resolveBackend } from '../mtcnn/engine.js';
import { TaskPool } from '../workers/pool.js';
import { removePath, removeTemporariesOf, temporaryPathFor, TemporaryIndex } from '../util/atomic-write.js';
import { forEachConcurrent } from '../util/concurrency.js';
import { fileAccessFor, type FileAccess } from '../util/file-system.js';
import { flagsFor } from '../util/options.js';
import { DfdcError, FatalError, UnitError, errnoCode, machineFailure, messageOf, writeFailure } from '../util/errors.js';
import { ExitCode, signalExitCode, type StopSignal, type ExitCodeValue } from '../util/exit-codes.js';
import { packageVersion } from '../util/package-root.js';
import { StageCompletion, settingsHash, type UnitState } from './completion.js';
import type { RunOptions } from './options.js';
import { Progress } from './progress.js';
import { checkProvenance, readProvenance, recordProvenance } from './provenance.js';
import { RunReport, StageRecorder, readReportFile, reportFileName } from './report.js';
import { UnitClaims } from './claims.js';
import { recordShardCount, resolveShard } from './shard.js';
import type { Input, Output, RunContext, SettingsSchema, Stage, StageRun, Unit, UnitOutcome, UnitStage } from './stage.js';
import { openStateFolder } from './state-folder.js';
import { chooseWorkerCount } from './workers.js';

/**
 * The one runner of dfdc: it drives any list of stages (src/stages/) over one data set, the same
 * way for each: the data set read once (its problems printed once), the selection, the progress
 * display, completion (src/run/completion.ts), provenance, the run report, Ctrl-C and SIGTERM, one
 * worker pool shared by every stage, and the exit code. docs/completion.md describes the model.
 */
export interface RunRequest {
  readonly dirs: DatasetDirs;
  /** The layout of DATA_ROOT and its options (--dataset, --compression, ...). */
  readonly dataset?: DatasetOptions;
  readonly options: Partial<RunOptions>;
  readonly stages: readonly StageRun[];
  /**
   * Every stage that may make what these stages read (the pipeline's), so that a line asking to
   * run one of them gives the settings its outputs were made with.
   */
  readonly makers?: readonly Stage[];
}

/**
 * Checks of completion in flight at once: on a network file system, to hide its latency; on a
 * local disk the calls are synchronous (src/util/file-system.ts) and the run yields to its signal
 * handlers and progress display every CHECKS_PER_TURN checks.
 */
const CHECK_CONCURRENCY = 64;
const CHECKS_PER_TURN = 256;

/** A stage with more units than this says that it is checking them (it takes a few seconds). */
const CHECKS_WORTH_SAYING = 5000;

export async function runStages(request: RunRequest): Promise<ExitCodeValue> {
  const { dirs, options } = request;
  const paths = outputPaths(dirs);
  const unitStages = request.stages.some(({ stage }) => stage.kind === 'units');
  // Folds alone is never sharded: a job script that sets DFDC_SHARD_COUNT may run it at the end.
  const shard = unitStages ? resolveShard(options, process.env) : undefined;
  for (const { stage, settings } of request.stages) if (stage.kind === 'whole' && !shard) stage.precheck?.(settings, { json: options.json ?? false });
  // A run of units keeps state and a report in the output folder; folds alone writes only its CSV.
  const outputExisted = await stat(paths.outputDir).then(
    () => true,
    () => false,
  );
  if (unitStages) await openStateFolder(paths);
  if (shard) await recordShardCount(paths.stateDir, shard);
  let dataset: Dataset;
  try {
    dataset = await loadDataset(dirs, request.dataset);
  } catch (error) {
    // Nothing was done (a usage error such as --splits on a DFDC root): the empty folders this run
    // made go again. rmdir removes only empty ones, so nothing another process put there is lost.
    if (!outputExisted) {
      await rmdir(paths.stateDir).catch(() => undefined);
      await rmdir(paths.outputDir).catch(() => undefined);
    }
    throw error;
  }
  const selection = selectVideos(dataset, {
    ...(options.parts ? { parts: options.parts } : {}),
    ...(options.limit !== undefined ? { limit: options.limit } : {}),
    ...(shard ? { shard } : {}),
  });
  const progress = new Progress({ quiet: options.quiet ?? false });
  const report = new RunReport(packageVersion, shard);
  if (shard && unitStages) {
    const spread = shardSpread(dataset, shard.count);
    if (spread.used < shard.count) {
      const what = spread.byGroup ? `${spread.keys} fold group(s), and a group's videos stay in one shard` : `${spread.keys} original(s)`;
      progress.message(
        `only ${spread.used} of the ${shard.count} shards get any video (the data set has ${what})${selection.videos.length === 0 ? `: shard ${shard.index} has none` : ''}; a job of fewer shards would use its nodes better`,
        'warning',
      );
    }
  }
  // Every problem goes to the run report (written when a unit stage runs) and `dfdc index`'s output; the terminal gets the first few of each file.
  const everyProblem = unitStages ? join(paths.outputDir, reportFileName(shard)) : `the output of dfdc index --all --root-dir ${dirs.rootDir}`;
  for (const line of problemLines(dataset.problems, everyProblem)) progress.message(line, 'error');
  for (const note of dataset.notes) progress.message(note, 'warning');
  report.setDataset(
    dataset.problems.map((problem) => ({ subject: problem.file, reason: problem.message })),
    dataset.missingVideos.map((video) => video.relativePath),
  );
  const missing = new Set(dataset.missingVideos);
  const missingSelected = unitStages ? selection.videos.filter((video) => missing.has(video)) : [];
  if (missingSelected.length > 0) {
    const first = missingSelected[0]!;
    progress.message(
      `${missingSelected.length} video(s) listed in ${dataset.listName} are not on disk (first: ${first.relativePath}); the stages that decode them fail them (the run report lists every one)`,
      'warning',
    );
  }

  const interrupt = new AbortController();
  let interrupts = 0;
  // Ctrl-C, a scheduler's SIGTERM (preemption, time limit: SIGKILL follows after a grace period,
  // 30 s by default in Kubernetes) and SIGHUP (the terminal closed) all stop the units in progress
  // at once (ffmpeg killed, partial outputs dropped), write the report, and exit with 128 + the
  // signal's number, so a scheduler can tell them apart.
  let stoppedBy: StopSignal | undefined;
  const onSignal = (signal: StopSignal): void => {
    interrupts += 1;
    if (interrupts > 1) {
      // At once: the signal's default action ends the process where it stands. Not process.exit(),
      // which tears down worker threads and so aborts a native engine mid-computation (SIGABRT).
      for (const each of stopSignals) process.removeListener(each, onSignal);
      process.kill(process.pid, signal);
      return;
    }
    stoppedBy = signal;
    const again = signal === 'SIGINT' ? 'Ctrl-C again to stop at once; ' : '';
    progress.message(`${signal === 'SIGINT' ? 'interrupted' : `stopped by ${signal}`}: stopping the units in progress, whose partial outputs are removed (${again}nothing half-written is kept either way)`, 'warning');
    interrupt.abort(new Error('interrupted'));
  };
  const stopSignals: StopSignal[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const signal of stopSignals) process.on(signal, onSignal);

  const access = fileAccessFor([dirs.rootDir, dirs.outputDir, dirs.cropsDir]);
  // The CPUs and memory this process may use, not the host's (a 2-CPU pod on a 64-core node).
  const chosen = chooseWorkerCount(options.workers);
  if (chosen.warning) progress.message(chosen.warning, 'warning');
  const workers = chosen.workers;
  // `auto` is resolved (onnxruntime-node loaded to see whether it can) only when a stage runs MTCNN.
  const runsMtcnn = request.stages.some(({ stage }) => stage.kind === 'units' && stage.pool === 'mtcnn');
  const choice = options.backend ?? 'auto';
  const backend = runsMtcnn ? await resolveBackend(choice) : choice === 'auto' ? 'wasm' : choice;
  let pool: TaskPool | undefined;
  let claims: UnitClaims | undefined;
  const ranBefore = new Set<string>();
  // Asked again for each unit that fails on a broken input; read once a stage (provenance changes only when a stage ends).
  const commands = new Map<string, Promise<string>>();
  const context: RunContext = {
    ranBefore,
    dirs,
    paths,
    dataset,
    selection,
    signal: interrupt.signal,
    workers,
    backend,
    files: access,
    pool: () => (pool ??= new TaskPool(backend, workers)),
    message: (line, kind) => progress.message(line, kind),
    report: report.file,
  };

  try {
    for (const { stage, settings } of request.stages) if (stage.kind === 'whole' && !shard) stage.check?.(settings, context);
    for (const { stage, settings } of request.stages) {
      if (interrupt.signal.aborted) break;
      if (stage.kind === 'whole') {
        if (shard) progress.message(`${stage.name}: not done by a shard; after every shard has finished, run \`dfdc ${stage.name}\` over the whole root (see README, Clusters)`);
        else {
          let summary: string;
          try {
            summary = await stage.run(settings, context);
          } catch (error) {
            // Stopped by a signal (folds writing into a pipe no one reads): what it wrote was
            // written whole or not at all; the report says the run was stopped.
            if (interrupt.signal.aborted && error === interrupt.signal.reason) break;
            throw error;
          }
          // A stage with units left waiting (folds without every crop) ends on a warning; one
          // without has no entry in the report, and clears what an earlier run said.
          const waiting = (report.file.stages[stage.name]?.waiting ?? 0) + (report.file.stages[stage.name]?.failed ?? 0) > 0;
          if (!waiting) report.forget(stage.name);
          progress.message(summary, waiting ? 'warning' : 'info');
        }
        continue;
      }
      commands.clear();
      const remake = (name: string) => {
        const known = commands.get(name) ?? remakeCommand(name, request.makers ?? request.stages.map((each) => each.stage), context);
        commands.set(name, known);
        return known;
      };
      try {
        await runUnitStage(stage, settings, context, { force: options.force ?? false, progress, report, access, claims: (claims ??= new UnitClaims(paths.stateDir)), remake });
      } finally {
        // A slice (--parts, --limit) or a run cut short did not go over every unit: its stage
        // report does not stand for them (dfdc report keeps counting a shard's failures then).
        const own = report.file.stages[stage.name];
        if (own && (options.parts || options.limit !== undefined || interrupt.signal.aborted)) own.partial = true;
      }
      ranBefore.add(stage.name);
    }
  } catch (error) {
    const fatal = asFatal(error, dirs);
    progress.finish();
    if (unitStages) {
      report.file.stopped = fatal.message;
      await report.write(paths.outputDir).catch(() => undefined);
    }
    throw fatal;
  } finally {
    for (const signal of stopSignals) process.off(signal, onSignal);
    await claims?.close();
    await pool?.close();
  }

  if (unitStages) {
    const path = await report.write(paths.outputDir);
    if (options.json) process.stdout.write(`${JSON.stringify({ ...report.file, report: path }, null, 2)}\n`);
    else if (!options.quiet) progress.message(`report: ${path}`);
  } else {
    // Folds alone (a cluster's last step) updates the report a whole run left, so that it does
    // not go on saying that folds waits; it makes none where there is none (shards keep their own).
    const whole = join(paths.outputDir, reportFileName(undefined));
    // Only a report it can read: one it may not read, or a broken one, is left for the user to see.
    if (!stoppedBy && (await readReportFile(whole).then(() => true, () => false))) await report.write(paths.outputDir).catch(() => undefined);
    if (options.json) process.stdout.write(`${JSON.stringify(report.file, null, 2)}\n`);
  }
  if (stoppedBy) return signalExitCode[stoppedBy];
  return report.unfinishedCount > 0 ? ExitCode.SomeFailed : ExitCode.Ok;
}

/** An error that stops the run, as the one FatalError (or UsageError) the user sees. */
function asFatal(error: unknown, dirs: DatasetDirs): DfdcError {
  if (error instanceof DfdcError) return error;
  const fatal = machineFailure(error, dirs.outputDir) ?? outputFailure(error, dirs);
  if (fatal) return fatal;
  return new FatalError(`unexpected error: ${messageOf(error)} (this is a bug; rerun with DFDC_DEBUG=1 and report the trace)`, { cause: error });
}

/** A permission error on a path inside the output folder: the output is not writable, the run stops. */
function outputFailure(error: unknown, dirs: DatasetDirs): FatalError | undefined {
  const code = errnoCode(error);
  const path = (error as NodeJS.ErrnoException).path;
  if ((code !== 'EACCES' && code !== 'EPERM') || path === undefined) return undefined;
  const inside = [dirs.outputDir, dirs.cropsDir].some((dir) => {
    const rel = relative(dir, path);
    return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
  });
  if (!inside) return undefined;
  const fatal = writeFailure(error, path);
  return fatal instanceof FatalError ? fatal : undefined;
}

interface StageServices {
  readonly force: boolean;
  readonly claims: UnitClaims;
  readonly progress: Progress;
  readonly report: RunReport;
  readonly access: FileAccess;
  /** How to run a stage again as its outputs were made: `dfdc detect --every 10`. */
  readonly remake: (stage: string) => Promise<string>;
}

/** A unit to do, with what it reads and writes. */
interface Todo<U extends Unit> {
  readonly unit: U;
  readonly reads: Input[];
  readonly writes: Output[];
  /** Its outputs and record are valid (a --force run): a failure leaves them. */
  readonly keep: boolean;
  /** The size of its largest input no stage makes (its video). */
  readonly inputBytes: number;
}

async function runUnitStage<U extends Unit>(
  stage: UnitStage<SettingsSchema, U, unknown>,
  given: Record<string, unknown>,
  run: RunContext,
  services: StageServices,
): Promise<void> {
  const { progress, report, force, access, claims } = services;
  const heldElsewhere = new Map<string, { count: number; lapsesInMs: number; otherHost: boolean }>();
  // Units whose claim another process took over while this one was stopped (SIGSTOP, a suspended VM).
  let takenOver = 0;
  const settings = stage.resolveSettings ? (stage.resolveSettings(given as never, run) as Record<string, unknown>) : given;
  const started = Date.now();
  const recorder = new StageRecorder(stage.name, progress, stage.unitNoun);
  report.addStage(recorder);

  const prepared = stage.prepare ? await stage.prepare(settings as never, run) : { shared: undefined };
  const shaping = shapingSettings(stage, settings, run.backend);
  // Read once, here: a record another run makes after this point is met when this one records its own.
  const recorded = await checkProvenance(run.paths.stateDir, run.paths.outputDir, stage, shaping, force);
  await claims.sweep(stage.name);
  const completion = new StageCompletion(run.paths.stateDir, stage.name, settingsHash(shaping), run.dirs, access);

  // Temporaries and staging folders killed writers left beside what is about to be written: one listing per folder.
  const temporaryIndexes = new Map<string, Promise<TemporaryIndex>>();
  const temporariesIn = (dir: string) => {
    let index = temporaryIndexes.get(dir);
    if (!index) temporaryIndexes.set(dir, (index = TemporaryIndex.of(dir)));
    return index;
  };
  /** Removes a unit's outputs and record: they are out of date (or half made), and nothing should read them. */
  const clear = async (unit: Unit, writes: readonly Output[]) => {
    for (const output of writes) await removePath(output.path);
    await completion.forget(unit.id, await temporariesIn(completion.recordsDir));
  };

  // Which units are complete, which can be done, which wait for an earlier stage, which cannot run.
  const units = stage.units(run);
  const todo: Todo<U>[] = [];
  const waitingOn = new Map<string, { stage: string; role: string; changed: boolean; count: number; where: string }>();
  const states = new Array<Todo<U> | undefined>(units.length);
  let changed = 0;
  const staleWaiting: { unit: U; writes: Output[] }[] = [];
  if (units.length > CHECKS_WORTH_SAYING) progress.status(`${stage.name}: checking which of ${units.length} units are complete`);
  let checked = 0;
  await forEachConcurrent(
    units,
    CHECK_CONCURRENCY,
    async (unit, index) => {
      checked += 1;
      if (access.kind === 'local' && checked % CHECKS_PER_TURN === 0) await new Promise((resolve) => setImmediate(resolve));
      const reads = stage.reads(unit, run);
      const writes = stage.writes(unit, run);
      let state: UnitState;
      try {
        state = await completion.check(unit.id, reads, writes, force);
      } catch (error) {
        const stopping = machineFailure(error, run.paths.outputDir) ?? outputFailure(error, run.dirs);
        if (stopping) throw stopping;
        recorder.failed(unit.subject, `cannot check what it read and wrote (${messageOf(error)}): check the permissions of its files`);
        return;
      }
      if (state.state === 'complete') recorder.skipped();
      else if (state.state === 'ready') {
        states[index] = { unit, reads, writes, keep: state.keep, inputBytes: state.inputBytes };
        if (state.changed) changed += 1;
      }
      else if (state.state === 'unavailable') recorder.failed(unit.subject, unavailableReason(state.input, state.reason));
      else {
        const key = `${state.on.stage}\0${state.on.role}\0${state.changed}`;
        // Where the input was looked for: a typo in --crops-dir shows there.
        const where = dirname(reads.find((input) => input.from && input.role === state.on.role)?.path ?? run.paths.outputDir);
        const entry = waitingOn.get(key) ?? { ...state.on, changed: state.changed, count: 0, where };
        entry.count += 1;
        waitingOn.set(key, entry);
        recorder.waiting(
          unit.subject,
          state.changed ? `its ${state.on.role} changed after dfdc ${state.on.stage} made it, or what it was made from did` : `waits for its ${state.on.role} from dfdc ${state.on.stage}`,
        );
        if (state.stale) staleWaiting.push({ unit, writes });
      }
    },
    () => run.signal.aborted,
  );
  completion.endChecks();
  for (const item of states) if (item) todo.push(item);
  // Largest videos first (a stable sort: otherwise in the data set's order): a long video started
  // last would keep one core busy while the others idle, which on a small root is a tenth of the
  // stage's time.
  todo.sort((a, b) => b.inputBytes - a.inputBytes);

  const noun = (count: number) => `${count} ${stage.unitNoun}${count === 1 ? '' : 's'}`;
  const waits = [...waitingOn.values()];
  if (todo.length === 0 && recorder.report.skipped === 0 && recorder.report.failed === 0 && staleWaiting.length === 0 && waits.length > 0 && waits.every((entry) => entry.changed === waits[0]!.changed)) {
    // Run before the stage that makes its inputs, or after their maker's records stopped holding: say which, and mark nothing.
    const [first] = waits;
    const command = await services.remake(first!.stage);
    progress.message(
      first!.changed
        ? `${stage.name}: nothing to do yet: the ${first!.role} of ${units.length === 1 ? 'the' : 'all'} ${noun(units.length)} ${changedWhy(`dfdc ${first!.stage}`)}: ${
            run.ranBefore.has(first!.stage) ? notMadeAgain(first!.stage) : `run ${command} first (the settings they were made with)`
          }`
        : run.ranBefore.has(first!.stage)
          ? `${stage.name}: nothing to do: none of the ${noun(units.length)} has its ${first!.role}, which dfdc ${first!.stage} did not make in this run (see its lines above): rerun once those are dealt with`
          : `${stage.name}: nothing to do yet: none of the ${noun(units.length)} has its ${first!.role} in ${first!.where}: run ${command} first${first!.role === 'crops' ? ' (or check --crops-dir)' : ''}`,
      'error',
    );
    recorder.end((Date.now() - started) / 1000);
    return;
  }
  // A unit whose input its maker removed has out-of-date outputs: a clean run would not have them.
  for (const { unit, writes } of staleWaiting) await clear(unit, writes);

  const stop = new AbortController();
  const signal = AbortSignal.any([run.signal, stop.signal]);
  let fatal: DfdcError | undefined;
  const note = [`${recorder.report.skipped} already complete`, ...(recorder.report.waiting > 0 ? [`${recorder.report.waiting} waiting`] : [])].join(', ');
  progress.start(stage.name, todo.length, note);
  if (changed > 0) {
    // At DFDC's size a copy that dropped the times redoes days of work: say why, before it starts.
    progress.message(
      `${stage.name}: ${changed} of them ${changed === 1 ? 'was' : 'were'} complete, but a file ${changed === 1 ? 'it' : 'they'} read or wrote has changed since (another size or time, a file added, removed or replaced): redone. ` +
        'A copy that did not keep times (cp -r, rsync without -t) looks like this; cp -a and rsync -a keep them',
      'warning',
    );
  }
  const unitRun: RunContext = { ...run, signal };
  // A first run cut short still says what its outputs were made with, from its first unit on: a
  // later run with other settings (`dfdc detect` after `dfdc run`) is refused, not mixed in.
  let provenanceMissing = recorded === undefined;
  const madeWith = { version: packageVersion, ...(prepared.madeWith ?? {}) };
  // The workers start (and load MTCNN) while the first videos are probed and decoded.
  if (stage.pool && todo.length > 0) {
    const pool = run.pool();
    if (stage.pool === 'mtcnn') pool.loadMtcnn();
  }

  await forEachConcurrent(
    todo,
    stage.concurrency(run),
    async ({ unit, reads, writes, keep }) => {
      // One process per unit at a time (src/run/claims.ts): a unit another process is doing is left to it.
      const claim = await claims.take(stage.name, unit.id);
      if (claim !== true) {
        const holder = `${claim.host} pid ${claim.pid}`;
        const earlier = heldElsewhere.get(holder);
        heldElsewhere.set(holder, { count: (earlier?.count ?? 0) + 1, lapsesInMs: Math.max(earlier?.lapsesInMs ?? 0, claim.lapsesInMs ?? 0), otherHost: claim.lapsesInMs !== undefined });
        recorder.waiting(unit.subject, `being done by another process (${claim.host} pid ${claim.pid})`);
        progress.advance(1, 0);
        return;
      }
      try {
        // Another process may have completed it between this run's check and its claim.
        if (!force) {
          const now = await completion.check(unit.id, reads, writes, false);
          completion.endChecks();
          if (now.state === 'complete') {
            recorder.skipped();
            progress.advance(1, 0);
            return;
          }
        }
        await doUnit({ unit, reads, writes, keep });
      } finally {
        await claims.release(stage.name, unit.id);
      }
    },
    () => signal.aborted,
  );
  async function doUnit({ unit, reads, writes, keep }: Omit<Todo<U>, 'inputBytes'>): Promise<void> {
    let streamed = 0;
    // Folders are made under a hidden staging name and put in place whole when the unit is done,
    // so that until then the earlier outputs stay as they were and nothing half-made is visible.
    const staging = new Map(writes.filter((output) => output.kind === 'folder').map((output) => [output.path, temporaryPathFor(output.path)]));
    try {
      // The unit is claimed, so what is left for its outputs and its record was left by a killed writer.
      for (const output of writes) await removeTemporariesOf(output.path, await temporariesIn(dirname(output.path)));
      await removeTemporariesOf(completion.recordPath(unit.id), await temporariesIn(completion.recordsDir));
      const inputs = await completion.inputIdentities(reads);
      const outcome = await stage.work(unit, {
        settings: settings as never,
        run: unitRun,
        shared: prepared.shared,
        output: (role) => {
          const output = writes.find((candidate) => candidate.role === role);
          if (!output) throw new Error(`${stage.name} declares no output ${role}`);
          return staging.get(output.path) ?? output.path;
        },
        addFrames: (frames) => {
          streamed += frames;
          progress.addFrames(frames);
        },
      });
      if (signal.aborted) throw signal.reason;
      if (!(await claims.holds(stage.name, unit.id))) {
        // Taken over while this process was stopped: the other one's outputs stand.
        for (const staged of staging.values()) await removePath(staged).catch(() => undefined);
        recorder.waiting(unit.subject, 'taken over by another process while this one was stopped longer than a minute');
        takenOver += 1;
        progress.advance(1, 0);
        return;
      }
      await checkStagedCounts(writes, staging, outcome);
      for (const [final, staged] of staging) await swapIn(staged, final);
      await completion.markComplete(unit.id, inputs, writes, outcome);
      if (provenanceMissing) {
        provenanceMissing = false;
        await recordProvenance(run.paths.stateDir, run.paths.outputDir, stage, shaping, madeWith, { force, first: true });
      }
      if (outcome.warning) recorder.warning(unit.subject, outcome.warning);
      recorder.done(outcome.frames ?? 0);
      progress.advance(1, Math.max(0, (outcome.frames ?? 0) - streamed));
    } catch (error) {
      for (const staged of staging.values()) await removePath(staged).catch(() => undefined);
      if (signal.aborted && !fatal) return;
      const stopping =
        error instanceof DfdcError && !(error instanceof UnitError) ? error : (machineFailure(error, run.paths.outputDir) ?? outputFailure(error, run.dirs));
      if (stopping) {
        if (!fatal) {
          fatal = stopping;
          stop.abort(stopping);
        }
        return;
      }
      if (fatal) return;
      const vanished = vanishedStaging(error, staging);
      if (vanished !== undefined) error = new UnitError(`the folder it was writing, ${vanished}, was removed before it ended (a cleaner, or another process deleting in the output folder?): rerun`);
      // The unit was not complete, so what it made earlier is out of date (its input changed, or
      // its settings): a clean run would have nothing there. A --force run keeps the valid ones.
      if (!keep) await clear(unit, writes).catch(() => undefined);
      const remedy = error instanceof UnitError ? error.remedy : undefined;
      recorder.failed(unit.subject, reasonOf(error, unit, remedy ? await services.remake(remedy.stage) : undefined));
      progress.advance(1, 0);
    }
  }
  recorder.end((Date.now() - started) / 1000);
  progress.finish();
  if (fatal) throw fatal;
  // Provenance says what the outputs were made with once they are: a run cut short leaves it as it was.
  // Not for a first run that made nothing (every unit failed): no output says these settings yet.
  if (!signal.aborted && (!provenanceMissing || recorder.report.skipped > 0)) await recordProvenance(run.paths.stateDir, run.paths.outputDir, stage, shaping, madeWith, { force });
  for (const { line, level } of recorder.unprinted()) progress.message(line, level);
  progress.message(recorder.summary());
  for (const [holder, { count, lapsesInMs, otherHost }] of heldElsewhere) {
    // On another host dfdc cannot see whether the process still runs: only its heartbeat lapsing says so.
    const lapse = otherHost ? `; if it has stopped (its node died, or its job was killed), its claim lapses ${lapsesInMs > 0 ? `in ${Math.ceil(lapsesInMs / 1000)} s` : 'now'} and a rerun then takes over` : '';
    progress.message(`${stage.name}: ${noun(count)} left to another process working on this output (${holder}); rerun when it has finished${lapse}`, 'warning');
  }
  if (takenOver > 0) {
    progress.message(
      `${stage.name}: ${noun(takenOver)} taken over by another process working on this output while this one was stopped for longer than a minute (its claim lapsed): what that process makes stands; rerun to check`,
      'warning',
    );
  }
  for (const entry of waitingOn.values()) {
    const { stage: upstream, role, count } = entry;
    const waits = count === 1 ? `${noun(count)} waits for its ${role}` : `${noun(count)} wait for their ${role}`;
    const command = await services.remake(upstream);
    const fix = run.ranBefore.has(upstream) ? notMadeAgain(upstream) : `run ${command} (the settings they were made with), then this stage again`;
    progress.message(
      entry.changed
        ? `${stage.name}: ${noun(count)} ${count === 1 ? 'waits' : 'wait'} for dfdc ${upstream}: ${count === 1 ? 'its' : 'their'} ${role} ${changedWhy('it')}: ${fix} (what ${stage.name} made of them before stays until then)`
        : run.ranBefore.has(upstream)
          ? `${stage.name}: ${waits}, which dfdc ${upstream} did not make in this run (see its lines above): rerun once those are dealt with`
          : `${stage.name}: ${waits} from dfdc ${upstream} (it has not made them, or failed on them): run ${command}, then this stage again`,
      'warning',
    );
  }
}

/**
 * The command that makes a stage's outputs again as they were made (`dfdc detect --every 10`):
 * the settings its provenance records that differ from its defaults, so that the run a message
 * asks for is not then refused for other settings (`dfdc run` detects every 10th frame, `dfdc
 * detect` every frame). Just `dfdc <stage>` when nothing is recorded or the record cannot be read.
 */
async function remakeCommand(name: string, makers: readonly Stage[], run: RunContext): Promise<string> {
  const maker = makers.find((stage) => stage.name === name);
  const recorded = maker ? await readProvenance(run.paths.stateDir, name).catch(() => undefined) : undefined;
  const parsed = maker?.settings.safeParse({});
  if (!maker || !parsed?.success) return `dfdc ${name}`;
  const defaults = maker.kind === 'units' && maker.resolveSettings ? maker.resolveSettings(parsed.data, run) : parsed.data;
  const flags = recorded ? flagsFor(maker.settings.shape, recorded.settings, defaults) : [];
  // The crops folder this run reads, when it is not the default: `dfdc crops` alone would fill
  // another. (A stage that writes crops takes only a folder inside the output folder.)
  if (maker.kind === 'units' && maker.writesCrops && run.dirs.cropsDir !== join(run.paths.outputDir, 'crops')) flags.push(`--crops-dir ${relative(run.paths.outputDir, run.dirs.cropsDir)}`);
  // The engine, when `auto` would not choose the one recorded (a node without the native engine).
  const engine = recorded?.settings.backend;
  if (maker.kind === 'units' && maker.pool === 'mtcnn' && typeof engine === 'string' && engine !== (await resolveBackend('auto'))) flags.push(`--backend ${engine}`);
  return ['dfdc', name, ...flags].join(' ');
}

/** Inputs that changed, which their stage, run earlier in this `dfdc run`, could not make again. */
function notMadeAgain(maker: string): string {
  return `dfdc ${maker} did not make them again in this run (see its lines above): rerun once those are dealt with`;
}

/**
 * Why inputs that are there but no longer match their maker's record wait: they changed, or what
 * they were made from did (another --root-dir with the same names, videos downloaded again, a copy
 * without times).
 */
function changedWhy(maker: string): string {
  return `changed after ${maker} made them, or what they were made from did (another --root-dir? videos downloaded again? a copy that did not keep times?)`;
}

/**
 * What shapes a stage's outputs, as provenance and unit records compare it: its settings, and for
 * stages that run MTCNN the engine (`native`, `wasm`, ...; `auto` resolved), since engines agree only
 * within float noise and outputs of two engines must not mix.
 */
export function shapingSettings(stage: { pool?: 'mtcnn' | 'plain' }, settings: Record<string, unknown>, backend: string): Record<string, unknown> {
  return stage.pool === 'mtcnn' ? { ...settings, backend } : settings;
}

/**
 * Fails the unit (a UnitError) when a staged folder holds fewer files than the unit says it wrote
 * there (Output.fileCount): something deleted them while it ran, and a record made now would call
 * the short folder complete for good.
 */
async function checkStagedCounts(writes: readonly Output[], staging: ReadonlyMap<string, string>, outcome: UnitOutcome): Promise<void> {
  for (const output of writes) {
    const staged = staging.get(output.path);
    const wrote = output.fileCount === undefined ? undefined : outcome.details?.[output.fileCount];
    if (staged === undefined || typeof wrote !== 'number') continue;
    const found = await readdir(staged).then(
      (names) => names.filter((name) => !name.startsWith('.')).length,
      (error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? 0 : Promise.reject(error)),
    );
    if (found !== wrote) {
      throw new UnitError(
        `${found < wrote ? `${wrote - found} of the ${wrote} files it wrote ${wrote - found === 1 ? 'was' : 'were'} removed from` : `${found - wrote} file(s) it did not write appeared in`} ${staged} before it ended (a cleaner, or another process in the output folder?): rerun`,
      );
    }
  }
}

/** The staging folder an error's path lies in, when the error is that the path is gone (the folder was removed under the unit). */
function vanishedStaging(error: unknown, staging: ReadonlyMap<string, string>): string | undefined {
  const path = (error as NodeJS.ErrnoException | undefined)?.path;
  if (errnoCode(error) !== 'ENOENT' || typeof path !== 'string') return undefined;
  return [...staging.values()].find((staged) => path.startsWith(`${staged}/`) && !existsSync(staged));
}

/** The reason a unit cannot run: a file it reads is absent, or is not a file it may read (inputFileState). */
function unavailableReason(input: Input, reason: string): string {
  if (reason === 'absent') return input.absent ?? `its ${input.role} ${input.path} is not there`;
  return `its ${input.role} ${reason}`;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * Puts a staging folder in place of `final` (the unit's earlier folder, if any). The old folder is
 * renamed aside first and removed after, rather than removed first: a process reading the folder
 * meanwhile (`dfdc diffs` while `dfdc crops --force` redoes a video) finds it missing for the time
 * of one rename, not of a removal of every file. Left aside by a kill, it is a temporary that the
 * unit's next run removes.
 */
async function swapIn(staged: string, final: string): Promise<void> {
  const made = await exists(staged);
  const aside = temporaryPathFor(final);
  const moved = await rename(final, aside).then(
    () => true,
    (error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? false : Promise.reject(writeFailure(error, final))),
  );
  if (made) await renameInto(staged, final);
  if (moved) await removePath(aside);
}

/** Puts a staging folder in place; a failure of the machine is a FatalError naming where. */
async function renameInto(staged: string, final: string): Promise<void> {
  try {
    await rename(staged, final);
  } catch (error) {
    throw writeFailure(error, final);
  }
}

/**
 * The message of a unit's failure. A message that starts with the unit's own video path drops it
 * (the subject names the video); any other file it names (a crop, a boxes file) stays.
 */
export function reasonOf(error: unknown, unit?: { subject: string }, command?: string): string {
  const message = error instanceof UnitError && command !== undefined ? error.messageWith(command) : messageOf(error);
  const file = error instanceof UnitError ? error.file : undefined;
  if (unit && file === undefined) return message.replace(/^\/[^:]*: /, '');
  if (unit && file !== undefined && file.endsWith(unit.subject)) return message.replace(`${file}: `, '');
  return message;
}
