import { existsSync } from 'node:fs';
import { DfdcError, ItemError, messageOf } from '../util/errors.js';
import type { StageRecorder } from './report.js';
import type { StageState } from './state.js';

/**
 * Runs one stage's units of work (a video, a pair) with resume, isolation and accounting:
 * - a unit already complete on disk (its marker in .dfdc/done/) is skipped unless `force`;
 * - a unit that is (re)done first forgets its marker and calls `prepare` to clear what an earlier,
 *   interrupted attempt left, then `work`, then records its marker: so after a crash a unit is
 *   either complete with its marker or redone by the next run;
 * - a unit that throws is reported as failed with its message and the others go on; a DfdcError
 *   (disk full, ffmpeg missing, output not writable: not about one unit) stops the stage once;
 * - an abort (Ctrl-C) stops taking new units and lets the running ones end.
 */
export interface StageUnit {
  /** Unique within the stage; names the marker file (a video id). */
  readonly id: string;
  /** How the unit is named in messages (e.g. `dfdc_train_part_0/abc.mp4`). */
  readonly subject: string;
}

export interface UnitOutcome {
  /** Frames decoded or processed, for rates. */
  frames?: number;
  /** A problem that did not fail the unit (kept, reported). */
  warning?: string;
  /** Counts recorded in the unit's marker. */
  details?: Record<string, unknown>;
}

export interface StageRun<U extends StageUnit> {
  units: readonly U[];
  state: StageState;
  recorder: StageRecorder;
  force: boolean;
  /** Units in flight at once. */
  concurrency: number;
  signal?: AbortSignal;
  prepare?: (unit: U) => Promise<void>;
  work: (unit: U) => Promise<UnitOutcome>;
}

/** Errors that mean the machine, not the unit, is in trouble. */
const environmentErrorCodes = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM', 'EMFILE', 'ENFILE']);

export function isEnvironmentError(error: unknown): boolean {
  if (error instanceof DfdcError) return true;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && environmentErrorCodes.has(code);
}

function asFatal(error: unknown): DfdcError {
  if (error instanceof DfdcError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  const hint =
    code === 'ENOSPC' || code === 'EDQUOT'
      ? 'the disk is full: free space or choose another --output-dir, then rerun (completed outputs are kept)'
      : code === 'EROFS' || code === 'EACCES' || code === 'EPERM'
        ? 'the output folder is not writable: give --output-dir a writable folder'
        : 'too many open files: raise the limit (ulimit -n) or lower --workers';
  return new DfdcError(`${messageOf(error)}: ${hint}`, undefined, { cause: error });
}

/**
 * The message of a unit's error without a leading absolute path (`/data/part/x.mp4: `), since the
 * unit's subject already names the file.
 */
export function reasonOf(error: unknown): string {
  return messageOf(error).replace(/^\/[^:]*: /, '');
}

/** A unit whose video is listed in metadata.json but absent fails with that reason. */
export function assertOnDisk(path: string): void {
  if (!existsSync(path)) throw new ItemError('file not found (listed in metadata.json)');
}

export async function runStage<U extends StageUnit>(run: StageRun<U>): Promise<void> {
  const { units, state, recorder, force, signal } = run;
  const started = Date.now();
  if (force) await state.forgetAll();
  await state.load();
  let next = 0;
  let fatal: DfdcError | undefined;

  const lane = async (): Promise<void> => {
    while (next < units.length && !fatal && !signal?.aborted) {
      const unit = units[next] as U;
      next += 1;
      if (state.isComplete(unit.id)) {
        recorder.skipped();
        continue;
      }
      try {
        await state.forget(unit.id);
        await run.prepare?.(unit);
        const outcome = await run.work(unit);
        if (signal?.aborted) break;
        await state.markComplete(unit.id, { status: outcome.warning ? 'warning' : 'ok', ...(outcome.details ?? {}), ...(outcome.warning ? { warning: outcome.warning } : {}) });
        if (outcome.warning) recorder.warning(unit.subject, outcome.warning);
        recorder.done(outcome.frames ?? 0);
      } catch (error) {
        if (signal?.aborted) break;
        if (isEnvironmentError(error)) {
          fatal ??= asFatal(error);
          break;
        }
        recorder.failed(unit.subject, reasonOf(error));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(run.concurrency, units.length)) }, lane));
  recorder.report.seconds += (Date.now() - started) / 1000;
  if (fatal) throw fatal;
}
